"""The client end to end against the simulated gateway (SimTransport in process, ManualClock)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import SecretStr

from bifrost_tui.clock import ManualClock
from bifrost_tui.gateway.client import ClientConfig, GatewayClient
from bifrost_tui.gateway.errors import (
    AuthRefused,
    BadResponse,
    Conflict,
    GatewayConfigError,
    GatewayTimeout,
    NotFound,
    Unreachable,
)
from bifrost_tui.gateway.ids import normalise_id
from bifrost_tui.gateway.models import ProviderInfo, State
from bifrost_tui.gateway.outcomes import CancelOutcome, ListingStatus
from bifrost_tui.sim import (
    DashboardAuth,
    Faults,
    KeyConfig,
    ProviderConfig,
    SimTransport,
    SimWorld,
    VirtualKey,
    standard_providers,
)
from tests.support.clocks import GOLDEN_NOON

BASE = "http://127.0.0.1:8080"


class NoSleep:
    """The injected sleep for both the client (backoff) and the transport (latency)."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
def clock() -> ManualClock:
    """Noon on the §10 day rather than T0: the demo worlds asserted on here are seeded then."""
    return ManualClock(GOLDEN_NOON)


def connect(world: SimWorld, **config: Any) -> GatewayClient:
    sleep = NoSleep()
    return GatewayClient(
        ClientConfig(base_url=config.pop("base_url", BASE), **config),
        transport=SimTransport(world, sleep=sleep),
        sleep=sleep,
    )


@pytest.fixture
async def demo(clock: ManualClock) -> AsyncIterator[tuple[SimWorld, GatewayClient]]:
    world = SimWorld.demo(clock, seed=7)
    async with connect(world) as client:
        yield world, client


def world_ids(world: SimWorld, provider: str) -> set[str]:
    kind = world.provider(provider).base
    return {normalise_id(kind, b.id) for b in world.batches(provider)}


async def test_discovery_lists_the_demo_providers(demo) -> None:
    _, client = demo
    discovery = await client.discover_providers()
    assert discovery.source == "management" and discovery.note is None
    capable = {p.name for p in discovery.providers if p.batch_capable}
    assert capable == {"anthropic", "azure", "bedrock", "gemini", "openai"}
    groq = next(p for p in discovery.providers if p.name == "groq")
    assert groq.reason == "unsupported provider for batches"


async def test_list_all_matches_the_world(demo) -> None:
    world, client = demo
    providers = (await client.discover_providers()).providers
    listings = await client.list_all(providers)
    assert [item.provider for item in listings] == [p.name for p in providers if p.batch_capable]
    for listing in listings:
        assert listing.status is ListingStatus.COMPLETE, (listing.provider, listing.missing)
        assert {b.id for b in listing.batches} == world_ids(world, listing.provider)
        assert len(listing.batches) == len(world.batches(listing.provider))
    # Demo worlds hold every kind of state somewhere.
    states = {b.state for item in listings for b in item.batches}
    assert {State.ACTIVE, State.CANCELING, State.ENDED_OK, State.ENDED_CANCELED} <= states
    assert State.UNKNOWN not in states


async def test_every_request_carries_the_provider_and_never_the_raw_switch(demo) -> None:
    world, client = demo
    await client.list_all((await client.discover_providers()).providers)
    for record in world.requests():
        assert "x-bf-send-back-raw-response" not in record.header_names
        if record.path.startswith("/anthropic/"):
            assert "x-model-provider" in record.header_names


async def test_deep_listing_walks_openai_pages_and_takes_one_big_anthropic_page(
    clock: ManualClock,
) -> None:
    world = SimWorld.demo(clock, seed=7, batches_per_provider=250, arrival_interval=None)
    async with connect(world) as client:
        openai = await client.list_batches("openai")
        anthropic = await client.list_batches("anthropic")
        shallow = await client.list_batches("openai", deep=False)
    assert openai.status is ListingStatus.COMPLETE
    assert len(openai.batches) == 250 and openai.requests == 3  # 100 + 100 + 50, all OpenAI-format
    assert {b.id for b in openai.batches} == world_ids(world, "openai")
    assert anthropic.status is ListingStatus.COMPLETE
    assert len(anthropic.batches) == 250 and anthropic.requests == 2
    assert shallow.status is ListingStatus.PARTIAL and len(shallow.batches) == 20


async def test_more_than_1000_anthropic_batches_is_honestly_partial(clock: ManualClock) -> None:
    world = SimWorld(clock, seed=3, providers=[ProviderConfig("anthropic")])
    for n in range(1005):
        world.add_batch("anthropic", id=f"msgbatch_{n:05d}", status="ended", succeeded=1)
    async with connect(world) as client:
        listing = await client.list_batches("anthropic")
    assert listing.status is ListingStatus.PARTIAL
    assert listing.missing == (
        "gateway returns at most 1000 anthropic batches per listing; older batches are not shown"
    )
    assert len(listing.batches) == 1000


async def test_several_batch_keys_are_walked_with_the_cursor(clock: ManualClock) -> None:
    keys = [KeyConfig("k1", id="a"), KeyConfig("k2", id="b")]
    world = SimWorld(clock, seed=1, providers=[ProviderConfig("openai", keys=keys)])
    for n in range(5):
        world.add_batch("openai", id=f"batch_a{n}", status="in_progress", total=3, key_index=0)
        world.add_batch("openai", id=f"batch_b{n}", status="completed", succeeded=3, key_index=1)
    async with connect(world) as client:
        listing = await client.list_batches("openai")
    assert listing.status is ListingStatus.COMPLETE
    assert {b.id for b in listing.batches} == {f"batch_{k}{n}" for k in "ab" for n in range(5)}
    assert listing.requests == 2  # one OpenAI-format page per key


async def test_get_batch_for_every_provider(demo) -> None:
    world, client = demo
    for provider in ("anthropic", "azure", "bedrock", "gemini", "openai"):
        upstream = world.batches(provider)[0]
        batch = await client.get_batch(provider, normalise_id(upstream.kind, upstream.id))
        assert batch.id == normalise_id(upstream.kind, upstream.id)
        assert batch.state is not State.UNKNOWN


async def test_unknown_batch_and_unknown_provider(demo) -> None:
    _, client = demo
    with pytest.raises(NotFound):
        await client.get_batch("openai", "batch_nope")
    listing = await client.list_batches("OpenAI")
    assert listing.status is ListingStatus.ERROR
    assert isinstance(listing.error, GatewayConfigError)
    assert "failed to get config for provider" in listing.error.message
    groq = await client.list_batches("groq")
    assert groq.status is ListingStatus.UNSUPPORTED and groq.error is None
    assert groq.reason is not None and "no batch-enabled keys found" in groq.reason


@pytest.mark.parametrize("provider", ["openai", "anthropic", "bedrock", "gemini", "azure"])
async def test_cancel_flow_end_to_end(clock: ManualClock, provider: str) -> None:
    world = SimWorld(clock, seed=11, providers=standard_providers(groq=False), cancel_delay=20)
    upstream = world.create_batch(provider, total=100, start_delay=0, duration=3600)
    batch_id = normalise_id(upstream.kind, upstream.id)
    async with connect(world) as client:
        clock.advance(60)
        before = await client.get_batch(provider, batch_id)
        assert before.cancellable
        result = await client.cancel_batch(provider, batch_id)
        assert result.outcome is CancelOutcome.ACCEPTED, result.error
        assert result.http_status == 200
        assert result.batch is not None and result.batch.state is State.CANCELING
        assert len(world.requests(op="batch_cancel")) == 1
        clock.advance(25)
        after = await client.get_batch(provider, batch_id)
        again = await client.cancel_batch(provider, batch_id)
    if provider in ("bedrock", "gemini"):
        # Bifrost's Anthropic route drops the cancel time for these two: a cancelled job reads as
        # plain "ended" on retrieve (only the OpenAI-format route says "cancelled").
        assert after.processing_status == "ended" and after.state.terminal
    else:
        assert after.state is State.ENDED_CANCELED
    assert again.outcome is CancelOutcome.REFUSED
    assert isinstance(again.error, Conflict), again.error
    assert again.http_status in (400, 409)
    assert again.batch is not None and again.batch.state.terminal


async def test_cancel_whose_answer_is_lost_is_confirmed_by_the_reread(clock: ManualClock) -> None:
    world = SimWorld(clock, seed=2, providers=standard_providers(groq=False))
    upstream = world.create_batch("openai", total=10, start_delay=0)
    world.faults.drop_next()
    async with connect(world) as client:
        result = await client.cancel_batch("openai", upstream.id)
    assert result.outcome is CancelOutcome.ACCEPTED
    assert isinstance(result.error, Unreachable)
    assert result.reply is None and result.batch is not None
    assert result.batch.state is State.CANCELING
    assert len(world.requests(op="batch_cancel")) == 1


async def test_cancel_that_never_left_raises_and_changes_nothing(clock: ManualClock) -> None:
    world = SimWorld(clock, seed=2, providers=standard_providers(groq=False))
    upstream = world.create_batch("openai", total=10, start_delay=0)
    world.faults.refuse_next(path="/cancel")
    async with connect(world) as client:
        with pytest.raises(Unreachable):
            await client.cancel_batch("openai", upstream.id)
        assert (await client.get_batch("openai", upstream.id)).state is State.ACTIVE
    assert len(world.requests(op="batch_cancel")) == 1


async def test_proxy_502_after_the_cancel_landed_is_confirmed_by_the_reread(
    clock: ManualClock,
) -> None:
    world = SimWorld(clock, seed=2, providers=standard_providers(groq=False))
    upstream = world.create_batch("openai", total=10, start_delay=0)
    world.faults.fail_next(
        502, "<html><title>502 Bad Gateway</title></html>", path="/cancel", apply=True
    )
    async with connect(world) as client:
        result = await client.cancel_batch("openai", upstream.id)
    assert result.outcome is CancelOutcome.ACCEPTED
    assert result.http_status == 502 and result.error is not None
    assert result.error.message == "502 Bad Gateway"
    assert len(world.requests(op="batch_cancel")) == 1


async def test_raw_cancel_reply_in_the_native_shape_is_understood(clock: ManualClock) -> None:
    providers = [ProviderConfig("openai", send_back_raw_response=True)]
    world = SimWorld(clock, seed=2, providers=providers)
    upstream = world.create_batch("openai", total=10, start_delay=0)
    async with connect(world) as client:
        result = await client.cancel_batch("openai", upstream.id)
    assert result.outcome is CancelOutcome.ACCEPTED
    assert result.reply is not None and result.reply.native_status == "cancelling"
    assert result.batch is not None and result.batch.state is State.CANCELING


async def test_gets_are_retried_through_flaky_proxies(clock: ManualClock) -> None:
    world = SimWorld.demo(clock, seed=7)
    world.faults.fail_next(503, "<html><title>503</title></html>", method="GET", times=2)
    async with connect(world) as client:
        listing = await client.list_batches("azure")
    assert listing.status is ListingStatus.COMPLETE
    assert listing.requests == 3


async def test_malformed_json_from_the_gateway(clock: ManualClock) -> None:
    world = SimWorld.demo(clock, seed=7)
    world.faults.malformed_json = True
    async with connect(world) as client:
        listing = await client.list_batches("openai")
        with pytest.raises(BadResponse):
            await client.health()
    assert isinstance(listing.error, BadResponse)


async def test_slow_gateway_times_out(clock: ManualClock) -> None:
    world = SimWorld.demo(clock, seed=7, faults=Faults(latency=30.0))
    async with connect(world, read_timeout=5.0) as client:
        listing = await client.list_batches("openai")
    assert isinstance(listing.error, GatewayTimeout)


async def test_gateway_down_is_unreachable(clock: ManualClock) -> None:
    world = SimWorld.demo(clock, seed=7, faults=Faults(down=True))
    async with connect(world) as client:
        with pytest.raises(Unreachable):
            await client.health()
        listing = await client.list_batches("openai")
    assert isinstance(listing.error, Unreachable)
    assert listing.requests == 3  # connect errors are retried


async def test_auth_everywhere_works_with_the_right_credentials(clock: ManualClock) -> None:
    vk = "sk-bf-sim-0123456789"
    world = SimWorld.demo(
        clock,
        seed=7,
        dashboard_auth=DashboardAuth("admin", SecretStr("s3cret-pass"), on_inference=True),
        require_virtual_key=True,
        virtual_keys=[VirtualKey(SecretStr(vk), providers=frozenset({"openai"}))],
    )
    good = connect(
        world,
        virtual_key=SecretStr(vk),
        dashboard_username="admin",
        dashboard_password=SecretStr("s3cret-pass"),
    )
    async with good:
        discovery = await good.discover_providers()
        assert discovery.source == "management"
        listing = await good.list_batches("openai")
        assert listing.status is ListingStatus.COMPLETE
        blocked = await good.list_batches("anthropic")  # the VK does not allow anthropic
        assert isinstance(blocked.error, AuthRefused)
    async with connect(world, virtual_key=SecretStr(vk)) as no_dashboard:
        fallback = await no_dashboard.discover_providers()
        assert fallback.source == "fallback"
        assert "needs dashboard credentials" in (fallback.note or "")
        refused = await no_dashboard.list_batches("openai")
        assert isinstance(refused.error, AuthRefused)


async def test_custom_provider_not_allowed_to_batch(clock: ManualClock) -> None:
    providers = [
        ProviderConfig("openai"),
        ProviderConfig(
            "corp",
            kind="openai",
            allowed_requests={"batch_list": True, "batch_retrieve": True, "batch_cancel": False},
        ),
        ProviderConfig("lonely", kind="anthropic", keys=[KeyConfig("k", use_for_batch_api=None)]),
    ]
    world = SimWorld(clock, seed=1, providers=providers)
    async with connect(world) as client:
        infos = {p.name: p for p in await client.list_providers()}
    assert infos["openai"].batch_capable
    assert infos["corp"].reason == "batch operations not allowed by custom provider config"
    assert infos["lonely"].reason == "no batch-enabled key (enable 'Use for Batch APIs' on a key)"


async def test_list_all_with_the_fallback_providers(clock: ManualClock) -> None:
    world = SimWorld.demo(clock, seed=7)
    async with connect(world) as client:
        listings = await client.list_all([ProviderInfo(n, n, True) for n in ("gemini", "bedrock")])
    assert [item.status for item in listings] == [ListingStatus.COMPLETE] * 2
