"""The screen's chrome: the summary strip, the provider counts' words, the footer after a resize,
help's wrapping, and the profile form (readable checkboxes and inputs, a missing key variable)."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Input, Label

from bifrost_tui.config.store import ProfileStore
from bifrost_tui.sim.faults import Faults
from bifrost_tui.ui.screens.help import HelpScreen
from bifrost_tui.ui.screens.profiles import ProfileForm, ProfilesScreen, TextCheckbox
from bifrost_tui.ui.widgets.footer import KeyFooter
from bifrost_tui.ui.widgets.providers import ProviderList, ended_words
from bifrost_tui.ui.widgets.summary_strip import SummaryStrip, fit_parts
from tests.support.ui_fixtures import main_screen, make_rig, save_profile_form


def screen_lines(app) -> list[str]:
    return [strip.text for strip in app.screen._compositor.render_strips()]


def strip_text(app) -> str:
    return main_screen(app).query_one("#summary", SummaryStrip).render().plain


def full_strip_text(app) -> str:
    """The strip's words in their longest forms, as on a wider line."""
    return fit_parts(main_screen(app).query_one("#summary", SummaryStrip)._items, None).plain


async def start(pilot) -> None:
    await pilot.app.do_poll(deep=True)
    await pilot.pause()


# ---- the summary strip ----------------------------------------------------------------------


async def test_summary_strip_at_80_columns_says_the_provider_in_view_and_is_gone_at_120():
    r = make_rig()
    async with r.app.run_test(size=(80, 24)) as pilot:
        app = r.app
        await start(pilot)
        screen = main_screen(app)
        strip = screen.query_one("#summary", SummaryStrip)
        assert strip.display and strip.region.height == 1
        assert strip.region.y == screen.query_one("#crumbs").region.y + 1  # under the crumb
        counts = app.store.totals()
        line = screen_lines(app)[1]
        assert line.strip().startswith(f"all providers  {counts['active']} active")
        assert f"{counts['canceling']} canceling" in line and "oldest active" in line
        # The provider in view: its own numbers and its oldest active batch's age.
        screen.select_provider("anthropic")
        await pilot.pause()
        status = app.store.providers["anthropic"].counts
        text = strip_text(app)
        assert text.startswith(f"anthropic  {status['active']} active")
        assert f"{status['canceling']} canceling" in text
        assert "oldest active" in text and "no errors" in text
        # The provider list is shown from 100 columns: the strip steps aside.
        await pilot.resize_terminal(120, 40)
        await pilot.pause()
        assert not strip.display and strip.region.height == 0
        assert "oldest active" not in "\n".join(screen_lines(app))


async def test_summary_strip_says_a_failing_listing_and_keeps_the_last_error_after_it():
    r = make_rig()
    async with r.app.run_test(size=(90, 30)) as pilot:
        app = r.app
        await start(pilot)
        main_screen(app).select_provider("azure")
        r.world.provider("azure").faults = Faults(error_rate=1.0, error_statuses=(503,))
        r.clock.advance(5)
        await app.do_poll(deep=False)
        await pilot.pause()
        assert "error: server error since 12:00:05 UTC" in strip_text(app)
        r.world.provider("azure").faults = Faults()
        r.clock.advance(5)
        await app.do_poll(deep=False)
        await pilot.pause()
        assert strip_text(app).endswith(" · last error 12:00")  # the short form, at 90
        text = full_strip_text(app)
        assert text.endswith(" · last error: server error at 12:00:05 UTC")
        # All providers: the error names its provider.
        main_screen(app).select_provider(None)
        await pilot.pause()
        assert "last error: azure server error at 12:00:05 UTC" in full_strip_text(app)


async def test_summary_strip_reads_without_colour(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    r = make_rig()
    async with r.app.run_test(size=(80, 24)) as pilot:
        await start(pilot)
        line = screen_lines(r.app)[1]
        assert "active" in line and "canceling" in line  # words, not colours


async def test_summary_strip_text_is_made_safe():
    r = make_rig()
    async with r.app.run_test(size=(80, 24)) as pilot:
        app = r.app
        await start(pilot)
        strip = main_screen(app).query_one("#summary", SummaryStrip)
        status = app.store.providers["azure"]
        status.info = status.info.__class__(
            name="az\x1b[2Jure", kind="azure", batch_capable=True
        )  # a hostile name, as a gateway could send one
        app.store.providers = {"az\x1b[2Jure": status}
        app.store.set_view(provider="az\x1b[2Jure")
        strip.show()
        assert "\x1b" not in strip.render().plain


# ---- counts in words ------------------------------------------------------------------------


def test_ended_counts_failed_within_it():
    assert ended_words({"ended": 30, "failed": 15}) == "45 ended (15 failed)"
    assert ended_words({"ended": 3}) == "3 ended"


async def test_provider_counts_never_add_up_to_more_than_the_total():
    r = make_rig()
    async with r.app.run_test(size=(120, 40)) as pilot:
        app = r.app
        await start(pilot)
        providers = main_screen(app).query_one("#providers", ProviderList)
        for name, status in app.store.providers.items():
            if not status.info.batch_capable:
                continue
            prompt = providers.get_option(name).prompt.plain  # type: ignore[union-attr]
            total = sum(1 for key in app.store.batches if key[0] == name)
            c = status.counts
            ended = c["ended"] + c["failed"]
            assert f"{ended} ended" in prompt, prompt
            assert c["active"] + c["canceling"] + ended == total
            if c["failed"]:
                assert f"{ended} ended ({c['failed']} failed)" in prompt
        assert any(s.counts["failed"] for s in app.store.providers.values())  # the case is seen
        assert "· " + "failed" not in providers.get_option("*all*").prompt.plain  # type: ignore[union-attr]


# ---- the footer -----------------------------------------------------------------------------


def footer_line(app) -> str:
    footer = app.screen.query_one(KeyFooter)
    return screen_lines(app)[footer.region.y]


async def settled_footer(pilot) -> str:
    """The footer's line once it has composed its keys (it does so after a refresh)."""
    for _ in range(10):
        line = footer_line(pilot.app)
        if "▏" in line:
            return line
        await pilot.pause()
    return footer_line(pilot.app)


def shown_keys(app) -> list[str]:
    footer = app.screen.query_one(KeyFooter)
    return [
        f"{k.key_display} {k.description}"
        for k in footer.children
        if k.display and not k.has_class("-command-palette")
    ]


async def test_footer_after_a_resize_shows_whole_keys_only():
    r = make_rig()
    async with r.app.run_test(size=(120, 40)) as pilot:
        app = r.app
        await start(pilot)
        line = await settled_footer(pilot)
        assert "q Quit" in line and "r Refresh" in line
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        line = footer_line(app)
        keys, palette = line.split("▏")
        assert palette == "^p palette"  # flush right: nothing shows through after it
        assert keys.rstrip() == " ".join(shown_keys(app))  # every key shown is whole
        assert "? Help" in keys  # the key that lists the others stays
        assert "Re" not in keys  # not "r Re▏^p palette"
        # Wide again: every key is back.
        await pilot.resize_terminal(120, 40)
        await pilot.pause()
        assert "q Quit" in footer_line(app) and "r Refresh" in footer_line(app)


@pytest.mark.parametrize("width", [60, 70, 80, 90, 100])
async def test_footer_keys_fit_at_every_width(width):
    r = make_rig()
    async with r.app.run_test(size=(width, 24)) as pilot:
        await start(pilot)
        line = await settled_footer(pilot)
        assert line.count("▏") == 1, line
        keys, palette = line.split("▏")
        assert palette == "^p palette"
        assert keys.rstrip() == " ".join(shown_keys(r.app))


# ---- help -----------------------------------------------------------------------------------


async def test_help_wraps_descriptions_under_their_column_at_80():
    r = make_rig()
    async with r.app.run_test(size=(80, 24)) as pilot:
        await start(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(r.app.screen, HelpScreen)
        lines = screen_lines(r.app)
        (index,) = [i for i, line in enumerate(lines) if "cancel the tagged batches" in line]
        column = lines[index].index("cancel the tagged batches")
        after = lines[index + 1]
        body = after[column:].split("█")[0].strip()
        assert body, "the description did not wrap at 80 columns"
        assert after[:column].replace("█", "").strip() == ""  # nothing under the keys
        assert after[column] != " "  # it starts in the description column


# ---- the profile form -----------------------------------------------------------------------


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BIFROST_TUI_CONFIG_DIR", str(tmp_path / "cfg"))
    monkeypatch.setenv("STAGING_VK", "sk-bf-staging-planted")
    monkeypatch.delenv("NOT_EXPORTED_VK", raising=False)
    store = ProfileStore(tmp_path / "cfg" / "profiles.toml")
    store.add("staging", {"url": "https://staging.example.com", "virtual_key_env": "STAGING_VK"})
    return tmp_path / "cfg"


async def open_add_form(pilot) -> ProfileForm:
    await pilot.press("p")
    await pilot.pause()
    assert isinstance(pilot.app.screen, ProfilesScreen)
    await pilot.press("a")
    await pilot.pause()
    form = pilot.app.screen
    assert isinstance(form, ProfileForm)
    return form


async def test_a_key_variable_not_set_here_saves_with_a_warning(config_dir, console):
    async with console.app.run_test(size=(120, 40)) as pilot:
        app = console.app
        form = await open_add_form(pilot)
        form.query_one("#f-name", Input).value = "prod"
        form.query_one("#f-url", Input).value = "https://gw.example.com"
        form.query_one("#f-virtual_key_env", Input).value = "NOT_EXPORTED_VK"
        await pilot.pause()
        save_profile_form(app)
        await pilot.pause()
        assert isinstance(app.screen, ProfilesScreen)  # saved, not refused
        said = [n.message for n in app._notifications]
        assert any(
            "NOT_EXPORTED_VK is not set: no virtual key will be sent" in m and "warning" in m
            for m in said
        ), said
    saved = ProfileStore(config_dir / "profiles.toml").load().profiles["prod"]
    assert saved.virtual_key_env == "NOT_EXPORTED_VK"


async def test_the_warning_is_beside_the_field_while_another_field_blocks_the_save(
    config_dir, console
):
    async with console.app.run_test(size=(120, 40)) as pilot:
        app = console.app
        form = await open_add_form(pilot)
        form.query_one("#f-name", Input).value = "prod"
        form.query_one("#f-url", Input).value = "ftp://gw.example.com"
        form.query_one("#f-virtual_key_env", Input).value = "NOT_EXPORTED_VK"
        await pilot.pause()
        save_profile_form(app)
        await pilot.pause()
        assert isinstance(app.screen, ProfileForm)
        label = form.query_one("#e-virtual_key_env", Label)
        assert label.display and str(label.render()).startswith("warning: NOT_EXPORTED_VK")
        assert not form.query_one("#e-refresh", Label).display  # nothing to say: no blank line


@pytest.mark.parametrize("no_color", [False, True])
async def test_form_checkbox_and_inputs_read_in_text(config_dir, console, monkeypatch, no_color):
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    async with console.app.run_test(size=(120, 40)) as pilot:
        app = console.app
        form = await open_add_form(pilot)
        box = form.query_one("#f-read_only", TextCheckbox)
        assert str(box.render()).startswith("[ ]")
        box.value = True
        await pilot.pause()
        assert str(box.render()).startswith("[x]")
        text = "\n".join(screen_lines(app))
        assert "[x] Read-only" in text
        # Every input has a border; the focused one's is drawn with other characters, so focus
        # shows without colour.
        name = form.query_one("#f-name", Input)
        url = form.query_one("#f-url", Input)
        assert name.has_focus
        assert name.styles.border_top[0] == "heavy" and url.styles.border_top[0] == "round"
        lines = screen_lines(app)
        assert lines[name.region.y][name.region.x] == "┏"
        assert lines[url.region.y][url.region.x] == "╭"
        url.focus()
        await pilot.pause()
        assert screen_lines(app)[url.region.y][url.region.x] == "┏"
