"""The append-only audit file ``audit.jsonl``: one fsynced line per cancel attempt, rotated by size.

Each line is a single ``os.write`` on an ``O_APPEND`` descriptor, fsynced, so a console and a CLI
in another pane can append at the same time without losing or interleaving lines. Rotation by size
happens under an ``flock`` on ``audit.jsonl.lock``; readers take it shared, across rotated files.

Every open (the log, its lock, the rotated files when read) is non-blocking, never follows a final
symlink and is checked on the descriptor: a FIFO, device or symlink planted at one of those paths is
refused in words ("audit.jsonl is a FIFO, not a regular file"), never waited on.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from bifrost_tui.audit.attempts import AttemptRow, pair_attempts
from bifrost_tui.audit.record import (
    AuditEntry,
    as_utc,
    cancel_entry,
    encode_line,
    local_host,
    local_user,
    redact_entry,
)
from bifrost_tui.clock import Clock, SystemClock
from bifrost_tui.config import paths
from bifrost_tui.files import NotARegularFile, ensure_private_dir, flocked, open_private_fd
from bifrost_tui.gateway.outcomes import CancelResult

LOCK_SUFFIX = ".lock"
DEFAULT_MAX_BYTES = 5 * 1024 * 1024
DEFAULT_BACKUPS = 5


class AuditWriteError(Exception):
    """An audit line could not be written. The caller shows it; the cancel itself goes on."""

    def __init__(self, path: Path, reason: str, *, errno_: int | None = None) -> None:
        self.path = path
        self.reason = reason
        self.errno = errno_
        super().__init__(f"audit log not written ({path}): {reason}")


def default_audit_path() -> Path:
    """``audit.jsonl`` in the state dir (``bifrost-tui paths`` shows the dir)."""
    return paths.audit_file()


@dataclass(slots=True)
class AuditScan:
    """What ``AuditLog.scan`` found: entries oldest first, and how many lines could not be read.

    ``unreadable`` names each file that could not be read at all, with the reason in words; the
    other files are read regardless.
    """

    entries: list[AuditEntry] = field(default_factory=list)
    skipped: int = 0
    files: list[Path] = field(default_factory=list)
    unreadable: list[tuple[Path, str]] = field(default_factory=list)


@dataclass(slots=True)
class AttemptScan:
    """What ``AuditLog.attempts`` found: one row per attempt oldest first, and the scan behind."""

    rows: list[AttemptRow]
    scan: AuditScan


def _why(exc: OSError) -> str:
    """An open or read failure in words: "audit.jsonl is a FIFO, not a regular file"."""
    if isinstance(exc, NotARegularFile):
        name = Path(exc.filename).name if exc.filename else "the file"
        return f"{name} is a {exc.kind}, not a regular file"
    return exc.strerror or str(exc) or type(exc).__name__


class AuditLog:
    """Appends audit lines and reads them back; safe across threads and processes."""

    def __init__(
        self,
        path: Path | None = None,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        backups: int = DEFAULT_BACKUPS,
        clock: Clock | None = None,
        redact: Callable[[str], str] | None = None,
        user: str | None = None,
        host: str | None = None,
    ) -> None:
        """``user``/``host``: who writes the lines (default: this process's user and host)."""
        if max_bytes < 1:
            raise ValueError("max_bytes must be positive")
        if backups < 0:
            raise ValueError("backups must be zero or more")
        self.path = Path(path) if path is not None else default_audit_path()
        self.max_bytes = max_bytes
        self.backups = backups
        self.clock: Clock = clock or SystemClock()
        self.redact = redact
        self._user = user
        self._host = host

    def __repr__(self) -> str:
        return f"AuditLog({str(self.path)!r})"

    @property
    def lock_path(self) -> Path:
        return self.path.with_name(self.path.name + LOCK_SUFFIX)

    @property
    def user(self) -> str:
        if self._user is None:
            self._user = local_user()
        return self._user

    @property
    def host(self) -> str:
        if self._host is None:
            self._host = local_host()
        return self._host

    def entry_for(
        self,
        result: CancelResult,
        *,
        profile: str | None,
        gateway: str,
        state_before: object,
        source: str,
        bulk_id: str | None = None,
        redact: Callable[[str], str] | None = None,
    ) -> AuditEntry:
        """The line for a cancel that was sent, stamped with this log's clock, user and host."""
        return cancel_entry(
            result,
            time=self.clock.now(),
            user=self.user,
            host=self.host,
            profile=profile,
            gateway=gateway,
            state_before=state_before,
            source=source,
            bulk_id=bulk_id,
            redact=redact or self.redact,
        )

    # ---- writing

    def record(self, entry: AuditEntry) -> None:
        """Append ``entry`` as one fsynced line; ``AuditWriteError`` naming the path on failure.

        ``AuditWriteError`` is the only exception: callers catch it alone and go on cancelling.
        """
        try:
            line = encode_line(redact_entry(entry, self.redact))
        except Exception as exc:  # a failing redactor must not escape as a surprise
            raise AuditWriteError(
                self.path, f"line not built ({type(exc).__name__}: {exc})"
            ) from exc
        try:
            ensure_private_dir(self.path.parent)
        except OSError as exc:
            raise self._error(exc) from exc
        # A failed rotation is not fatal: appending to an over-size file beats losing the line.
        # A FIFO, device or symlink planted at the lock is: it is said, never waited on.
        try:
            self._maybe_rotate()
        except NotARegularFile as exc:
            raise self._error(exc) from exc
        except OSError:
            pass
        try:
            self._append(line)
        except OSError as exc:
            raise self._error(exc) from exc

    def _error(self, exc: OSError) -> AuditWriteError:
        return AuditWriteError(self.path, _why(exc), errno_=exc.errno)

    def _append(self, line: bytes) -> None:
        # Read-write, so a torn last line is checked on this very descriptor (no second open);
        # open_private_fd refuses anything but a regular file and brings an old file back to 0600.
        fd = open_private_fd(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT)
        try:
            size = os.fstat(fd).st_size
            # A line torn by an earlier crash or full disk has no newline: start on a fresh line
            # so this entry is not glued to the fragment (the reader skips the fragment alone).
            if size > 0 and not _ends_with_newline(fd, size):
                line = b"\n" + line
            written = os.write(fd, line)
            if written != len(line):
                raise OSError(errno.EIO, f"short write: {written} of {len(line)} bytes")
            os.fsync(fd)
        finally:
            os.close(fd)

    def _size(self) -> int:
        # lstat: a symlink at the path is not rotated away (it is refused when appending).
        try:
            return self.path.lstat().st_size
        except FileNotFoundError:
            return 0

    def _maybe_rotate(self) -> None:
        if self._size() < self.max_bytes:
            return
        with self._locked(exclusive=True):
            # Another writer may have rotated while we waited for the lock.
            if self._size() < self.max_bytes:
                return
            if self.backups == 0:
                self.path.unlink(missing_ok=True)
                return
            for i in range(self.backups - 1, 0, -1):
                older = self._backup(i)
                if older.exists():
                    os.replace(older, self._backup(i + 1))
            os.replace(self.path, self._backup(1))

    def _backup(self, i: int) -> Path:
        return self.path.with_name(f"{self.path.name}.{i}")

    @contextlib.contextmanager
    def _locked(self, *, exclusive: bool) -> Iterator[None]:
        # A reader never creates the lock file: without one nobody is rotating anyway.
        with flocked(self.lock_path, exclusive=exclusive):
            yield

    # ---- reading

    def files(self) -> list[Path]:
        """The files oldest first: the highest-numbered backup ... ``.1``, then the live one."""
        backups: list[tuple[int, Path]] = []
        prefix = self.path.name + "."
        try:
            siblings = list(self.path.parent.iterdir())
        except (FileNotFoundError, NotADirectoryError):
            return []
        for candidate in siblings:
            suffix = candidate.name.removeprefix(prefix)
            if candidate.name.startswith(prefix) and suffix.isdigit():
                backups.append((int(suffix), candidate))
        ordered = [p for _, p in sorted(backups, reverse=True)]
        if os.path.lexists(self.path):  # a dangling symlink there is listed, then refused
            ordered.append(self.path)
        return ordered

    def exists(self) -> bool:
        return bool(self.files())

    def scan(self, *, since: datetime | None = None) -> AuditScan:
        """Every readable entry, oldest first; torn or garbled lines are skipped and counted.

        A file that cannot be read (unreadable, or a FIFO, device or symlink planted in its place)
        is named in ``unreadable`` with the reason, and the others are read: never an exception
        for one bad file, never a hang on a FIFO. A lock that is not a regular file is not waited
        on either: the files are read without it.
        """
        cutoff = as_utc(since) if since is not None else None
        result = AuditScan()
        with self._locked(exclusive=False):  # keeps a rotation from moving lines mid-read
            result.files = self.files()
            for path in result.files:
                try:
                    data = _read_regular(path)
                except FileNotFoundError:
                    continue
                except OSError as exc:
                    result.unreadable.append((path, _why(exc)))
                    continue
                for raw in data.split(b"\n"):
                    if not raw.strip():
                        continue
                    try:
                        entry = AuditEntry.from_json(json.loads(raw))
                    except (ValueError, UnicodeDecodeError, RecursionError):
                        result.skipped += 1
                        continue
                    if cutoff is None or entry.time >= cutoff:
                        result.entries.append(entry)
        return result

    def read(self, *, since: datetime | None = None) -> list[AuditEntry]:
        """Entries oldest first across rotated files (``scan`` also says how many were skipped)."""
        return self.scan(since=since).entries

    def attempts(self, *, since: datetime | None = None) -> AttemptScan:
        """One row per cancel attempt, oldest first: intent and outcome lines paired by attempt id
        across every file (``audit.attempts``), then ``since`` applied to each row's time (when
        its request was sent), so a pair is never split by the cutoff."""
        scan = self.scan()
        rows = pair_attempts(scan.entries)
        if since is not None:
            cutoff = as_utc(since)
            rows = [row for row in rows if row.time >= cutoff]
        return AttemptScan(rows, scan)


def _ends_with_newline(fd: int, size: int) -> bool:
    try:
        return os.pread(fd, 1, size - 1) in (b"\n", b"")
    except OSError:
        return True  # cannot tell: do not add a blank line for nothing


def _read_regular(path: Path) -> bytes:
    """The bytes of the regular file ``path``; ``NotARegularFile`` for anything else, at once."""
    fd = open_private_fd(path, os.O_RDONLY)
    try:
        chunks: list[bytes] = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)
