"""Planted secrets never show: not on any screen, in a screenshot, a log record, the audit log, an
export, an exception's text, a crash traceback (Textual prints locals), the CLI's human output or
its ``--json``. The gateway is made to echo every secret back in its errors, as real ones do.

The secrets are a virtual key, a dashboard password (and the Basic token built from it), a proxy
header and a session token (both ``extra_headers`` values), each read from the environment by a
profile, the way an operator configures them.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from rich.console import Console
from rich.traceback import Traceback

from bifrost_tui.clock import ManualClock
from bifrost_tui.config import paths
from bifrost_tui.config.connection import Connection, open_connection
from bifrost_tui.config.store import ProfileStore
from bifrost_tui.sim import SimTransport, SimWorld, serve
from bifrost_tui.sim.model import DashboardAuth
from bifrost_tui.ui.app import BifrostApp
from bifrost_tui.ui.screens.detail import DetailScreen
from bifrost_tui.ui.widgets.batch_table.table import BatchTable
from tests.support.clocks import T0, no_sleep
from tests.support.reliability import screen_text
from tests.support.ui_fixtures import first_with, live_session, main_screen

VK = "sk-bf-PLANTED-vk-7f3a9c41"
PASSWORD = "PLANTED-dashboard-pw-91b2"
PROXY_TOKEN = "PLANTED-proxy-token-55d0"
SESSION = "PLANTED-session-token-c4e1"
BASIC = base64.b64encode(f"ops:{PASSWORD}".encode()).decode()
PLANTED = (VK, PASSWORD, PROXY_TOKEN, SESSION, BASIC)
ENV = {
    "PLANT_VK": VK,
    "PLANT_PW": PASSWORD,
    "PLANT_PROXY": PROXY_TOKEN,
    "PLANT_SESSION": SESSION,
}
ECHO = (
    f"refused: x-bf-vk={VK} authorization=Basic {BASIC} (ops:{PASSWORD}) "
    f"x-proxy-auth={PROXY_TOKEN} x-session-token={SESSION}"
)


def assert_clean(where: str, *texts: object) -> None:
    for text in texts:
        shown = text if isinstance(text, str) else repr(text)
        for secret in PLANTED:
            assert secret not in shown, f"a planted secret shows in {where}"


def echo_body(kind: str = "invalid_request_error") -> bytes:
    return json.dumps({"type": "error", "error": {"type": kind, "message": ECHO}}).encode()


@pytest.fixture
def planted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    config = tmp_path / "cfg"
    monkeypatch.setenv("BIFROST_TUI_CONFIG_DIR", str(config))
    return config


def add_profile(config: Path, name: str, url: str) -> None:
    ProfileStore(config / "profiles.toml").add(
        name,
        {
            "url": url,
            "virtual_key_env": "PLANT_VK",
            "dashboard_username": "ops",
            "dashboard_password_env": "PLANT_PW",
            "extra_headers_env": {
                "X-Proxy-Auth": "PLANT_PROXY",
                "X-Session-Token": "PLANT_SESSION",
            },
        },
    )


def guarded_world(clock: ManualClock) -> SimWorld:
    """A gateway that insists on every planted credential (so the client really sends them)."""
    return SimWorld.demo(
        clock,
        seed=3,
        arrival_interval=None,
        require_virtual_key=True,
        virtual_keys=[SecretStr(VK)],
        dashboard_auth=DashboardAuth("ops", SecretStr(PASSWORD), on_inference=True),
    )


def guarded_console(planted: Path) -> tuple[BifrostApp, SimWorld]:
    add_profile(planted, "prod", "https://bifrost.prod.test")
    clock = ManualClock(T0)
    world = guarded_world(clock)
    connection = open_connection(
        profile="prod", url=None, demo=False, read_only=False, refresh=None, env=os.environ
    )
    connection.transport = SimTransport(world, sleep=no_sleep)  # in process: nothing leaves
    connection.clock = clock
    return BifrostApp(connection, clock=clock, live_updates=False), world


@pytest.fixture
def all_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    caplog.set_level(logging.DEBUG)
    yield caplog


async def test_a_whole_console_session_never_shows_a_planted_secret(planted, all_logs):
    app, world = guarded_console(planted)
    seen: list[str] = []
    async with app.run_test(size=(160, 45)) as pilot:
        result = await app.do_poll(deep=True)
        await pilot.pause()
        assert result.error is None and app.store.batches  # every credential was accepted
        assert world.request_log and all(r.status != 401 for r in world.request_log)
        seen.append(screen_text(app))
        # The gateway echoes every secret back: in a refusal, then in a failing refresh.
        target = first_with(app, lambda b: b.provider == "openai" and b.cancellable)
        world.faults.fail_next(409, echo_body("conflict_error"), method="POST", path="/cancel")
        main_screen(app).query_one(BatchTable).move_cursor_to_key(target.key)
        await pilot.press("c")
        await pilot.pause()
        seen.append(screen_text(app))  # the confirmation dialog
        await pilot.press("y")
        await app.workers.wait_for_complete()
        await pilot.pause()
        flash = main_screen(app).flash_bar.message
        assert "cancel refused" in flash and "***" in flash  # the echo is there, redacted
        seen.append(screen_text(app))
        world.faults.fail_next(500, echo_body("api_error"), method="GET", times=100)
        assert isinstance(world.clock, ManualClock)
        world.clock.advance(5)
        await app.do_poll(deep=True)
        await pilot.pause()
        stale = app.crumb_state().stale
        assert live_session(app).stale and stale is not None and "***" in stale
        stale_error = live_session(app).last_error
        assert stale_error is not None
        seen.append(screen_text(app))
        seen.append(app.export_screenshot())  # what a snapshot or screenshot would hold
        world.faults.scripted.clear()
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, DetailScreen)
        seen.append(screen_text(app))
        for key in ("escape", "p", "escape", "A", "escape", "question_mark", "escape"):
            await pilot.press(key)
            await pilot.pause()
            seen.append(screen_text(app))
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "saved" in main_screen(app).flash_bar.message
        seen += [n.message for n in app._notifications]
        for error in (stale_error, app.store.providers["openai"].error or stale_error):
            seen += [str(error), repr(error), error.describe(), repr(error.__dict__)]
        seen += [repr(app.connection), repr(app.client), repr(app.connection.client_config)]
    assert_clean("the screens, screenshot and notifications", *seen)
    assert_clean("the log records", *(r.getMessage() for r in all_logs.records))
    audit = paths.audit_file().read_text()
    assert '"refused"' in audit
    assert_clean("the audit log", audit)
    (folder,) = list(paths.export_dir().iterdir())
    for exported in folder.iterdir():
        assert_clean(f"the export {exported.name}", exported.read_text(errors="replace"))


async def test_a_crash_traceback_with_locals_holds_no_planted_secret(planted, monkeypatch):
    """Textual prints a crash as a rich traceback *with local variables*: every object a frame
    can reach (the connection, its profile, the client, its credentials) must render safely."""
    app, _ = guarded_console(planted)
    printed = io.StringIO()
    app.error_console = Console(file=printed, width=240, color_system=None, markup=False)

    def crash(self: BatchTable, *args: object) -> None:
        # Locals the traceback will print, with everything they reach.
        app = self.app
        assert isinstance(app, BifrostApp)
        connection = app.connection
        settings = connection.settings  # noqa: F841
        config = connection.client_config  # noqa: F841
        client = app.client
        assert client is not None
        credentials = client._core._credentials  # noqa: F841
        raise RuntimeError("a widget bug")

    with pytest.raises(RuntimeError, match="a widget bug"):
        async with app.run_test(size=(120, 40)) as pilot:
            await app.do_poll(deep=True)
            await pilot.pause()
            monkeypatch.setattr(BatchTable, "refresh_view", crash)
            app.call_later(app.data_changed, None)
            await pilot.pause()
    text = printed.getvalue()
    assert "a widget bug" in text and "Traceback" in text
    assert "credentials" in text and "connection" in text  # the locals really were printed
    assert_clean("the crash traceback", text)


async def test_exceptions_raised_near_the_credentials_render_no_secret_with_locals(planted):
    """The frames that build requests hold the secrets unwrapped: a traceback through them,
    rendered the way Textual does (locals on), still shows none (redacted or out of reach)."""
    app, world = guarded_console(planted)
    client = app.connection.make_client()
    caught: list[BaseException] = []
    # Short bodies and headers that carry every secret (a traceback's locals are printed in full
    # below, so no 80-character cut can hide one).
    short = json.dumps({"error": {"message": " ".join(PLANTED)}})
    echo = {"x-echo": " ".join(PLANTED)}
    async with client:
        world.faults.fail_next(401, short, echo, method="GET")
        try:
            await client.get_batch("openai", "batch_x")
        except Exception as exc:
            # From the client's frames down: this test's own frame holds the secrets.
            exc.__traceback__ = exc.__traceback__.tb_next if exc.__traceback__ else None
            caught.append(exc)
        world.faults.fail_next(409, short, echo, method="POST")
        world.faults.fail_next(502, " ".join(PLANTED), method="GET")
        result = await client.cancel_batch("openai", "batch_x")
        caught += [e for e in (result.error, result.reread_error) if e is not None]
    assert len(caught) == 3
    for error in caught:
        out = io.StringIO()
        Console(file=out, width=240, color_system=None).print(
            Traceback.from_exception(
                type(error), error, error.__traceback__, show_locals=True, locals_max_string=10_000
            )
        )
        assert_clean("a client exception's traceback", out.getvalue(), str(error), repr(error))


@pytest.fixture
def cli_gateway(planted: Path, clock: ManualClock) -> Iterator[SimWorld]:
    world = guarded_world(clock)
    server = serve(world)
    try:
        add_profile(planted, "loop", server.url)
        yield world
    finally:
        server.stop()


def test_cli_human_and_json_output_never_show_a_planted_secret(run_cli, cli_gateway, planted):
    world = cli_gateway
    target = next(b.id for b in world.batches("openai") if b.phase.value == "running")
    other = next(
        b.id for b in world.batches("openai") if b.phase.value == "running" and b.id != target
    )
    world.faults.fail_next(409, echo_body("conflict_error"), method="POST", path=target)
    on = ["--provider", "openai", "--profile", "loop"]
    runs = [
        ["batches", "list", "--profile", "loop"],
        ["batches", "list", "--profile", "loop", "--json"],
        ["batches", "list", "--profile", "loop", "--csv"],
        ["batches", "show", target, *on, "--json"],
        ["batches", "cancel", target, *on, "--yes"],
        ["batches", "cancel", other, *on, "--yes", "--json"],
        ["profiles", "show", "loop"],
        ["profiles", "show", "loop", "--json"],
        ["profiles", "list", "--json"],
        ["audit", "--json"],
        ["paths"],
    ]
    codes = []
    for argv in runs:
        code, out, err = run_cli(*argv)
        codes.append(code)
        assert_clean(" ".join(argv[:2]), out, err)
    assert codes[:4] == [0, 0, 0, 0] and codes[4] == 1 and codes[5] == 0
    # The echo reached the CLI and was redacted there, not dropped by luck.
    world.faults.fail_next(401, echo_body("authentication_error"), method="GET", times=10)
    code, out, err = run_cli("batches", "show", target, "--provider", "openai", "--profile", "loop")
    assert code == 1 and "***" in err
    assert_clean("an error line", out, err)
    world.faults.fail_next(401, echo_body("authentication_error"), method="GET", times=10)
    _, out, err = run_cli(
        "batches", "show", target, "--provider", "openai", "--profile", "loop", "--json"
    )
    assert "***" in out
    assert_clean("an error in --json", out, err)
    assert_clean("the audit log", paths.audit_file().read_text())


async def test_plain_http_to_a_remote_host_refuses_to_send_the_key(planted, clock):
    add_profile(planted, "remote", "http://gw.remote.example")
    connection = open_connection(
        profile="remote", url=None, demo=False, read_only=False, refresh=None, env=os.environ
    )
    assert any(
        "refused unless the profile sets allow_insecure_http" in w
        for w in connection.settings.warnings
    )
    world = guarded_world(clock)
    connection.transport = SimTransport(world, sleep=no_sleep)
    async with connection.client() as client:
        listing = await client.list_batches("openai")
    assert listing.error is not None and "plain http://" in listing.error.message
    assert not world.request_log  # nothing left the client


async def test_the_console_warns_when_keys_travel_over_plain_http_by_opt_in(planted, clock):
    ProfileStore(planted / "profiles.toml").add(
        "lab",
        {
            "url": "http://gw.lab.example",
            "virtual_key_env": "PLANT_VK",
            "allow_insecure_http": True,
        },
    )
    connection = open_connection(
        profile="lab", url=None, demo=False, read_only=False, refresh=None, env=os.environ
    )
    assert any("secrets travel unencrypted" in w for w in connection.settings.warnings)
    world = SimWorld.demo(clock, seed=3, arrival_interval=None, virtual_keys=[SecretStr(VK)])
    connection.transport = SimTransport(world, sleep=no_sleep)
    app = BifrostApp(connection, clock=world.clock, live_updates=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await app.do_poll(deep=True)
        await pilot.pause()
        assert app.store.batches, live_session(app).last_error  # it works: the operator opted in
        notes = [n.message for n in app._notifications]
        shown = screen_text(app) + "\n".join(notes)
        assert "unencrypted" in shown


def test_connection_repr_holds_no_secret(planted):
    add_profile(planted, "prod", "https://bifrost.prod.test")
    connection: Connection = open_connection(
        profile="prod", url=None, demo=False, read_only=False, refresh=None, env=os.environ
    )
    assert connection.client_config is not None
    assert connection.client_config.virtual_key is not None  # the key was read...
    assert_clean("repr(connection)", repr(connection), str(connection.settings))  # ...and hidden
