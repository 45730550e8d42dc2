"""Idle over SSH: bytes the console writes to its terminal per minute while nothing changes.

The console runs in a pty (120x40, TERM=xterm-256color, no COLORTERM: what an SSH session
usually gets) with the real clock and a 5 s refresh against a simulated gateway whose data never
changes. After the first paint settles, every byte read from the pty's master side for
``seconds`` is counted (relative times still tick once a minute, as they must).
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

from bench.core import Row, kib, spawn_in_pty

LAUNCHERS = Path(__file__).with_name("launchers")
COLUMNS, LINES = 120, 40
SETTLE_QUIET = 1.0  # the first paint has settled once the console is quiet this long
SETTLE_MAX = 20.0


def _read(fd: int, timeout: float) -> bytes:
    ready, _, _ = select.select([fd], [], [], max(0.0, timeout))
    if not ready:
        return b""
    try:
        return os.read(fd, 65536)
    except OSError:  # the child closed its side
        return b""


def measure(seconds: float, refresh: float = 5.0, settle: float = SETTLE_QUIET) -> dict[str, float]:
    """Run the console in a pty; bytes written at start-up and during ``seconds`` of idling."""
    env = {k: v for k, v in os.environ.items() if k not in ("COLORTERM", "NO_COLOR")}
    env.update(TERM="xterm-256color", COLUMNS=str(COLUMNS), LINES=str(LINES))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    launcher = os.environ.get("BENCH_IDLE_LAUNCHER", str(LAUNCHERS / "idle_console.py"))
    child, master = spawn_in_pty([sys.executable, launcher, str(refresh)], env, (COLUMNS, LINES))
    try:
        startup = 0
        started = time.monotonic()
        quiet_since = time.monotonic()
        while time.monotonic() - started < SETTLE_MAX:
            chunk = _read(master, 0.1)
            if chunk:
                startup += len(chunk)
                quiet_since = time.monotonic()
            elif startup and time.monotonic() - quiet_since >= settle:
                break
        idle = 0
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            idle += len(_read(master, min(left, 0.5)))
        return {
            "startup": startup,
            "idle": idle,
            "seconds": seconds,
            "per_minute": idle * 60.0 / seconds,
        }
    finally:
        with contextlib.suppress(OSError):
            os.write(master, b"\x03")  # ctrl+c: the console quits
        try:
            child.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
        os.close(master)


def idle_over_ssh(seconds: float = 60.0, *, settle: float = SETTLE_QUIET) -> list[Row]:
    result = measure(seconds, settle=settle)
    per_minute = result["per_minute"]
    return [
        Row(
            "Idle over SSH (120x40, 5 s refresh, nothing changes)",
            f"{kib(per_minute)}/min",
            "<= 1 KB/min",
            per_minute <= 1000,
            0,
            f"{result['idle']:.0f} B in {seconds:g} s of real time after the first paint "
            f"({kib(result['startup'])}); pty, TERM=xterm-256color",
            result,
        )
    ]
