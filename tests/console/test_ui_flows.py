"""Pilot tests: what an operator does in the console, against the simulated gateway."""

from __future__ import annotations

from datetime import timedelta

from textual.widgets import DataTable, Input

from bifrost_tui.gateway.counts import Source
from bifrost_tui.gateway.models import State
from bifrost_tui.ui.screens.confirm import ConfirmScreen
from bifrost_tui.ui.screens.detail import DetailScreen
from bifrost_tui.ui.screens.help import HelpScreen
from bifrost_tui.ui.widgets.batch_table.table import BatchTable
from bifrost_tui.ui.widgets.crumbs import render_crumbs
from bifrost_tui.ui.widgets.flash import FlashBar
from tests.support.ui_fixtures import (
    cancel_requests,
    first_with,
    live_session,
    main_screen,
    make_rig,
)


def flash_text(app) -> str:
    return main_screen(app).query_one("#flash", FlashBar).message


async def start(pilot) -> None:
    await pilot.app.do_poll(deep=True)
    await pilot.pause()


async def test_first_poll_lists_every_batch_provider_and_greys_the_rest(console):
    async with console.app.run_test(size=(120, 40)) as pilot:
        await start(pilot)
        store = console.app.store
        capable = {n for n, s in store.providers.items() if s.info.batch_capable}
        assert capable == {"anthropic", "openai", "azure", "bedrock", "gemini"}
        assert not store.providers["groq"].info.batch_capable
        assert store.providers["groq"].info.reason  # the reason is shown, not an error storm
        assert {k[0] for k in store.batches} == capable
        crumbs = render_crumbs(console.app.crumb_state()).plain
        assert "staging" in crumbs and "health ok" in crumbs and "refreshed just now" in crumbs


async def test_cancel_lands_and_is_watched_until_it_ends(console):
    async with console.app.run_test(size=(120, 40)) as pilot:
        await start(pilot)
        app = console.app
        target = first_with(app, lambda b: b.provider == "anthropic" and b.cancellable)
        table = main_screen(app).query_one(BatchTable)
        assert table.move_cursor_to_key(target.key)
        await pilot.press("c")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        assert app.screen.focused is not None and app.screen.focused.id == "no"
        body = str(app.screen.query_one("#confirm-body").render())
        assert target.id in body and "anthropic" in body
        await pilot.press("y")
        await app.workers.wait_for_complete()
        await pilot.pause()
        after = app.store.batches[target.key]
        assert after.state is State.CANCELING
        assert after.cancel_initiated_at is not None
        assert after.created_at == target.created_at  # the partial reply erased nothing
        assert "cancel accepted" in flash_text(app)
        assert len(cancel_requests(console.world)) == 1
        assert target.key in live_session(app).watches
        # Time passes on the gateway; the watch re-reads until the batch ends.
        console.clock.advance(console.world.cancel_delay + 1)
        result = await app.do_watch(force=True)
        await pilot.pause()
        ended = app.store.batches[target.key]
        assert ended.state is State.ENDED_CANCELED
        assert ended.ended_at is not None
        assert [b.key for b in result.ended] == [target.key]
        assert target.key not in live_session(app).watches
        assert any("ended" in n.message for n in app._notifications)


async def test_cancel_is_always_the_cursor_row_and_no_aborts(console):
    async with console.app.run_test(size=(120, 40)) as pilot:
        await start(pilot)
        app = console.app
        target = first_with(app, lambda b: b.cancellable)
        main_screen(app).query_one(BatchTable).move_cursor_to_key(target.key)
        await pilot.press("c")
        await pilot.pause()
        await pilot.press("n")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert cancel_requests(console.world) == []
        assert "nothing sent" in flash_text(app)
        assert app.store.batches[target.key].state is State.ACTIVE


async def test_cancel_refused_shows_gateway_message_and_real_state(console):
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
        message = flash_text(app)
        assert "cancel refused" in message and "batch is busy" in message
        # The real state, re-read after the refusal.
        assert app.store.batches[target.key].processing_status in message
        assert app.store.batches[target.key].state is State.ACTIVE


async def test_cancel_with_lost_answer_reports_unknown_and_rereads(console):
    async with console.app.run_test(size=(120, 40)) as pilot:
        await start(pilot)
        app = console.app
        target = first_with(app, lambda b: b.provider == "openai" and b.cancellable)
        # A proxy gives up waiting (504): the cancel never reached the provider.
        console.world.faults.fail_next(
            504, "<html><title>504 Gateway Time-out</title></html>", method="POST", path="/cancel"
        )
        main_screen(app).query_one(BatchTable).move_cursor_to_key(target.key)
        await pilot.press("c", "y")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "outcome unknown" in flash_text(app)
        assert len(cancel_requests(console.world)) == 1  # never retried
        assert app.store.batches[target.key].state is State.ACTIVE  # never claims success


async def test_cancel_whose_answer_was_lost_but_landed_is_confirmed_by_reread(console):
    async with console.app.run_test(size=(120, 40)) as pilot:
        await start(pilot)
        app = console.app
        target = first_with(app, lambda b: b.provider == "openai" and b.cancellable)
        console.world.faults.drop_next(error="read_timeout")  # applied upstream, answer lost
        main_screen(app).query_one(BatchTable).move_cursor_to_key(target.key)
        await pilot.press("c", "y")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert len(cancel_requests(console.world)) == 1  # never retried
        assert app.store.batches[target.key].state is State.CANCELING
        assert "cancel accepted" in flash_text(app)


async def test_not_cancellable_batch_is_refused_locally_with_reason(console):
    async with console.app.run_test(size=(120, 40)) as pilot:
        await start(pilot)
        app = console.app
        ended = first_with(app, lambda b: b.state.terminal)
        main_screen(app).query_one(BatchTable).move_cursor_to_key(ended.key)
        await pilot.press("c")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)
        assert "not cancellable" in flash_text(app)
        assert cancel_requests(console.world) == []


async def test_read_only_hides_cancel_and_sends_nothing():
    rig = make_rig(read_only=True)
    async with rig.app.run_test(size=(120, 40)) as pilot:
        await start(pilot)
        app = rig.app
        target = first_with(app, lambda b: b.cancellable)
        main_screen(app).query_one(BatchTable).move_cursor_to_key(target.key)
        assert main_screen(app).check_action("cancel", ()) is False
        await pilot.press("c")
        app.request_cancel(target.key)  # the palette path goes through the same guard
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)
        assert cancel_requests(rig.world) == []
        assert "RO" in render_crumbs(app.crumb_state()).plain


async def test_gateway_death_marks_stale_keeps_data_and_recovers(console):
    async with console.app.run_test(size=(120, 40)) as pilot:
        await start(pilot)
        app = console.app
        known = dict(app.store.batches)
        console.world.faults.down = True
        console.clock.advance(30)
        result = await app.do_poll(deep=False)
        await pilot.pause()
        assert result.error is not None
        crumbs = render_crumbs(app.crumb_state()).plain
        assert "STALE" in crumbs and "unreachable" in crumbs
        assert "refreshed 30s ago" in crumbs  # the last successful refresh, not the failed one
        assert app.store.batches == known  # last known data kept
        console.world.faults.down = False
        console.clock.advance(30)
        await app.do_poll(deep=True)
        await pilot.pause()
        crumbs = render_crumbs(app.crumb_state()).plain
        assert "STALE" not in crumbs and "refreshed just now" in crumbs


async def test_filter_is_incremental_and_keeps_the_cursor(console):
    async with console.app.run_test(size=(120, 40)) as pilot:
        await start(pilot)
        app = console.app
        table = main_screen(app).query_one(BatchTable)
        target = first_with(app, lambda b: b.provider == "gemini")
        table.move_cursor_to_key(target.key)
        await pilot.press("slash")
        await pilot.press(*"gemini")
        await pilot.pause()
        assert all(k[0] == "gemini" for k in app.store.view())
        assert table.cursor_key == target.key
        await pilot.press("enter")
        await pilot.pause()
        assert app.store.text_filter == "gemini"
        assert table.has_focus
        assert "/gemini" in render_crumbs(app.crumb_state()).plain
        await pilot.press("slash", "escape")
        await pilot.pause()
        assert app.store.text_filter == ""
        assert table.cursor_key == target.key


async def test_refresh_keeps_cursor_and_sort_keeps_cursor(console):
    async with console.app.run_test(size=(120, 40)) as pilot:
        await start(pilot)
        app = console.app
        table = main_screen(app).query_one(BatchTable)
        target = first_with(app, lambda b: b.provider == "azure")
        table.move_cursor_to_key(target.key)
        console.clock.advance(600)
        await app.do_poll(deep=False)
        await pilot.pause()
        assert table.cursor_key == target.key
        await pilot.press("s")
        await pilot.pause()
        assert table.cursor_key == target.key
        await pilot.press("S")
        await pilot.pause()
        assert table.cursor_key == target.key


async def test_hide_ended_and_provider_switching(console):
    async with console.app.run_test(size=(120, 40)) as pilot:
        await start(pilot)
        app = console.app
        await pilot.press("h")
        await pilot.pause()
        assert app.store.view()
        assert not any(app.store.batches[k].state.terminal for k in app.store.view())
        await pilot.press("right_square_bracket")
        await pilot.pause()
        first = app.store.provider_filter
        assert first is not None
        assert {k[0] for k in app.store.view()} <= {first}


async def test_markup_laden_ids_are_shown_literally(console):
    hostile = ["[bold]x[/]", "[@click=app.quit]boom", "[/]", "id\x1b[31mred", "evil\u202etxt"]
    for i, batch_id in enumerate(hostile):
        console.world.add_batch("anthropic", id=batch_id, status="in_progress", total=5 + i)
    async with console.app.run_test(size=(120, 40)) as pilot:
        await start(pilot)
        app = console.app
        keys = {k[1] for k in app.store.batches}
        assert set(hostile) <= keys
        table = main_screen(app).query_one(BatchTable)
        table.move_cursor_to_key(("anthropic", "[bold]x[/]"))
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, DetailScreen)
        shown = str(app.screen.query_one("#detail").render())
        assert "[bold]x[/]" in shown
        assert app.is_running  # [@click=app.quit] did not quit


async def test_detail_and_help_screens_open_and_close(console):
    async with console.app.run_test(size=(120, 40)) as pilot:
        await start(pilot)
        app = console.app
        target = first_with(app, lambda b: b.provider == "bedrock" and b.source is Source.LIST)
        main_screen(app).query_one(BatchTable).move_cursor_to_key(target.key)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, DetailScreen)
        text = str(app.screen.query_one("#detail").render())
        assert "UTC" in text and "Raw JSON" in text and "only errored" in text
        assert '"id": ' in text  # the raw JSON keeps its lines
        await pilot.press("escape", "question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen_stack[-1] is app.main_screen


async def test_refresh_interval_and_pause_keys(console):
    async with console.app.run_test(size=(120, 40)) as pilot:
        await start(pilot)
        app = console.app
        before = app.refresh_interval
        await pilot.press("plus")
        assert app.refresh_interval > before
        await pilot.press("minus", "minus")
        assert app.refresh_interval < before
        await pilot.press("z")
        assert app.paused and "PAUSED" in render_crumbs(app.crumb_state()).plain
        await pilot.press("z")
        assert not app.paused


async def test_quit_with_cancel_in_flight_asks_first(console):
    async with console.app.run_test(size=(120, 40)) as pilot:
        await start(pilot)
        app = console.app
        app.in_flight.add(("openai", "batch_x"))
        await pilot.press("q")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        await pilot.pause()
        assert app.is_running
        app.in_flight.clear()
        await pilot.press("q")
        await pilot.pause()
        assert not app.is_running or app._exit_renderables is not None


async def test_minute_tick_updates_relative_times_only_when_minutes_change(console):
    async with console.app.run_test(size=(120, 40)) as pilot:
        await start(pilot)
        app = console.app
        table = main_screen(app).query_one(BatchTable)
        before = table.render_line(0).text
        console.clock.advance(timedelta(minutes=5).total_seconds())
        app.tick_minute()
        await pilot.pause()
        assert table.render_line(0).text == before  # the header does not move with time
        # the filter input is untouched by ticking
        assert main_screen(app).query_one("#filter", Input).value == ""


async def test_no_color_keeps_states_readable_from_text(monkeypatch, console):
    monkeypatch.setenv("NO_COLOR", "1")  # read in App.__init__
    async with console.app.run_test(size=(80, 24)) as pilot:
        await start(pilot)
        table = main_screen(console.app).query_one(BatchTable)
        canceling = first_with(console.app, lambda b: b.state is State.CANCELING)
        table.move_cursor_to_key(canceling.key)  # scrolled into view, among active ones
        await pilot.pause()
        lines = [table.render_line(y).text for y in range(table.size.height)]
        text = "\n".join(lines)
        assert "ACTIVE" in text and "CANCELING" in text
        # At 80 columns the provider list steps aside for the table.
        assert main_screen(console.app).query_one("#providers").region.width == 0


async def test_ctrl_s_saves_visible_rows_and_a_screenshot(tmp_path, console):
    import csv
    import json as jsonlib

    from bifrost_tui.config import paths

    async with console.app.run_test(size=(120, 40)) as pilot:
        await start(pilot)
        await pilot.press("slash", *"openai", "enter")
        await pilot.press("ctrl+s")
        await pilot.pause()
        visible = {console.app.store.batches[k].id for k in console.app.store.view()}
        assert "saved" in flash_text(console.app)
    (folder,) = list(paths.export_dir().iterdir())
    data = jsonlib.loads((folder / "batches.json").read_text())
    assert {b["id"] for b in data["batches"]} == visible
    with (folder / "batches.csv").open(newline="") as fh:
        assert {row["id"] for row in csv.DictReader(fh)} == visible
    assert (folder / "screenshot.svg").read_text().startswith("<svg")
    assert (folder / "batches.csv").stat().st_mode & 0o777 == 0o600


async def test_bang_view_lists_only_flagged_batches_with_why(console):
    from bifrost_tui.ui.screens.flagged import FlaggedScreen

    async with console.app.run_test(size=(120, 40)) as pilot:
        await start(pilot)
        app = console.app
        target = first_with(app, lambda b: b.provider == "anthropic" and b.cancellable)
        console.world.cancel_delay = 3 * 3600  # the cancel hangs upstream
        await app.do_cancel(target.key)
        console.clock.advance(45 * 60)
        app.tick_minute()  # the rules are about time passing
        await pilot.pause()
        await pilot.press("exclamation_mark")
        await pilot.pause()
        assert isinstance(app.screen, FlaggedScreen)
        table = app.screen.query_one("#flagged-table", DataTable)
        rows = [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]
        mine = [r for r in rows if r[1] == target.id]
        assert mine and "canceling" in mine[0][3]
        assert len(rows) == sum(1 for _ in live_session(app).flags)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, DetailScreen)
