"""Pilot tests of the profiles screen: validated add/edit, delete, default, switching, first run."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Input, Label, OptionList

from bifrost_tui.config.connection import Connection
from bifrost_tui.config.resolve import ResolvedConnection
from bifrost_tui.config.store import ProfileStore
from bifrost_tui.ui.app import BifrostApp
from bifrost_tui.ui.screens.confirm import ConfirmScreen
from bifrost_tui.ui.screens.main import MainScreen
from bifrost_tui.ui.screens.profiles import ProfileForm, ProfilesScreen
from tests.support.ui_fixtures import save_profile_form


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BIFROST_TUI_CONFIG_DIR", str(tmp_path / "cfg"))
    monkeypatch.setenv("STAGING_VK", "sk-bf-staging-planted")
    store = ProfileStore(tmp_path / "cfg" / "profiles.toml")
    store.add("staging", {"url": "https://staging.example.com", "virtual_key_env": "STAGING_VK"})
    return tmp_path / "cfg"


def store_of(config_dir: Path) -> ProfileStore:
    return ProfileStore(config_dir / "profiles.toml")


async def fill(pilot, field: str, value: str) -> None:
    widget = pilot.app.screen.query_one(f"#f-{field}", Input)
    widget.value = value
    await pilot.pause()


def error_of(app, field: str) -> str:
    return str(app.screen.query_one(f"#e-{field}", Label).render())


async def open_form(pilot, key: str = "a") -> None:
    await pilot.press("p")
    await pilot.pause()
    assert isinstance(pilot.app.screen, ProfilesScreen)
    await pilot.press(key)
    await pilot.pause()
    assert isinstance(pilot.app.screen, ProfileForm)


async def test_add_form_shows_each_problem_beside_its_field_and_saves_nothing(config_dir, console):
    before = (config_dir / "profiles.toml").read_bytes()
    async with console.app.run_test(size=(120, 40)) as pilot:
        await open_form(pilot)
        app = console.app
        await fill(pilot, "name", "staging")  # duplicate
        await fill(pilot, "url", "https://ops:hunter2@gw.example.com")  # credentials in the URL
        await fill(pilot, "virtual_key_env", "PROD_VK_NOT_SET")  # missing env var
        await fill(pilot, "refresh", "fast")
        save_profile_form(app)
        await pilot.pause()
        assert isinstance(app.screen, ProfileForm)
        assert "already exists" in error_of(app, "name")
        assert "credentials" in error_of(app, "url") and "hunter2" not in error_of(app, "url")
        assert "not set" in error_of(app, "virtual_key_env")
        assert "seconds" in error_of(app, "refresh")
        await fill(pilot, "url", "ftp://gw.example.com")
        save_profile_form(app)
        await pilot.pause()
        assert "http" in error_of(app, "url")
    assert (config_dir / "profiles.toml").read_bytes() == before  # nothing saved


async def test_add_valid_profile_saves_it(config_dir, monkeypatch, console):
    monkeypatch.setenv("PROD_VK", "sk-bf-prod-planted")
    async with console.app.run_test(size=(120, 40)) as pilot:
        await open_form(pilot)
        app = console.app
        await fill(pilot, "name", "prod-eu")
        await fill(pilot, "url", "https://gw.example.com/bifrost/")
        await fill(pilot, "virtual_key_env", "PROD_VK")
        await fill(pilot, "accent", "red")
        save_profile_form(app)
        await pilot.pause()
        assert isinstance(app.screen, ProfilesScreen)
        options = app.screen.query_one("#profile-list", OptionList)
        assert [o.id for o in options.options] == ["staging", "prod-eu"]
    saved = store_of(config_dir).load().profiles["prod-eu"]
    assert saved.url == "https://gw.example.com/bifrost"
    assert saved.virtual_key_env == "PROD_VK" and saved.virtual_key is None
    text = (config_dir / "profiles.toml").read_text()
    assert "sk-bf-prod-planted" not in text  # the key stays in the environment


async def test_edit_changes_only_the_edited_fields(config_dir, console):
    async with console.app.run_test(size=(120, 40)) as pilot:
        await open_form(pilot, "e")
        app = console.app
        assert app.screen.query_one("#f-name", Input).disabled
        await fill(pilot, "url", "https://user@staging.example.com")
        save_profile_form(app)
        await pilot.pause()
        assert "credentials" in error_of(app, "url")
        await fill(pilot, "url", "https://staging2.example.com")
        save_profile_form(app)
        await pilot.pause()
        assert isinstance(app.screen, ProfilesScreen)
    saved = store_of(config_dir).load().profiles["staging"]
    assert saved.url == "https://staging2.example.com"
    assert saved.virtual_key_env == "STAGING_VK"


async def test_delete_asks_first(config_dir, console):
    async with console.app.run_test(size=(120, 40)) as pilot:
        await pilot.press("p")
        await pilot.pause()
        await pilot.press("x")
        await pilot.pause()
        assert isinstance(console.app.screen, ConfirmScreen)
        await pilot.press("n")
        await pilot.pause()
        assert "staging" in store_of(config_dir).load().profiles
        await pilot.press("x")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        await console.app.workers.wait_for_complete()
        assert "staging" not in store_of(config_dir).load().profiles
        assert (config_dir / "profiles.toml.bak").exists()


async def test_switching_profile_reloads_the_batch_view_for_the_new_gateway(config_dir, console):
    async with console.app.run_test(size=(120, 40)) as pilot:
        await console.app.do_poll(deep=True)
        assert console.app.store.batches
        old_store = console.app.store
        await pilot.press("p")
        await pilot.pause()
        await pilot.press("enter")  # staging, highlighted first
        await pilot.pause()
        await pilot.pause()
        app = console.app
        assert app.connection.profile_name == "staging"
        assert app.connection.display_url == "https://staging.example.com"
        assert app.store is not old_store and not app.store.batches  # nothing from the old gateway
        assert isinstance(app.screen, MainScreen)


async def test_broken_profiles_file_is_shown_and_never_written(config_dir, console):
    path = config_dir / "profiles.toml"
    path.write_text("[profiles.prod\nurl = 'x'\n")
    broken = path.read_bytes()
    async with console.app.run_test(size=(120, 40)) as pilot:
        await pilot.press("p")
        await pilot.pause()
        message = str(console.app.screen.query_one("#file-error").render())
        assert "profiles.toml" in message and "line 1" in message
        await pilot.press("a")  # refused: nothing is written to a broken file
        await pilot.pause()
        assert isinstance(console.app.screen, ProfilesScreen)
    assert path.read_bytes() == broken


async def test_first_run_opens_profiles_with_a_hint_and_offers_the_demo(config_dir):
    (config_dir / "profiles.toml").unlink()
    app = BifrostApp(
        Connection(settings=ResolvedConnection(profile=None, base_url=""), client_config=None),
        live_updates=False,
    )
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, ProfilesScreen)
        hint = app.screen.query_one("#hint")
        assert hint.display and "--demo" in str(hint.render())
        await pilot.press("d")
        await pilot.pause()
        await pilot.pause()
        assert app.connection.demo
        assert isinstance(app.screen, MainScreen)
