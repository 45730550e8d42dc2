"""A provider whose keys call fails keeps being listed: when its batch route fails too, the
console's store keeps its last good rows and marks its listing ``error`` (shown stale)."""

from __future__ import annotations

from bifrost_tui.clock import ManualClock
from bifrost_tui.core.store import BatchStore
from bifrost_tui.gateway.client import ClientConfig, GatewayClient
from bifrost_tui.gateway.outcomes import ListingStatus
from bifrost_tui.sim import SimTransport, SimWorld
from bifrost_tui.sim.faults import proxy_error_body
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


async def refresh(client: GatewayClient, store: BatchStore) -> None:
    """What a deep poll does: discover, then list the batch-capable providers."""
    store.set_providers(await client.list_providers())
    capable = [s.info for s in store.providers.values() if s.info.batch_capable]
    for listing in await client.list_all(capable):
        store.apply_listing(listing, T0)


async def test_a_failed_keys_call_then_a_failed_listing_keeps_rows_and_says_error() -> None:
    world = SimWorld.demo(ManualClock(T0), seed=41, arrival_interval=None)
    store = BatchStore()
    async with connect(world) as client:
        await refresh(client, store)
        azure_rows = {k for k in store.batches if k[0] == "azure"}
        assert azure_rows and store.providers["azure"].listing is ListingStatus.COMPLETE
        world.faults.fail_next(500, proxy_error_body(500), path="/keys", times=50)
        world.faults.fail_next(
            503, proxy_error_body(503), path="/batches", provider="azure", times=50
        )
        await refresh(client, store)
    azure = store.providers["azure"]
    assert azure.info.batch_capable
    assert azure.listing is ListingStatus.ERROR and azure.error is not None
    assert {k for k in store.batches if k[0] == "azure"} == azure_rows
