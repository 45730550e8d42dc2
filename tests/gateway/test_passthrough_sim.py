"""Each batch key listed pinned through the passthrough prefixes of the simulator, in process."""

from __future__ import annotations

import asyncio

import pytest

from bifrost_tui.clock import ManualClock
from bifrost_tui.gateway.client import ClientConfig, GatewayClient
from bifrost_tui.gateway.errors import NotFound
from bifrost_tui.gateway.listing_strategy import Strategy, choose, refused
from bifrost_tui.gateway.outcomes import ListingStatus, ProviderListing
from bifrost_tui.gateway.passthrough import KeyListing, merge_keys
from bifrost_tui.sim import SimTransport, SimWorld
from tests.support.clocks import T0


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


def two_key_world(per_account: int, *, shared: bool = False) -> SimWorld:
    return SimWorld.demo(
        ManualClock(T0),
        seed=5,
        keys_per_provider=2,
        shared_account=shared,
        batches_per_provider=per_account,
    )


async def list_provider(
    client: GatewayClient, name: str
) -> tuple[Strategy, list[KeyListing], ProviderListing]:
    strategy = choose(name, await client.batch_keys(name), "auto", provider=name)
    assert strategy.passthrough, strategy.why
    keys = list(await asyncio.gather(*(client.list_pinned(name, k) for k in strategy.keys)))
    return strategy, keys, merge_keys(name, keys, via=strategy.why)


@pytest.mark.parametrize("name", ["anthropic", "openai"])
async def test_two_keys_of_1100_each_are_all_listed_complete(name: str) -> None:
    client = connect(two_key_world(1100))
    strategy, keys, listing = await list_provider(client, name)
    assert strategy.why == f"passthrough, keys {name}-batch, {name}-batch-2"
    assert [k.status for k in keys] == [ListingStatus.COMPLETE] * 2
    assert [len(k.batches) for k in keys] == [1100, 1100]
    assert listing.status is ListingStatus.COMPLETE and len(listing.batches) == 2200
    page = 1000 if name == "anthropic" else 100
    assert listing.requests == 2 * -(-1100 // page)
    names = {b.listed_by for b in listing.batches}
    assert names == {(f"{name}-batch",), (f"{name}-batch-2",)}
    assert listing.to_json()["via"] == strategy.why


async def test_a_second_key_batch_is_reread_through_its_own_key_only() -> None:
    client = connect(two_key_world(30))
    strategy, keys, _ = await list_provider(client, "anthropic")
    first, second = strategy.keys
    theirs = keys[1].batches[0]
    again = await client.get_batch("anthropic", theirs.id, key=second)
    assert again.id == theirs.id and again.listed_by == (second.name,)
    with pytest.raises(NotFound):
        await client.get_batch("anthropic", theirs.id, key=first)


async def test_two_keys_sharing_an_account_list_one_row_naming_both() -> None:
    client = connect(two_key_world(40, shared=True))
    strategy, _, listing = await list_provider(client, "anthropic")
    assert listing.status is ListingStatus.COMPLETE and len(listing.batches) == 40
    assert {b.listed_by for b in listing.batches} == {tuple(k.name for k in strategy.keys)}


@pytest.mark.parametrize(("status", "words"), [(404, "404"), (403, "403")])
async def test_a_refused_prefix_is_returned_for_the_fallback(status: int, words: str) -> None:
    world = two_key_world(10)
    world.faults.refuse_passthrough = status
    client = connect(world)
    keys = await client.batch_keys("anthropic")
    assert keys.keys is not None
    listing = await client.list_pinned("anthropic", keys.keys[0])
    assert listing.status is ListingStatus.ERROR and listing.refused is not None
    assert listing.refused.startswith(f"passthrough refused ({words}")
    assert refused(listing.refused).why.startswith(f"batch routes: passthrough refused ({words}")
