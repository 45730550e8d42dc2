"""Pilot tests: jump to a batch by id (``g``), copy its id (``y``), the filter's count, escape."""

from __future__ import annotations

import base64

from textual.widgets import Input, OptionList, Static

from bifrost_tui.core.jump import find_batch, incomplete_providers
from bifrost_tui.sim import Faults
from bifrost_tui.ui.screens.jump import JumpScreen
from bifrost_tui.ui.widgets.batch_table.table import BatchTable
from bifrost_tui.ui.widgets.flash import FlashBar
from tests.support.ui_fixtures import first_with, main_screen


def flash_text(app) -> str:
    return main_screen(app).query_one("#flash", FlashBar).message


def top(app):
    """The screen on top (a function, so a type narrowed by an earlier assert does not stick)."""
    return app.screen


def header_text(app) -> str:
    table = main_screen(app).query_one(BatchTable)
    return table.render_line(0).text


def jump_message(app) -> str:
    assert isinstance(app.screen, JumpScreen)
    return str(app.screen.query_one("#jump-message", Static).render())


async def start(pilot) -> None:
    await pilot.app.do_poll(deep=True)
    await pilot.pause()


async def jump(pilot, query: str) -> None:
    await pilot.press("g")
    await pilot.pause()
    assert isinstance(pilot.app.screen, JumpScreen)
    pilot.app.screen.query_one("#jump-input", Input).value = query
    await pilot.press("enter")
    await pilot.pause()


async def test_jump_finds_a_batch_hidden_by_provider_view_h_and_filter_and_shows_it(console):
    async with console.app.run_test(size=(120, 40)) as pilot:
        await start(pilot)
        app = console.app
        screen = main_screen(app)
        target = first_with(app, lambda b: b.provider == "openai" and b.state.terminal)
        # Hidden three times over: another provider's view, ended hidden, a filter it fails.
        screen.select_provider("anthropic")
        await pilot.press("h")
        await pilot.press("slash", *"active", "enter")
        await pilot.pause()
        assert target.key not in app.store.view()

        await jump(pilot, target.id)

        assert app.screen is screen
        assert screen.table.cursor_key == target.key
        assert app.store.provider_filter == "openai"  # switched to its provider
        assert not app.store.hide_ended
        assert app.store.text_filter == ""
        words = flash_text(app)
        assert f"jumped to {target.id} on openai" in words
        assert "switched to openai" in words
        assert "showing ended batches" in words
        assert "filter /active cleared" in words


async def test_jump_by_a_unique_prefix_keeps_a_view_that_already_shows_it(console):
    async with console.app.run_test(size=(120, 40)) as pilot:
        await start(pilot)
        app = console.app
        target = first_with(app, lambda b: b.provider == "anthropic")
        ids = [k[1] for k in app.store.batches]
        prefix = next(
            target.id[:n]
            for n in range(len("msgbatch_") + 1, len(target.id))
            if sum(i.startswith(target.id[:n]) for i in ids) == 1
        )
        await jump(pilot, prefix)
        assert main_screen(app).table.cursor_key == target.key
        assert flash_text(app) == f"jumped to {target.id} on anthropic"
        assert app.store.provider_filter is None


async def test_jump_to_a_bedrock_job_by_the_job_id_the_table_shows(console):
    async with console.app.run_test(size=(120, 40)) as pilot:
        await start(pilot)
        app = console.app
        target = first_with(app, lambda b: b.provider == "bedrock")
        assert target.id.startswith("arn:")
        await jump(pilot, target.id.rpartition("/")[2])
        assert main_screen(app).table.cursor_key == target.key


async def test_several_matches_are_offered_to_pick_from(console):
    async with console.app.run_test(size=(120, 40)) as pilot:
        await start(pilot)
        app = console.app
        expected = find_batch(app.store.batches, "batch_")
        assert expected.total > 1 and expected.found is None
        assert {k[0] for k in expected.matches} <= {"openai", "azure"}
        await jump(pilot, "batch_")
        assert isinstance(app.screen, JumpScreen)
        options = app.screen.query_one("#jump-matches", OptionList)
        assert options.display and options.has_focus
        assert options.option_count == len(expected.matches)
        assert f"{expected.total} batches match 'batch_'" in jump_message(app)
        await pilot.press("down", "enter")
        await pilot.pause()
        assert top(app) is main_screen(app)
        assert main_screen(app).table.cursor_key == expected.matches[1]


async def test_not_found_says_how_many_providers_are_partial_or_stale(console):
    async with console.app.run_test(size=(120, 40)) as pilot:
        await start(pilot)
        app = console.app
        console.world.provider("gemini").faults = Faults(error_rate=1.0)
        console.clock.advance(5)
        await app.do_poll(deep=True)
        await pilot.pause()
        incomplete = incomplete_providers(app.store)
        assert "gemini" in incomplete
        await jump(pilot, "no-such-batch")
        assert isinstance(app.screen, JumpScreen)  # still open: the operator may fix a typo
        words = jump_message(app)
        assert "no batch matches 'no-such-batch'" in words
        assert f"{len(incomplete)} of 5 provider(s) are partial or stale" in words
        assert "gemini" in words
        await pilot.press("escape")
        await pilot.pause()
        assert top(app) is main_screen(app)


async def test_y_copies_the_id_under_the_cursor_through_osc_52(console):
    async with console.app.run_test(size=(120, 40)) as pilot:
        await start(pilot)
        app = console.app
        written: list[str] = []
        driver = app._driver
        assert driver is not None
        original = driver.write

        def capture(data: str) -> None:
            written.append(data)
            original(data)

        driver.write = capture
        key = main_screen(app).table.cursor_key
        assert key is not None
        await pilot.press("y")
        await pilot.pause()
        payload = base64.b64encode(key[1].encode()).decode()
        assert f"\x1b]52;c;{payload}\a" in written
        assert flash_text(app) == (f"copied {key[1]} (needs OSC 52; in tmux: set-clipboard on)")


async def test_the_header_counts_what_the_filter_shows_and_escape_clears_a_kept_filter(console):
    async with console.app.run_test(size=(120, 40)) as pilot:
        await start(pilot)
        app = console.app
        total = len(app.store.batches)
        assert " shown" not in header_text(app)
        await pilot.press("slash", *"anthropic", "enter")
        await pilot.pause()
        shown = len(app.store.view())
        assert 0 < shown < total
        assert f"{shown} of {total} shown" in header_text(app)
        await pilot.press("escape")
        await pilot.pause()
        assert app.store.text_filter == ""
        assert len(app.store.view()) == total
        assert " shown" not in header_text(app)
        assert flash_text(app) == "filter cleared"


async def test_a_batch_cancelled_under_a_status_filter_is_said_to_be_hidden(console):
    async with console.app.run_test(size=(120, 40)) as pilot:
        await start(pilot)
        app = console.app
        await pilot.press("slash", *"active", "enter")
        await pilot.pause()
        target = first_with(app, lambda b: b.provider == "anthropic" and b.cancellable)
        assert "active" not in target.id.lower()
        assert main_screen(app).table.move_cursor_to_key(target.key)
        await pilot.press("c")
        await pilot.pause()
        await pilot.press("y")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert target.key not in app.store.view()  # canceling no longer matches "active"
        words = flash_text(app)
        assert "cancel accepted" in words
        assert "hidden by the filter /active" in words
        assert f"g {target.id} shows it" in words
