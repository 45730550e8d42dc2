"""How soon a confirmed cancel leaves and shows: the request goes out before the screen repaints
(a slow audit disk still never holds the screen), closing the confirmation does not rebuild the
footer's keys, and the one-line bars that change without a layout pass still show a longer text
in full."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from bifrost_tui.audit.log import AuditLog
from bifrost_tui.sim import SimRequest
from bifrost_tui.ui import cancelling
from bifrost_tui.ui.app import BifrostApp
from bifrost_tui.ui.screens.confirm import ConfirmScreen
from bifrost_tui.ui.screens.main import MainScreen
from bifrost_tui.ui.widgets.batch_table.table import BatchTable
from bifrost_tui.ui.widgets.footer import KeyFooter
from tests.support.ui_fixtures import Rig, cancel_requests, first_with, main_screen, make_rig

#: Seconds a test waits for the audit's worker thread at most (a regression fails, never hangs).
BOUND = 10.0


async def until(pilot: Any, condition: Any) -> None:
    """Let the app run until ``condition()`` holds (bounded: a regression fails, never hangs)."""
    for _ in range(200):
        if condition():
            return
        await pilot.pause()
    raise AssertionError("the condition never held")


class SlowDisk:
    """Holds every audit write until ``free`` is set; ``writing`` is set once one has started."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.writing = threading.Event()
        self.free = threading.Event()
        record = AuditLog.record

        def held(log: AuditLog, entry: Any) -> None:
            self.writing.set()
            assert self.free.wait(BOUND), "the test never let the write finish"
            record(log, entry)

        monkeypatch.setattr(AuditLog, "record", held)


def watch_paints(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The screen updates the console sends to the terminal, by screen, from now on."""
    painted: list[str] = []
    display = BifrostApp._display

    def noting(app: BifrostApp, screen: Any, renderable: Any) -> None:
        if renderable is not None and not app._batch_count:
            painted.append(type(screen).__name__)
        display(app, screen, renderable)

    # The one place every screen update passes on its way to the terminal.
    monkeypatch.setattr(BifrostApp, "_display", noting)
    return painted


def watch_cancels(r: Rig, painted: list[str]) -> list[int]:
    """For each cancel request reaching the gateway: how many screen updates went out before."""
    seen: list[int] = []
    handle = r.world.handle

    def noting(request: SimRequest) -> Any:
        if request.method == "POST" and request.path.endswith("/cancel"):
            seen.append(len(painted))
        return handle(request)

    r.world.handle = noting  # type: ignore[method-assign]  # the gateway notes when it is asked
    return seen


async def confirming(r: Rig, pilot: Any) -> Any:
    """The console listed, the cursor on a cancellable batch, its confirmation open."""
    await r.app.do_poll(deep=True)
    await pilot.pause()
    target = first_with(r.app, lambda b: b.cancellable)
    main_screen(r.app).query_one(BatchTable).move_cursor_to_key(target.key)
    await pilot.press("c")
    await pilot.pause()
    assert isinstance(r.app.screen, ConfirmScreen)
    return target


async def test_y_sends_the_cancel_before_the_console_repaints(monkeypatch):
    # The intent line takes as long as the test says: however long the console runs meanwhile,
    # the closed confirmation is not repainted until the request has left.
    monkeypatch.setattr(cancelling, "REPAINT_HOLD", 60.0)
    disk = SlowDisk(monkeypatch)
    r = make_rig()
    async with r.app.run_test(size=(120, 40)) as pilot:
        target = await confirming(r, pilot)
        painted = watch_paints(monkeypatch)
        sent = watch_cancels(r, painted)
        await pilot.press("y")
        await until(pilot, disk.writing.is_set)
        for _ in range(5):
            await pilot.pause()
        assert painted == [] and sent == []  # the line is being written: nothing yet
        disk.free.set()
        await r.app.workers.wait_for_complete()
        await pilot.pause()
        assert sent == [0]  # the request left before the first repaint
        assert "MainScreen" in painted  # and the screen was repainted after it
        (request,) = cancel_requests(r.world)
        assert request.path.endswith(f"{target.id}/cancel")
        assert "cancel accepted" in main_screen(r.app).flash_bar.message


async def test_a_slow_audit_disk_does_not_hold_the_screen(monkeypatch):
    # The hold is bounded: past it, the console repaints while the line is still being written.
    monkeypatch.setattr(cancelling, "REPAINT_HOLD", 0.0)
    disk = SlowDisk(monkeypatch)
    r = make_rig()
    async with r.app.run_test(size=(120, 40)) as pilot:
        await confirming(r, pilot)
        painted = watch_paints(monkeypatch)
        sent = watch_cancels(r, painted)
        await pilot.press("y")
        await until(pilot, disk.writing.is_set)
        await until(pilot, lambda: "MainScreen" in painted)
        assert sent == []  # still writing the line: the request waits for it, the screen not
        assert not isinstance(r.app.screen, ConfirmScreen)
        assert "cancelling" in main_screen(r.app).flash_bar.message
        disk.free.set()
        await r.app.workers.wait_for_complete()
        await pilot.pause()
        assert len(sent) == 1 and not r.app._batch_count  # repaints are never left held


async def test_closing_the_confirmation_leaves_the_footer_keys_as_they_were():
    r = make_rig()
    async with r.app.run_test(size=(120, 40)) as pilot:
        await r.app.do_poll(deep=True)
        await pilot.pause()
        footer = main_screen(r.app).query_one(KeyFooter)
        keys = list(footer.children)
        assert any("Quit" in str(k.render()) for k in keys)
        await pilot.press("c")
        await pilot.pause()
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(r.app.screen, MainScreen)
        assert list(footer.children) == keys  # the same widgets: not rebuilt
        assert all(a is b for a, b in zip(footer.children, keys, strict=True))


async def test_the_footer_keys_follow_the_screen_when_they_change(monkeypatch):
    r = make_rig()
    async with r.app.run_test(size=(120, 40)) as pilot:
        await r.app.do_poll(deep=True)
        await pilot.pause()
        footer = main_screen(r.app).query_one(KeyFooter)

        def shown() -> str:
            return " ".join(str(k.render()) for k in footer.children)

        assert "Cancel" in shown()
        # Read-only from now on: the cancel keys leave the footer.
        monkeypatch.setattr(BifrostApp, "read_only", property(lambda _app: True))
        main_screen(r.app).refresh_bindings()
        await until(pilot, lambda: "Cancel" not in shown())
        assert "Quit" in shown()


async def test_a_longer_flash_after_a_short_one_shows_in_full():
    r = make_rig()
    async with r.app.run_test(size=(120, 40)) as pilot:
        await r.app.do_poll(deep=True)
        await pilot.pause()
        r.app.flash("ok")
        await pilot.pause()
        long = "cancel accepted: " + "x" * 60 + " is now cancelling (CANCELING)"
        r.app.flash(long, "success")
        await pilot.pause()
        lines = [strip.text for strip in r.app.screen._compositor.render_strips()]
        assert any(long in line for line in lines)


async def test_a_crumb_that_grows_shows_in_full():
    r = make_rig()
    async with r.app.run_test(size=(120, 40)) as pilot:
        await r.app.do_poll(deep=True)
        await pilot.pause()
        screen = main_screen(r.app)
        for text in ("a", "anthropic-ended-or-failed"):
            await pilot.press("slash", *text, "enter")
            await pilot.pause()
            lines = [strip.text for strip in r.app.screen._compositor.render_strips()]
            assert f"/{text}" in lines[0], lines[0]
            await pilot.press("escape")
            await pilot.pause()
        assert screen.is_current
