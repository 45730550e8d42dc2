"""``profiles test`` against the simulated gateway, on loopback and in process."""

from __future__ import annotations

import argparse
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from bifrost_tui.cli.profiles import add_profile_commands, run_profiles
from bifrost_tui.clock import ManualClock
from bifrost_tui.config import paths
from bifrost_tui.config.store import ProfileStore
from bifrost_tui.gateway.client import ClientConfig, GatewayClient
from bifrost_tui.sim import DashboardAuth, SimServer, SimTransport, SimWorld
from tests.support.clocks import GOLDEN_NOON, no_sleep

KEY = "sk-bf-PLANTED-sim-key-777"
STRAY = "sk-bf-STRAY-staging-key-778"
ADMIN_PW = "PLANTED-admin-pw-779"


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def store(config_home: Path) -> ProfileStore:
    return ProfileStore(paths.config_file({}))


def make_world(**opts: object) -> SimWorld:
    clock = ManualClock(GOLDEN_NOON)
    return SimWorld.demo(clock, seed=7, **opts)


@pytest.fixture
def world_vk() -> SimWorld:
    return make_world(require_virtual_key=True, virtual_keys=[SecretStr(KEY)])


@pytest.fixture
def server(world_vk: SimWorld) -> Iterator[SimServer]:
    with SimServer(world_vk) as srv:
        yield srv


def run_test(
    env: dict[str, str], *extra: str, transport: httpx.AsyncBaseTransport | None = None
) -> Result:
    parser = argparse.ArgumentParser()
    add_profile_commands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["profiles", "test", "prod", *extra])
    out, err = io.StringIO(), io.StringIO()

    def factory(config: ClientConfig) -> GatewayClient:
        return GatewayClient(config, transport=transport, sleep=no_sleep)

    code = run_profiles(args, env=env, stdout=out, stderr=err, client_factory=factory)
    return Result(code, out.getvalue(), err.getvalue())


def check_lines(result: Result) -> dict[str, str]:
    lines = {}
    for text in result.out.splitlines()[1:]:
        parts = text.split()
        if len(parts) >= 2 and parts[0] in ("OK", "FAIL", "SKIP"):
            name = " ".join(parts[1:3]) if parts[1] == "list" else parts[1]
            lines[name] = text
    return lines


def test_loopback_sim_with_the_required_key_passes(
    store: ProfileStore, server: SimServer, world_vk: SimWorld
) -> None:
    store.add("prod", {"url": server.url, "virtual_key_env": "PROD_VK"})
    r = run_test({"PROD_VK": KEY, "BIFROST_VK": STRAY})
    assert r.code == 0, r.out + r.err
    lines = check_lines(r)
    for name in ("health", "version", "providers", "list openai", "list anthropic"):
        assert lines[name].lstrip().startswith("OK"), lines[name]
    assert lines["list groq"].lstrip().startswith("SKIP")
    assert "all checks passed" in r.out
    assert KEY not in r.out + r.err and STRAY not in r.out + r.err


def test_loopback_sim_without_the_key_says_auth_refused(
    store: ProfileStore, server: SimServer, world_vk: SimWorld
) -> None:
    store.add("prod", {"url": server.url, "virtual_key_env": "PROD_VK"})
    r = run_test({"BIFROST_VK": STRAY}, "--json")  # PROD_VK unset: the stray key must not be used
    assert r.code == 1  # refused everywhere: the gateway refused
    data = json.loads(r.out)
    listed = [c for c in data["checks"] if c["check"].startswith("list ") and c["result"] != "skip"]
    assert listed and all(c["problem"] == "auth refused" for c in listed)
    assert {c["check"]: c["ok"] for c in data["checks"]}["health"] is True
    assert "PROD_VK is not set: no virtual key will be sent" in data["warnings"]
    # Nothing the console sent carried a virtual key.
    assert all("x-bf-vk" not in rec.header_names for rec in world_vk.request_log)
    assert STRAY not in r.out + r.err


def test_stopped_sim_is_unreachable(store: ProfileStore, world_vk: SimWorld) -> None:
    srv = SimServer(world_vk)
    url = srv.start()
    srv.stop()
    store.add("prod", {"url": url, "virtual_key_env": "PROD_VK"})
    r = run_test({"PROD_VK": KEY})
    assert r.code == 3
    assert "unreachable" in check_lines(r)["health"]


def test_in_process_sim_with_dashboard_auth(store: ProfileStore) -> None:
    world = make_world(dashboard_auth=DashboardAuth("admin", SecretStr(ADMIN_PW)))
    transport = SimTransport(world, sleep=no_sleep)
    store.add("prod", {"url": "http://127.0.0.1:1", "dashboard_username": "admin"})
    r = run_test({}, transport=transport)
    assert r.code == 1  # refused everywhere: the gateway refused
    assert "auth refused" in check_lines(r)["providers"]
    r = run_test({"BIFROST_DASHBOARD_PASSWORD": ADMIN_PW}, transport=transport)
    assert r.code == 0, r.out + r.err
    assert ADMIN_PW not in r.out + r.err
