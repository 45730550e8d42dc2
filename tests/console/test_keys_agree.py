"""``?``, the command palette and the README's key table agree, and refused keys say why."""

from __future__ import annotations

import re
from pathlib import Path

from textual.command import CommandList

from bifrost_tui.ui.screens.detail import DetailScreen, read_only_refusal
from bifrost_tui.ui.screens.help import HELP
from bifrost_tui.ui.screens.main import MainScreen
from bifrost_tui.ui.widgets.flash import FlashBar
from tests.support.ui_fixtures import cancel_requests, first_with, main_screen, make_rig

README = Path(__file__).resolve().parents[2] / "README.md"


def help_keys() -> set[str]:
    """Every key help names (``s / S`` is ``s`` and ``S``)."""
    return {k for _, rows in HELP for row in rows for k in row.keys.replace(" / ", " ").split()}


def readme_keys() -> set[str]:
    """Every key in the first column of the README's console key table."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("### The console") :]
    table = section[section.index("| key |") :].split("\n\n", 1)[0]
    keys: set[str] = set()
    for line in table.splitlines()[2:]:
        first = line.split(" | ")[0]
        keys |= set(re.findall(r"`([^`]+)`", first))
    return keys


def help_commands() -> set[str]:
    return {title for _, rows in HELP for row in rows for title, _ in row.commands}


def test_every_key_in_help_is_in_the_readme_key_table_and_back():
    assert help_keys() == readme_keys()
    for key in ("g", "y", "e", "escape"):
        assert key in help_keys()


async def test_the_palette_has_a_command_for_every_help_action_and_one_quit(console):
    async with console.app.run_test(size=(120, 40)) as pilot:
        await pilot.app.do_poll(deep=True)
        await pilot.pause()
        app = console.app
        commands = list(app.get_system_commands(main_screen(app)))
        titles = [c.title for c in commands]
        assert titles.count("Quit") == 1
        ours = set(titles) - {"Theme", "Keys", "Screenshot", "Maximize", "Minimize"}
        assert ours == help_commands()
        # Every help row with an action has its entry; the others are moving around the screen.
        for _, rows in HELP:
            for row in rows:
                assert row.commands or row.keys in (
                    "↑ ↓ PgUp PgDn Home End",
                    "tab",
                    "ctrl+p",
                    "escape",
                )
        # The palette's Quit is the console's (asks first with a cancel in flight).
        quit_command = next(c for c in commands if c.title == "Quit")
        assert "app.request_quit" in repr(quit_command.callback)


async def test_palette_commands_run_their_actions(console):
    async with console.app.run_test(size=(120, 40)) as pilot:
        await pilot.app.do_poll(deep=True)
        await pilot.pause()
        app = console.app
        # Through the palette itself, as an operator would.
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Hide / show ended")
        found = app.screen.query_one(CommandList)
        for _ in range(200):  # the palette searches in a worker: wait for its answer
            await pilot.pause()
            if found.option_count and found.highlighted is not None:
                break
        assert "Hide / show ended batches" in str(found.get_option_at_index(0).prompt)
        await pilot.press("enter")
        await pilot.pause()
        assert app.store.hide_ended
        by_title = {c.title: c for c in app.get_system_commands(main_screen(app))}
        app.call_later(by_title["Jump to a batch"].callback)
        await pilot.pause()
        assert type(app.screen).__name__ == "JumpScreen"
        await pilot.press("escape")
        app.call_later(by_title["Next provider"].callback)
        await pilot.pause()
        assert app.store.provider_filter is not None


async def test_read_only_palette_leaves_out_cancel_and_c_says_why():
    rig = make_rig(read_only=True)
    async with rig.app.run_test(size=(120, 40)) as pilot:
        await rig.app.do_poll(deep=True)
        await pilot.pause()
        app = rig.app
        refusal = read_only_refusal("the profile is read-only")
        assert app.read_only_words == "the profile is read-only"
        titles = {c.title for c in app.get_system_commands(main_screen(app))}
        assert "Cancel the batch under the cursor" not in titles
        flash = main_screen(app).query_one("#flash", FlashBar)
        await pilot.press("c")
        await pilot.pause()
        assert flash.message == refusal
        flash.clear()
        await pilot.press("C")
        await pilot.pause()
        assert flash.message == refusal
        assert isinstance(app.screen, MainScreen)
        # The detail screen says it too, where the flash line is out of sight.
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, DetailScreen)
        await pilot.press("c")
        await pilot.pause()
        assert any(n.message == refusal for n in app._notifications)
        assert cancel_requests(rig.world) == []


async def test_c_on_an_ended_batch_in_detail_says_why_nothing_happens(console):
    async with console.app.run_test(size=(120, 40)) as pilot:
        await pilot.app.do_poll(deep=True)
        await pilot.pause()
        app = console.app
        ended = first_with(app, lambda b: b.state.terminal)
        app.open_detail(ended.key)
        await pilot.pause()
        await pilot.press("c")
        await pilot.pause()
        assert isinstance(app.screen, DetailScreen)  # no dialog
        messages = [n.message for n in app._notifications]
        assert any(m.startswith("not cancellable: batch is") for m in messages)
        assert any("nothing sent" in m for m in messages)
        assert cancel_requests(console.world) == []
