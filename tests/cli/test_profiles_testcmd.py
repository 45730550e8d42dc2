"""``profiles test NAME``: says plainly what works (health, version, providers, listing) and what
does not (unreachable, auth refused, no batch-enabled keys), with the documented exit codes."""

from __future__ import annotations

import argparse
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from bifrost_tui.cli.profiles import add_profile_commands, run_profiles
from bifrost_tui.config import paths
from bifrost_tui.config.store import ProfileStore
from bifrost_tui.gateway.client import ClientConfig, GatewayClient
from tests.support.clocks import no_sleep

KEY = "sk-bf-PLANTED-test-key-42"
STRAY = "sk-bf-STRAY-other-key-43"
BASE = "http://127.0.0.1:9/gw"


@dataclass
class FakeGateway:
    """A loopback-shaped Bifrost answering just the routes ``profiles test`` uses."""

    require_vk: bool = False
    management_401: bool = False
    unreachable: bool = False
    version: str = "v1.5.1"
    batch_keys: dict[str, bool] = field(
        default_factory=lambda: {"openai": True, "anthropic": False}
    )
    echo_key_in_errors: bool = False
    seen: list[httpx.Request] = field(default_factory=list)

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        if self.unreachable:
            raise httpx.ConnectError("connection refused", request=request)
        path = request.url.path
        assert path.startswith("/gw/"), path  # the profile's path prefix is kept
        path = path[len("/gw") :]
        if path == "/health":
            return httpx.Response(200, json={"status": "ok", "components": {"db_pings": "ok"}})
        if path == "/api/version":
            return httpx.Response(200, json=self.version)
        if path.startswith("/api/") and self.management_401:
            return self.unauthorized()
        if path == "/api/providers":
            names = [*self.batch_keys, "groq"]
            return httpx.Response(
                200,
                json={
                    "providers": [{"name": n, "provider_status": "active"} for n in names],
                    "total": len(names),
                },
            )
        if path.startswith("/api/providers/") and path.endswith("/keys"):
            name = path.split("/")[3]
            keys = [{"id": "k1", "name": "main", "use_for_batch_api": self.batch_keys[name]}]
            return httpx.Response(200, json={"keys": keys, "total": 1})
        if path in ("/anthropic/v1/messages/batches", "/openai/v1/batches"):
            vk = request.headers.get("x-bf-vk")
            if self.require_vk and vk != KEY:
                if self.echo_key_in_errors and vk:
                    return httpx.Response(
                        401,
                        json={"type": "error", "error": {"message": f"unknown key {vk}"}},
                    )
                return self.unauthorized()
            if path.startswith("/openai/"):  # openai and azure list in the OpenAI format
                provider = request.url.params["provider"]
                item = {"id": f"batch_{provider}_1", "object": "batch", "status": "in_progress"}
                return httpx.Response(200, json={"object": "list", "data": [item]})
            provider = request.headers["x-model-provider"]
            item = {
                "id": f"batch_{provider}_1",
                "type": "message_batch",
                "processing_status": "in_progress",
                "created_at": "2026-05-13T10:30:00Z",
                "expires_at": "2026-05-14T10:30:00Z",
            }
            return httpx.Response(200, json={"data": [item], "has_more": False})
        return httpx.Response(404, text="404 page not found")

    @staticmethod
    def unauthorized() -> httpx.Response:
        return httpx.Response(
            401,
            json={
                "is_bifrost_error": False,
                "status_code": 401,
                "error": {"message": "Unauthorized"},
                "extra_fields": {},
            },
        )


@pytest.fixture
def env(config_home: Path) -> dict[str, str]:
    store = ProfileStore(paths.config_file({}))
    store.add("prod", {"url": BASE, "virtual_key_env": "PROD_VK"})
    return {"BIFROST_VK": STRAY}


@dataclass
class Result:
    code: int
    out: str
    err: str


def run_test(
    env: dict[str, str],
    gateway: FakeGateway,
    *extra: str,
    name: str = "prod",
    mock: bool = True,
) -> Result:
    parser = argparse.ArgumentParser()
    add_profile_commands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["profiles", "test", name, *extra])
    out, err = io.StringIO(), io.StringIO()
    handler: Callable[[httpx.Request], httpx.Response] = gateway.handler

    def factory(config: ClientConfig) -> GatewayClient:
        transport = httpx.MockTransport(handler) if mock else None
        return GatewayClient(config, transport=transport, sleep=no_sleep)

    code = run_profiles(args, env=env, stdout=out, stderr=err, client_factory=factory)
    return Result(code, out.getvalue(), err.getvalue())


def line(result: Result, check: str) -> str:
    return next(x for x in result.out.splitlines() if f" {check} " in x + " ")


def test_all_good_exits_0_and_says_what_was_checked(env: dict[str, str]) -> None:
    gw = FakeGateway(require_vk=True)
    r = run_test({**env, "PROD_VK": KEY}, gw)
    assert r.code == 0, r.out + r.err
    assert line(r, "health").lstrip().startswith("OK")
    assert "v1.5.1" in line(r, "version")
    assert "batch-enabled: openai" in line(r, "providers")
    assert "1 batch(es)" in line(r, "list openai")
    # Discovered but unusable providers inform without failing the test.
    assert line(r, "list anthropic").lstrip().startswith("SKIP")
    assert "no batch-enabled key" in line(r, "list anthropic")
    assert "all checks passed" in r.out
    assert "virtual key: env PROD_VK" in r.out


def test_required_key_missing_is_auth_refused_and_the_stray_key_is_not_used(
    env: dict[str, str],
) -> None:
    gw = FakeGateway(require_vk=True)
    r = run_test(env, gw)  # PROD_VK unset, BIFROST_VK (for staging) exported
    assert r.code == 1  # refused everywhere: the gateway refused (exit-code table)
    assert line(r, "list openai").lstrip().startswith("FAIL")
    assert "auth refused" in line(r, "list openai")
    assert "PROD_VK is not set" in r.err
    assert "BIFROST_VK is ignored" in r.err
    assert all(req.headers.get("x-bf-vk") is None for req in gw.seen)
    assert STRAY not in r.out + r.err


def test_wrong_key_echoed_by_the_gateway_is_redacted(env: dict[str, str]) -> None:
    gw = FakeGateway(require_vk=True, echo_key_in_errors=True)
    wrong = "sk-bf-WRONG-planted-44"
    r = run_test({**env, "PROD_VK": wrong}, gw, "--json")
    assert r.code == 1  # refused everywhere: the gateway refused (exit-code table)
    assert wrong not in r.out + r.err
    data = json.loads(r.out)
    failed = [c for c in data["checks"] if not c["ok"]]
    assert [c["problem"] for c in failed] == ["auth refused"]


def test_management_api_refused_is_said_plainly(env: dict[str, str]) -> None:
    gw = FakeGateway(management_401=True)
    r = run_test({**env, "PROD_VK": KEY}, gw)
    assert r.code == 1  # refused everywhere: the gateway refused (exit-code table)
    assert "auth refused" in line(r, "providers")
    assert "dashboard credentials" in line(r, "providers")
    assert "the gateway refused the credentials" in r.out


def test_management_refused_still_lists_the_profiles_providers(env: dict[str, str]) -> None:
    ProfileStore(paths.config_file({})).edit("prod", {"providers": ["openai"]})
    gw = FakeGateway(management_401=True, require_vk=True)
    r = run_test({**env, "PROD_VK": KEY}, gw)
    assert r.code == 4
    assert line(r, "list openai").lstrip().startswith("OK")


def test_no_batch_enabled_keys(env: dict[str, str]) -> None:
    gw = FakeGateway(batch_keys={"openai": False, "anthropic": False})
    r = run_test({**env, "PROD_VK": KEY}, gw)
    assert r.code == 4
    assert "no batch-enabled key" in line(r, "providers")
    assert line(r, "providers").lstrip().startswith("FAIL")


def test_a_named_provider_without_batch_keys_fails(env: dict[str, str]) -> None:
    ProfileStore(paths.config_file({})).edit("prod", {"providers": ["openai", "anthropic"]})
    r = run_test({**env, "PROD_VK": KEY}, FakeGateway())
    assert r.code == 4
    assert line(r, "list anthropic").lstrip().startswith("FAIL")


def test_unreachable_exits_3_and_stops(env: dict[str, str]) -> None:
    gw = FakeGateway(unreachable=True)
    r = run_test({**env, "PROD_VK": KEY}, gw)
    assert r.code == 3
    assert "unreachable" in line(r, "health")
    assert "nothing else was tried" in r.out
    assert all(req.url.path.endswith("/health") for req in gw.seen)


def test_json_envelope(env: dict[str, str]) -> None:
    r = run_test({**env, "PROD_VK": KEY}, FakeGateway(), "--json")
    data = json.loads(r.out)
    assert data["version"] == 1 and data["ok"] is True and data["profile"] == "prod"
    assert data["virtual_key"] == "env PROD_VK: set"
    assert {c["check"] for c in data["checks"]} >= {"health", "version", "providers"}
    assert KEY not in r.out + r.err


def test_hostile_version_string_is_escaped(env: dict[str, str]) -> None:
    r = run_test({**env, "PROD_VK": KEY}, FakeGateway(version="v1\x1b[2J\u202eevil"))
    assert "\x1b" not in r.out and "\u202e" not in r.out


def test_unknown_profile_is_a_usage_error(env: dict[str, str]) -> None:
    r = run_test(env, FakeGateway(), name="nope")
    assert r.code == 2 and "no profile 'nope'" in r.err


def test_a_configuration_the_client_refuses_is_a_usage_error(
    env: dict[str, str], tmp_path: Path
) -> None:
    bad_ca = tmp_path / "ca.pem"
    bad_ca.write_text("not a certificate")
    ProfileStore(paths.config_file({})).edit("prod", {"ca_bundle": str(bad_ca)})
    # A real client (no mock transport): it loads the CA bundle when built, before any request.
    r = run_test({**env, "PROD_VK": KEY}, FakeGateway(), mock=False)
    assert r.code == 2 and "cannot load the CA bundle" in r.err
    assert r.out == ""
