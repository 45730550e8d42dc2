"""paths: every location comes from platformdirs (XDG on Linux) or the documented override."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from bifrost_tui.config import paths
from bifrost_tui.files import ensure_private_dir

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="XDG layout is Linux-specific")


@pytest.fixture
def xdg(config_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_STATE_HOME", str(config_home / "state"))
    monkeypatch.setenv("XDG_DATA_HOME", str(config_home / "data"))
    return config_home


def test_config_follows_xdg_config_home(xdg: Path) -> None:
    assert paths.config_dir() == xdg / "cfg" / "bifrost-tui"
    assert paths.config_file() == xdg / "cfg" / "bifrost-tui" / "profiles.toml"
    assert paths.backup_file() == xdg / "cfg" / "bifrost-tui" / "profiles.toml.bak"


def test_state_log_and_export_dirs_follow_xdg(xdg: Path) -> None:
    assert paths.state_dir() == xdg / "state" / "bifrost-tui"
    assert paths.log_dir().is_relative_to(xdg / "state" / "bifrost-tui")
    assert paths.export_dir().is_relative_to(xdg / "data" / "bifrost-tui")


def test_override_moves_only_the_config_dir(xdg: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(paths.CONFIG_DIR_ENV, str(xdg / "elsewhere"))
    assert paths.config_file() == xdg / "elsewhere" / "profiles.toml"
    assert paths.state_dir() == xdg / "state" / "bifrost-tui"
    # An explicit mapping wins over the process environment (the CLI injects env in tests).
    assert paths.config_dir({paths.CONFIG_DIR_ENV: str(xdg / "x")}) == xdg / "x"
    assert paths.config_dir({}) == xdg / "cfg" / "bifrost-tui"


def test_empty_override_is_ignored(xdg: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(paths.CONFIG_DIR_ENV, "")
    assert paths.config_dir() == xdg / "cfg" / "bifrost-tui"


def test_nothing_is_created_by_asking(xdg: Path) -> None:
    for location in paths.all_paths().values():
        assert not location.exists()


def test_ensure_private_dir_creates_0700_and_tightens(xdg: Path) -> None:
    target = xdg / "cfg" / "bifrost-tui"
    ensure_private_dir(target)
    assert stat.S_IMODE(target.stat().st_mode) == 0o700
    os.chmod(target, 0o755)
    ensure_private_dir(target)
    assert stat.S_IMODE(target.stat().st_mode) == 0o700
