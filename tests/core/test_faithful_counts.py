"""Counts from the faithful route, merged by provenance, never outliving a state change.

Against the simulator in process: an openai cancel that ends shows the OpenAI-format route's real
total/completed/failed, the rest canceled, never the counts read while it ran.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from bifrost_tui.clock import ManualClock
from bifrost_tui.config.connection import DEMO_URL
from bifrost_tui.core.live import LiveSession
from bifrost_tui.core.store import BatchStore
from bifrost_tui.formatting import counts_text
from bifrost_tui.gateway.client import ClientConfig, GatewayClient
from bifrost_tui.gateway.models import Batch, State
from bifrost_tui.sim import SimTransport, SimWorld
from tests.support.clocks import no_sleep


@pytest.fixture
def session(world: SimWorld, clock: ManualClock) -> LiveSession:
    client = GatewayClient(
        ClientConfig(base_url=DEMO_URL, retries=0), transport=SimTransport(world, sleep=no_sleep)
    )
    return LiveSession(client, BatchStore(), clock)


async def watch_until_ended(session: LiveSession, clock: ManualClock) -> list[Batch]:
    for _ in range(60):
        clock.advance(15)
        result = await session.poll_watched(force=True)
        if result.ended:
            return result.ended
    raise AssertionError("the cancel never ended")


async def test_an_openai_cancel_ending_shows_the_real_counts_not_those_read_while_it_ran(
    session: LiveSession, world: SimWorld, clock: ManualClock
) -> None:
    world.create_batch("openai", id="batch_cx", total=900, duration=3600, start_delay=0)
    clock.advance(1800)  # half done: the deep listing reads about 450 processing
    await session.poll(deep=True)
    key = ("openai", "batch_cx")
    running = session.store.batches[key]
    assert running.state is State.ACTIVE
    assert running.request_counts is not None and running.request_counts.processing

    await session.cancel(key)
    (ended,) = await watch_until_ended(session, clock)

    truth = world.get("openai", "batch_cx")
    assert truth is not None
    counts = ended.request_counts
    assert ended.state is State.ENDED_CANCELED
    assert counts is not None
    assert counts.total == truth.total
    assert counts.processing == 0  # never "processing" on an ended batch
    ok, err = truth.counts.succeeded, truth.counts.errored
    assert counts.succeeded == ok and counts.errored == err
    assert counts.canceled == truth.total - ok - err > 0
    # What the "batch ended" toast and the row say:
    text = counts_text(counts)
    assert text.startswith(f"0 proc · {ok} ok · {err} err")
    assert f"{counts.canceled} canc" in text
    assert session.store.batches[key] == ended


async def test_openai_and_azure_retrieves_use_the_openai_format_route(
    session: LiveSession, world: SimWorld, clock: ManualClock
) -> None:
    await session.poll(deep=True)
    world.clear_request_log()
    for provider in ("openai", "azure", "anthropic"):
        batch = next(b for b in session.store.batches.values() if b.provider == provider)
        await session.client.get_batch(provider, batch.id)
    paths = {r.provider: r.path for r in world.requests(op="batch_retrieve")}
    assert paths["openai"].startswith("/openai/v1/batches/")
    assert paths["azure"].startswith("/openai/v1/batches/")
    assert paths["anthropic"].startswith("/anthropic/v1/messages/batches/")


async def test_cancel_stays_on_the_anthropic_route_and_rereads_the_faithful_one(
    session: LiveSession, world: SimWorld, clock: ManualClock
) -> None:
    world.create_batch("openai", id="batch_c2", total=100, duration=3600, start_delay=0)
    await session.poll(deep=True)
    world.clear_request_log()
    result = await session.cancel(("openai", "batch_c2"))
    assert result.batch is not None
    (post,) = world.requests(method="POST")
    assert post.path == "/anthropic/v1/messages/batches/batch_c2/cancel"
    (reread,) = world.requests(op="batch_retrieve")
    assert reread.path == "/openai/v1/batches/batch_c2"
    counts = result.batch.request_counts
    assert counts is not None and counts.total == 100 and counts.succeeded is not None


async def test_a_lossier_source_never_overwrites_better_counts(
    session: LiveSession, world: SimWorld, clock: ManualClock
) -> None:
    """A cancel reply (only errored) folded over OpenAI-format counts keeps them."""
    world.create_batch("openai", id="batch_c3", total=100, duration=3600, start_delay=0)
    clock.advance(600)
    await session.poll(deep=True)
    key = ("openai", "batch_c3")
    before = session.store.batches[key].request_counts
    assert before is not None and before.succeeded is not None
    replies = []
    await session.cancel(key, on_change=lambda diff: replies.append(session.store.batches[key]))
    (after_reply,) = replies
    assert after_reply.state is State.CANCELING
    assert after_reply.request_counts == before  # the reply's lossy counts did not win


async def test_a_batch_a_listing_sees_end_without_faithful_counts_is_reread_at_once(
    session: LiveSession, world: SimWorld, clock: ManualClock
) -> None:
    """Bedrock list items carry no counts: the poll that sees the end re-reads the batch."""
    sim = world.create_batch("bedrock", total=40, duration=600, start_delay=0)
    await session.poll(deep=True)
    key = next(k for k in session.store.batches if k[0] == "bedrock" and k[1] == sim.id)
    assert session.store.batches[key].state is State.ACTIVE
    world.cancel(sim)  # stopped on the provider's side
    clock.advance(timedelta(hours=1).total_seconds())
    world.clear_request_log()
    await session.poll(deep=False)
    batch = session.store.batches[key]
    assert batch.state.terminal
    job_id = sim.id.rsplit("/", 1)[-1]
    assert [r.path for r in world.requests(op="batch_retrieve") if r.path.endswith(job_id)]
    assert batch.counts_faithful
