"""Any 3xx answer, on any call, is a configuration error (exit 2): redirects are never followed,
and a base URL that redirects is the operator's to fix, not a gateway that is down or refusing."""

from __future__ import annotations

import json

import pytest

from bifrost_tui.cli.exitcodes import EXIT_USAGE, exit_code_for_error
from bifrost_tui.gateway.errors import GatewayConfigError
from bifrost_tui.sim import SimWorld

REDIRECT = {"location": "https://elsewhere.example/login"}


def running(world: SimWorld) -> str:
    return next(b.id for b in world.batches("openai") if b.phase.value == "running")


def test_a_redirect_error_maps_to_the_usage_code() -> None:
    error = GatewayConfigError("gateway answered with a redirect", status=302)
    assert exit_code_for_error(error) == EXIT_USAGE


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirected_listing_exits_2(run_cli, world, sim_url, status):
    world.faults.fail_next(status, headers=REDIRECT, method="GET", times=100)
    code, out, err = run_cli("batches", "list", "--url", sim_url, "--provider", "openai")
    assert code == EXIT_USAGE, (out, err)
    assert "redirect" in out + err


def test_a_redirected_show_exits_2(run_cli, world, sim_url):
    world.faults.fail_next(302, headers=REDIRECT, method="GET", times=100)
    code, _, err = run_cli(
        "batches", "show", running(world), "--url", sim_url, "--provider", "openai"
    )
    assert code == EXIT_USAGE and "redirect" in err


def test_a_redirect_on_the_pre_cancel_read_exits_2_and_sends_nothing(run_cli, world, sim_url):
    target = running(world)
    world.faults.fail_next(302, headers=REDIRECT, method="GET", path=target, times=100)
    code, out, _ = run_cli(
        "batches", "cancel", target, "--url", sim_url, "--provider", "openai", "--yes", "--json"
    )
    assert code == EXIT_USAGE
    summary = json.loads(out.splitlines()[-1])["summary"]
    assert summary["exit_code"] == EXIT_USAGE
    assert not [r for r in world.request_log if r.method == "POST"]


def test_a_redirected_cancel_exits_2(run_cli, world, sim_url):
    target = running(world)
    world.faults.fail_next(307, headers=REDIRECT, method="POST", path="/cancel")
    code, out, _ = run_cli(
        "batches", "cancel", target, "--url", sim_url, "--provider", "openai", "--yes", "--json"
    )
    assert code == EXIT_USAGE, out
    line = json.loads(out.splitlines()[0])["cancel"]
    assert line["outcome"] == "refused" and line["http_status"] == 307


def test_a_redirected_watch_exits_2(run_cli, world, sim_url):
    target = running(world)
    world.faults.fail_next(302, headers=REDIRECT, method="GET", times=100)
    code, out, err = run_cli(
        "batches", "watch", target, "--url", sim_url, "--provider", "openai", "--interval", "1"
    )
    assert code == EXIT_USAGE, (out, err)
