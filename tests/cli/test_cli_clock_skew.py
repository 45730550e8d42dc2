"""The command line against a gateway whose clock is off: one warning line on stderr, and times
that have already happened never read "in 19m". The CLI reads this machine's clock, so these
simulators run on it too, skewed by a fixed amount (``bifrost-tui sim --clock-skew``)."""

from __future__ import annotations

import argparse
import io
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest

from bifrost_tui.clock import SystemClock
from bifrost_tui.sim import SimWorld, serve
from bifrost_tui.sim.cli import add_arguments, run

SKEW = timedelta(minutes=19)
WARNING = "warning: the gateway's clock is 19m ahead of this machine's"
FRESH = "msgbatch_fresh"


def served(skew: timedelta) -> Iterator[str]:
    world = SimWorld.demo(SystemClock(), seed=5, arrival_interval=None, clock_skew=skew)
    world.create_batch("anthropic", total=10, id=FRESH)
    server = serve(world)
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def skewed_url() -> Iterator[str]:
    yield from served(SKEW)


@pytest.fixture
def true_url() -> Iterator[str]:
    yield from served(timedelta(0))


@pytest.mark.parametrize("fmt", [(), ("--json",)])
def test_list_says_the_skew_once_on_stderr(run_cli, skewed_url, fmt):
    code, out, err = run_cli("batches", "list", "--url", skewed_url, *fmt)
    assert code == 0, err
    assert err.splitlines().count(WARNING) == 1
    assert WARNING not in out  # stdout stays data


def test_the_created_time_of_a_fresh_batch_reads_just_now(run_cli, skewed_url):
    code, out, _ = run_cli("batches", "list", "--url", skewed_url, "--provider", "anthropic")
    assert code == 0
    (line,) = [x for x in out.splitlines() if FRESH in x]
    assert "just now" in line and "in 19m" not in line
    code, out, err = run_cli(
        "batches", "show", FRESH, "--provider", "anthropic", "--url", skewed_url
    )
    assert code == 0 and err.splitlines() == [WARNING]
    (created,) = [x for x in out.splitlines() if x.startswith("created_at")]
    assert "UTC (just now)" in created


def test_a_gateway_on_time_gets_no_warning(run_cli, true_url):
    code, _, err = run_cli("batches", "list", "--url", true_url, "--provider", "anthropic")
    assert code == 0 and "clock" not in err


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(list(argv))


def test_sim_clock_skew_flag_runs_the_gateway_ahead(run_cli):
    out = io.StringIO()
    ready = threading.Event()
    stop = threading.Event()
    urls: list[str] = []
    result: list[int] = []

    def on_ready(url: str) -> None:
        urls.append(url)
        ready.set()

    args = _args("--seed", "3", "--batches-per-provider", "2", "--clock-skew", "1140")
    thread = threading.Thread(
        target=lambda: result.append(
            run(args, env={}, out=out, err=io.StringIO(), ready=on_ready, stop=stop)
        )
    )
    thread.start()
    try:
        assert ready.wait(20)
        code, _, err = run_cli("batches", "list", "--url", urls[0], "--provider", "openai")
    finally:
        stop.set()
        thread.join(10)
    assert result == [0]
    assert code == 0 and err.splitlines() == [WARNING]
    assert "clock: +1140s" in out.getvalue()


def test_sim_refuses_a_clock_skew_beyond_a_year():
    err = io.StringIO()
    assert run(_args("--clock-skew", "1e12"), env={}, out=io.StringIO(), err=err) == 2
    assert "--clock-skew" in err.getvalue()
