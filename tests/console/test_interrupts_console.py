"""The console's cancels are written ahead to the audit, off the event loop, and survive being
stopped: a signal, a lost terminal or a confirmed ``q`` stops sending, waits at most the grace,
records every batch of the run, and exits with the right code."""

from __future__ import annotations

import asyncio
import errno
import io
import json
import os
import signal
import stat
import threading
from dataclasses import replace
from typing import Any

import pytest
from pydantic import SecretStr
from textual.app import App

from bifrost_tui.audit.log import AuditLog
from bifrost_tui.config import paths
from bifrost_tui.config.connection import DEMO_URL
from bifrost_tui.core.bulk import ABANDONED_REASON
from bifrost_tui.gateway.client import ClientConfig
from bifrost_tui.sim import SimRequest
from bifrost_tui.ui.app import BifrostApp, run_console
from bifrost_tui.ui.cancelling import EXITED_BEFORE_SENDING
from bifrost_tui.ui.crash import EXIT_CRASHED
from bifrost_tui.ui.screens.confirm import ConfirmScreen
from bifrost_tui.ui.terminal import _DeadTerminalTolerant
from bifrost_tui.ui.widgets.batch_table.table import BatchTable
from tests.support.ui_fixtures import Rig, cancel_requests, first_with, main_screen, make_rig

#: A cancel latency: with a rig's ``hang``, the cancel is applied but never answered.
NEVER = 1000.0
VK = "sk-bf-crash-planted-secret-0042"


def audit_lines() -> list[dict[str, Any]]:
    path = paths.audit_file()
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def outcomes_by_batch(lines: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {x["batch_id"]: x for x in lines if x["event"] == "outcome"}


def rig(*, grace: float = 5.0, hang: asyncio.Event | None = None, **opts: Any) -> Rig:
    """The console on the simulator with ``grace``; with ``hang``, any latency waits for it."""

    async def sleep(_seconds: float) -> None:
        if hang is not None:
            await hang.wait()

    made = make_rig(sleep=sleep, **opts)
    app = BifrostApp(made.app.connection, clock=made.clock, live_updates=False, grace=grace)
    return Rig(app, made.world, made.clock)


async def until(pilot: Any, condition: Any) -> None:
    """Let the app run until ``condition()`` holds (bounded: a regression fails, never hangs)."""
    for _ in range(200):
        if condition():
            return
        await pilot.pause()
    raise AssertionError("the condition never held")


def cancellable_keys(app: BifrostApp, n: int) -> list[Any]:
    return [k for k, b in app.store.batches.items() if b.cancellable][:n]


async def test_the_intent_line_is_on_disk_before_the_cancel_reaches_the_gateway():
    r = rig()
    seen_at_cancel: list[list[dict[str, Any]]] = []
    handle = r.world.handle

    def checking(request: SimRequest) -> Any:
        if request.method == "POST" and request.path.endswith("/cancel"):
            seen_at_cancel.append(audit_lines())
        return handle(request)

    r.world.handle = checking  # type: ignore[method-assign]  # the gateway looks at the audit
    async with r.app.run_test(size=(120, 40)) as pilot:
        await r.app.do_poll(deep=True)
        target = first_with(r.app, lambda b: b.cancellable)
        main_screen(r.app).query_one(BatchTable).move_cursor_to_key(target.key)
        await pilot.press("c", "y")
        await r.app.workers.wait_for_complete()
    ((intent,),) = seen_at_cancel
    assert intent["event"] == "intent" and intent["batch_id"] == target.id
    assert intent["outcome"] == "unknown" and intent["source"] == "console"
    first, outcome = audit_lines()
    assert first == intent and outcome["attempt_id"] == intent["attempt_id"]
    assert outcome["outcome"] == "accepted"


async def test_each_bulk_intent_is_on_disk_before_its_cancel_reaches_the_gateway():
    r = rig()
    missing: list[str] = []
    handle = r.world.handle

    def checking(request: SimRequest) -> Any:
        if request.method == "POST" and request.path.endswith("/cancel"):
            intents = {x["batch_id"] for x in audit_lines() if x["event"] == "intent"}
            if not any(part in intents for part in request.path.split("/")):
                missing.append(request.path)
        return handle(request)

    r.world.handle = checking  # type: ignore[method-assign]
    async with r.app.run_test(size=(120, 40)) as pilot:
        await r.app.do_poll(deep=True)
        keys = [k for k in cancellable_keys(r.app, 30) if k[0] in ("anthropic", "openai")][:6]
        worker = r.app.run_bulk_worker(keys)
        await worker.wait()
        await pilot.pause()
    assert len(cancel_requests(r.world)) == len(keys) and missing == []
    lines = audit_lines()
    assert len({x["bulk_id"] for x in lines}) == 1
    outcomes = outcomes_by_batch(lines)
    assert set(outcomes) == {k[1] for k in keys}
    intents = {x["attempt_id"] for x in lines if x["event"] == "intent"}
    assert {x["attempt_id"] for x in outcomes.values()} == intents


async def test_audit_writes_never_run_on_the_event_loop(monkeypatch):
    record = AuditLog.record
    threads: list[str] = []

    def spying(self: AuditLog, entry: Any) -> None:
        threads.append(threading.current_thread().name)
        record(self, entry)

    monkeypatch.setattr(AuditLog, "record", spying)
    r = rig()
    async with r.app.run_test(size=(120, 40)) as pilot:
        await r.app.do_poll(deep=True)
        target = first_with(r.app, lambda b: b.cancellable)
        await r.app.do_cancel(target.key)
        worker = r.app.run_bulk_worker(cancellable_keys(r.app, 3))
        await worker.wait()
        await pilot.pause()
    assert len(threads) == 2 + 6
    assert threading.main_thread().name not in threads


async def test_q_with_a_cancel_in_flight_asks_then_waits_at_most_the_grace_and_records_unknown():
    hang = asyncio.Event()  # never set: the gateway never answers the cancel
    r = rig(grace=0.05, hang=hang)
    async with r.app.run_test(size=(120, 40)) as pilot:
        app = r.app
        await app.do_poll(deep=True)
        target = first_with(app, lambda b: b.cancellable)
        r.world.faults.cancel_latency = NEVER
        main_screen(app).query_one(BatchTable).move_cursor_to_key(target.key)
        await pilot.press("c", "y")
        await until(pilot, lambda: cancel_requests(r.world) and target.key in app.in_flight)
        await pilot.press("q")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        assert "0.05s" in str(app.screen.query_one("#confirm-body").render())
        await pilot.press("y")
        await app.workers.wait_for_complete()
    assert app.return_code == 0
    intent, outcome = audit_lines()
    assert intent["event"] == "intent" and outcome["attempt_id"] == intent["attempt_id"]
    assert outcome["outcome"] == "unknown" and outcome["reason"] == ABANDONED_REASON


@pytest.mark.parametrize(
    ("signum", "code"),
    [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129)],
)
async def test_a_signal_mid_bulk_stops_sending_and_records_every_batch(signum, code):
    hang = asyncio.Event()
    r = rig(grace=0.05, hang=hang)
    async with r.app.run_test(size=(120, 40)) as pilot:
        app = r.app
        await app.do_poll(deep=True)
        keys = cancellable_keys(app, 10)
        app.connection.settings = replace(app.connection.settings, bulk_concurrency=3)
        r.world.faults.cancel_latency = NEVER
        app.run_bulk_worker(keys)
        await until(pilot, lambda: len(cancel_requests(r.world)) == 3)
        app.interrupt.request(signum)
        await app.workers.wait_for_complete()
    assert app.return_code == code
    assert len(cancel_requests(r.world)) == 3  # nothing more was sent
    outcomes = outcomes_by_batch(audit_lines())
    assert set(outcomes) == {k[1] for k in keys}  # every batch of the run has its line
    words = sorted((x["outcome"], x["reason"]) for x in outcomes.values())
    assert words.count(("unknown", ABANDONED_REASON)) == 3
    assert words.count(("not_sent", "interrupted")) == 7


async def test_a_second_signal_ends_the_wait_at_once():
    hang = asyncio.Event()
    r = rig(
        grace=3600, hang=hang
    )  # the grace would outlast the test: only the second signal ends it
    async with r.app.run_test(size=(120, 40)) as pilot:
        app = r.app
        await app.do_poll(deep=True)
        target = first_with(app, lambda b: b.cancellable)
        r.world.faults.cancel_latency = NEVER
        worker = app.run_worker(app.do_cancel(target.key), group="cancel")
        await until(pilot, lambda: bool(cancel_requests(r.world)))
        app.interrupt.request(signal.SIGTERM)
        await pilot.pause()
        assert app.is_running and not app.interrupt.abandon.is_set()
        app.interrupt.request(signal.SIGTERM)
        await worker.wait()
        await app.workers.wait_for_complete()
    assert app.return_code == 143
    assert outcomes_by_batch(audit_lines())[target.id]["outcome"] == "unknown"


async def test_a_signal_with_no_cancel_running_exits_at_once_with_its_code():
    r = rig()
    async with r.app.run_test(size=(120, 40)) as pilot:
        await r.app.do_poll(deep=True)
        r.app.interrupt.request(signal.SIGTERM)
        await pilot.pause()
    assert r.app.return_code == 143 and audit_lines() == []


async def test_a_lost_terminal_with_a_cancel_in_flight_writes_its_line_then_exits_129():
    hang = asyncio.Event()
    r = rig(grace=0.05, hang=hang)
    async with r.app.run_test(size=(120, 40)) as pilot:
        app = r.app
        await app.do_poll(deep=True)
        target = first_with(app, lambda b: b.cancellable)
        r.world.faults.cancel_latency = NEVER
        app.run_worker(app.do_cancel(target.key), group="cancel")
        await until(pilot, lambda: bool(cancel_requests(r.world)))
        app.on_terminal_lost()
        await app.workers.wait_for_complete()
    assert app.return_code == 129
    assert outcomes_by_batch(audit_lines())[target.id]["outcome"] == "unknown"


async def test_lines_a_run_still_owes_at_exit_are_written_after_the_loop_stops():
    """Whatever ends the console mid-run (a crash, Textual closing), every batch gets its line."""
    hang = asyncio.Event()
    r = rig(hang=hang)
    async with r.app.run_test(size=(120, 40)) as pilot:
        app = r.app
        await app.do_poll(deep=True)
        keys = cancellable_keys(app, 5)
        app.connection.settings = replace(app.connection.settings, bulk_concurrency=2)
        r.world.faults.cancel_latency = NEVER
        app.run_bulk_worker(keys)
        await until(pilot, lambda: len(cancel_requests(r.world)) == 2)
        app.exit()  # not through the stopping path: its workers are simply cancelled
    app.settle_open_runs()
    outcomes = outcomes_by_batch(audit_lines())
    assert set(outcomes) == {k[1] for k in keys}
    sent = [x for x in outcomes.values() if x["outcome"] == "unknown"]
    assert len(sent) == 2 and all(x["attempt_id"] for x in sent)
    assert [x["reason"] for x in outcomes.values()].count(EXITED_BEFORE_SENDING) == 3


def test_output_to_a_dead_terminal_is_dropped_and_the_loss_said_once():
    class Dead(io.StringIO):
        def write(self, text: str) -> int:
            raise OSError(errno.EIO, "Input/output error")

    said: list[bool] = []
    stream = _DeadTerminalTolerant(Dead(), lambda: said.append(True))
    for _ in range(100):  # more than Textual's writer queue holds: it would block on a dead one
        assert stream.write("x" * 10) == 10
        stream.flush()
    assert said == [True] and not stream.isatty()


def test_a_crash_exits_70_and_leaves_a_private_crash_log_without_the_key(monkeypatch, capsys):
    made = make_rig()
    config = ClientConfig(base_url=DEMO_URL, retries=0, virtual_key=SecretStr(VK))
    connection = replace(made.app.connection, client_config=config)

    def broken(self: BifrostApp) -> None:
        raise RuntimeError(f"a bug in a handler, near the key {VK}")

    async def press_help(pilot: Any) -> None:
        await pilot.press("question_mark")

    def headless(self: BifrostApp, *, mouse: bool = True) -> Any:
        return App.run(self, headless=True, size=(100, 30), auto_pilot=press_help)

    monkeypatch.setattr(BifrostApp, "action_help", broken)
    monkeypatch.setattr(BifrostApp, "run", headless)
    monkeypatch.setattr(BifrostApp, "__init__", _live_updates_off(BifrostApp.__init__))
    code = run_console(connection)
    assert code == EXIT_CRASHED
    (log,) = paths.state_dir().glob("crash-*.log")
    assert stat.S_IMODE(os.stat(log).st_mode) == 0o600
    text = log.read_text()
    assert "RuntimeError: a bug in a handler" in text and "Traceback" in text
    assert VK not in text and VK[:12] not in text
    err = capsys.readouterr().err
    (said,) = [line for line in err.splitlines() if line.startswith("bifrost-tui crashed")]
    assert "a bug in a handler" in said and VK not in said and VK[:12] not in said
    assert f"(secrets redacted) is in {log}" in err


def _live_updates_off(init: Any) -> Any:
    def wrapped(self: BifrostApp, connection: Any, **opts: Any) -> None:
        init(self, connection, **{**opts, "live_updates": False})

    return wrapped
