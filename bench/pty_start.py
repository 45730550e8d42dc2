"""Start-up as the user sees it: the real `bifrost-tui --url URL` in a pty, to its first batch row.

The simulator (`bifrost-tui sim --batches-per-provider 200 --seed 1`, optionally `--latency S`)
runs on loopback as its own process, started once per series; its URL comes from its banner and
its batch ids from one `batches list --json` against it before the series. Each run spawns the
console's console script in a fresh pty of 120x40 (TERM=xterm-256color, config and state dirs in
a temporary directory, so no user profile is read) and times from the spawn until the first 12
characters of any simulator id appear in the bytes written to the terminal. A bare Textual app
painting a 20-row DataTable (`bench/launchers/bare_table_tty.py`) is timed the same way,
interleaved with it.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import select
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.core import Row, median, ms, spawn_in_pty
from bench.startup import _cli, _env

LAUNCHERS = Path(__file__).with_name("launchers")
COLUMNS, LINES = 120, 40
BATCHES_PER_PROVIDER = 200
SEED = 1
ID_PREFIX = 12  # characters of a simulator id that mean "a batch row is on the screen"
RUN_TIMEOUT = 60.0

#: The bare app's first row id (bench/launchers/bare_table_tty.py).
BARE_MARKER = b"batch_bare_0000"[:ID_PREFIX]


def tty_env(home: Path) -> dict[str, str]:
    """The environment of every child: a terminal as SSH gives one, nothing of the user's."""
    env = {
        k: v
        for k, v in _env().items()
        if k not in ("COLORTERM", "NO_COLOR") and not k.startswith("TEXTUAL")
    }
    env.update(
        TERM="xterm-256color",
        COLUMNS=str(COLUMNS),
        LINES=str(LINES),
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_STATE_HOME=str(home / "state"),
        XDG_DATA_HOME=str(home / "data"),
        XDG_CACHE_HOME=str(home / "cache"),
    )
    return env


@dataclass
class Simulator:
    url: str
    ids: list[str]


@contextlib.contextmanager
def simulator(latency: float, env: dict[str, str]) -> Iterator[Simulator]:
    """`bifrost-tui sim` on loopback as a child process; its URL and every batch id it serves."""
    cmd = [*_cli(), "sim", "--batches-per-provider", str(BATCHES_PER_PROVIDER)]
    cmd += ["--seed", str(SEED), "--latency", str(latency)]
    child = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env
    )
    try:
        assert child.stdout is not None
        url = None
        deadline = time.monotonic() + 30
        while url is None and time.monotonic() < deadline:
            line = child.stdout.readline()
            if not line:
                break
            found = re.search(r"serving on (http://\S+)", line)
            url = found.group(1) if found else None
        if url is None:
            raise RuntimeError("the simulator printed no URL")
        listing = subprocess.run(
            [*_cli(), "batches", "list", "--url", url, "--json"],
            check=True,
            capture_output=True,
            env=env,
            timeout=120,
        )
        ids = [b["id"] for b in json.loads(listing.stdout)["batches"]]
        if not ids:
            raise RuntimeError("the simulator listed no batches")
        yield Simulator(url, ids)
    finally:
        child.send_signal(signal.SIGTERM)  # the simulator stops cleanly on SIGTERM
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        if child.stdout is not None:
            child.stdout.close()


def time_to_text(cmd: Sequence[str], markers: Sequence[bytes], env: dict[str, str]) -> float:
    """Spawn ``cmd`` in a fresh 120x40 pty; seconds from the spawn until any of ``markers``
    appears in the bytes it writes to the terminal. The process is ended right after."""
    pattern = re.compile(b"|".join(re.escape(m) for m in markers))
    keep = max(len(m) for m in markers)
    start = time.perf_counter()
    child, master = spawn_in_pty(cmd, env, (COLUMNS, LINES))
    tail = b""
    try:
        while (left := start + RUN_TIMEOUT - time.perf_counter()) > 0:
            ready, _, _ = select.select([master], [], [], min(left, 0.5))
            if not ready:
                if child.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(master, 65536)
            except BlockingIOError:
                continue
            except OSError:  # EIO: the child closed the terminal
                break
            seen = time.perf_counter()
            window = tail + chunk
            if pattern.search(window):
                return seen - start
            tail = window[-keep:]
        raise RuntimeError(f"{cmd[0]}: no batch id on the terminal (exit {child.poll()})")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGTERM)
        try:
            child.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
        os.close(master)


def _series(
    latency: float, runs: int, *, warm: bool, home: Path
) -> tuple[list[float], list[float]]:
    env = tty_env(home)
    bare = [sys.executable, str(LAUNCHERS / "bare_table_tty.py")]
    with simulator(latency, env) as sim:
        markers = sorted({i[:ID_PREFIX].encode() for i in sim.ids})
        console = [*_cli(), "--url", sim.url]
        if warm:  # the file and bytecode caches; not counted
            time_to_text(console, markers, env)
            time_to_text(bare, [BARE_MARKER], env)
        app_times, base_times = [], []
        for _ in range(runs):
            app_times.append(time_to_text(console, markers, env))
            base_times.append(time_to_text(bare, [BARE_MARKER], env))
    return app_times, base_times


def first_row_in_pty(
    runs: int = 5, *, latencies: Sequence[float] = (0.0, 1.0), warm: bool = True
) -> list[Row]:
    """One row per gateway latency: the console's first batch row against the bare app's."""
    rows: list[Row] = []
    fast: float | None = None  # the console's median against the instant gateway
    with tempfile.TemporaryDirectory() as tmp:
        for latency in latencies:
            app_times, base_times = _series(latency, runs, warm=warm, home=Path(tmp))
            app, base = median(app_times), median(base_times)
            ratio = app / base
            values = {"ratio": ratio, "app": app, "base": base, "latency": latency}
            spread = f"console runs {ms(min(app_times))}–{ms(max(app_times))}"
            if latency == 0:
                fast = app
                rows.append(
                    Row(
                        "First batch row in a pty (`--url`, loopback simulator, 5 x 200 batches)",
                        f"{ratio:.2f}x ({ms(app)} vs {ms(base)})",
                        "<= 1.5x",
                        ratio <= 1.5,
                        runs,
                        "spawn to the first 12 characters of a simulator id on the terminal; "
                        f"baseline: a bare Textual app's 20-row DataTable, the same way; {spread}",
                        values,
                    )
                )
                continue
            budget = 2 * latency + 1.5 * base
            trips = ""
            if fast is not None:
                values["round_trips"] = (app - fast) / latency
                trips = f"; ~{values['round_trips']:.1f} x {latency:g} s over the instant gateway"
            rows.append(
                Row(
                    f"First batch row in a pty, gateway answering in {latency:g} s",
                    f"{ms(app)} ({ratio:.2f}x the bare app's {ms(base)})",
                    f"<= 2 round trips + 1.5x bare ({ms(budget)})",
                    app <= budget,
                    runs,
                    f"`bifrost-tui sim --latency {latency:g}` (every request){trips}; {spread}",
                    values,
                )
            )
    return rows
