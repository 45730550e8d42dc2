"""The first rows come after at most two round trips, and nothing but the provider list delays them.

Round trips are asserted as order, never as time: ``RoundTrips`` remembers, for each request, which
answers had already come back when it left, and can hold chosen requests unanswered.
"""

from __future__ import annotations

import argparse
import asyncio
import io
from collections.abc import Iterable
from contextlib import redirect_stderr, redirect_stdout

from bifrost_tui.cli.batches import cmd_list
from bifrost_tui.clock import ManualClock
from bifrost_tui.config.connection import DEMO_URL, Connection
from bifrost_tui.config.resolve import ResolvedConnection
from bifrost_tui.core.live import LiveSession
from bifrost_tui.core.store import BatchStore, Diff
from bifrost_tui.gateway.client import ClientConfig, GatewayClient
from bifrost_tui.gateway.models import ProviderInfo
from bifrost_tui.gateway.outcomes import ListingStatus
from bifrost_tui.sim import SimTransport, SimWorld
from tests.support.clocks import T0, no_sleep
from tests.support.round_trips import RoundTrips, is_management

#: The providers of the demo world that can list batches.
BATCH_PROVIDERS = {"anthropic", "openai", "azure", "bedrock", "gemini"}


def rig(
    hold=lambda _label: False, *, named: list[str] | None = None, per_provider: int | None = None
) -> tuple[LiveSession, RoundTrips, SimWorld]:
    clock = ManualClock(T0)
    world = SimWorld.demo(clock, seed=5, arrival_interval=None, batches_per_provider=per_provider)
    trips = RoundTrips(SimTransport(world, sleep=no_sleep), hold)
    client = GatewayClient(ClientConfig(base_url=DEMO_URL, retries=0), transport=trips)
    return LiveSession(client, BatchStore(), clock, named_providers=named), trips, world


def first_pages(trips: RoundTrips) -> dict[str, frozenset[str]]:
    """Each provider's first page: the management answers already back when it left."""
    return {
        label.split(" ", 1)[1]: frozenset(d for d in done if is_management(d))
        for label, done in trips.sent
        if label.startswith("first-page ")
    }


async def test_first_pages_leave_as_soon_as_the_provider_list_answers() -> None:
    session, trips, world = rig()
    await session.poll(deep=True)
    pages = first_pages(trips)
    assert set(pages) == BATCH_PROVIDERS
    for provider, done in pages.items():
        # One management round trip before each first page: /api/providers (health and version
        # went out beside it); never a keys call.
        assert "/api/providers" in done, provider
        assert done <= {"/api/providers", "/health", "/api/version"}, (provider, done)
    # The keys calls went out after /api/providers too, beside the first pages, not before them.
    keys = [done for label, done in trips.sent if label.endswith("/keys")]
    assert keys and all("/api/providers" in done for done in keys)
    # In the simulator's own log: only /api/providers, health and version are answered before the
    # first first page arrives; each provider's first page is logged before its deep pages.
    ops = [r.op for r in world.request_log]
    first_list = ops.index("batch_list")
    assert set(ops[:first_list]) <= {"providers", "health", "version", "keys"}
    assert ops.index("providers") < first_list
    assert session.listing_pending is None


async def test_rows_paint_while_health_version_and_keys_are_held() -> None:
    held = {"/health", "/api/version"}
    session, trips, _ = rig(lambda label: label in held or label.endswith("/keys"))
    changes: list[Diff] = []
    poll = asyncio.ensure_future(session.poll(deep=True, on_change=changes.append))
    store = session.store
    await trips.until(lambda: {p for p, _ in store.batches} >= BATCH_PROVIDERS)
    # Every provider's first page is on show while /health, /api/version and every keys call
    # are unanswered (the per-key listings that follow need the keys: they come after).
    assert not poll.done()
    assert sum(len(d.added) for d in changes) == len(store.batches)
    assert session.health is None  # nothing claims a health the gateway has not given
    assert not any(label.endswith("/keys") for label in trips.answered)
    trips.release()
    result = await poll
    assert result.error is None and session.health == "ok"


async def test_named_providers_list_before_any_management_answer() -> None:
    session, trips, _ = rig(is_management, named=["anthropic", "openai"])
    poll = asyncio.ensure_future(session.poll(deep=True))
    store = session.store
    await trips.until(lambda: {p for p, _ in store.batches} >= {"anthropic", "openai"})
    assert not any(is_management(a) for a in trips.answered)
    for provider, done in first_pages(trips).items():
        assert done == frozenset(), provider  # left before anything answered at all
    assert {p for (p, _id) in session.store.batches} == {"anthropic", "openai"}
    trips.release()
    await poll


async def test_a_first_page_is_shown_while_the_deep_listing_goes_on() -> None:
    # Deep pages (the OpenAI-format walk after a first page that says has_more) are held.
    # 150 batches a provider: more than a first page, so every deep listing walks on: the batch
    # routes' later pages, or a key's listing through the passthrough prefix.
    session, trips, world = rig(
        lambda label: label.startswith(("page ", "passthrough ")), per_provider=150
    )
    world.clear_request_log()
    changes: list[Diff] = []
    poll = asyncio.ensure_future(session.poll(deep=True, on_change=changes.append))
    store = session.store
    await trips.until(
        lambda: any(label.startswith(("page ", "passthrough ")) for label, _ in trips.sent)
    )
    await trips.until(lambda: bool(store.batches))
    waiting = session.listing_pending
    assert waiting, "a provider whose deep listing is held is still listing"
    for name in waiting:
        assert store.providers[name].listing is None  # shown as listing…, not complete
        assert any(p == name for p, _ in store.batches)  # yet its first page is on show
    trips.release()
    await poll
    assert session.listing_pending is None
    assert all(
        s.listing is not ListingStatus.ERROR
        for s in store.providers.values()
        if s.info.batch_capable
    )


async def batches_list(providers: tuple[str, ...] | None) -> RoundTrips:
    """``batches list --json`` in process against the demo world; its round trips."""
    clock = ManualClock(T0)
    world = SimWorld.demo(clock, seed=5, arrival_interval=None)
    trips = RoundTrips(SimTransport(world, sleep=no_sleep))
    conn = Connection(
        settings=ResolvedConnection(profile=None, base_url=DEMO_URL, providers=providers),
        client_config=ClientConfig(base_url=DEMO_URL, retries=0),
        clock=clock,
        transport=trips,
    )
    args = argparse.Namespace(provider=None, first_page=False, json=True, csv=False)
    out = io.StringIO()
    with redirect_stdout(out), redirect_stderr(io.StringIO()):
        code = await cmd_list(args, conn)
    assert code in (0, 4), out.getvalue()
    return trips


async def test_batches_list_sends_its_first_pages_after_one_round_trip() -> None:
    pages = first_pages(await batches_list(None))
    assert set(pages) == BATCH_PROVIDERS
    assert all(done == frozenset({"/api/providers"}) for done in pages.values()), pages


async def test_batches_list_with_a_profile_providers_list_sends_them_at_once() -> None:
    trips = await batches_list(("anthropic", "openai"))
    pages = first_pages(trips)
    assert set(pages) == {"anthropic", "openai"}
    assert all(done == frozenset() for done in pages.values()), pages
    # The management API was still read, beside them (it says each one's kind and capability).
    assert "/api/providers" in trips.answered


async def test_a_provider_without_a_batch_key_never_flickers_back_on_a_later_deep_poll() -> None:
    from bifrost_tui.sim.world import standard_providers

    configs = standard_providers(groq=False)
    for config in configs:
        if config.name == "gemini":
            for key in config.keys or []:
                key.use_for_batch_api = False
    clock = ManualClock(T0)
    world = SimWorld(clock, seed=3, providers=configs)
    trips = RoundTrips(SimTransport(world, sleep=no_sleep))
    client = GatewayClient(ClientConfig(base_url=DEMO_URL, retries=0), transport=trips)
    session = LiveSession(client, BatchStore(), clock)
    await session.poll(deep=True)
    assert not session.store.providers["gemini"].info.batch_capable
    seen: list[bool] = []
    original = session.store.set_providers

    def watched(infos: Iterable[ProviderInfo]) -> None:
        infos = list(infos)
        seen.extend(i.batch_capable for i in infos if i.name == "gemini")
        original(infos)

    session.store.set_providers = watched  # type: ignore[method-assign]  # every provider list
    trips.sent.clear()
    await session.poll(deep=True)
    assert not any(seen)  # never shown as listing… again
    assert not any(label == "first-page gemini" for label, _ in trips.sent)
    assert "/api/providers/gemini/keys" in [label for label, _ in trips.sent]  # still re-checked
