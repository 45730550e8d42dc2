"""LiveSession against the simulated gateway: health follows every poll, re-reads rotate fairly."""

from __future__ import annotations

import math
from collections import Counter
from urllib.parse import unquote

import pytest

from bifrost_tui.clock import ManualClock
from bifrost_tui.config.connection import DEMO_URL
from bifrost_tui.core.live import MAX_ACTIVE_REREADS, LiveSession
from bifrost_tui.core.store import BatchStore, Key
from bifrost_tui.gateway.client import ClientConfig, GatewayClient
from bifrost_tui.gateway.ids import path_id
from bifrost_tui.sim import SimTransport, SimWorld
from tests.support.clocks import T0, no_sleep


def make_session(world: SimWorld, clock: ManualClock) -> LiveSession:
    client = GatewayClient(
        ClientConfig(base_url=DEMO_URL, retries=0), transport=SimTransport(world, sleep=no_sleep)
    )
    return LiveSession(client, BatchStore(), clock)


@pytest.fixture
def rig():
    clock = ManualClock(T0)
    world = SimWorld.demo(clock, seed=5, arrival_interval=None)
    return make_session(world, clock), world, clock


async def gateway_went_down_and_came_back(session: LiveSession, world: SimWorld, clock) -> None:
    await session.poll(deep=True)
    world.faults.down = True
    clock.advance(5)
    await session.poll(deep=False)
    assert session.health == "unreachable"
    world.faults.down = False
    clock.advance(5)


async def test_the_first_light_poll_that_gets_answers_says_health_ok(rig):
    session, world, clock = rig
    await gateway_went_down_and_came_back(session, world, clock)
    world.clear_request_log()
    result = await session.poll(deep=False)
    assert result.error is None and not session.stale
    assert session.health == "ok"
    assert not world.requests(op="health")  # proven by the listings, not by a health check


async def test_a_deep_poll_that_lists_says_ok_though_its_health_check_got_no_answer(rig):
    session, world, clock = rig
    await gateway_went_down_and_came_back(session, world, clock)
    world.faults.refuse_next(path="/health")
    result = await session.poll(deep=True)
    assert [r.handled for r in world.requests(op="health")][-1] is False
    assert result.error is None and session.health == "ok"


async def test_what_the_health_check_answered_is_kept_beside_good_listings(rig):
    session, world, clock = rig
    world.faults.fail_next(503, "<html>503</html>", path="/health")
    await session.poll(deep=True)
    assert session.health == "server error"
    clock.advance(5)
    await session.poll(deep=False)
    assert session.health == "server error"  # the gateway answered; its /health said otherwise


def retrieved_key(session: LiveSession, provider: str | None, path: str) -> Key:
    """The store key of the batch a retrieve asked for (a Bedrock ARN travels as its job id)."""
    segment = unquote(path.rsplit("/", 1)[-1])
    (key,) = [
        (p, i) for p, i in session.store.batches if p == provider and path_id(p, i) == segment
    ]
    return key


async def test_light_polls_reread_every_active_batch_off_the_first_pages_in_turn():
    clock = ManualClock(T0)  # never advanced: the world holds still, so the first pages do too
    world = SimWorld.demo(clock, seed=5, arrival_interval=None, batches_per_provider=251)
    session = make_session(world, clock)
    await session.poll(deep=True)
    providers = [s.info for s in session.store.providers.values() if s.info.batch_capable]
    first_pages = {
        b.key for x in await session.client.list_all(providers, deep=False) for b in x.batches
    }
    behind = set(session.store.active_keys()) - first_pages
    assert {p for p, _ in behind} == {p.name for p in providers}  # every provider has some
    polls = math.ceil(len(behind) / MAX_ACTIVE_REREADS)
    assert polls > 2

    per_poll: list[list[Key]] = []
    for n in range(1, polls + 1):
        if n % 6 == 0:
            # Every 6th poll is deep, as in the console: it reads them all at once, and must not
            # start the rotation over.
            await session.poll(deep=True)
        world.clear_request_log()
        await session.poll(deep=False)
        reads = world.requests(op="batch_retrieve")
        per_poll.append([retrieved_key(session, r.provider, r.path) for r in reads])

    assert all(len(keys) == MAX_ACTIVE_REREADS for keys in per_poll)  # the cap, always used
    counts = Counter(k for keys in per_poll for k in keys)
    assert set(counts) == behind  # every one re-read, and nothing the first pages covered
    before_last = Counter(k for keys in per_poll[:-1] for k in keys)
    assert set(before_last.values()) == {1}
    # The last poll takes what was never re-read, then starts the next round with the oldest.
    twice = {k for k, n in counts.items() if n == 2}
    assert len(twice) == polls * MAX_ACTIVE_REREADS - len(behind)
    assert twice <= set(per_poll[0]) and set(counts.values()) <= {1, 2}
