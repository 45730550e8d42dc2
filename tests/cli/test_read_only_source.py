"""A read-only refusal names what made the connection read-only: the profile, ``--read-only`` or
``BIFROST_READ_ONLY`` (never "--read-only is set" when the flag was not given)."""

from __future__ import annotations

import pytest

from bifrost_tui.cli.exitcodes import EXIT_LOCAL_REFUSAL
from bifrost_tui.config.connection import Connection
from bifrost_tui.config.resolve import ResolvedConnection
from bifrost_tui.gateway.client import ClientConfig
from bifrost_tui.sim import SimTransport, SimWorld
from bifrost_tui.ui.app import BifrostApp
from tests.support.clocks import no_sleep
from tests.support.ui_fixtures import first_with, main_screen


def running(world: SimWorld) -> str:
    return next(b.id for b in world.batches("openai") if b.phase.value == "running")


@pytest.mark.parametrize(
    ("env", "flag", "words"),
    [
        ({"BIFROST_READ_ONLY": "1"}, False, "BIFROST_READ_ONLY is set"),
        ({}, True, "--read-only is set"),
        ({"BIFROST_READ_ONLY": "yes"}, True, "--read-only is set and BIFROST_READ_ONLY is set"),
    ],
)
def test_the_cli_refusal_names_the_real_source(
    run_cli, world, sim_url, monkeypatch, env, flag, words
):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    argv = ["batches", "cancel", running(world), "--url", sim_url, "--provider", "openai", "--yes"]
    code, _, err = run_cli(*argv, *(["--read-only"] if flag else []))
    assert code == EXIT_LOCAL_REFUSAL
    assert f"not cancelling: {words}" in err
    if not flag:
        assert "--read-only" not in err
    assert not [r for r in world.request_log if r.method == "POST"]


def test_a_read_only_profile_says_so(tmp_path, monkeypatch, run_cli, world, sim_url):
    monkeypatch.setenv("BIFROST_TUI_CONFIG_DIR", str(tmp_path / "cfg"))
    code, _, err = run_cli("profiles", "add", "ro", "--url", sim_url, "--read-only")
    assert code == 0, err
    code, _, err = run_cli(
        "batches", "cancel", running(world), "--profile", "ro", "--provider", "openai", "--yes"
    )
    assert code == EXIT_LOCAL_REFUSAL and "not cancelling: the profile is read-only" in err


@pytest.mark.parametrize("bulk", [False, True])
async def test_the_console_flash_names_bifrost_read_only(world, bulk):
    connection = Connection(
        settings=ResolvedConnection(
            profile=None,
            base_url="http://gw.test",
            read_only=True,
            read_only_reasons=("BIFROST_READ_ONLY",),
        ),
        client_config=ClientConfig(base_url="http://gw.test", retries=0),
        clock=world.clock,
        transport=SimTransport(world, sleep=no_sleep),
    )
    app = BifrostApp(connection, clock=world.clock, live_updates=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await app.do_poll(deep=True)
        await pilot.pause()
        target = first_with(app, lambda b: b.cancellable)
        if bulk:  # the keys are hidden on a read-only console; their actions still refuse
            app.request_bulk_cancel([target.key])
        else:
            app.request_cancel(target.key)
        await pilot.pause()
        flash = main_screen(app).flash_bar.message
    assert "BIFROST_READ_ONLY is set" in flash and "will not cancel" in flash
    assert "--read-only" not in flash
