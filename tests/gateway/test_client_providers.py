"""Provider discovery vs MockTransport: batch capability, reasons in words, and the fallback."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from pydantic import SecretStr

from bifrost_tui.gateway.client import (
    REASON_NO_BATCH_KEY,
    REASON_NOT_ALLOWED,
    REASON_UNSUPPORTED,
)
from bifrost_tui.gateway.errors import AuthRefused, BadResponse, Unreachable
from bifrost_tui.gateway.models import STANDARD_BATCH_PROVIDERS
from tests.support.client_fakes import FakeGateway, json_response, make_client

BIFROST_401 = {"is_bifrost_error": False, "status_code": 401, "error": {"message": "Unauthorized"}}
USABLE = {"keys": [{"id": "k1", "use_for_batch_api": True}], "total": 1}


def providers_body(*entries: object) -> httpx.Response:
    return json_response(200, {"providers": list(entries), "total": len(entries)})


async def test_capability_and_reasons() -> None:
    gateway = FakeGateway()
    gateway.on(
        "GET",
        "/api/providers",
        providers_body(
            {"name": "anthropic", "provider_status": "active"},
            {"name": "openai", "provider_status": "active"},
            {"name": "groq", "provider_status": "active"},
            {"name": "gemini", "provider_status": "error"},
            {
                "name": "my-claude",
                "provider_status": "active",
                "custom_provider_config": {
                    "base_provider_type": "anthropic",
                    "allowed_requests": {"batch_list": True, "batch_cancel": False},
                },
            },
            {
                "name": "corp-openai",
                "custom_provider_config": {"base_provider_type": "openai"},
            },
            {"name": "azure", "provider_status": "active"},
        ),
    )
    gateway.on("GET", "/api/providers/anthropic/keys", json_response(200, USABLE))
    gateway.on(
        "GET",
        "/api/providers/openai/keys",
        json_response(200, {"keys": [{"id": "k", "use_for_batch_api": True, "enabled": False}]}),
    )
    gateway.on("GET", "/api/providers/corp-openai/keys", json_response(200, USABLE))
    gateway.on("GET", "/api/providers/azure/keys", json_response(500, {"error": "db down"}))
    async with make_client(gateway, retries=0) as client:
        providers = await client.list_providers()
    by_name = {p.name: p for p in providers}
    assert [p.name for p in providers] == [
        "anthropic",
        "openai",
        "groq",
        "gemini",
        "my-claude",
        "corp-openai",
        "azure",
    ]
    assert by_name["anthropic"].batch_capable and by_name["anthropic"].reason is None
    assert by_name["corp-openai"].batch_capable and by_name["corp-openai"].kind == "openai"
    assert by_name["openai"].reason == REASON_NO_BATCH_KEY
    assert by_name["groq"].reason == REASON_UNSUPPORTED
    # A provider status says nothing about batches, nor does a keys call that failed: both stay
    # batch-capable and their batch routes decide.
    assert by_name["gemini"].batch_capable and by_name["gemini"].reason is None
    assert by_name["my-claude"].reason == REASON_NOT_ALLOWED
    assert by_name["my-claude"].kind == "anthropic"
    assert by_name["azure"].batch_capable and by_name["azure"].reason is None
    # Keys are read only for providers that passed the other checks.
    key_calls = sorted(
        gateway.path_of(r) for r in gateway.requests if gateway.path_of(r).endswith("/keys")
    )
    assert key_calls == [
        "/api/providers/anthropic/keys",
        "/api/providers/azure/keys",
        "/api/providers/corp-openai/keys",
        "/api/providers/gemini/keys",
        "/api/providers/openai/keys",
    ]


async def test_missing_use_for_batch_flag_means_no_batch_key() -> None:
    gateway = FakeGateway()
    gateway.on("GET", "/api/providers", providers_body({"name": "openai"}))
    gateway.on("GET", "/api/providers/openai/keys", json_response(200, {"keys": [{"id": "k"}]}))
    async with make_client(gateway) as client:
        (only,) = await client.list_providers()
    assert not only.batch_capable and only.reason == REASON_NO_BATCH_KEY


async def test_keys_are_read_concurrently() -> None:
    both = asyncio.Event()
    seen: list[str] = []

    async def keys(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        if len(seen) == 2:
            both.set()
        await both.wait()  # returns only if the other keys call is in flight at the same time
        return json_response(200, USABLE)

    gateway = FakeGateway()
    gateway.on("GET", "/api/providers", providers_body({"name": "openai"}, {"name": "anthropic"}))
    gateway.on("GET", "/api/providers/openai/keys", keys)
    gateway.on("GET", "/api/providers/anthropic/keys", keys)
    async with make_client(gateway, total_timeout=5.0) as client:
        providers = await client.list_providers()
    assert all(p.batch_capable for p in providers)


async def test_odd_provider_entries_do_not_break_the_list() -> None:
    gateway = FakeGateway()
    gateway.on(
        "GET",
        "/api/providers",
        providers_body(
            {"name": "openai"}, {"no_name": 1}, 7, {"name": "weird", "custom_provider_config": []}
        ),
    )
    gateway.on(
        "GET", "/api/providers/openai/keys", json_response(200, [{"use_for_batch_api": True}])
    )
    async with make_client(gateway) as client:
        providers = await client.list_providers()
    assert [(p.name, p.batch_capable) for p in providers] == [("openai", True), ("weird", False)]
    assert providers[1].reason == "provider entry could not be read"


async def test_list_providers_raises_auth_refused_on_401() -> None:
    gateway = FakeGateway().on("GET", "/api/providers", json_response(401, BIFROST_401))
    async with make_client(gateway) as client:
        with pytest.raises(AuthRefused):
            await client.list_providers()


async def test_list_providers_of_the_wrong_shape_is_bad_response() -> None:
    gateway = FakeGateway().on("GET", "/api/providers", json_response(200, {"providers": "x"}))
    async with make_client(gateway) as client:
        with pytest.raises(BadResponse):
            await client.list_providers()


async def test_discovery_from_the_management_api() -> None:
    gateway = FakeGateway()
    gateway.on("GET", "/api/providers", providers_body({"name": "anthropic"}))
    gateway.on("GET", "/api/providers/anthropic/keys", json_response(200, USABLE))
    async with make_client(gateway) as client:
        discovery = await client.discover_providers()
    assert discovery.source == "management" and discovery.note is None
    assert [p.name for p in discovery.providers] == ["anthropic"]


async def test_discovery_falls_back_when_credentials_are_refused() -> None:
    gateway = FakeGateway().on("GET", "/api/providers", json_response(401, BIFROST_401))
    async with make_client(
        gateway, dashboard_username="admin", dashboard_password=SecretStr("wrong-pass")
    ) as client:
        discovery = await client.discover_providers()
    assert discovery.source == "fallback"
    assert discovery.note == (
        "management API refused the credentials; showing the standard batch providers"
    )
    assert [p.name for p in discovery.providers] == list(STANDARD_BATCH_PROVIDERS)
    assert all(p.batch_capable and p.kind == p.name for p in discovery.providers)


async def test_discovery_without_dashboard_credentials_says_so() -> None:
    gateway = FakeGateway().on("GET", "/api/providers", json_response(403, BIFROST_401))
    async with make_client(gateway) as client:
        discovery = await client.discover_providers(fallback=["openai", "my-claude", "openai"])
    assert discovery.source == "fallback"
    assert discovery.note == (
        "management API needs dashboard credentials (none configured); "
        "showing the configured providers"
    )
    assert [p.name for p in discovery.providers] == ["openai", "my-claude"]


async def test_discovery_falls_back_when_the_management_api_is_missing() -> None:
    gateway = FakeGateway()  # every route 404
    async with make_client(gateway) as client:
        discovery = await client.discover_providers()
    assert discovery.source == "fallback"
    assert (discovery.note or "").startswith("management API not found at this base URL")


async def test_discovery_does_not_hide_an_unreachable_gateway() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    gateway = FakeGateway().on("GET", "/api/providers", refuse)
    async with make_client(gateway) as client:
        with pytest.raises(Unreachable):
            await client.discover_providers()
