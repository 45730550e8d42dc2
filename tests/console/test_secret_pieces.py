"""A long error message or request id that ends with (or embeds) the virtual key leaves no piece of
it anywhere: every text is redacted before it is cut, and any 8+ character piece of a known secret
a cut left elsewhere is redacted too. The gateway answers 401 with a 301-character message ending
with the ``x-bf-vk`` it received and a 200-character ``x-request-id`` with the key inside, so a
cut at 300 or 120 characters falls inside the key.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from bifrost_tui.clock import ManualClock
from bifrost_tui.config import paths
from bifrost_tui.config.connection import open_connection
from bifrost_tui.config.store import ProfileStore
from bifrost_tui.sim import SimTransport, SimWorld, serve
from bifrost_tui.ui.app import BifrostApp
from bifrost_tui.ui.widgets.batch_table.table import BatchTable
from tests.support.clocks import T0, no_sleep
from tests.support.reliability import screen_text
from tests.support.ui_fixtures import first_with, live_session, main_screen

VK = "sk-bf-EVILSECRET9-4c1d7e"
MESSAGE = "refused: " + "m" * (301 - len("refused: ") - len(VK)) + VK
REQUEST_ID = ("req-" + "r" * 110 + VK).ljust(200, "z")
BODY = json.dumps({"type": "error", "error": {"type": "authentication_error", "message": MESSAGE}})
HEADERS = {"x-request-id": REQUEST_ID}


def assert_no_piece(where: str, *texts: str) -> None:
    """Neither the key nor any 8-character stretch of it shows."""
    pieces = {VK[i : i + 8] for i in range(len(VK) - 7)}
    for text in texts:
        for piece in pieces:
            assert piece not in text, f"{piece!r} (a piece of the key) shows in {where}"


def test_the_planted_answer_really_straddles_the_cuts() -> None:
    assert len(MESSAGE) == 301 and MESSAGE.endswith(VK)
    assert len(REQUEST_ID) == 200 and REQUEST_ID.index(VK) < 120 < REQUEST_ID.index(VK) + len(VK)


@pytest.fixture
def planted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PLANT_VK", VK)
    config = tmp_path / "cfg"
    monkeypatch.setenv("BIFROST_TUI_CONFIG_DIR", str(config))
    return config


def add_profile(config: Path, url: str) -> None:
    ProfileStore(config / "profiles.toml").add("prod", {"url": url, "virtual_key_env": "PLANT_VK"})


def keyed_world(clock: ManualClock) -> SimWorld:
    return SimWorld.demo(
        clock,
        seed=3,
        arrival_interval=None,
        require_virtual_key=True,
        virtual_keys=[SecretStr(VK)],
    )


@pytest.fixture
def loop_gateway(planted: Path, clock: ManualClock) -> Iterator[SimWorld]:
    world = keyed_world(clock)
    server = serve(world)
    try:
        add_profile(planted, server.url)
        yield world
    finally:
        server.stop()


def test_no_piece_of_the_key_in_stdout_stderr_json_or_the_audit(run_cli, loop_gateway):
    world = loop_gateway
    target = next(b.id for b in world.batches("openai") if b.phase.value == "running")
    on = ["--provider", "openai", "--profile", "prod"]
    runs = [
        (["batches", "list", "--profile", "prod"], "GET", None),
        (["batches", "list", "--profile", "prod", "--json"], "GET", None),
        (["batches", "show", target, *on], "GET", None),
        (["batches", "show", target, *on, "--json"], "GET", None),
        (["batches", "cancel", target, *on, "--yes"], "POST", "/cancel"),
        (["batches", "cancel", target, *on, "--yes", "--json"], "POST", "/cancel"),
    ]
    for argv, method, path in runs:
        world.faults.scripted.clear()
        world.faults.fail_next(401, BODY, HEADERS, method=method, path=path, times=50)
        code, out, err = run_cli(*argv)
        assert code == 1, (argv, out, err)
        if "--json" in argv:
            assert "***" in out  # the echo arrived whole, and was redacted
        assert_no_piece(" ".join(argv), out, err)
    audit = paths.audit_file().read_text()
    assert audit.count('"refused"') == 2 and "***" in audit
    assert_no_piece("the audit log", audit)
    _, out, err = run_cli("audit", "--json")
    assert_no_piece("bifrost-tui audit", out, err)


async def test_no_piece_of_the_key_on_the_console(planted: Path) -> None:
    add_profile(planted, "https://bifrost.prod.test")
    clock = ManualClock(T0)
    world = keyed_world(clock)
    connection = open_connection(
        profile="prod", url=None, demo=False, read_only=False, refresh=None, env=os.environ
    )
    connection.transport = SimTransport(world, sleep=no_sleep)
    connection.clock = clock
    app = BifrostApp(connection, clock=clock, live_updates=False)
    seen: list[str] = []
    async with app.run_test(size=(200, 50)) as pilot:
        await app.do_poll(deep=True)
        await pilot.pause()
        target = first_with(app, lambda b: b.provider == "openai" and b.cancellable)
        world.faults.fail_next(401, BODY, HEADERS, method="POST", path="/cancel")
        main_screen(app).query_one(BatchTable).move_cursor_to_key(target.key)
        await pilot.press("c")
        await pilot.pause()
        await pilot.press("y")
        await app.workers.wait_for_complete()
        await pilot.pause()
        flash = main_screen(app).flash_bar.message
        assert "auth refused" in flash
        seen += [flash, screen_text(app)]
        world.faults.fail_next(401, BODY, HEADERS, method="GET", times=100)
        clock.advance(5)
        await app.do_poll(deep=True)
        await pilot.pause()
        crumb = app.crumb_state()
        assert live_session(app).stale and crumb.stale is not None and "***" in crumb.stale
        seen += [repr(crumb), screen_text(app)]
        error = live_session(app).last_error
        assert error is not None
        seen += [error.describe(), str(error.request_id)]
        seen += [str(n.message) for n in app._notifications]
    assert_no_piece("the console", *seen)
    assert_no_piece("the audit log", paths.audit_file().read_text())
