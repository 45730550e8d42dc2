"""Test-wide settings: a clean environment for the console, and a deterministic hypothesis."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from hypothesis import settings

# Property tests are deterministic in CI: same examples every run, no deadline, no database.
settings.register_profile(
    "ci", derandomize=True, deadline=None, max_examples=200, database=None, print_blob=False
)
settings.load_profile("ci")


@pytest.fixture(autouse=True)
def _private_state_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """The audit log and exports of a test never land in the real user's state directory."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("state")))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("data")))


@pytest.fixture(autouse=True)
def _clean_console_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Variables that change what the console renders (or which gateway it reaches) are unset."""
    for name in (
        "NO_COLOR",
        "TEXTUAL_THEME",
        "TEXTUAL_ANIMATIONS",
        "FORCE_COLOR",
        "ESCDELAY",
        "BIFROST_VK",
        "BIFROST_URL",
        "BIFROST_PROFILE",
        "BIFROST_READ_ONLY",
        "BIFROST_DASHBOARD_USER",
        "BIFROST_DASHBOARD_PASSWORD",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TZ", "UTC")  # "local" times in snapshots are the same on every machine
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


from tests.support.scenes import profiles_dir  # noqa: E402,F401 - the fixture, for the snapshot tests
