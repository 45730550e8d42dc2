"""What a benchmark returns (rows with medians, targets and verdicts) and small timing helpers."""

from __future__ import annotations

import fcntl
import os
import pty
import statistics
import struct
import subprocess
import termios
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Row:
    """One line of the results table."""

    figure: str
    #: The measured value, formatted for the table ("12.3 ms", "1.12x").
    measured: str
    #: The target as the issue states it ("<= 16 ms"), or "" for an informative row.
    target: str = ""
    #: True: met, False: missed, None: no target (informative) or not judged.
    ok: bool | None = None
    #: How many runs the median is taken over (0: a single measurement that is not a median).
    runs: int = 0
    note: str = ""
    #: Raw numbers for the growth table and for the smoke test (seconds, bytes, ratios...).
    values: dict[str, Any] = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        if self.ok is None:
            return "—"
        return "pass" if self.ok else "MISS"


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 10 else f"{seconds:.1f} s"


def kib(n: float) -> str:
    return f"{n:.0f} B" if n < 1024 else f"{n / 1024:.1f} KiB"


def spread(values: Sequence[float]) -> str:
    """``min–max`` in ms, for the notes: how noisy the runs were."""
    if not values:
        return ""
    return f"runs {min(values) * 1000:.1f}–{max(values) * 1000:.1f} ms"


@contextmanager
def stopwatch() -> Iterator[Callable[[], float]]:
    """``with stopwatch() as elapsed: ...``; ``elapsed()`` is seconds so far (or in total)."""
    start = time.perf_counter()
    end: list[float] = []
    try:
        yield lambda: (end[0] if end else time.perf_counter()) - start
    finally:
        end.append(time.perf_counter())


def spawn_in_pty(
    cmd: Sequence[str], env: dict[str, str], size: tuple[int, int]
) -> tuple[subprocess.Popen[bytes], int]:
    """``cmd`` started in a fresh pty of ``size`` (columns, lines), as its own session; the child
    and the pty's master end (non-blocking), which the caller reads and closes."""
    columns, lines = size
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))
    os.set_blocking(master, False)
    try:
        child = subprocess.Popen(
            list(cmd),
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            start_new_session=True,
            close_fds=True,
        )
    except BaseException:
        os.close(master)
        raise
    finally:
        os.close(slave)
    return child, master
