"""profiles.toml on disk: parsing with located issues, and ProfileStore's safe, atomic writes.

The file is read with ``tomllib`` (strict, fast) and rewritten through ``tomlkit`` so the operator's
comments, ordering and keys from newer versions survive. Writes are atomic (temp file, fsync,
rename), 0600, with a ``.bak`` of the previous version. A broken file is never overwritten.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import stat
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomlkit
from pydantic import SecretStr, ValidationError

from bifrost_tui.config import paths, trust
from bifrost_tui.config.errors import (
    ConcurrentModification,
    ConfigError,
    FileIssue,
    ProfileExists,
    ProfileFileError,
    ProfileNotFound,
)
from bifrost_tui.config.model import (
    PROFILE_SETTINGS,
    Profile,
    profile_from_settings,
    validate_profile_name,
    validation_problems,
)
from bifrost_tui.files import NotARegularFile, atomic_write, ensure_private_dir, flocked
from bifrost_tui.textsafe import quoted, safe_text

SCHEMA_VERSION = 1
#: Anything larger is not a hand-written profiles file: refuse rather than parse it.
MAX_FILE_BYTES = 1024 * 1024


@dataclass(slots=True)
class ProfilesFile:
    """What profiles.toml holds, validated. ``exists`` is False for a missing (empty) file."""

    path: Path
    default: str | None = None
    profiles: dict[str, Profile] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    exists: bool = False
    digest: str | None = None

    def names(self) -> list[str]:
        return list(self.profiles)


def _toml_error_issue(exc: tomllib.TOMLDecodeError) -> FileIssue:
    text = str(exc)
    m = re.search(r"\s*\(at line (\d+), column (\d+)\)\s*$", text)
    if m:
        return FileIssue(
            f"not valid TOML: {safe_text(text[: m.start()], 200)}",
            line=int(m.group(1)),
            column=int(m.group(2)),
        )
    return FileIssue(f"not valid TOML: {safe_text(text, 200)}")


def _find_line(text: str, profile: str | None, key: str | None) -> int | None:
    """Best-effort line of ``key`` (in ``[profiles.<profile>]`` when given). None when unsure."""
    lines = text.splitlines()
    start = 0
    if profile is not None:
        header = re.compile(
            r"^\s*\[\s*profiles\s*\.\s*(?:"
            + re.escape(profile)
            + r"|\""
            + re.escape(profile)
            + r"\"|'"
            + re.escape(profile)
            + r"')\s*\]"
        )
        for i, line in enumerate(lines):
            if header.match(line):
                start = i
                break
        else:
            return None
        if key is None:
            return start + 1
    if key is None:
        return None
    key_re = re.compile(r"^\s*(?:" + re.escape(key) + r"|\"" + re.escape(key) + r"\")\s*[=.]")
    for i in range(start + (1 if profile is not None else 0), len(lines)):
        line = lines[i]
        if line.lstrip().startswith("[") and (profile is not None or i > start):
            break
        if key_re.match(line):
            return i + 1
    return start + 1 if profile is not None else None


def parse_profiles(path: Path, data: bytes) -> ProfilesFile:
    """Parse and validate profiles.toml bytes; ``ProfileFileError`` describes every issue."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ProfileFileError(path, [FileIssue("not valid UTF-8 text", line=line)]) from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileFileError(path, [_toml_error_issue(exc)]) from None
    except RecursionError:
        raise ProfileFileError(path, [FileIssue("not valid TOML: nesting too deep")]) from None

    issues: list[FileIssue] = []
    warnings: list[str] = []
    version = raw.get("schema_version", SCHEMA_VERSION)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        issues.append(
            FileIssue(
                "expected a whole number of at least 1",
                line=_find_line(text, None, "schema_version"),
                field="schema_version",
            )
        )
        version = SCHEMA_VERSION
    newer = version > SCHEMA_VERSION
    if newer:
        warnings.append(
            f"{path.name} was written by a newer bifrost-tui (schema {version}, this one reads "
            f"{SCHEMA_VERSION}); settings it does not know are kept but ignored"
        )

    default = raw.get("default")
    if default is not None:
        try:
            validate_profile_name(default)
        except ValueError as exc:
            issues.append(
                FileIssue(str(exc), line=_find_line(text, None, "default"), field="default")
            )
            default = None

    profiles: dict[str, Profile] = {}
    tables = raw.get("profiles", {})
    if not isinstance(tables, dict):
        issues.append(
            FileIssue(
                "expected a table of profiles ([profiles.NAME])",
                line=_find_line(text, None, "profiles"),
                field="profiles",
            )
        )
        tables = {}
    for name, table in tables.items():
        try:
            validate_profile_name(name)
        except ValueError as exc:
            issues.append(FileIssue(str(exc), profile=name))
            continue
        if not isinstance(table, dict):
            issues.append(
                FileIssue(
                    "expected a table of settings",
                    line=_find_line(text, None, "profiles"),
                    profile=name,
                )
            )
            continue
        settings = {k: v for k, v in table.items() if k != "name"}
        try:
            profiles[name] = Profile.model_validate({**settings, "name": name})
        except ValidationError as exc:
            for loc, problem in validation_problems(exc, settings)[:10]:
                top = loc[0] if loc else None
                issues.append(
                    FileIssue(
                        problem,
                        line=_find_line(text, name, top),
                        profile=name,
                        field=".".join(loc) if loc else None,
                    )
                )
            continue
        unknown = [k for k in table if k not in PROFILE_SETTINGS]
        if unknown and not newer:
            shown = ", ".join(quoted(k, 40) for k in unknown)
            warnings.append(
                f"profile {quoted(name)}: unknown setting(s) {shown} ignored (kept in the file)"
            )
    if issues:
        raise ProfileFileError(path, issues)
    if default is not None and default not in profiles:
        warnings.append(
            f"default profile {quoted(default)} does not exist; set one with "
            "`bifrost-tui profiles use NAME`"
        )
    return ProfilesFile(
        path=path,
        default=default,
        profiles=profiles,
        warnings=warnings,
        exists=True,
        digest=hashlib.sha256(data).hexdigest(),
    )


_UNSET: Any = object()


class ProfileStore:
    """profiles.toml on disk: load, and add/edit/remove/set-default without losing comments.

    Every write re-reads the file under a lock, refuses if it changed since this store last read
    it (or since the write began), refuses if it does not validate, keeps ``.bak`` of the previous
    version, and replaces the file atomically.
    """

    def __init__(self, path: Path | None = None, *, max_bytes: int = MAX_FILE_BYTES) -> None:
        self.path = Path(path) if path is not None else paths.config_file()
        self.max_bytes = max_bytes
        self._known_digest: str | None = _UNSET

    @property
    def backup_path(self) -> Path:
        return self.path.with_name(self.path.name + paths.BACKUP_SUFFIX)

    @property
    def lock_path(self) -> Path:
        return self.path.with_name(f".{self.path.name}.lock")

    # ---- reading

    def _read_bytes(self) -> bytes | None:
        """The file's bytes, or None when missing. Refuses non-regular and oversized files."""
        try:
            # O_NONBLOCK: a FIFO planted at the path must not hang the console on open().
            fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise ProfileFileError(
                self.path, [FileIssue(f"cannot be read: {safe_text(exc.strerror or str(exc))}")]
            ) from None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise ProfileFileError(self.path, [FileIssue("not a regular file")])
            if st.st_size > self.max_bytes:
                raise ProfileFileError(self.path, [self._too_big(st.st_size)])
            chunks: list[bytes] = []
            remaining = self.max_bytes + 1
            while remaining > 0:
                chunk = os.read(fd, min(remaining, 65536))
                if not chunk:
                    break
                chunks.append(chunk)
                remaining -= len(chunk)
            data = b"".join(chunks)
            if len(data) > self.max_bytes:
                raise ProfileFileError(self.path, [self._too_big(len(data))])
            return data
        finally:
            os.close(fd)

    def _too_big(self, size: int) -> FileIssue:
        return FileIssue(
            f"file is {size} bytes, larger than the {self.max_bytes}-byte limit for a profiles "
            "file; it was not read"
        )

    def _parse(self, data: bytes | None) -> ProfilesFile:
        if data is None:
            return ProfilesFile(path=self.path)
        loaded = parse_profiles(self.path, data)
        if os.name == "posix":
            with contextlib.suppress(OSError):
                mode = self.path.stat().st_mode & 0o777
                if mode & 0o077:
                    loaded.warnings.append(
                        f"{self.path.name} is readable by other users (mode {mode:o}); "
                        f"run: chmod 600 {safe_text(str(self.path))}"
                    )
        return loaded

    def _check_trust(self) -> list[str]:
        """Refuse (``UntrustedPath``) a directory or file someone else owns or can write."""
        return trust.check(trust.profile_file_paths(self.path, self.backup_path))

    def load(self) -> ProfilesFile:
        """Read and validate. A missing file is an empty, valid one; a broken file raises.

        A file, directory or backup that someone else owns or can write is refused first.
        """
        trusted_anyway = self._check_trust()
        data = self._read_bytes()
        loaded = self._parse(data)
        loaded.warnings[:0] = trusted_anyway
        self._known_digest = loaded.digest
        return loaded

    def get(self, name: str) -> Profile:
        loaded = self.load()
        try:
            return loaded.profiles[name]
        except KeyError:
            raise ProfileNotFound(name, self.path, loaded.names()) from None

    # ---- writing

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        ensure_private_dir(self.path.parent)
        with contextlib.ExitStack() as stack:
            try:  # Windows has no flock: the digest checks alone guard it there
                stack.enter_context(flocked(self.lock_path, blocking=False))
            except BlockingIOError:
                raise ConcurrentModification(self.path, "is being written right now") from None
            except NotARegularFile as exc:  # a FIFO or symlink planted at the lock: never waited on
                raise ProfileFileError(self.lock_path, [FileIssue(str(exc.strerror))]) from None
            yield

    def _mutate(self, change: Any) -> ProfilesFile:
        """Read, check, apply ``change(doc, current)`` to the tomlkit document, validate, write.

        A ``profiles.toml`` that is a symlink stays one: its target is replaced, atomically, in
        the target's own directory.
        """
        ensure_private_dir(self.path.parent)  # a directory of ours is made private first
        trusted_anyway = self._check_trust()
        with self._locked():
            data = self._read_bytes()
            digest = hashlib.sha256(data).hexdigest() if data is not None else None
            if self._known_digest is not _UNSET and digest != self._known_digest:
                raise ConcurrentModification(self.path)
            # Raises on a broken file: a file we cannot validate is never overwritten.
            current = parse_profiles(self.path, data) if data is not None else None
            try:
                doc = tomlkit.parse(data.decode("utf-8")) if data is not None else _new_document()
            except Exception as exc:  # tomllib accepted it; tomlkit should too, but never guess
                raise ConfigError(
                    f"{safe_text(str(self.path))} cannot be edited safely "
                    f"({type(exc).__name__}); edit it by hand"
                ) from None
            change(doc, current or ProfilesFile(path=self.path))
            if "schema_version" not in doc:
                doc["schema_version"] = SCHEMA_VERSION
            new_data = tomlkit.dumps(doc).encode("utf-8")
            try:
                result = parse_profiles(self.path, new_data)
            except ProfileFileError as exc:  # our own edit broke it: a bug, but never write it
                raise ConfigError(f"refusing to write an invalid profiles file: {exc}") from None
            again = self._read_bytes()
            if (hashlib.sha256(again).hexdigest() if again is not None else None) != digest:
                raise ConcurrentModification(self.path, "changed while it was being updated")
            if data is not None:
                atomic_write(self.backup_path, data)
            atomic_write(self.path.resolve(), new_data)
            self._known_digest = result.digest
            result.warnings[:0] = trusted_anyway
            return result

    def add(self, name: str, settings: Mapping[str, Any], *, make_default: bool = False) -> Profile:
        """Add a profile; ``settings`` holds only what the operator chose (defaults stay out)."""
        profile = profile_from_settings(name, _plain(settings))

        def change(doc: Any, current: ProfilesFile) -> None:
            if name in current.profiles:
                raise ProfileExists(name)
            table = tomlkit.table()
            for key, value in _plain(settings).items():
                if value is not None:
                    table[key] = profile.url if key == "url" else _toml_value(value)
            table.add(tomlkit.nl())  # a blank line before whatever table follows
            if "profiles" not in doc:
                doc["profiles"] = tomlkit.table(is_super_table=True)
            doc["profiles"][name] = table
            if make_default or current.default is None or current.default not in current.profiles:
                doc["default"] = name

        self._mutate(change)
        return profile

    def edit(self, name: str, changes: Mapping[str, Any]) -> Profile:
        """Change only the given settings; ``None`` removes a setting (back to its default)."""
        unknown = [k for k in changes if k not in PROFILE_SETTINGS]
        if unknown:
            raise ConfigError(f"unknown setting(s): {', '.join(quoted(k, 40) for k in unknown)}")
        plain = _plain(changes)
        holder: dict[str, Profile] = {}

        def change(doc: Any, current: ProfilesFile) -> None:
            if name not in current.profiles:
                raise ProfileNotFound(name, self.path, current.names())
            table = doc["profiles"][name]
            merged = {k: v for k, v in table.unwrap().items() if k != "name"}
            for key, value in plain.items():
                if value is None:
                    merged.pop(key, None)
                else:
                    merged[key] = value
            profile = profile_from_settings(name, merged)
            holder["profile"] = profile
            for key, value in plain.items():
                if value is None:
                    if key in table:
                        del table[key]
                else:
                    table[key] = profile.url if key == "url" else _toml_value(value)

        self._mutate(change)
        return holder["profile"]

    def remove(self, name: str) -> bool:
        """Remove a profile; returns True when it was the default (the default is then cleared)."""
        was_default: dict[str, bool] = {}

        def change(doc: Any, current: ProfilesFile) -> None:
            if name not in current.profiles:
                raise ProfileNotFound(name, self.path, current.names())
            del doc["profiles"][name]
            was_default["v"] = current.default == name
            if was_default["v"]:
                del doc["default"]

        self._mutate(change)
        return was_default["v"]

    def set_default(self, name: str | None) -> None:
        """Make ``name`` the default profile (``None`` clears the default)."""

        def change(doc: Any, current: ProfilesFile) -> None:
            if name is None:
                if "default" in doc:
                    del doc["default"]
                return
            if name not in current.profiles:
                raise ProfileNotFound(name, self.path, current.names())
            doc["default"] = name

        self._mutate(change)


def _plain(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Settings as TOML-ready values: secrets unwrapped only here, on their way into the file."""
    out: dict[str, Any] = {}
    for key, value in settings.items():
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        elif isinstance(value, Mapping):
            value = {
                k: v.get_secret_value() if isinstance(v, SecretStr) else v for k, v in value.items()
            }
        elif isinstance(value, tuple):
            value = list(value)
        out[key] = value
    return out


def _toml_value(value: Any) -> Any:
    """Header maps as inline tables, so a profile stays one block under its ``[profiles.NAME]``."""
    if isinstance(value, Mapping):
        inline = tomlkit.inline_table()
        inline.update(value)
        return inline
    return value


def _new_document() -> Any:
    doc = tomlkit.document()
    doc.add(tomlkit.comment("bifrost-tui gateway profiles (see `bifrost-tui profiles --help`)."))
    doc.add(tomlkit.comment('Keep secrets in environment variables: virtual_key_env = "PROD_VK".'))
    doc.add(tomlkit.nl())
    doc["schema_version"] = SCHEMA_VERSION
    return doc
