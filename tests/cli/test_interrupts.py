"""A signal in the middle of ``batches cancel``: the real program against a loopback gateway whose
cancels are slow; the gateway's request log is compared with the audit file line by line.

Every cancel the gateway received has an intent line, and an outcome line or reads ``unknown``;
every batch of the run has a line; the exit code is 128 + the signal.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import pytest

from bifrost_tui.sim import SimWorld
from tests.support.ui_fixtures import cancel_requests

pytestmark = pytest.mark.slow

PROVIDER = "anthropic"
#: How long a cancel takes to answer: longer than the grace, so an interrupted run has to give up.
SLOW = 3.0
GRACE = "1"
SIGNALS = [signal.SIGINT, signal.SIGTERM, signal.SIGHUP]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("BIFROST", "XDG_"))}
    clean["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    clean["XDG_STATE_HOME"] = str(tmp_path / "state")
    return clean


def audit_path(env: dict[str, str]) -> Path:
    return Path(env["XDG_STATE_HOME"]) / "bifrost-tui" / "audit.jsonl"


def active_batches(world: SimWorld, count: int) -> list[str]:
    ids = [f"msgbatch_sig_{i:02d}" for i in range(count)]
    for batch_id in ids:
        world.add_batch(PROVIDER, id=batch_id, status="in_progress", total=3)
    return ids


def start(url: str, ids: list[str], env: dict[str, str], *flags: str) -> subprocess.Popen[str]:
    argv = ["batches", "cancel", *ids, "--provider", PROVIDER, "--url", url, "--yes", *flags]
    return subprocess.Popen(
        [sys.executable, "-m", "bifrost_tui", *argv],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_until(condition: Callable[[], bool], proc: subprocess.Popen[str], what: str) -> None:
    """Poll a real condition (the gateway's log), bounded; fail if the program ended first."""
    deadline = time.monotonic() + 20
    while not condition():
        assert proc.poll() is None, f"ended before {what}: {proc.communicate()}"
        assert time.monotonic() < deadline, f"never saw {what}"
        time.sleep(0.02)


def cancelled_ids(world: SimWorld) -> list[str]:
    return [r.path.rstrip("/").split("/")[-2] for r in cancel_requests(world)]


def audit_lines(env: dict[str, str]) -> list[dict[str, Any]]:
    path = audit_path(env)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def audit_json(env: dict[str, str]) -> list[dict[str, Any]]:
    done = subprocess.run(
        [sys.executable, "-m", "bifrost_tui", "audit", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def check_record(world: SimWorld, env: dict[str, str], ids: list[str]) -> dict[str, str]:
    """The gateway's log against the audit file; each batch's final word."""
    lines = audit_lines(env)
    intents = {line["attempt_id"]: line for line in lines if line["event"] == "intent"}
    outcomes = [line for line in lines if line["event"] == "outcome"]
    paired = {line["attempt_id"]: line for line in outcomes if line["attempt_id"]}
    received = cancelled_ids(world)
    assert len(received) == len(set(received)), "a cancel was sent twice"
    # Every cancel the gateway received was announced before it left.
    assert sorted(received) == sorted(line["batch_id"] for line in intents.values())
    final: dict[str, str] = {}
    for attempt_id, intent in intents.items():
        outcome = paired.get(attempt_id)
        word = outcome["outcome"] if outcome is not None else "unknown"
        assert word in ("accepted", "refused", "unknown"), (intent, outcome)
        final[intent["batch_id"]] = word
    for line in outcomes:
        if line["attempt_id"] is None:  # never sent
            assert line["batch_id"] not in received
            assert line["outcome"] == "not_sent", line
            final[line["batch_id"]] = line["outcome"]
    assert set(paired) <= set(intents), "an outcome paired with no intent"
    assert sorted(final) == sorted(ids), "every batch of the run has its line"
    # What `bifrost-tui audit --json` shows: a batch whose intent has no outcome reads unknown.
    shown: dict[str, set[str]] = {}
    for row in audit_json(env):
        shown.setdefault(row["batch_id"], set()).add(row["outcome"])
    for batch_id, word in final.items():
        assert word in shown[batch_id], (batch_id, word, shown[batch_id])
        if word == "unknown":
            assert shown[batch_id] == {"unknown"}
    return final


@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
@pytest.mark.parametrize("bulk", [False, True], ids=["single", "bulk"])
def test_a_signal_mid_run_leaves_every_batch_its_line(
    sim_url: str, world: SimWorld, env: dict[str, str], sig: signal.Signals, bulk: bool
) -> None:
    world.faults.cancel_latency = SLOW
    ids = active_batches(world, 6 if bulk else 1)
    flags = ["--grace", GRACE, "--concurrency", "2"] if bulk else ["--grace", GRACE]
    proc = start(sim_url, ids, env, *flags)
    in_flight = 2 if bulk else 1
    wait_until(lambda: len(cancel_requests(world)) >= in_flight, proc, "the cancels arrive")
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 128 + sig, (out, err)
    assert "Traceback" not in err
    final = check_record(world, env, ids)
    assert len(cancel_requests(world)) == in_flight, "nothing sent after the signal"
    assert sorted(w for w in final.values() if w != "not_sent") == ["unknown"] * in_flight
    assert list(final.values()).count("not_sent") == len(ids) - in_flight
    assert f"interrupted ({sig.name})" in err
    if bulk:
        assert "waiting up to 1s for the 2 in flight" in err
        assert f"interrupted ({sig.name}): 2 in flight when it came (2 unknown), 4 not sent" in out


def test_json_summary_says_interrupted_and_by_which_signal(
    sim_url: str, world: SimWorld, env: dict[str, str]
) -> None:
    world.faults.cancel_latency = SLOW
    ids = active_batches(world, 3)
    proc = start(sim_url, ids, env, "--grace", "0", "--concurrency", "1", "--json")
    wait_until(lambda: len(cancel_requests(world)) >= 1, proc, "the first cancel")
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 143, err
    lines = [json.loads(line) for line in out.splitlines()]
    summary = lines[-1]["summary"]
    assert summary["interrupted"] is True and summary["signal"] == "SIGTERM"
    assert summary["exit_code"] == 143
    assert summary["outcomes"]["unknown"] == 1 and summary["outcomes"]["not_sent"] == 2
    assert sorted(line["cancel"]["batch_id"] for line in lines[:-1]) == sorted(ids)
    check_record(world, env, ids)


class Lines:
    """The program's stderr read line by line in a thread, to wait for a message."""

    def __init__(self, stream: IO[str]) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.put(line)

    def wait_for(self, text: str) -> str:
        while True:
            line = self.lines.get(timeout=20)
            if text in line:
                return line


def test_a_second_signal_ends_the_wait_at_once(
    sim_url: str, world: SimWorld, env: dict[str, str]
) -> None:
    world.faults.cancel_latency = 30.0  # never answered within the test
    ids = active_batches(world, 4)
    proc = start(sim_url, ids, env, "--grace", "30", "--concurrency", "2")
    wait_until(lambda: len(cancel_requests(world)) >= 2, proc, "the cancels arrive")
    assert proc.stderr is not None
    stderr = Lines(proc.stderr)
    proc.send_signal(signal.SIGINT)
    assert "waiting up to 30s for the 2 in flight" in stderr.wait_for("interrupted (SIGINT)")
    proc.send_signal(signal.SIGINT)
    began = time.monotonic()
    proc.wait(timeout=20)
    assert time.monotonic() - began < 10, "the second signal did not end the wait"
    assert proc.returncode == 130
    final = check_record(world, env, ids)
    assert sorted(final.values()) == ["not_sent", "not_sent", "unknown", "unknown"]


def test_grace_zero_does_not_wait_for_the_cancels_in_flight(
    sim_url: str, world: SimWorld, env: dict[str, str]
) -> None:
    world.faults.cancel_latency = 30.0
    ids = active_batches(world, 1)
    proc = start(sim_url, ids, env, "--grace", "0")
    wait_until(lambda: len(cancel_requests(world)) >= 1, proc, "the cancel arrives")
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=10)
    assert proc.returncode == 143, err
    assert "not waiting for the 1 in flight (--grace 0)" in err
    assert check_record(world, env, ids) == {ids[0]: "unknown"}


def test_sighup_with_the_output_gone_still_writes_every_line(
    sim_url: str, world: SimWorld, env: dict[str, str]
) -> None:
    """The terminal of an SSH session is gone: writing fails, the record does not."""
    world.faults.cancel_latency = SLOW
    ids = active_batches(world, 5)
    proc = start(sim_url, ids, env, "--grace", GRACE, "--concurrency", "2")
    wait_until(lambda: len(cancel_requests(world)) >= 2, proc, "the cancels arrive")
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    proc.stderr.close()
    proc.send_signal(signal.SIGHUP)
    assert proc.wait(timeout=30) == 129
    final = check_record(world, env, ids)
    assert list(final.values()).count("not_sent") == 3


def test_a_signal_before_anything_is_sent_ends_the_command_with_nothing_sent(
    sim_url: str, world: SimWorld, env: dict[str, str]
) -> None:
    world.faults.latency = 30.0  # the read before the cancel never answers in time
    ids = active_batches(world, 1)
    proc = start(sim_url, ids, env, "--json")
    wait_until(lambda: bool(world.requests(op="batch_retrieve")), proc, "the pre-read")
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 143, err
    assert "Traceback" not in err and "nothing sent" in err
    assert json.loads(out.splitlines()[-1])["summary"]["signal"] == "SIGTERM"
    assert cancel_requests(world) == [] and audit_lines(env) == []


@pytest.mark.parametrize("bulk", [False, True], ids=["single", "bulk"])
def test_a_cancel_whose_pre_read_fails_still_leaves_a_line(
    sim_url: str, world: SimWorld, env: dict[str, str], bulk: bool
) -> None:
    ids = active_batches(world, 3)
    unread, ids = ids[0], ids[1:] if bulk else []
    world.faults.fail_next(503, "<html>down</html>", method="GET", path=unread, times=20)
    proc = start(sim_url, [unread, *ids], env)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode != 0, (out, err)
    lines = {line["batch_id"]: line for line in audit_lines(env)}
    line = lines[unread]
    assert line["event"] == "outcome" and line["attempt_id"] is None
    assert line["outcome"] == "not_sent" and "503" in (line["reason"] or "")
    assert unread not in cancelled_ids(world)
    assert all(lines[i]["outcome"] == "accepted" for i in ids)


def watch_flags(url: str) -> list[str]:
    return ["--provider", PROVIDER, "--url", url, "--interval", "1", "--json"]


@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
def test_watch_ends_on_a_signal_with_its_code_and_summary(
    sim_url: str, world: SimWorld, env: dict[str, str], sig: signal.Signals
) -> None:
    ids = active_batches(world, 1)
    proc = subprocess.Popen(
        [sys.executable, "-m", "bifrost_tui", "batches", "watch", *ids, *watch_flags(sim_url)],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_until(lambda: bool(world.requests(op="batch_retrieve")), proc, "the first read")
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 128 + sig, err
    assert "Traceback" not in err
    summary = json.loads(out.splitlines()[-1])["summary"]
    assert summary["interrupted"] is True and summary["exit_code"] == 128 + sig
