"""Test-wide settings and the fixtures many modules share: a clean environment for the console, a
deterministic hypothesis, the clock at T0, the seeded demo world, the world served on loopback, the
CLI run in process, the console on the simulator, and a private home for profiles."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from bifrost_tui.clock import ManualClock
from bifrost_tui.config import paths
from bifrost_tui.sim import SimWorld, serve
from tests.support.cli_runner import CliRun, cli_runner
from tests.support.clocks import T0
from tests.support.scenes import profiles_dir  # noqa: F401 - the fixture, for the snapshot tests
from tests.support.ui_fixtures import Rig, make_rig

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


@pytest.fixture
def clock() -> ManualClock:
    """A hand-moved clock at T0 (a module whose tests live at another instant overrides it)."""
    return ManualClock(T0)


@pytest.fixture
def sim_seed() -> int:
    """The seed of the ``world`` fixture; a module overrides this fixture to keep its own world."""
    return 7


@pytest.fixture
def world(clock: ManualClock, sim_seed: int) -> SimWorld:
    """The seeded demo world on ``clock``, without arrivals: no batch appears between two calls."""
    return SimWorld.demo(clock, seed=sim_seed, arrival_interval=None)


@pytest.fixture
def batch_routes_only(world: SimWorld) -> SimWorld:
    """``world`` as an older gateway without the passthrough prefixes (refused with a 404): for
    tests that script the batch routes' answers, whose listing is then the one shown."""
    world.faults.refuse_passthrough = 404
    return world


@pytest.fixture
def sim_url(world: SimWorld) -> Iterator[str]:
    """The base URL of ``world`` served over real HTTP on loopback, stopped after the test."""
    server = serve(world)
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> CliRun:
    """The command line run in process: ``run_cli(*argv)`` gives (exit code, stdout, stderr)."""
    return cli_runner(capsys)


@pytest.fixture
def console() -> Rig:
    """The console on its own seeded simulator at T0 (``make_rig()``), ready for ``run_test``."""
    return make_rig()


@pytest.fixture
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private HOME and XDG_CONFIG_HOME (``tmp_path`` / "home" and "cfg") with no config-dir
    override, so profiles are read and written where an operator's would be, but in ``tmp_path``."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.delenv(paths.CONFIG_DIR_ENV, raising=False)
    return tmp_path
