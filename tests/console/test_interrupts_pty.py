"""The real console in a pseudo-terminal, interrupted mid-cancel: SIGINT, SIGTERM, SIGHUP, and a
closed terminal (the pty's master closed, as an SSH drop does), for one batch and a bulk run.

The console runs as a subprocess against the simulator on loopback, whose cancels are slow. The
keys an operator types go to the pty; once the gateway's log shows the cancels arrive, the
signal is sent. Then the gateway's request log is compared with the audit file: every cancel the
gateway received was announced by an intent line and has an outcome or reads ``unknown``, every
batch of the run has a line, and the exit code is 128 + the signal's number.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyte
import pytest

from bifrost_tui.clock import ManualClock
from bifrost_tui.sim import SimWorld
from tests.support.ui_fixtures import cancel_requests

pytestmark = pytest.mark.slow

PROVIDER = "anthropic"
PREFIX = "msgbatch_pty_"
#: A cancel's answer takes longer than the grace: an interrupted run has to give up on it.
SLOW = 3.0
GRACE = "1"
#: The bulk run: more than 10 (a typed confirmation) and more than the 8 sent at once.
BULK = 12
IN_FLIGHT = 8
SIZE = (40, 120)  # rows, columns
#: Makes the pty the console's controlling terminal, so closing it sends SIGHUP as a real
#: terminal does; then runs the console.
LAUNCH = (
    "import fcntl, runpy, sys, termios; fcntl.ioctl(0, termios.TIOCSCTTY, 0); "
    "sys.argv[0] = 'bifrost-tui'; runpy.run_module('bifrost_tui', run_name='__main__')"
)
HANGUP_BY_CLOSE = "close"
WAYS = [signal.SIGINT, signal.SIGTERM, signal.SIGHUP, HANGUP_BY_CLOSE]


@pytest.fixture
def world(clock: ManualClock) -> SimWorld:
    """A gateway holding only the batches a test adds: the cursor starts on one, ``a`` tags all."""
    return SimWorld(clock, seed=1)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("BIFROST", "XDG_", "TEXTUAL", "NO_COLOR"))
    }
    clean.update(
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_STATE_HOME=str(tmp_path / "state"),
        XDG_DATA_HOME=str(tmp_path / "data"),
        TERM="xterm-256color",
        COLORTERM="truecolor",
        TZ="UTC",
    )
    return clean


class Console:
    """The console on a pty: keys in, everything it paints collected by a reader thread."""

    def __init__(self, url: str, env: dict[str, str]) -> None:
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", *SIZE, 0, 0))
        self.proc = subprocess.Popen(
            [sys.executable, "-c", LAUNCH, "--url", url, "--grace", GRACE, "--no-mouse"],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            start_new_session=True,
            close_fds=True,
        )
        os.close(slave)
        self.screen = pyte.Screen(SIZE[1], SIZE[0])
        self._stream = pyte.ByteStream(self.screen)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if not ready:
                continue
            try:
                chunk = os.read(self.master, 65536)
            except OSError:  # the console exited and closed its side
                return
            if not chunk:
                return
            with self._lock:
                self._stream.feed(chunk)

    def text(self) -> str:
        """The terminal's screen as it is now."""
        with self._lock:
            return "\n".join(self.screen.display)

    def press(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def _row(self, marker: str) -> list[tuple[str, str, str]]:
        """The characters and colours of the first row whose text holds ``marker``."""
        with self._lock:
            for y, text in enumerate(self.screen.display):
                if marker in text:
                    line = self.screen.buffer[y]
                    return [(line[x].data, line[x].fg, line[x].bg) for x in range(SIZE[1])]
        return []

    def press_and_see(self, keys: str, row: str) -> None:
        """Press ``keys`` and wait until the row holding ``row`` changes (its colours when the
        focus moves, a placeholder replaced by typed text): the keys have been handled."""
        before = self._row(row)
        assert before, f"no row shows {row!r}"
        self.press(keys)
        self.wait_for(lambda: self._row(row) != before, f"the effect of {keys!r} on {row!r}")

    def wait_for(self, condition: Callable[[], bool], what: str) -> None:
        """Poll a real condition, bounded; fail at once if the console ended first."""
        deadline = time.monotonic() + 30
        while not condition():
            assert self.proc.poll() is None, f"the console ended before {what}: {self.text()}"
            assert time.monotonic() < deadline, f"never saw {what}:\n{self.text()}"
            time.sleep(0.02)

    def wait_painted(self, words: str) -> None:
        self.wait_for(lambda: words in self.text(), repr(words))

    def hang_up(self) -> None:
        """The terminal goes away: the master side is closed."""
        self._stop.set()
        self._reader.join()
        os.close(self.master)
        self.master = -1

    def exit_code(self) -> int:
        try:
            return self.proc.wait(timeout=30)
        finally:
            self.close()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._stop.set()
        self._reader.join()
        if self.master >= 0:
            os.close(self.master)
            self.master = -1


@pytest.fixture
def console(sim_url: str, env: dict[str, str]) -> Iterator[Any]:
    started: list[Console] = []

    def start() -> Console:
        started.append(Console(sim_url, env))
        return started[-1]

    yield start
    for each in started:
        each.close()


def add_batches(world: SimWorld, count: int) -> list[str]:
    ids = [f"{PREFIX}{i:02d}" for i in range(count)]
    for batch_id in ids:
        world.add_batch(PROVIDER, id=batch_id, status="in_progress", total=3)
    return ids


def received(world: SimWorld) -> list[str]:
    return [r.path.rstrip("/").split("/")[-2] for r in cancel_requests(world)]


def audit_lines(env: dict[str, str]) -> list[dict[str, Any]]:
    path = Path(env["XDG_STATE_HOME"]) / "bifrost-tui" / "audit.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def audit_shown(env: dict[str, str]) -> dict[str, set[str]]:
    """What ``bifrost-tui audit --json`` says of each batch."""
    done = subprocess.run(
        [sys.executable, "-m", "bifrost_tui", "audit", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    shown: dict[str, set[str]] = {}
    for line in done.stdout.splitlines():
        row = json.loads(line)
        shown.setdefault(row["batch_id"], set()).add(row["outcome"])
    return shown


def check_record(world: SimWorld, env: dict[str, str], ids: list[str]) -> dict[str, str]:
    """The gateway's request log against the audit file: each batch's final word."""
    lines = audit_lines(env)
    intents = {x["attempt_id"]: x for x in lines if x["event"] == "intent"}
    outcomes = [x for x in lines if x["event"] == "outcome"]
    paired = {x["attempt_id"]: x for x in outcomes if x["attempt_id"]}
    sent = received(world)
    assert len(sent) == len(set(sent)), "a cancel was sent twice"
    assert sorted(sent) == sorted(x["batch_id"] for x in intents.values()), "sent unannounced"
    assert set(paired) <= set(intents), "an outcome paired with no intent"
    final: dict[str, str] = {}
    for attempt_id, intent in intents.items():
        outcome = paired.get(attempt_id)
        final[intent["batch_id"]] = outcome["outcome"] if outcome else "unknown"
    for line in outcomes:
        if line["attempt_id"] is None:
            assert line["batch_id"] not in sent and line["outcome"] == "not_sent", line
            final[line["batch_id"]] = line["outcome"]
    assert sorted(final) == sorted(ids), "every batch of the run has its line"
    shown = audit_shown(env)
    for batch_id, word in final.items():
        assert shown[batch_id] == {word}, (batch_id, word, shown[batch_id])
    return final


def interrupt(console: Console, way: signal.Signals | str) -> int:
    if way == HANGUP_BY_CLOSE:
        console.hang_up()
        return 128 + signal.SIGHUP
    assert isinstance(way, signal.Signals)
    console.proc.send_signal(way)
    return 128 + way


def ids_of(way: signal.Signals | str) -> str:
    return way if isinstance(way, str) else way.name


@pytest.mark.parametrize("way", WAYS, ids=ids_of)
def test_a_single_cancel_interrupted_leaves_its_lines(console, world, env, way):
    world.faults.cancel_latency = SLOW
    (batch_id,) = add_batches(world, 1)
    shell = console()
    shell.wait_painted(batch_id)
    shell.press("c")
    shell.wait_painted("Cancel this batch?")
    shell.press("y")
    shell.wait_for(lambda: len(received(world)) == 1, "the cancel reach the gateway")
    code = interrupt(shell, way)
    assert shell.exit_code() == code
    assert check_record(world, env, [batch_id]) == {batch_id: "unknown"}
    assert len(received(world)) == 1


@pytest.mark.parametrize("way", WAYS, ids=ids_of)
def test_a_bulk_cancel_interrupted_leaves_every_batch_its_line(console, world, env, way):
    world.faults.cancel_latency = SLOW
    ids = add_batches(world, BULK)
    shell = console()
    shell.wait_painted(ids[0])
    # Rows paint as each provider's first page lands; until every first listing has finished,
    # C would also ask to acknowledge a partial view.
    shell.wait_for(lambda: "listing…" not in shell.text(), "every first listing to finish")
    shell.press("aC")
    shell.wait_painted("‹type the word above")
    # The focus starts in the word's input: typing replaces its placeholder
    shell.press_and_see("127.0.0.1", row="‹type the word above")
    shell.press("\r")
    shell.wait_for(
        lambda: len(received(world)) == IN_FLIGHT,
        f"the cancels reach the gateway ({len(received(world))} so far)",
    )
    code = interrupt(shell, way)
    assert shell.exit_code() == code
    final = check_record(world, env, ids)
    assert len(received(world)) == IN_FLIGHT, "nothing was sent after the interrupt"
    assert list(final.values()).count("unknown") == IN_FLIGHT
    assert list(final.values()).count("not_sent") == BULK - IN_FLIGHT
