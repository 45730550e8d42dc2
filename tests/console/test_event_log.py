"""The event log screen (``e``): what changed this session, who did it, newest first."""

from __future__ import annotations

from textual.widgets import DataTable

from bifrost_tui.core.events import Actor, EventLog
from bifrost_tui.gateway.models import State
from bifrost_tui.textsafe import safe_text
from bifrost_tui.ui.screens.events import EventsScreen
from bifrost_tui.ui.widgets.batch_table.table import BatchTable
from tests.console.test_hostile_console import HOSTILE, LIST, assert_safe, hostile_page
from tests.support.reliability import rig
from tests.support.ui_fixtures import first_with, main_screen


async def start(pilot) -> None:
    await pilot.app.do_poll(deep=True)
    await pilot.pause()


def table_rows(app) -> list[list[str]]:
    table = app.screen.query_one(DataTable)
    return [[str(cell) for cell in table.get_row_at(n)] for n in range(table.row_count)]


def batch_events(log: EventLog, batch_id: str) -> list:
    return [e for e in log.newest_first() if e.batch_id == batch_id]


async def test_a_cancel_is_yours_its_end_is_the_gateways_and_the_toast_stays(console):
    async with console.app.run_test(size=(120, 40)) as pilot:
        await start(pilot)
        app = console.app
        assert not [e for e in app.events.newest_first() if e.batch_id]  # the first load: no news
        target = first_with(app, lambda b: b.provider == "anthropic" and b.cancellable)
        main_screen(app).query_one(BatchTable).move_cursor_to_key(target.key)
        await pilot.press("c", "y")
        await app.workers.wait_for_complete()
        await pilot.pause()
        (yours,) = batch_events(app.events, target.id)
        assert (yours.actor, yours.before, yours.after) == (
            Actor.YOU,
            State.ACTIVE,
            State.CANCELING,
        )
        assert yours.what == "you cancelled: accepted"
        # Time passes on the gateway; the watch re-reads until the batch ends.
        console.clock.advance(console.world.cancel_delay + 1)
        await app.do_watch(force=True)
        await pilot.pause()
        reported, _ = batch_events(app.events, target.id)
        assert (reported.actor, reported.before, reported.after) == (
            Actor.GATEWAY,
            State.CANCELING,
            State.ENDED_CANCELED,
        )
        assert reported.what == "the gateway reported"
        assert app._notifications
        app.clear_notifications()  # the toast has left the screen...
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, EventsScreen)
        rows = table_rows(app)
        # ...and is still here, on top: newest first.
        assert rows[0][1] == "console" and "batch ended" in rows[0][5] and target.id in rows[0][5]
        assert rows[1][1:5] == ["gateway", "anthropic", target.id, "CANCELING → CANCELED"]
        you = next(r for r in rows if r[1] == "you")
        assert you[2:6] == ["anthropic", target.id, "ACTIVE → CANCELING", "you cancelled: accepted"]
        assert rows.index(you) > 1
        assert any("cancel accepted" in r[5] for r in rows)  # the flash, too
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen_stack[-1] is main_screen(app)


async def test_a_refused_cancel_is_yours_and_says_why(console):
    async with console.app.run_test(size=(120, 40)) as pilot:
        await start(pilot)
        app = console.app
        target = first_with(app, lambda b: b.provider == "openai" and b.cancellable)
        console.world.faults.fail_next(
            409,
            b'{"type":"error","error":{"type":"conflict_error","message":"batch is busy"}}',
            method="POST",
            path="/cancel",
        )
        main_screen(app).query_one(BatchTable).move_cursor_to_key(target.key)
        await pilot.press("c", "y")
        await app.workers.wait_for_complete()
        await pilot.pause()
        (event,) = batch_events(app.events, target.id)
        assert event.actor is Actor.YOU and event.change == "ACTIVE → ACTIVE"
        assert event.what.startswith("you cancelled: refused") and "batch is busy" in event.what


async def test_each_batch_of_a_bulk_cancel_is_logged_as_yours(console):
    async with console.app.run_test(size=(120, 40)) as pilot:
        await start(pilot)
        app = console.app
        keys = [k for k in app.store.view() if app.store.batches[k].cancellable][:3]
        await app.do_bulk_cancel(keys)
        await pilot.pause()
        yours = [e for e in app.events.newest_first() if e.actor is Actor.YOU]
        assert {(e.provider, e.batch_id) for e in yours} == set(keys)
        assert all(e.what == "you cancelled: accepted" for e in yours)


async def test_batches_that_appear_or_vanish_later_are_events_and_hostile_ids_read_literally():
    r, _ = rig()
    async with r.app.run_test(size=(200, 50)) as pilot:
        app = r.app
        await app.do_poll(deep=True)
        await pilot.pause()
        before = {k for k in app.store.batches if k[0] == "anthropic"}
        # The next anthropic listing is complete and holds only hostile batches.
        r.world.faults.fail_next(
            200, hostile_page(), method="GET", path=LIST, provider="anthropic", times=1000
        )
        await app.do_poll(deep=False)
        app.flash("[@click=app.quit]flash[/] \x1b]52;c;ZXZpbA==\x07")
        await pilot.pause()
        events = [e for e in app.events.newest_first() if e.actor is Actor.GATEWAY]
        appeared = {e.batch_id for e in events if e.before is None}
        gone = {(e.provider, e.batch_id) for e in events if e.after is None}
        assert {f"msgbatch_{k}_{v}" for k, v in HOSTILE.items()} <= appeared
        assert gone == before
        await pilot.press("e")
        await pilot.pause()
        painted = assert_safe(app, "event log")
        assert "[@click=app.quit]flash[/]" in painted  # the newest, on top
        for key in ("click", "link", "markup", "osc52", "bidi"):
            assert safe_text(f"msgbatch_{key}_{HOSTILE[key]}") in painted, key
        rows = table_rows(app)
        assert rows[0][1] == "console"
        assert any(row[4] == "— → ACTIVE" for row in rows)


async def test_the_header_counts_the_events_and_the_dropped(console):
    async with console.app.run_test(size=(120, 40)) as pilot:
        await start(pilot)
        app = console.app
        extra = 1010 - len(app.events)
        for n in range(extra):
            app.flash(f"message {n}")
        await pilot.press("e")
        await pilot.pause()
        head = str(app.screen.query_one("#events-head").render())
        assert head.startswith("1000 event(s) (10 older dropped)")
        rows = table_rows(app)
        assert len(rows) == 1000 and rows[0][5] == f"message {extra - 1}"
