"""Files we write: private directories, atomic replacement, private opens and advisory locks."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) if needed and make it 0700 when we own it.

    Only directories owned by the current user are tightened: a config dir pointed at a shared
    location by ``BIFROST_TUI_CONFIG_DIR`` is not ours to chmod.
    """
    path.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    if os.name == "posix":
        st = path.stat()
        if st.st_uid == os.getuid() and (st.st_mode & 0o777) != PRIVATE_DIR_MODE:
            path.chmod(PRIVATE_DIR_MODE)
    return path


def fsync_dir(directory: Path) -> None:
    """Make a rename inside ``directory`` durable (a no-op where directories cannot be opened)."""
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes, mode: int = PRIVATE_FILE_MODE) -> None:
    """Write ``data`` to ``path`` so a reader sees the old file or the new one, never half.

    The temp file is created 0600 in the same directory (``os.replace`` must not cross
    filesystems), fsynced, then renamed over the target; on any failure it is removed.
    """
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    fsync_dir(path.parent)


class NotARegularFile(OSError):
    """A path we would write is a FIFO, device, socket or directory: refused, never used."""

    def __init__(self, path: Path, kind: str) -> None:
        super().__init__(errno.EINVAL, f"not a regular file (it is a {kind})", str(path))
        self.kind = kind


def file_kind(mode: int) -> str:
    """What ``st_mode`` says the file is, in words ("FIFO", "directory", ...)."""
    for test, words in (
        (stat.S_ISFIFO, "FIFO"),
        (stat.S_ISDIR, "directory"),
        (stat.S_ISCHR, "character device"),
        (stat.S_ISBLK, "block device"),
        (stat.S_ISSOCK, "socket"),
        (stat.S_ISLNK, "symlink"),
    ):
        if test(mode):
            return words
    return "regular file" if stat.S_ISREG(mode) else "special file"


def open_private_fd(path: Path, flags: int, mode: int = PRIVATE_FILE_MODE) -> int:
    """Open the regular file ``path`` with ``flags`` plus no-follow, close-on-exec and non-blocking.

    A symlink planted in place of the file is refused (``O_NOFOLLOW``) rather than followed. The
    open is non-blocking so a FIFO planted there cannot hang us (a FIFO opened for writing with no
    reader fails at once; with a reader it opens), and whatever opened is checked on the descriptor:
    anything but a regular file raises ``NotARegularFile``. Blocking mode is restored afterwards.
    An existing file of ours is brought back to ``mode``: it keeps its old mode otherwise.
    """
    nonblock = getattr(os, "O_NONBLOCK", 0)
    flags |= getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0) | nonblock
    try:
        fd = os.open(path, flags, mode)
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # a FIFO with no reader, opened for writing
            raise NotARegularFile(path, "FIFO") from None
        if exc.errno == errno.ELOOP:  # O_NOFOLLOW met a symlink
            raise NotARegularFile(path, "symlink") from None
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotARegularFile(path, file_kind(st.st_mode))
        if nonblock:
            os.set_blocking(fd, True)
        if os.name == "posix" and flags & (os.O_WRONLY | os.O_RDWR) and st.st_uid == os.getuid():
            os.fchmod(fd, mode)
    except BaseException:
        os.close(fd)
        raise
    return fd


@contextlib.contextmanager
def flocked(lock_path: Path, *, exclusive: bool = True, blocking: bool = True) -> Iterator[bool]:
    """Hold an advisory ``flock`` on ``lock_path`` during the block; yields whether it is held.

    An exclusive lock creates the lock file (0600); a shared one never creates anything and yields
    ``False`` when there is no lock file (nobody is writing then). Without ``fcntl`` (Windows) it
    yields ``False`` and callers rely on their own checks. Non-blocking: ``BlockingIOError``
    when someone else holds it.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield False
        return
    if exclusive:
        fd = open_private_fd(lock_path, os.O_RDWR | os.O_CREAT)
    else:
        try:
            fd = open_private_fd(lock_path, os.O_RDONLY)
        except OSError:
            yield False
            return
    try:
        operation = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
        fcntl.flock(fd, operation if blocking else operation | fcntl.LOCK_NB)
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
