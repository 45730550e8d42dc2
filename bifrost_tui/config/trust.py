"""Whether a config or state path may be trusted: owned by us or root, writable by no one else.

Like ssh with ``~/.ssh/config``: a profiles file someone else can change can send the key to their
server, a CA bundle they can change lets them read it in transit, an audit directory they can
change lets them rewrite the record. Such a path is refused unless ``BIFROST_TUI_TRUST_CONFIG=1``,
which turns the refusal into a warning. Directories are checked themselves, not their parents (a
sticky, world-writable ``/tmp``-like parent is the system's business).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path

from bifrost_tui.config.errors import ConfigError
from bifrost_tui.textsafe import safe_text

#: Set to ``1`` to use config files and directories that fail the ownership checks (with a warning).
TRUST_ENV = "BIFROST_TUI_TRUST_CONFIG"


class UntrustedPath(ConfigError):
    """A config or state path that someone other than the user (or root) owns or can write."""


def current_uid() -> int:
    """The user whose files are trusted (with root's); a function so tests can stand in another."""
    return os.getuid()


def trust_overridden(env: Mapping[str, str] | None = None) -> bool:
    return (os.environ if env is None else env).get(TRUST_ENV, "").strip() == "1"


def problem(path: Path) -> str | None:
    """Why ``path`` (followed if a symlink) cannot be trusted, in words; ``None`` when it can.

    A missing path has no problem: whoever creates it later is checked then.
    """
    if os.name != "posix":
        return None
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"cannot be checked ({exc.strerror or type(exc).__name__})"
    if st.st_uid not in (current_uid(), 0):
        return f"owned by another user (uid {st.st_uid})"
    mode = stat.S_IMODE(st.st_mode)
    if mode & 0o022:
        who = "group and others" if mode & 0o022 == 0o022 else "group" if mode & 0o020 else "others"
        return f"writable by {who} (mode {mode:o})"
    return None


def check(paths: list[tuple[str, Path]], env: Mapping[str, str] | None = None) -> list[str]:
    """Refuse the first untrusted ``(what, path)`` with ``UntrustedPath``, naming the opt-out.

    With ``BIFROST_TUI_TRUST_CONFIG=1`` nothing is refused: the warnings are returned instead.
    """
    warnings: list[str] = []
    seen: set[Path] = set()
    for what, path in paths:
        if path in seen:
            continue
        seen.add(path)
        why = problem(path)
        if why is None:
            continue
        where = f"the {what} {safe_text(str(path))}"
        if trust_overridden(env):
            warnings.append(f"trusting {where}, {why}, because {TRUST_ENV}=1")
            continue
        raise UntrustedPath(
            f"refusing to use {where}: it is {why}, so someone else could change it (and "
            f"where your key goes). Make it yours and not writable by others (chmod go-w), "
            f"or set {TRUST_ENV}=1 to trust it anyway"
        )
    return warnings


def profile_file_paths(path: Path, backup: Path) -> list[tuple[str, Path]]:
    """What a profiles file's trust rests on: its directory, the file (a symlink's target and the
    target's directory too: the file is rewritten there) and its backup."""
    checked = [("config directory", path.parent), ("profiles file", path)]
    target = path.resolve()
    if target != path.absolute():
        checked.append(("profiles file's directory", target.parent))
    checked.append(("profiles backup", backup))
    return checked


def check_state_dir(state: Path, audit: Path, env: Mapping[str, str] | None = None) -> list[str]:
    """The state directory, where the audit log is written, and the log itself."""
    return check([("state directory", state), ("audit log", audit)], env)
