"""The crash log: a console that died of a bug leaves its traceback, secrets redacted, on disk."""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bifrost_tui.config import paths
from bifrost_tui.files import ensure_private_dir, open_private_fd

#: sysexits.h EX_SOFTWARE: an internal software error; the console's exit code after a crash.
EXIT_CRASHED = 70


def crash_log_name(now: datetime) -> str:
    return f"crash-{now.astimezone(UTC).strftime('%Y%m%dT%H%M%S.%fZ')}.log"


def write_crash_log(error: BaseException, redact: Callable[[str], str], *, now: datetime) -> Path:
    """Write ``error``'s traceback, redacted, to a new private file in the state directory.

    A new file every time (``O_EXCL``), mode 0600, never through a planted symlink or FIFO.
    Raises ``OSError`` when it cannot be written; the caller says so instead.
    """
    folder = ensure_private_dir(paths.state_dir())
    path = folder / crash_log_name(now)
    text = "".join(traceback.format_exception(error))
    fd = open_private_fd(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace") as out:
        out.write(redact(text))
        out.flush()
        os.fsync(out.fileno())
    return path
