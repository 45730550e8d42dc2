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
    # Every provider has some, but Bedrock: its one answer holds every job (nothing to re-read).
    assert {p for p, _ in behind} == {p.name for p in providers} - {"bedrock"}
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
        reads = world.requests(op="batch_retrieve") + world.requests(op="passthrough_retrieve")
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


class RotationModel:
    """The re-read rotation as it was first written, walking every active batch on each poll:
    each batch's last read as a growing stamp, the re-reads the active batches with the oldest
    (never read first, ties in the order first seen)."""

    def __init__(self) -> None:
        self.read_at: dict[Key, int] = {}
        self.stamps = 0

    def note_read(self, keys: list[Key]) -> None:
        ordered = sorted(keys, key=lambda k: self.read_at.get(k, -1))
        for key in ordered:
            self.read_at[key] = self.stamps
            self.stamps += 1

    def pick(self, active: list[Key], exclude: set[Key], watched: set[Key]) -> list[Key]:
        self.read_at = {k: self.read_at.get(k, -1) for k in active}
        candidates = [k for k in active if k not in exclude and k not in watched]
        return sorted(candidates, key=self.read_at.__getitem__)[:MAX_ACTIVE_REREADS]


async def test_the_rotation_follows_batches_that_start_end_and_are_cancelled_between_polls():
    """The rotation is kept in step with the store's changes rather than rebuilt from every
    active batch on each poll: over polls where batches arrive, progress, end, are cancelled,
    become known without a listing (one by one, and in bulk) and vanish, it re-reads exactly
    what a walk over every active batch would."""
    clock = ManualClock(T0)
    world = SimWorld.demo(clock, seed=5, arrival_interval=20.0, batches_per_provider=120)
    session = make_session(world, clock)
    # Active batches this gateway never lists (as a cancel reply or a jump to an id would bring
    # them): never read, they come first; a complete deep listing then finds them gone.
    elsewhere = make_session(SimWorld.demo(clock, seed=6, arrival_interval=None), clock)
    await elsewhere.poll(deep=True)
    strangers = [elsewhere.store.batches[k] for k in elsewhere.store.active_keys()]
    assert len(strangers) > MAX_ACTIVE_REREADS + 10
    model = RotationModel()
    picks: list[tuple[list[Key], list[Key]]] = []
    seen_active: list[set[Key]] = []
    note_read, reread_active = session._note_read, session._reread_active

    def noted(keys):
        keys = list(keys)
        model.note_read(keys)
        note_read(keys)

    async def reread(exclude):
        active = list(session.store.active_keys())
        expected = model.pick(active, exclude, set(session.watches))
        world.clear_request_log()
        diff = await reread_active(exclude)
        got = [
            retrieved_key(session, r.provider, r.path)
            for r in world.requests(op="batch_retrieve") + world.requests(op="passthrough_retrieve")
        ]
        picks.append((expected, got))
        seen_active.append(set(active))
        return diff

    session._note_read = noted  # type: ignore[method-assign]
    session._reread_active = reread  # type: ignore[method-assign]
    await session.poll(deep=True)
    for n in range(1, 25):
        clock.advance(30)  # batches progress and end, new ones arrive
        if n % 6 == 0:
            await session.poll(deep=True)
        if n == 4:
            # Watched from now on: left out of the re-reads while it keeps its place.
            key = next(
                k for k in session.store.active_keys() if session.store.batches[k].cancellable
            )
            await session.cancel(key)
        if n == 7:
            session.store.load(strangers[:MAX_ACTIVE_REREADS])  # in bulk: the change log is lost
        if n == 9:
            for batch in strangers[MAX_ACTIVE_REREADS:]:
                session.store.apply_batch(batch)  # one by one, through the change log
        await session.poll(deep=False)
    assert len(picks) == 24 and all(len(got) == MAX_ACTIVE_REREADS for _, got in picks)
    for expected, got in picks:
        assert sorted(got) == sorted(expected)
    assert len({k for _, got in picks for k in got}) > 2 * MAX_ACTIVE_REREADS
    # Bedrock lists every job in one answer, so a light poll's complete listing already says its
    # strangers are gone; every other provider's strangers had their turn.
    assert {b.key for b in strangers if b.provider != "bedrock"} <= {
        k for _, got in picks for k in got
    }
    # The world moved meanwhile: batches ended and new ones started between polls.
    assert seen_active[0] - seen_active[-1] and seen_active[-1] - seen_active[0]
