"""Watching batches: the event generator and `batches watch`, against the in-process simulator.

Time only moves inside the injected sleep (ManualClock), so the world progresses between polls and
no test ever waits.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import itertools
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from bifrost_tui.cli.watch import add_watch_arguments, format_event, run_watch
from bifrost_tui.clock import ManualClock
from bifrost_tui.config.connection import DEMO_URL, Connection
from bifrost_tui.config.resolve import ResolvedConnection
from bifrost_tui.core.watch import NOT_FOUND, WatchEvent, watch_batches
from bifrost_tui.gateway.client import ClientConfig, GatewayClient
from bifrost_tui.gateway.counts import Source
from bifrost_tui.gateway.errors import NotFound
from bifrost_tui.gateway.models import Batch
from bifrost_tui.sim import SimTransport, SimWorld
from tests.support.clocks import T0, no_sleep


class Sleeper:
    """The injected sleep: moves the clock by the interval, then runs the hook for that call."""

    def __init__(self, clock: ManualClock, hooks: dict[int, Callable[[], Any]] | None = None):
        self.clock = clock
        self.hooks = hooks or {}
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        self.clock.advance(seconds)
        hook = self.hooks.get(len(self.delays))
        if hook is not None:
            hook()


class TTY(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def world(clock: ManualClock) -> SimWorld:
    """An empty world (no demo history): each test creates the batches it watches."""
    return SimWorld(clock, seed=3)


def connection(world: SimWorld, clock: ManualClock) -> Connection:
    return Connection(
        settings=ResolvedConnection(profile=None, base_url=DEMO_URL),
        client_config=ClientConfig(base_url=DEMO_URL, retries=0),
        clock=clock,
        transport=SimTransport(world, sleep=no_sleep),
        world=world,
    )


def client_for(world: SimWorld) -> GatewayClient:
    return GatewayClient(
        ClientConfig(base_url=DEMO_URL, retries=0), transport=SimTransport(world, sleep=no_sleep)
    )


def watch_args(*ids: str, provider: str, **opts: Any) -> argparse.Namespace:
    values = {"interval": 60.0, "json": False, "no_bell": False, "all_active": False} | opts
    return argparse.Namespace(batch_ids=list(ids), provider=provider, **values)


async def collect(world: SimWorld, targets: list[tuple[str, str]], sleep: Sleeper, **kw: Any):
    async with client_for(world) as client:
        return [
            e
            async for e in watch_batches(
                client,
                targets,
                clock=sleep.clock,
                interval=kw.pop("interval", 60.0),
                sleep=sleep,
                **kw,
            )
        ]


def running_openai(world: SimWorld, batch_id: str, *, duration: float = 600) -> None:
    """An OpenAI batch that runs now, finalizes, then completes."""
    world.create_batch("openai", id=batch_id, total=100, duration=duration, start_delay=0)


# --------------------------------------------------------------------------- the generator


async def test_first_read_then_one_event_per_transition_until_the_batch_ends(world, clock):
    running_openai(world, "batch_a")
    sleep = Sleeper(clock)
    events = await collect(world, [("openai", "batch_a")], sleep, interval=120.0)

    assert events[0].before is None and events[0].after == "in_progress"
    assert events[0].state == "active" and not events[0].ended
    statuses = [e.after for e in events]
    assert "finalizing" in statuses
    assert events[-1].after == "ended" and events[-1].state == "ended-ok" and events[-1].ended
    for previous, event in itertools.pairwise(events):
        assert event.before == previous.after  # a chain: nothing lost between events
        assert (event.after, event.state, event.counts) != (
            previous.after,
            previous.state,
            previous.counts,
        )
    # Never waited for real: every wait went through the injected sleep, one per round.
    assert sleep.delays == [120.0] * (len(sleep.delays))
    assert clock.now() > T0
    assert all(e.kind == "change" for e in events)


async def test_progress_in_the_counts_is_an_event_even_when_the_status_stays(world, clock):
    # Gemini's retrieve reports real progress (Anthropic keeps everything "processing" to the end).
    batch = world.create_batch("gemini", total=1000, duration=600, start_delay=0)
    events = await collect(world, [("gemini", batch.id)], Sleeper(clock), interval=120.0)
    progress = [e for e in events if e.before == e.after == "in_progress"]
    assert len(progress) >= 3
    done = [e.counts["succeeded"] + e.counts["errored"] for e in progress]
    assert done == sorted(done) and len(set(done)) == len(done)
    assert events[-1].counts["processing"] == 0 and events[-1].state == "ended-ok"


async def test_unchanged_rounds_yield_nothing(world, clock):
    # Stands still (no plan) for three rounds, then completes by hand on the fourth.
    world.add_batch("anthropic", id="msgbatch_still", status="in_progress", processing=5)
    sleep = Sleeper(clock)
    async with client_for(world) as client:
        events = [
            e
            async for e in watch_batches(
                client, [("anthropic", "msgbatch_still")], clock=clock, sleep=sleep, max_polls=4
            )
        ]
    assert len(events) == 1 and events[0].poll == 1
    assert len(sleep.delays) == 3  # max_polls rounds, no sleep after the last


async def test_cancel_mid_watch_shows_canceling_then_ended_canceled(world, clock):
    running_openai(world, "batch_c", duration=3600)

    def cancel() -> None:
        batch = world.get("openai", "batch_c")
        assert batch is not None
        world.cancel(batch)

    events = await collect(world, [("openai", "batch_c")], Sleeper(clock, {1: cancel}))
    assert [e.after for e in events] == ["in_progress", "canceling", "ended"]
    assert [e.state for e in events] == ["active", "canceling", "ended-canceled"]
    assert [e.ended for e in events] == [False, False, True]


async def test_targets_are_read_together_and_the_watch_ends_when_all_have_ended(world, clock):
    running_openai(world, "batch_fast", duration=60)
    running_openai(world, "batch_slow", duration=1200)
    targets = [("openai", "batch_fast"), ("openai", "batch_slow"), ("openai", "batch_fast")]
    events = await collect(world, targets, Sleeper(clock))
    first = [e for e in events if e.poll == 1]
    assert [e.batch_id for e in first] == ["batch_fast", "batch_slow"]  # deduplicated, in order
    ended = [e for e in events if e.ended]
    assert [e.batch_id for e in ended] == ["batch_fast", "batch_slow"]
    # An ended batch is no longer read.
    last_fast = max(e.poll for e in events if e.batch_id == "batch_fast")
    retrieves = [r for r in world.request_log if r.path.endswith("/batch_fast")]
    assert len(retrieves) == last_fast


async def test_a_failed_read_is_reported_once_retried_and_recovery_said(world, clock):
    running_openai(world, "batch_e", duration=3600)

    def outage() -> None:
        world.faults.fail_next(503, b"upstream down", method="GET", path="/batch_e", times=2)

    events = await collect(world, [("openai", "batch_e")], Sleeper(clock, {1: outage}), max_polls=4)
    kinds = [(e.poll, e.kind) for e in events]
    # Round 2 fails, round 3 fails the same way (not repeated), round 4 reads again.
    assert kinds[:3] == [(1, "change"), (2, "error"), (4, "recovered")]
    error = events[1]
    assert error.error is not None and error.error.status == 503
    assert error.after == "in_progress" and error.state == "active" and not error.ended
    assert events[2].before == "in_progress"


async def test_unknown_batch_ends_that_target_as_not_found(world, clock):
    running_openai(world, "batch_ok", duration=60)
    events = await collect(
        world, [("openai", "batch_missing"), ("openai", "batch_ok")], Sleeper(clock)
    )
    gone = [e for e in events if e.batch_id == "batch_missing"]
    assert len(gone) == 1
    assert gone[0].kind == "gone" and gone[0].ended and gone[0].state == "unknown"
    assert gone[0].after == NOT_FOUND and isinstance(gone[0].error, NotFound)
    assert events[-1].batch_id == "batch_ok" and events[-1].state == "ended-ok"


async def test_a_batch_that_vanishes_mid_watch_ends_as_gone(world, clock):
    running_openai(world, "batch_v", duration=3600)

    def vanish() -> None:
        body = b'{"type":"error","error":{"type":"not_found_error","message":"gone"}}'
        world.faults.fail_next(404, body, method="GET", path="/batch_v")

    events = await collect(world, [("openai", "batch_v")], Sleeper(clock, {2: vanish}))
    assert [e.kind for e in events][-1] == "gone"
    assert events[-1].before == "in_progress" and events[-1].poll == 3


async def test_event_json_is_plain_data():
    event = WatchEvent(
        time=T0,
        provider="openai",
        batch_id="batch_x",
        before="in_progress",
        after="canceling",
        state="canceling",
        counts={
            "processing": None,
            "succeeded": None,
            "errored": 0,
            "canceled": None,
            "expired": None,
            "total": None,
        },
        ended=False,
    )
    data = json.loads(json.dumps(event.to_json()))
    assert data["time"] == "2026-11-28T12:00:00Z"
    assert data["before"] == "in_progress" and data["after"] == "canceling"
    assert data["kind"] == "change" and data["error"] is None and data["counts"]["errored"] == 0


# --------------------------------------------------------------------------- the command


async def test_watch_exits_0_when_every_batch_ended_ok(world, clock):
    running_openai(world, "batch_1", duration=300)
    running_openai(world, "batch_2", duration=900)
    out = io.StringIO()
    code = await run_watch(
        watch_args("batch_1", "batch_2", provider="openai"),
        connection(world, clock),
        stdout=out,
        sleep=Sleeper(clock),
    )
    assert code == 0
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("12:00:00Z openai batch_1 in_progress (ACTIVE)")
    assert any("batch_1 in_progress → finalizing (ACTIVE)" in line for line in lines)
    assert any("batch_2 finalizing → ended (ENDED)" in line for line in lines)
    assert lines[-1] == "summary: 2 batches watched: 2 ENDED"


@pytest.mark.parametrize(("strict", "expected"), [(False, 0), (True, 4)])
async def test_a_batch_cancelled_mid_watch_is_a_clean_end_unless_strict(
    world, clock, strict, expected
):
    running_openai(world, "batch_ok", duration=300)
    running_openai(world, "batch_cx", duration=3600)

    def cancel() -> None:
        world.cancel(world.get("openai", "batch_cx"))

    out = io.StringIO()
    code = await run_watch(
        watch_args("batch_ok", "batch_cx", provider="openai", strict=strict),
        connection(world, clock),
        stdout=out,
        sleep=Sleeper(clock, {1: cancel}),
    )
    # The gateway reported the cancel (cancel_initiated_at): the end asked for, not a failure.
    assert code == expected
    text = out.getvalue()
    # The OpenAI-format retrieve carries the real counts; once ended, the rest was canceled.
    canceling = "12:01:00Z openai batch_cx in_progress → canceling (CANCELING) 99 proc 1 ok 0 err"
    assert canceling in text
    assert "batch_cx canceling → ended (CANCELED) 0 proc 1 ok 0 err 99 canc" in text
    assert text.splitlines()[-1] == "summary: 2 batches watched: 1 ENDED, 1 CANCELED"


async def test_watch_exits_1_at_once_when_an_id_is_not_found_at_start(world, clock, capsys):
    running_openai(world, "batch_real", duration=3600)
    sleep = Sleeper(clock)
    out = io.StringIO()
    code = await run_watch(
        watch_args("batch_real", "batch_typo", provider="openai"),
        connection(world, clock),
        stdout=out,
        sleep=sleep,
    )
    assert code == 1
    assert sleep.delays == []  # gave up after the first round, did not watch the rest
    assert "openai batch_typo not found" in out.getvalue()
    assert "could not be read at start" in capsys.readouterr().err


async def test_watch_exits_3_when_the_gateway_is_unreachable_at_start(world, clock):
    running_openai(world, "batch_1")
    world.faults.down = True
    out = io.StringIO()
    code = await run_watch(
        watch_args("batch_1", provider="openai"), connection(world, clock), stdout=out
    )
    assert code == 3
    assert "read failed" in out.getvalue() and "unreachable" in out.getvalue()


async def test_a_batch_ended_canceled_without_a_reported_cancel_exits_4(world, clock):
    world.add_batch("openai", id="batch_gone_cx", status="cancelled", total=10, canceled=10)
    out = io.StringIO()
    code = await run_watch(
        watch_args("batch_gone_cx", provider="openai"),
        connection(world, clock),
        stdout=out,
        sleep=Sleeper(clock),
    )
    assert "(CANCELED)" in out.getvalue()
    assert code == 4


async def test_watch_exits_4_when_a_batch_fails(world, clock):
    world.create_batch("openai", id="batch_bad", total=10, start_delay=0, outcome="fail")
    code = await run_watch(
        watch_args("batch_bad", provider="openai"),
        connection(world, clock),
        stdout=io.StringIO(),
        sleep=Sleeper(clock),
    )
    assert code == 4


async def test_json_lines_parse_one_object_per_line_and_end_with_a_summary(world, clock):
    running_openai(world, "batch_j", duration=300)
    out = io.StringIO()
    code = await run_watch(
        watch_args("batch_j", provider="openai", json=True),
        connection(world, clock),
        stdout=out,
        sleep=Sleeper(clock),
    )
    assert code == 0
    objects = [json.loads(line) for line in out.getvalue().splitlines()]
    assert all(o["version"] == 1 for o in objects)
    events = [o["event"] for o in objects[:-1]]
    assert events[0]["before"] is None and events[0]["batch_id"] == "batch_j"
    assert events[-1]["state"] == "ended-ok" and events[-1]["ended"] is True
    summary = objects[-1]["summary"]
    assert summary["exit_code"] == 0 and summary["interrupted"] is False
    assert summary["batches"] == [
        {
            "provider": "openai",
            "batch_id": "batch_j",
            "state": "ended-ok",
            "processing_status": "ended",
            "ended": True,
        }
    ]


async def test_untrusted_ids_are_escaped_in_human_output(world, clock):
    hostile = "msgbatch_\x1b[2J\x1b]0;pwned\x07\nFAKE \u202eline"
    world.add_batch("anthropic", id=hostile, status="ended", succeeded=3, ended_at=T0)
    out = io.StringIO()
    code = await run_watch(
        watch_args(hostile, "typo\x1b[31m", provider="anthropic"),
        connection(world, clock),
        stdout=out,
        sleep=Sleeper(clock),
    )
    assert code == 1  # the second id does not exist
    text = out.getvalue()
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
    assert "msgbatch_\\x1b[2J\\x1b]0;pwned\\x07\\x0aFAKE \\u202eline ended (ENDED)" in text
    assert "typo\\x1b[31m not found" in text
    assert len(text.splitlines()) == 3  # two events and the summary: no forged lines


async def test_bell_rings_once_per_ended_batch_only_on_a_terminal(world, clock):
    async def run(stdout: io.StringIO, **opts: Any) -> str:
        world.create_batch("openai", total=5, duration=60, start_delay=0, id=f"batch_{len(runs)}")
        runs.append(stdout)
        await run_watch(
            watch_args(f"batch_{len(runs) - 1}", provider="openai", **opts),
            connection(world, clock),
            stdout=stdout,
            sleep=Sleeper(clock),
        )
        return stdout.getvalue()

    runs: list[io.StringIO] = []
    on_tty = await run(TTY())
    assert on_tty.count("\a") == 1
    ended_line = next(line for line in on_tty.split("\n") if "(ENDED)" in line)
    assert on_tty.index("\a") == on_tty.index(ended_line) + len(ended_line) + 1
    assert "\a" not in await run(io.StringIO())  # piped or redirected: never
    assert "\a" not in await run(TTY(), no_bell=True)
    assert "\a" not in await run(TTY(), json=True)


async def test_all_active_watches_every_active_batch_of_the_provider(world, clock):
    running_openai(world, "batch_r1", duration=120)
    running_openai(world, "batch_r2", duration=240)
    world.add_batch("openai", id="batch_done", status="completed", completed=4, total=4)
    world.add_batch("anthropic", id="msgbatch_other", status="in_progress", processing=3)
    out = io.StringIO()
    code = await run_watch(
        watch_args(provider="openai", all_active=True, json=True),
        connection(world, clock),
        stdout=out,
        sleep=Sleeper(clock),
    )
    assert code == 0
    objects = [json.loads(line) for line in out.getvalue().splitlines()]
    watched = [b["batch_id"] for b in objects[-1]["summary"]["batches"]]
    assert sorted(watched) == ["batch_r1", "batch_r2"]


async def test_all_active_with_nothing_active_exits_0(world, clock):
    world.add_batch("openai", id="batch_done", status="completed", completed=4, total=4)
    out = io.StringIO()
    code = await run_watch(
        watch_args(provider="openai", all_active=True), connection(world, clock), stdout=out
    )
    assert code == 0 and out.getvalue() == "summary: nothing to watch\n"


async def test_ctrl_c_prints_a_summary_and_exits_130(world, clock):
    running_openai(world, "batch_long", duration=36000)

    async def interrupted(_seconds: float) -> None:
        raise KeyboardInterrupt

    out = io.StringIO()
    code = await run_watch(
        watch_args("batch_long", provider="openai"),
        connection(world, clock),
        stdout=out,
        sleep=interrupted,
    )
    assert code == 130
    assert out.getvalue().splitlines()[-1] == "interrupted: 1 batch watched: 1 ACTIVE"


async def test_cancelling_the_task_like_asyncio_run_on_sigint_exits_130(world, clock):
    running_openai(world, "batch_long", duration=36000)
    waiting = asyncio.Event()

    async def forever(_seconds: float) -> None:
        waiting.set()
        await asyncio.Event().wait()

    out = io.StringIO()
    task = asyncio.create_task(
        run_watch(
            watch_args("batch_long", provider="openai", json=True),
            connection(world, clock),
            stdout=out,
            sleep=forever,
        )
    )
    await waiting.wait()
    task.cancel()
    assert await task == 130
    summary = json.loads(out.getvalue().splitlines()[-1])["summary"]
    assert summary["interrupted"] is True and summary["exit_code"] == 130


@pytest.mark.parametrize(
    ("ids", "opts"),
    [((), {}), (("batch_1",), {"interval": 0.5}), (("batch_1",), {"interval": float("nan")})],
)
async def test_usage_errors_exit_2_without_touching_the_gateway(world, clock, ids, opts):
    code = await run_watch(
        watch_args(*ids, provider="openai", **opts), connection(world, clock), stdout=io.StringIO()
    )
    assert code == 2
    assert world.request_log == []


def test_watch_subcommand_parses_its_flags_and_takes_the_leads_connection_flags():
    parser = argparse.ArgumentParser(prog="bifrost-tui")
    batches = parser.add_subparsers(dest="command").add_parser("batches")
    bsub = batches.add_subparsers(dest="batches_command")
    seen: list[argparse.ArgumentParser] = []

    def connection_flags(p: argparse.ArgumentParser) -> None:
        seen.append(p)
        p.add_argument("--url")

    add_watch_arguments(bsub, connection_flags)
    args = parser.parse_args(
        [
            "batches",
            "watch",
            "b1",
            "b2",
            "--provider",
            "openai",
            "--interval",
            "2",
            "--json",
            "--no-bell",
            "--url",
            "http://127.0.0.1:1",
        ]
    )
    assert len(seen) == 1
    assert args.batches_command == "watch" and args.batch_ids == ["b1", "b2"]
    assert args.provider == "openai" and args.interval == 2.0 and args.url == "http://127.0.0.1:1"
    assert args.json and args.no_bell and not args.all_active
    bare = parser.parse_args(["batches", "watch", "--provider", "p", "--all-active"])
    assert bare.batch_ids == [] and bare.all_active and bare.interval is None
    with pytest.raises(SystemExit):
        parser.parse_args(["batches", "watch", "b1"])  # --provider is required


def test_format_event_reads_like_the_issue_says():
    batch = Batch.from_anthropic(
        {
            "id": "batch_x",
            "processing_status": "canceling",
            "request_counts": {
                "processing": 120,
                "succeeded": 30,
                "errored": 0,
                "canceled": 0,
                "expired": 0,
            },
        },
        provider="anthropic",
        source=Source.RETRIEVE,
    )
    assert batch.request_counts is not None
    event = WatchEvent(
        time=T0 + timedelta(minutes=3, seconds=4),
        provider="anthropic",
        batch_id="batch_x",
        before="in_progress",
        after="canceling",
        state="canceling",
        counts=batch.request_counts.to_json(),
        ended=False,
        batch=batch,
    )
    assert format_event(event) == (
        "12:03:04Z anthropic batch_x in_progress → canceling (CANCELING) 120 proc 30 ok 0 err"
    )
