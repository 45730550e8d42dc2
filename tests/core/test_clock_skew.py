"""Clock skew: the simulator's ``Date`` header, the client reading it, and the live session's
median of the last answers (ignored under a minute)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from bifrost_tui.clock import ManualClock
from bifrost_tui.config.connection import DEMO_URL
from bifrost_tui.core.live import LiveSession
from bifrost_tui.core.skew import SkewTracker, skew_minutes, skew_words
from bifrost_tui.core.store import BatchStore
from bifrost_tui.formatting import ago, field_relative, time_column
from bifrost_tui.gateway.client import ClientConfig, GatewayClient
from bifrost_tui.gateway.reply import http_date
from bifrost_tui.sim import SimTransport, SimWorld, serve
from bifrost_tui.sim.handler import http_date as sim_http_date
from tests.support.clocks import T0, no_sleep

SKEW = timedelta(minutes=19)


def session_on(world: SimWorld, clock: ManualClock) -> LiveSession:
    client = GatewayClient(
        ClientConfig(base_url=DEMO_URL, retries=0), transport=SimTransport(world, sleep=no_sleep)
    )
    return LiveSession(client, BatchStore(), clock)


def skewed_world(clock: ManualClock, skew: timedelta = SKEW) -> SimWorld:
    return SimWorld.demo(clock, seed=3, arrival_interval=None, clock_skew=skew)


# ---- the simulator sends Date from its (possibly skewed) world clock --------------------------


async def test_the_simulator_dates_every_answer_from_its_world_clock(clock):
    world = skewed_world(clock)
    async with httpx.AsyncClient(transport=SimTransport(world), base_url=DEMO_URL) as client:
        for path in ("/health", "/api/providers", "/anthropic/v1/messages/batches", "/nosuch"):
            reply = await client.get(path)
            assert reply.headers["date"] == "Sat, 28 Nov 2026 12:19:00 GMT", path
    assert world.clock.now() == T0 + SKEW


def test_the_loopback_server_sends_one_date_from_the_world_clock(clock):
    world = skewed_world(clock, -SKEW)
    with serve(world) as server:
        reply = httpx.get(server.url + "/health")
    assert reply.headers.get_list("date") == ["Sat, 28 Nov 2026 11:41:00 GMT"]


def test_the_recorded_gateways_date_format_is_read():
    assert http_date("Tue, 01 Dec 2026 13:53:17 GMT") == datetime(
        2026, 12, 1, 13, 53, 17, tzinfo=UTC
    )
    assert sim_http_date(T0) == "Sat, 28 Nov 2026 12:00:00 GMT"
    assert http_date(sim_http_date(T0 + SKEW)) == T0 + SKEW


@pytest.mark.parametrize(
    "value", [None, "", "yesterday", "Tue, 99 Dec 2026 13:53:17 GMT", "x" * 500]
)
def test_an_unreadable_date_is_no_date(value):
    assert http_date(value) is None


# ---- the live session ---------------------------------------------------------------------------


async def test_a_gateway_19_minutes_ahead_is_seen_after_one_poll(clock):
    session = session_on(skewed_world(clock), clock)
    assert session.clock_skew is None  # before any answer
    await session.poll(deep=True)
    assert session.clock_skew == SKEW


async def test_a_gateway_behind_is_a_negative_skew(clock):
    session = session_on(skewed_world(clock, -SKEW), clock)
    await session.poll(deep=True)
    assert session.clock_skew == -SKEW


@pytest.mark.parametrize("seconds", [0, 30, -59])
async def test_a_skew_under_a_minute_is_ignored(clock, seconds):
    session = session_on(skewed_world(clock, timedelta(seconds=seconds)), clock)
    await session.poll(deep=True)
    assert session.clock_skew is None


async def test_the_median_of_the_last_five_answers_ignores_an_odd_one(clock):
    world = skewed_world(clock)
    session = session_on(world, clock)
    await session.poll(deep=False)  # one first page per provider: five answers at +19m
    # A proxy in front answers /health with its own clock (two hours off): one sample of five.
    wrong = sim_http_date(T0 + timedelta(hours=2))
    world.faults.fail_next(200, b'{"status":"ok"}', {"Date": wrong}, path="/health")
    await session.check_health()
    assert session.clock_skew == SKEW


async def test_when_this_machines_clock_is_set_right_the_skew_goes_away(clock):
    gateway_clock = ManualClock(T0 + SKEW)  # the gateway is right; this machine is behind
    world = SimWorld.demo(gateway_clock, seed=3, arrival_interval=None)
    session = session_on(world, clock)
    await session.poll(deep=False)
    assert session.clock_skew == SKEW
    clock.set(gateway_clock.now())  # NTP fixed this machine's clock
    await session.poll(deep=False)  # five more answers: the old ones leave the median
    assert session.clock_skew is None


def test_the_tracker_takes_the_median_and_says_it_once():
    local = ManualClock(T0)
    said: list[timedelta] = []
    tracker = SkewTracker(local, on_known=said.append)
    tracker.observe(T0 + timedelta(seconds=20))  # under a minute: nothing to say
    assert tracker.skew is None and said == []
    tracker.observe(T0 + timedelta(minutes=20))  # median of 20 s and 20 m: 10m 10s
    assert tracker.skew == timedelta(minutes=10, seconds=10) and len(said) == 1
    for _ in range(5):
        tracker.observe(T0 + SKEW)
    assert tracker.skew == SKEW and len(said) == 1  # said once, never again


def test_the_words_round_to_the_nearest_minute():
    assert skew_words(SKEW - timedelta(seconds=1)) == (
        "the gateway's clock is 19m ahead of this machine's"
    )
    assert skew_words(-timedelta(hours=2, minutes=5)) == (
        "the gateway's clock is 2h 5m behind this machine's"
    )
    assert skew_minutes(timedelta(seconds=-89)) == "1m"


# ---- provider timestamps ahead of this machine's clock ----------------------------------------


def test_a_moment_already_past_never_reads_in_the_future():
    ahead = T0 + SKEW
    assert ago(ahead, T0) == "just now"
    assert ago(T0 + timedelta(seconds=50), T0) == "now"  # within the tolerance: as before
    assert ago(T0 - timedelta(minutes=5), T0) == "5m ago"
    assert field_relative("created_at", ahead, T0) == "just now"
    assert field_relative("expires_at", ahead, T0) == "in 19m"  # ahead by nature


async def test_created_and_ended_times_of_a_skewed_gateway_never_read_in_19m(clock):
    world = skewed_world(clock)
    world.create_batch("anthropic", total=10, id="msgbatch_fresh")
    session = session_on(world, clock)
    await session.poll(deep=True)
    now = clock.now()
    fresh = session.store.batches[("anthropic", "msgbatch_fresh")]
    # (Listed through the passthrough prefix: the native object's times carry microseconds.)
    assert fresh.created_at is not None
    assert fresh.created_at.replace(microsecond=0) == now + SKEW
    assert ago(fresh.created_at, now) == "just now"
    for batch in session.store.batches.values():
        assert not ago(batch.created_at, now).startswith("in ")
        if batch.state.terminal:
            assert not time_column(batch, now).startswith("in ")
