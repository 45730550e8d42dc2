"""``q`` / ``ctrl+c`` while cancelled batches are still watched until they end: the console asks
first (their end would not be seen), names them, and quits at once on yes without waiting."""

from __future__ import annotations

from bifrost_tui.ui.screens.confirm import ConfirmScreen
from bifrost_tui.ui.widgets.batch_table.table import BatchTable
from tests.support.ui_fixtures import Rig, first_with, live_session, main_screen


async def cancel_one(rig: Rig, pilot) -> str:
    app = rig.app
    await app.do_poll(deep=True)
    target = first_with(app, lambda b: b.provider == "anthropic" and b.cancellable)
    main_screen(app).query_one(BatchTable).move_cursor_to_key(target.key)
    await pilot.press("c", "y")
    await app.workers.wait_for_complete()
    await pilot.pause()
    assert not app.cancels_running and target.key in live_session(app).watches
    return target.id


def body(app) -> str:
    screen = app.screen
    assert isinstance(screen, ConfirmScreen)
    return str(screen.query_one("#confirm-body").render())


async def test_q_while_a_cancel_is_watched_asks_and_no_stays(console):
    async with console.app.run_test(size=(120, 40)) as pilot:
        app = console.app
        batch_id = await cancel_one(console, pilot)
        await pilot.press("q")
        await pilot.pause()
        words = body(app)
        assert "1 cancelled batch(es) are still being watched until they end" in words
        assert batch_id in words and "Quit anyway?" in words
        await pilot.press("ctrl+c")  # again: the same question, not a second one stacked on it
        await pilot.pause()
        assert sum(isinstance(s, ConfirmScreen) for s in app.screen_stack) == 1
        await pilot.press("n")
        await pilot.pause()
        assert app.is_running and not isinstance(app.screen, ConfirmScreen)
        assert live_session(app).watches  # still watched


async def test_ctrl_c_while_watched_asks_and_yes_quits_at_once_without_waiting(console):
    async with console.app.run_test(size=(120, 40)) as pilot:
        app = console.app
        await cancel_one(console, pilot)
        requests_before = len(console.world.request_log)
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert "still being watched" in body(app)
        await pilot.press("y")
        await pilot.pause()
        assert not app.is_running or app._exit_renderables is not None
        assert app.return_code == 0
        assert live_session(app).watches, "it quit with the watch still pending"
        assert len(console.world.request_log) == requests_before  # no re-read waited for


async def test_once_the_watched_batch_has_ended_q_quits_without_asking(console):
    async with console.app.run_test(size=(120, 40)) as pilot:
        app = console.app
        await cancel_one(console, pilot)
        console.clock.advance(console.world.cancel_delay + 1)
        await app.do_watch(force=True)
        await pilot.pause()
        assert not live_session(app).watches
        await pilot.press("q")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)
        assert app.return_code == 0
