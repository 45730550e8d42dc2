"""The console's audit screen (``A``): one row per attempt, read in a worker thread (audit I/O never
on the event loop), and a FIFO planted at the log said in words instead of freezing the keys."""

from __future__ import annotations

import os
import threading
from typing import Any

import pytest
from textual.widgets import DataTable, Static

from bifrost_tui.audit.hook import AuditTrail
from bifrost_tui.audit.log import AuditLog
from bifrost_tui.config import paths
from bifrost_tui.core.bulk import ItemResult
from bifrost_tui.gateway.models import State
from bifrost_tui.ui.screens.audit import AuditScreen
from tests.support.deadline import run_within
from tests.support.ui_fixtures import make_rig


def screen_text(screen: AuditScreen) -> str:
    head = str(screen.query_one("#audit-head", Static).render())
    table = screen.query_one(DataTable)
    cells = [str(c) for r in range(table.row_count) for c in table.get_row_at(r)]
    return "\n".join([head, *cells])


def test_the_audit_screen_pairs_attempts_and_reads_off_the_event_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    r = make_rig()
    log = AuditLog(clock=r.clock)
    trail = AuditTrail(r.app.connection, source="console", bulk=True, on_failure=print, log=log)
    done = trail.intent(("openai", "batch_done"), State.ACTIVE)
    trail.outcome(ItemResult(("openai", "batch_done"), "accepted", State.ACTIVE), done)
    trail.intent(("openai", "batch_lost"), State.ACTIVE)  # the run died before its outcome
    readers: list[int] = []
    real_attempts = AuditLog.attempts

    def spying(self: AuditLog, **kw: Any) -> Any:
        readers.append(threading.get_ident())
        return real_attempts(self, **kw)

    monkeypatch.setattr(AuditLog, "attempts", spying)

    async def scenario() -> None:
        async with r.app.run_test(size=(200, 30)) as pilot:
            loop_thread = threading.get_ident()
            await pilot.press("A")
            await r.app.workers.wait_for_complete()
            await pilot.pause()
            screen = r.app.screen
            assert isinstance(screen, AuditScreen)
            assert screen.query_one(DataTable).row_count == 2  # three lines, two attempts
            text = screen_text(screen)
            assert "batch_done" in text and "accepted" in text
            assert "batch_lost" in text and "no outcome recorded" in text
            assert readers and loop_thread not in readers
            await pilot.press("r")  # a reload reads in a thread too
            await r.app.workers.wait_for_complete()
            assert len(readers) == 2 and loop_thread not in readers

    run_within(60, scenario)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs POSIX FIFOs")
def test_a_fifo_at_the_audit_log_is_said_and_the_console_goes_on() -> None:
    r = make_rig()
    path = paths.audit_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(path)

    async def scenario() -> None:
        async with r.app.run_test(size=(200, 30)) as pilot:
            await pilot.press("A")
            await r.app.workers.wait_for_complete()
            await pilot.pause()
            screen = r.app.screen
            assert isinstance(screen, AuditScreen)
            assert "audit.jsonl is a FIFO, not a regular file" in screen_text(screen)
            await pilot.press("escape")
            await pilot.pause()
            assert not isinstance(r.app.screen, AuditScreen) and r.app.is_running

    run_within(60, scenario)
