"""A failed management call never leaves a provider out; only the gateway's own words (or
management data read successfully) make it ``unsupported``.

Against the simulator in process, with faults on the management routes only, and against the
answers a real gateway gave (``tests/data/recorded/unsupported``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from bifrost_tui.clock import ManualClock
from bifrost_tui.gateway.client import (
    REASON_NO_BATCH_KEY,
    REASON_UNSUPPORTED,
    ClientConfig,
    GatewayClient,
)
from bifrost_tui.gateway.errors import GatewayConfigError, ServerError
from bifrost_tui.gateway.models import STANDARD_BATCH_PROVIDERS
from bifrost_tui.gateway.outcomes import ListingStatus
from bifrost_tui.sim import SimTransport, SimWorld
from bifrost_tui.sim.faults import proxy_error_body
from bifrost_tui.sim.model import KeyConfig, ProviderConfig
from bifrost_tui.sim.world import standard_providers
from tests.support.client_fakes import FakeGateway, make_client
from tests.support.clocks import T0

RECORDED = Path(__file__).resolve().parents[1] / "data" / "recorded" / "unsupported"
LIST = "/anthropic/v1/messages/batches"
BATCH_KINDS = ("anthropic", "azure", "bedrock", "gemini", "openai")


class NoSleep:
    async def __call__(self, seconds: float) -> None:
        return None


def connect(world: SimWorld) -> GatewayClient:
    sleep = NoSleep()
    return GatewayClient(
        ClientConfig(base_url="http://sim.test"),
        transport=SimTransport(world, sleep=sleep),
        sleep=sleep,
    )


def world_with(providers: list[ProviderConfig] | None = None) -> SimWorld:
    return SimWorld(ManualClock(T0), seed=5, providers=providers)


def recorded(name: str) -> tuple[int, dict[str, Any]]:
    """A recorded ``.txt`` answer: the JSON body, then ``-> STATUS``."""
    body, _, status = (RECORDED / name).read_text().rpartition("->")
    return int(status), json.loads(body)


# ---- keys and provider list failures -----------------------------------------------------------


def keys_500(world: SimWorld) -> None:
    world.faults.fail_next(500, proxy_error_body(500), path="/keys", times=100)


def keys_refused(world: SimWorld) -> None:
    world.faults.refuse_next(path="/keys", times=100)


def keys_timed_out(world: SimWorld) -> None:
    world.faults.drop_next(method="GET", path="/keys", error="read_timeout", times=100)


def keys_not_a_list(world: SimWorld) -> None:
    world.faults.fail_next(200, b'{"keys": "nope"}', path="/keys", times=100)


@pytest.mark.parametrize(
    "fault",
    [keys_500, keys_refused, keys_timed_out, keys_not_a_list],
    ids=["500", "refused", "timeout", "unreadable"],
)
async def test_a_failed_keys_call_keeps_the_provider_and_its_batch_routes_decide(
    fault: Callable[[SimWorld], None],
) -> None:
    world = world_with()
    fault(world)
    async with connect(world) as client:
        infos = await client.list_providers()
        listings = await client.list_all(infos)
    by_name = {p.name: p for p in infos}
    for name in BATCH_KINDS:
        assert by_name[name].batch_capable and by_name[name].reason is None, name
    # groq's kind has no batch API: management data read successfully says so.
    assert not by_name["groq"].batch_capable and by_name["groq"].reason == REASON_UNSUPPORTED
    assert [x.provider for x in listings] == list(BATCH_KINDS)
    assert all(x.status is ListingStatus.COMPLETE for x in listings)
    assert world.requests(op="batch_list", provider="groq") == []


async def test_a_keys_list_read_without_a_batch_key_is_unsupported_without_a_batch_call() -> None:
    providers = standard_providers(groq=False)
    for config in providers:
        if config.name == "gemini":
            config.keys = [KeyConfig(name="gem-nobatch", use_for_batch_api=False)]
    world = world_with(providers)
    async with connect(world) as client:
        infos = await client.list_providers()
    gemini = next(p for p in infos if p.name == "gemini")
    assert not gemini.batch_capable and gemini.reason == REASON_NO_BATCH_KEY
    assert world.requests(op="batch_list") == []


async def test_a_provider_status_other_than_active_does_not_skip_it() -> None:
    providers = standard_providers(groq=False)
    for config in providers:
        if config.name == "azure":
            config.provider_status = "error"
    world = world_with(providers)
    async with connect(world) as client:
        infos = await client.list_providers()
        listings = await client.list_all(infos)
    assert all(p.batch_capable for p in infos)
    azure = next(x for x in listings if x.provider == "azure")
    assert azure.status is ListingStatus.COMPLETE


async def test_without_its_keys_the_gateways_own_refusal_says_unsupported_in_its_words() -> None:
    providers = standard_providers(groq=False)
    for config in providers:
        if config.name == "gemini":
            config.keys = [KeyConfig(name="gem-nobatch", use_for_batch_api=False)]
    world = world_with(providers)
    keys_500(world)
    async with connect(world) as client:
        listings = await client.list_all(await client.list_providers())
    gemini = next(x for x in listings if x.provider == "gemini")
    assert gemini.status is ListingStatus.UNSUPPORTED
    assert gemini.reason == "no batch-enabled keys found for provider: gemini and model:"
    assert gemini.error is None and gemini.batches == []
    assert gemini.to_json()["listing"] == "unsupported"
    assert gemini.to_json()["reason"] == gemini.reason


async def test_a_failed_provider_list_falls_back_to_trying_every_batch_provider() -> None:
    world = world_with()
    world.faults.fail_next(500, proxy_error_body(500), path="/api/providers", times=100)
    async with connect(world) as client:
        with pytest.raises(ServerError):
            await client.discover_providers()
        discovery = await client.discover_providers(fallback_on_failure=True)
        listings = await client.list_all(discovery.providers)
    assert discovery.source == "fallback"
    assert isinstance(discovery.failure, ServerError)
    assert discovery.note is not None and "could not read the provider list" in discovery.note
    assert [p.name for p in discovery.providers] == list(STANDARD_BATCH_PROVIDERS)
    assert all(x.status is ListingStatus.COMPLETE for x in listings)


# ---- what the real gateway answered ------------------------------------------------------------


@pytest.mark.parametrize("name", ["list_gemini.txt", "list_groq.txt"])
async def test_the_recorded_refusals_are_unsupported_with_the_gateways_words(name: str) -> None:
    status, body = recorded(name)
    gateway = FakeGateway().on(
        "GET",
        LIST,
        httpx.Response(status, json=body, headers={"content-type": "application/json"}),
    )
    async with make_client(gateway) as client:
        listing = await client.list_batches("gemini")
    assert listing.status is ListingStatus.UNSUPPORTED
    assert listing.reason == body["error"]["message"].strip()
    assert listing.error is None and listing.requests == 1


@pytest.mark.parametrize("status", [500, 503])
async def test_a_proxys_5xx_on_the_batch_route_is_an_error_not_unsupported(status: int) -> None:
    gateway = FakeGateway().on(
        "GET",
        LIST,
        httpx.Response(
            status, content=proxy_error_body(status), headers={"content-type": "text/html"}
        ),
    )
    async with make_client(gateway, retries=0) as client:
        listing = await client.list_batches("anthropic")
    assert listing.status is ListingStatus.ERROR
    assert listing.reason is None and isinstance(listing.error, ServerError)


async def test_another_gateway_side_500_stays_an_error() -> None:
    body = {"type": "error", "error": {"type": "api_error", "message": "upstream went away"}}
    gateway = FakeGateway().on(
        "GET", LIST, httpx.Response(500, json=body, headers={"content-type": "application/json"})
    )
    async with make_client(gateway) as client:
        listing = await client.list_batches("anthropic")
    assert listing.status is ListingStatus.ERROR
    assert isinstance(listing.error, GatewayConfigError)


async def test_an_unknown_provider_is_an_error_not_unsupported() -> None:
    async with connect(world_with()) as client:
        listing = await client.list_batches("OpenAI")
    assert listing.status is ListingStatus.ERROR
    assert listing.error is not None and "failed to get config" in listing.error.message
