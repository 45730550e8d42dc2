"""Config and state paths someone else could change are refused (exit 2, naming the opt-out
``BIFROST_TUI_TRUST_CONFIG=1``), like ssh with ``~/.ssh/config``: the config directory (also when
moved by ``BIFROST_TUI_CONFIG_DIR``), ``profiles.toml``, its ``.bak``, a profile's ``ca_bundle``
and the state directory where the audit log lives. Nothing is sent before the refusal. A
``profiles.toml`` that is a symlink stays one when a profile is written."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bifrost_tui.cli.exitcodes import EXIT_USAGE
from bifrost_tui.config import paths, trust
from bifrost_tui.config.store import ProfileStore
from bifrost_tui.sim import SimWorld

OPT_OUT = "BIFROST_TUI_TRUST_CONFIG=1"


@pytest.fixture
def cfg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    config = tmp_path / "cfg"
    monkeypatch.setenv("BIFROST_TUI_CONFIG_DIR", str(config))
    return config


@pytest.fixture
def loop(cfg: Path, sim_url: str) -> Path:
    """A private config with profile ``loop`` pointing at the simulator."""
    ProfileStore(cfg / "profiles.toml").add("loop", {"url": sim_url})
    ProfileStore(cfg / "profiles.toml").edit("loop", {"note": "a second write makes a .bak"})
    assert (cfg / "profiles.toml.bak").exists()
    assert (cfg.stat().st_mode & 0o777) == 0o700
    return cfg


def make_foreign(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``path`` owned by another user: really (as root), else by standing in another user."""
    if os.getuid() == 0:
        os.chown(path, 4242, -1)
    else:
        monkeypatch.setattr(trust, "current_uid", lambda: os.getuid() + 1)


def list_batches(run_cli) -> tuple[int, str, str]:
    return run_cli("batches", "list", "--profile", "loop", "--provider", "openai")


def assert_refused(result: tuple[int, str, str], world: SimWorld, *words: str) -> None:
    code, out, err = result
    assert code == EXIT_USAGE, (out, err)
    assert OPT_OUT in err and "refusing to use" in err
    for word in words:
        assert word in err
    assert not world.request_log  # refused before anything was sent


def test_a_private_config_is_used_quietly(run_cli, loop, world):
    code, _, err = list_batches(run_cli)
    assert code == 0 and "refusing" not in err and OPT_OUT not in err


@pytest.mark.parametrize("mode", [0o777, 0o770, 0o707])
def test_a_config_dir_others_can_write_is_refused(run_cli, loop, world, mode):
    loop.chmod(mode)
    assert_refused(list_batches(run_cli), world, "config directory", f"mode {mode:o}")


def test_a_config_dir_owned_by_another_user_is_refused(run_cli, loop, world, monkeypatch):
    make_foreign(loop, monkeypatch)
    assert_refused(list_batches(run_cli), world, "owned by another user")


def test_a_profiles_file_owned_by_another_user_is_refused(run_cli, loop, world, monkeypatch):
    make_foreign(loop / "profiles.toml", monkeypatch)
    assert_refused(list_batches(run_cli), world, "owned by another user")


@pytest.mark.parametrize("name", ["profiles.toml", "profiles.toml.bak"])
def test_a_profiles_file_or_backup_others_can_write_is_refused(run_cli, loop, world, name):
    (loop / name).chmod(0o622)
    assert_refused(list_batches(run_cli), world, name, "writable by group and others")


def test_profiles_commands_refuse_too(run_cli, loop, world):
    (loop / "profiles.toml").chmod(0o666)
    for argv in (["profiles", "list"], ["profiles", "add", "x", "--url", "https://gw.test"]):
        code, _, err = run_cli(*argv)
        assert code == EXIT_USAGE and OPT_OUT in err


def test_the_console_refuses_before_any_request(run_cli, loop, world):
    loop.chmod(0o777)
    assert_refused(run_cli("--profile", "loop"), world, "config directory")


def test_the_opt_out_warns_once_and_goes_ahead(run_cli, loop, world, monkeypatch):
    loop.chmod(0o777)
    (loop / "profiles.toml").chmod(0o666)
    monkeypatch.setenv("BIFROST_TUI_CONFIG_DIR", str(loop))
    monkeypatch.setenv("BIFROST_TUI_TRUST_CONFIG", "1")
    code, _, err = list_batches(run_cli)
    assert code == 0, err
    lines = [line for line in err.splitlines() if "trusting the" in line]
    assert len(lines) == 2  # the directory and the file, each said once
    assert any("config directory" in line for line in lines)
    assert world.request_log


def test_a_ca_bundle_others_can_write_is_refused(run_cli, loop, world, tmp_path):
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    bundle.chmod(0o646)
    ProfileStore(loop / "profiles.toml").edit("loop", {"ca_bundle": str(bundle)})
    assert_refused(list_batches(run_cli), world, "CA bundle", "writable by others")


def test_a_state_dir_others_can_write_is_refused_before_a_cancel(run_cli, loop, world):
    state = paths.state_dir()
    state.mkdir(parents=True, exist_ok=True)
    state.chmod(0o777)
    target = next(b.id for b in world.batches("openai") if b.phase.value == "running")
    result = run_cli(
        "batches", "cancel", target, "--profile", "loop", "--provider", "openai", "--yes"
    )
    assert_refused(result, world, "state directory")
    assert not paths.audit_file().exists()


def test_an_audit_log_owned_by_another_user_is_refused(run_cli, loop, world, monkeypatch):
    paths.state_dir().mkdir(parents=True, exist_ok=True, mode=0o700)
    paths.audit_file().write_text("")
    paths.audit_file().chmod(0o600)
    make_foreign(paths.audit_file(), monkeypatch)
    assert_refused(list_batches(run_cli), world, "owned by another user")


def test_a_symlinked_profiles_file_stays_a_symlink(run_cli, cfg, tmp_path, sim_url, world):
    dotfiles = tmp_path / "dotfiles"
    dotfiles.mkdir(mode=0o700)
    target = dotfiles / "bifrost-profiles.toml"
    ProfileStore(target).add("loop", {"url": sim_url})
    cfg.mkdir(mode=0o700)
    link = cfg / "profiles.toml"
    link.symlink_to(target)
    code, _, err = run_cli("profiles", "add", "other", "--url", "https://gw.test")
    assert code == 0, err
    assert link.is_symlink() and link.resolve() == target
    assert "[profiles.other]" in target.read_text()
    assert not list(cfg.glob(".profiles.toml.*.tmp")) and not list(dotfiles.glob("*.tmp"))
    assert list_batches(run_cli)[0] == 0


def test_a_symlinked_profiles_file_is_checked_at_its_target(run_cli, cfg, tmp_path, sim_url, world):
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o700)
    target = shared / "profiles.toml"
    ProfileStore(target).add("loop", {"url": sim_url})
    cfg.mkdir(mode=0o700)
    (cfg / "profiles.toml").symlink_to(target)
    shared.chmod(0o777)  # whoever can write there can swap the file the link points at
    assert_refused(list_batches(run_cli), world, "profiles file's directory")
    shared.chmod(0o700)
    target.chmod(0o666)
    assert_refused(list_batches(run_cli), world, "profiles file")
