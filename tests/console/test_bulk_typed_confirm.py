"""The typed bulk confirmation: focus starts in the input, a wrong word stays with an inline error,
the placeholder reads as words about the input (never as a value, never grey on grey), and
``escape`` (always) or ``n`` (where it is not a letter of the word) backs out as in the single
dialog."""

from __future__ import annotations

from textual.color import Color
from textual.widgets import Button, Input, Static

from bifrost_tui.ui.screens.bulk import BulkConfirmScreen
from tests.support.ui_fixtures import Rig, cancel_requests, main_screen, make_rig


async def open_typed_dialog(rig: Rig, pilot) -> BulkConfirmScreen:
    app = rig.app
    await app.do_poll(deep=True)
    await pilot.pause()
    await pilot.press("a", "C")  # every cancellable batch: more than 10, so a word is typed
    await pilot.pause()
    screen = app.screen
    assert isinstance(screen, BulkConfirmScreen) and screen.typed_word == "prod-eu"
    return screen


def error_text(screen: BulkConfirmScreen) -> str | None:
    error = screen.query_one("#typed-error", Static)
    return str(error.render()) if error.display else None


async def test_focus_starts_in_the_input_and_a_wrong_word_stays_with_an_inline_error():
    rig = make_rig(profile="prod-eu")
    async with rig.app.run_test(size=(120, 40)) as pilot:
        screen = await open_typed_dialog(rig, pilot)
        field = screen.query_one("#typed", Input)
        assert screen.focused is field
        assert error_text(screen) is None
        await pilot.press(*"prod", "enter")
        await pilot.pause()
        assert rig.app.screen is screen, "a wrong word does not close the dialog"
        assert field.value == "prod", "the word typed is kept"
        assert screen.focused is field
        error = error_text(screen)
        assert error is not None and "'prod' is not 'prod-eu'" in error
        assert screen.query_one("#yes", Button).disabled
        await pilot.press(*"-eu")  # corrected in place, not retyped; the error goes
        await pilot.pause()
        assert field.value == "prod-eu" and error_text(screen) is None
        assert not screen.query_one("#yes", Button).disabled
        await pilot.press("enter")
        await rig.app.workers.wait_for_complete()
        await pilot.pause()
        assert cancel_requests(rig.world), "the right word confirms"


async def test_enter_on_an_empty_input_says_nothing_was_typed():
    rig = make_rig(profile="prod-eu")
    async with rig.app.run_test(size=(120, 40)) as pilot:
        screen = await open_typed_dialog(rig, pilot)
        await pilot.press("enter")
        await pilot.pause()
        error = error_text(screen)
        assert error is not None and "nothing typed" in error and "'prod-eu'" in error
        assert cancel_requests(rig.world) == []


async def test_n_in_the_input_is_a_letter_and_escape_backs_out_from_it():
    rig = make_rig(profile="prod-eu")
    async with rig.app.run_test(size=(120, 40)) as pilot:
        screen = await open_typed_dialog(rig, pilot)
        await pilot.press("n")
        await pilot.pause()
        assert rig.app.screen is screen
        assert screen.query_one("#typed", Input).value == "n"
        await pilot.press("escape")
        await rig.app.workers.wait_for_complete()
        await pilot.pause()
        assert not isinstance(rig.app.screen, BulkConfirmScreen)
        assert "bulk cancel aborted: nothing sent" in str(main_screen(rig.app).flash_bar.render())
        assert cancel_requests(rig.world) == []


async def test_n_backs_out_when_the_focus_is_on_the_buttons():
    rig = make_rig(profile="prod-eu")
    async with rig.app.run_test(size=(120, 40)) as pilot:
        screen = await open_typed_dialog(rig, pilot)
        await pilot.press(*"prod-eu")
        await pilot.press("tab")  # to No: the word is right, yet n still means no
        await pilot.pause()
        assert screen.focused is screen.query_one("#no", Button)
        await pilot.press("n")
        await rig.app.workers.wait_for_complete()
        await pilot.pause()
        assert not isinstance(rig.app.screen, BulkConfirmScreen)
        assert cancel_requests(rig.world) == []


async def test_n_backs_out_of_the_small_dialog_too(console):
    async with console.app.run_test(size=(120, 40)) as pilot:
        app = console.app
        await app.do_poll(deep=True)
        await pilot.press("space", "C")  # one batch: no word to type, focus on No
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, BulkConfirmScreen) and screen.typed_word is None
        assert screen.focused is screen.query_one("#no", Button)
        await pilot.press("n")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert not isinstance(app.screen, BulkConfirmScreen)
        assert cancel_requests(console.world) == []


def contrast(a: Color, b: Color) -> float:
    """WCAG contrast ratio of two colours."""

    def lum(c: Color) -> float:
        def channel(v: int) -> float:
            s = v / 255
            return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

        return 0.2126 * channel(c.r) + 0.7152 * channel(c.g) + 0.0722 * channel(c.b)

    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


async def test_the_placeholder_reads_as_words_not_as_a_value_and_not_grey_on_grey():
    rig = make_rig(profile="prod-eu")
    async with rig.app.run_test(size=(120, 40)) as pilot:
        screen = await open_typed_dialog(rig, pilot)
        field = screen.query_one("#typed", Input)
        assert "prod-eu" not in field.placeholder  # an empty input never shows the word
        assert "type" in field.placeholder
        style = field.get_component_rich_style("input--placeholder")
        assert not style.dim and style.italic
        assert style.color is not None and style.color.triplet is not None
        fg = Color(*style.color.triplet)
        bg = field.background_colors[1]
        assert contrast(fg, bg) >= 4.5, f"placeholder contrast {contrast(fg, bg):.1f}"
        shown = "\n".join(line.text for line in field.render_lines(field.region.reset_offset))
        assert field.placeholder in shown
