"""LiveSession against the simulated gateway: polls, their request cost, stale data, cancels."""

from __future__ import annotations

import math
from collections import Counter
from datetime import timedelta

import pytest

from bifrost_tui.clock import ManualClock
from bifrost_tui.config.connection import DEMO_URL
from bifrost_tui.core.live import MAX_ACTIVE_REREADS, LiveSession
from bifrost_tui.core.store import BatchStore
from bifrost_tui.gateway.client import ClientConfig, GatewayClient
from bifrost_tui.gateway.ids import normalise_id
from bifrost_tui.gateway.models import State
from bifrost_tui.gateway.outcomes import CancelOutcome
from bifrost_tui.sim import SimTransport, SimWorld
from tests.support.clocks import T0, no_sleep


@pytest.fixture
def sim_seed() -> int:
    return 5


@pytest.fixture
def rig(world: SimWorld, clock: ManualClock):
    client = GatewayClient(
        ClientConfig(base_url=DEMO_URL, retries=0), transport=SimTransport(world, sleep=no_sleep)
    )
    session = LiveSession(client, BatchStore(), clock)
    return session, world, clock


def batch_providers(world: SimWorld) -> list[str]:
    return world.batch_providers()


async def test_deep_poll_discovers_providers_and_lists_everything(rig):
    session, world, _ = rig
    result = await session.poll(deep=True)
    assert result.error is None and session.last_ok == T0
    assert session.health == "ok" and "sim" in (session.version or "")
    expected = {
        (b.provider, normalise_id(b.provider, b.id))
        for b in world.all_batches()
        if b.provider != "groq"
    }
    assert set(session.store.batches) == expected


async def test_light_poll_costs_one_first_page_per_provider(rig):
    session, world, clock = rig
    await session.poll(deep=True)
    world.clear_request_log()
    clock.advance(5)
    await session.poll(deep=False)
    lists = world.requests(op="batch_list")
    assert sorted(r.provider for r in lists) == sorted(batch_providers(world))
    # Each provider's first page comes from its faithful route: OpenAI format for openai and
    # azure, Anthropic format for the others.
    assert {r.provider: r.path for r in lists} == {
        p: "/openai/v1/batches" if p in ("openai", "azure") else "/anthropic/v1/messages/batches"
        for p in batch_providers(world)
    }
    rereads = world.requests(op="batch_retrieve") + world.requests(op="passthrough_retrieve")
    assert len(rereads) <= MAX_ACTIVE_REREADS
    # Re-reads go the way the last deep listing went: through the passthrough prefix, pinned to
    # the batch's key, for anthropic, openai and azure; the faithful batch route for the others.
    routes = {
        "anthropic": "/anthropic_passthrough/v1/messages/batches/",
        "openai": "/openai_passthrough/v1/batches/",
        "azure": "/azure_passthrough/openai/v1/batches/",
    }
    assert all(
        r.path.startswith(routes.get(r.provider or "", "/anthropic/v1/messages/batches/"))
        for r in rereads
    )
    assert not world.requests(method="POST")
    assert len(world.request_log) == len(lists) + len(rereads)  # nothing else


async def test_a_deep_poll_costs_what_the_readme_says(rig):
    # "What a refresh costs": health, version, providers, one keys call per provider whose kind
    # can do batches; anthropic, openai and azure (one batch key each here) take their batch
    # route's first page, then page their key's batches through the passthrough prefix (by 1,000
    # for anthropic, 100 for the others); bedrock and gemini take the Anthropic-format first page
    # (20 items) and one OpenAI-format page when it says has_more, or when it holds a batch whose
    # "ended" does not say completed or canceled.
    session, world, _ = rig
    await session.poll(deep=True)
    seen = Counter((r.op, r.provider, r.path) for r in world.request_log)
    expected: Counter[tuple[str, str | None, str]] = Counter(
        {("health", None, "/health"): 1, ("version", None, "/api/version"): 1}
    )
    expected[("providers", None, "/api/providers")] = 1
    passthrough = {
        "anthropic": ("/anthropic_passthrough/v1/messages/batches", 1000),
        "openai": ("/openai_passthrough/v1/batches", 100),
        "azure": ("/azure_passthrough/openai/v1/batches", 100),
    }
    for p in batch_providers(world):
        n = len(world.batches(p))
        expected[("keys", p, f"/api/providers/{p}/keys")] = 1
        if p in passthrough:
            first = "/anthropic/v1/messages/batches" if p == "anthropic" else "/openai/v1/batches"
            expected[("batch_list", p, first)] = 1
            path, page = passthrough[p]
            expected[("passthrough_list", p, path)] = max(1, math.ceil(n / page))
        else:
            expected[("batch_list", p, "/anthropic/v1/messages/batches")] = 1
            ended = any(
                b.processing_status == "ended"
                for (q, _), b in session.store.batches.items()
                if q == p
            )
            if n > 20 or (p in ("bedrock", "gemini") and ended):
                expected[("batch_list", p, "/openai/v1/batches")] = 1
    assert seen == expected
    assert any(key[2] == "/openai/v1/batches" and key[1] == "gemini" for key in seen)  # has_more


async def test_light_poll_rereads_active_batches_the_first_pages_missed(rig):
    session, world, clock = rig
    # An old batch still running, pushed off the Anthropic route's first page by 25 newer ones.
    old = world.add_batch(
        "anthropic",
        id="msgbatch_old_running",
        status="in_progress",
        total=50,
        created_at=T0 - timedelta(hours=20),
    )
    for i in range(25):
        world.add_batch(
            "anthropic",
            id=f"msgbatch_new_{i:02d}",
            status="ended",
            total=5,
            created_at=T0 - timedelta(minutes=i + 1),
            ended_at=T0,
        )
    await session.poll(deep=True)
    assert ("anthropic", old.id) in session.store.batches  # found by the deep listing
    world.clear_request_log()
    clock.advance(5)
    await session.poll(deep=False)
    reread = [r.path for r in world.requests(op="passthrough_retrieve")]  # its key's route
    assert any(path.endswith("/" + old.id) for path in reread)
    assert len(reread) <= MAX_ACTIVE_REREADS


async def test_gateway_down_keeps_data_marks_stale_and_recovers(rig):
    session, world, clock = rig
    await session.poll(deep=True)
    before = dict(session.store.batches)
    world.faults.down = True
    clock.advance(5)
    result = await session.poll(deep=False)
    assert result.error is not None and session.stale
    assert session.health == "unreachable"
    assert session.store.batches == before
    assert session.last_ok == T0
    world.faults.down = False
    clock.advance(5)
    await session.poll(deep=True)
    assert not session.stale and session.health == "ok"


async def test_cancel_is_sent_once_applied_and_watched_to_the_end(rig):
    session, world, clock = rig
    await session.poll(deep=True)
    target = next(
        b for b in session.store.batches.values() if b.provider == "gemini" and b.cancellable
    )
    result = await session.cancel(target.key)
    assert result.outcome is CancelOutcome.ACCEPTED
    assert len(world.requests(op="batch_cancel")) == 1
    assert session.store.batches[target.key].state is State.CANCELING
    assert target.key in session.watches
    nothing = await session.poll_watched()  # not due yet under the injected clock
    assert not nothing.ended
    clock.advance(world.cancel_delay + 2)
    done = await session.poll_watched()
    assert [b.key for b in done.ended] == [target.key]
    assert session.store.batches[target.key].state.terminal
    assert not session.watches


async def test_watch_backs_off_while_the_batch_is_still_canceling(rig):
    session, _world, clock = rig
    await session.poll(deep=True)
    target = next(b for b in session.store.batches.values() if b.cancellable)
    await session.cancel(target.key)
    clock.advance(1)
    await session.poll_watched()
    first = session.watches[target.key].delay
    clock.advance(first)
    await session.poll_watched()
    assert session.watches[target.key].delay > first


async def test_canceling_too_long_is_flagged_and_counted_per_provider(rig):
    session, world, clock = rig
    await session.poll(deep=True)
    target = next(
        b for b in session.store.batches.values() if b.provider == "anthropic" and b.cancellable
    )
    world.cancel_delay = 3 * 3600  # a cancel that hangs upstream
    await session.cancel(target.key)
    assert target.key not in session.flags
    clock.advance(31 * 60)
    await session.poll(deep=False)
    session.update_flags()  # the minute tick re-judges everything
    flags = [f.flag.value for f in session.flags.get(target.key, [])]
    assert "canceling-stuck" in flags
    assert session.flagged_per_provider().get("anthropic", 0) >= 1


async def test_a_failing_management_api_on_a_deep_poll_keeps_listing_known_providers(rig):
    session, world, clock = rig
    await session.poll(deep=True)
    world.faults.fail_next(503, "<html><title>503</title></html>", path="/api/providers", times=5)
    world.clear_request_log()
    clock.advance(5)
    result = await session.poll(deep=True)
    assert result.error is None and not session.stale
    listed = {r.provider for r in world.requests(op="batch_list")}
    assert listed == set(world.batch_providers())
