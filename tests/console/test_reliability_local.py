"""The local side fails too: a profiles file that cannot be read, or that another process changes
while the console runs. Each is said in words where the operator is looking, and never loses a
write silently or spins forever on "reload and retry"."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from textual.widgets import Input, Label, OptionList

from bifrost_tui.config.store import ProfileStore
from bifrost_tui.ui.screens.profiles import ProfileForm, ProfilesScreen
from tests.support.ui_fixtures import save_profile_form


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "cfg"
    monkeypatch.setenv("BIFROST_TUI_CONFIG_DIR", str(directory))
    monkeypatch.setenv("STAGING_VK", "sk-bf-staging-planted")
    store = ProfileStore(directory / "profiles.toml")
    store.add("staging", {"url": "https://staging.example.com", "virtual_key_env": "STAGING_VK"})
    store.add("prod", {"url": "https://prod.example.com", "virtual_key_env": "STAGING_VK"})
    return directory


@pytest.fixture
def unreadable(config_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The profiles file exists but cannot be opened (as a chmod 000 would; tests may run as
    root, where permissions do not stop a read, so the refusal is injected at ``os.open``)."""
    path = config_dir / "profiles.toml"
    real_open = os.open

    def guarded(file, flags, *args, **kwargs):
        if Path(file) == path:
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", guarded)
    return path


def test_cli_refuses_an_unreadable_profiles_file_with_exit_2_and_says_why(run_cli, unreadable):
    for argv in (["profiles", "list"], ["batches", "list", "--profile", "staging"]):
        code, _, err = run_cli(*argv)
        assert code == 2, argv
        assert "profiles.toml" in err and "cannot be read: Permission denied" in err


def test_console_start_with_an_unreadable_profiles_file_exits_2_before_the_screen(
    run_cli, unreadable
):
    code, _, err = run_cli("--profile", "staging")
    assert code == 2
    assert "cannot be read: Permission denied" in err


async def test_profiles_screen_shows_an_unreadable_file_and_writes_nothing(unreadable, console):
    async with console.app.run_test(size=(120, 40)) as pilot:
        await pilot.press("p")
        await pilot.pause()
        message = str(console.app.screen.query_one("#file-error").render())
        assert "cannot be read: Permission denied" in message
        await pilot.press("a", "u", "x")  # every write is refused
        await pilot.pause()
        assert isinstance(console.app.screen, ProfilesScreen)


def form_error(app) -> str:
    return str(app.screen.query_one("#e-form", Label).render())


async def test_edit_after_another_process_changed_the_file_says_so_and_retry_works(
    config_dir, console
):
    path = config_dir / "profiles.toml"
    async with console.app.run_test(size=(120, 40)) as pilot:
        await pilot.press("p")
        await pilot.pause()
        await pilot.press("e")
        await pilot.pause()
        app = console.app
        assert isinstance(app.screen, ProfileForm)
        # The CLI in another pane edits the file while the form is open.
        ProfileStore(path).edit("prod", {"note": "changed from another pane"})
        after_cli = path.read_bytes()
        app.screen.query_one("#f-note", Input).value = "from the console"
        save_profile_form(app)
        await pilot.pause()
        assert isinstance(app.screen, ProfileForm)  # not saved, not closed
        words = form_error(app)
        assert "changed" in words and "another" in words and "nothing was written" in words
        assert path.read_bytes() == after_cli  # the other process's write is intact
        for field in ("name", "url", "virtual_key_env", "refresh", "accent", "note"):
            assert str(app.screen.query_one(f"#e-{field}", Label).render()) == ""
        save_profile_form(app)  # the file was re-read: saving again now works
        await pilot.pause()
        assert isinstance(app.screen, ProfilesScreen)
    profiles = ProfileStore(path).load().profiles
    assert profiles["staging"].note == "from the console"
    assert profiles["prod"].note == "changed from another pane"  # nothing of theirs was lost


async def test_a_write_after_another_process_changed_the_file_reloads_the_list(config_dir, console):
    path = config_dir / "profiles.toml"
    async with console.app.run_test(size=(120, 40)) as pilot:
        await pilot.press("p")
        await pilot.pause()
        app = console.app
        ProfileStore(path).add("dr", {"url": "https://dr.example.com"})  # another pane adds one
        await pilot.press("u")  # make staging the default: refused, the list is re-read
        await pilot.pause()
        notes = [n.message for n in app._notifications]
        assert any("changed" in n and "reloaded" in n for n in notes), notes
        options = app.screen.query_one("#profile-list", OptionList)
        assert [o.id for o in options.options] == ["staging", "prod", "dr"]
        await pilot.press("u")  # and the retry goes through
        await pilot.pause()
    assert ProfileStore(path).load().default == "staging"


async def test_a_file_broken_by_another_process_while_the_form_is_open_is_said_in_the_form(
    config_dir,
    console,
):
    path = config_dir / "profiles.toml"
    async with console.app.run_test(size=(120, 40)) as pilot:
        await pilot.press("p")
        await pilot.pause()
        await pilot.press("e")
        await pilot.pause()
        app = console.app
        path.write_text("[profiles.staging\nurl = 'x'\n")  # an editor saved half a file
        broken = path.read_bytes()
        save_profile_form(app)
        await pilot.pause()
        assert isinstance(app.screen, ProfileForm)
        assert "profiles.toml" in form_error(app)
    assert path.read_bytes() == broken  # never overwritten
