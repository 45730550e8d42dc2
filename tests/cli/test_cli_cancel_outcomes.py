"""`batches cancel`: the exit code of each gateway answer, and the JSON lines it always prints."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import SecretStr

from bifrost_tui.cli import main
from bifrost_tui.clock import ManualClock
from bifrost_tui.sim import SimWorld, serve
from bifrost_tui.sim.faults import proxy_error_body
from bifrost_tui.sim.model import VirtualKey
from tests.support.clocks import T0

VK = "sk-bf-cancel-outcomes"
CANCEL_KEYS = {
    "provider",
    "batch_id",
    "outcome",
    "dry_run",
    "state_before",
    "http_status",
    "request_id",
    "error",
    "reread_error",
    "batch",
}
OUTCOMES = {"accepted", "refused", "unknown", "skipped", "not_sent"}


@pytest.fixture
def sim_seed() -> int:
    return 31


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


@pytest.fixture
def url(sim_url: str, state: None) -> str:
    return sim_url


def cli(capsys, *args: str) -> tuple[int, list[dict], str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines() if line.strip()], err


def running(world: SimWorld, provider: str, n: int = 1) -> list[str]:
    ids = sorted(b.id for b in world.batches(provider) if b.phase.value == "running")
    assert len(ids) >= n
    return ids[:n]


def cancels(world: SimWorld) -> list:
    return world.requests(op="batch_cancel")


def assert_shape(lines: list[dict], batches: int, code: int) -> list[dict]:
    """One versioned ``cancel`` line per batch, then one ``summary`` line carrying the exit code."""
    assert all(line["version"] == 1 for line in lines)
    *items, last = lines
    assert len(items) == batches
    for item in items:
        assert set(item) == {"version", "cancel"}
        assert set(item["cancel"]) == CANCEL_KEYS and item["cancel"]["outcome"] in OUTCOMES
    assert set(last) == {"version", "summary"}
    summary = last["summary"]
    assert set(summary["outcomes"]) == OUTCOMES
    assert summary["exit_code"] == code and summary["total"] == batches
    return [item["cancel"] for item in items]


def test_unknown_provider_500_exits_1_like_show_and_says_so_in_json(capsys, world, url):
    target = running(world, "openai")[0]
    shown, _, _ = cli(capsys, "batches", "show", target, "--provider", "nosuch", "--url", url)
    code, lines, err = cli(
        capsys, "batches", "cancel", target, "--provider", "nosuch", "--yes", "--json", "--url", url
    )
    assert shown == code == 1
    (item,) = assert_shape(lines, 1, 1)
    assert item["outcome"] == "not_sent" and item["http_status"] == 500
    assert "gateway config error" in item["error"] and "gateway config error" in err
    assert cancels(world) == []


@pytest.mark.parametrize(
    ("env_key", "status"),
    [(None, 401), (VK, 403)],
    ids=["no virtual key", "provider not allowed for the virtual key"],
)
def test_governance_refusals_exit_1_with_json(capsys, state, monkeypatch, env_key, status):
    allowed = VirtualKey(SecretStr(VK), providers=frozenset({"anthropic"}))
    world = SimWorld.demo(
        ManualClock(T0),
        seed=31,
        arrival_interval=None,
        require_virtual_key=True,
        virtual_keys=[allowed],
    )
    if env_key is not None:
        monkeypatch.setenv("BIFROST_VK", env_key)
    target = running(world, "openai")[0]
    server = serve(world)
    try:
        code, lines, err = cli(
            capsys, "batches", "cancel", target, "--provider", "openai", "--yes", "--json",
            "--url", server.url,
        )  # fmt: skip
    finally:
        server.stop()
    assert code == 1
    (item,) = assert_shape(lines, 1, 1)
    assert item["outcome"] == "not_sent" and item["http_status"] == status
    assert "auth refused" in err and VK not in err + json.dumps(lines)
    assert cancels(world) == []


@pytest.mark.parametrize("status", [502, 503, 504])
def test_proxy_5xx_on_the_read_exits_3(capsys, world, url, status):
    target = running(world, "openai")[0]
    world.faults.fail_next(status, proxy_error_body(status), method="GET", path=target, times=10)
    code, lines, _ = cli(
        capsys, "batches", "cancel", target, "--provider", "openai", "--yes", "--json", "--url", url
    )
    assert code == 3
    (item,) = assert_shape(lines, 1, 3)
    assert item["http_status"] == status and item["outcome"] == "not_sent"
    assert cancels(world) == []


def test_dropped_connection_on_the_read_exits_3(capsys, world, url):
    target = running(world, "anthropic")[0]
    world.faults.refuse_next(method="GET", path=target, times=10)
    code, lines, _ = cli(
        capsys, "batches", "cancel", target, "--provider", "anthropic", "--yes", "--json",
        "--url", url,
    )  # fmt: skip
    assert code == 3
    (item,) = assert_shape(lines, 1, 3)
    assert item["outcome"] == "not_sent"
    assert cancels(world) == []


def test_dropped_connection_on_the_cancel_exits_4_unknown(capsys, world, url):
    target = running(world, "anthropic")[0]
    world.faults.refuse_next(method="POST", path="/cancel")
    code, lines, _ = cli(
        capsys, "batches", "cancel", target, "--provider", "anthropic", "--yes", "--json",
        "--url", url,
    )  # fmt: skip
    assert code == 4
    (item,) = assert_shape(lines, 1, 4)
    assert item["outcome"] == "unknown" and item["batch"]["state"] == "active"


def test_unreachable_gateway_exits_3_and_still_prints_json(capsys, world, url):
    world.faults.down = True
    code, lines, _ = cli(
        capsys, "batches", "cancel", "batch_x", "--provider", "openai", "--yes", "--json",
        "--url", url,
    )  # fmt: skip
    assert code == 3
    (item,) = assert_shape(lines, 1, 3)
    assert item["outcome"] == "not_sent" and "unreachable" in item["error"]


def test_cancel_sent_without_an_answer_exits_4_unknown(capsys, world, url):
    target = running(world, "openai")[0]
    world.faults.fail_next(504, proxy_error_body(504), method="POST", path="/cancel")
    code, lines, _ = cli(
        capsys, "batches", "cancel", target, "--provider", "openai", "--yes", "--json", "--url", url
    )
    assert code == 4
    (item,) = assert_shape(lines, 1, 4)
    assert item["outcome"] == "unknown" and item["state_before"] == "active"
    assert item["batch"]["state"] == "active"  # re-read: the cancel did not land
    assert len(cancels(world)) == 1  # never retried


def test_several_ids_print_the_same_shape_and_a_shared_cause_gives_its_code(capsys, world, url):
    ids = running(world, "openai", 2)
    code, lines, _ = cli(
        capsys, "batches", "cancel", *ids, "--provider", "nosuch", "--yes", "--json", "--url", url
    )
    assert code == 1  # every batch failed for the same reason: that reason's code, not 4
    items = assert_shape(lines, 2, 1)
    assert {i["batch_id"] for i in items} == set(ids)
    code, lines, _ = cli(
        capsys, "batches", "cancel", *ids, "--provider", "openai", "--yes", "--json", "--url", url
    )
    assert code == 0
    assert {i["outcome"] for i in assert_shape(lines, 2, 0)} == {"accepted"}


def test_refusals_before_any_send_still_print_a_summary(capsys, world, url):
    target = running(world, "openai")[0]
    code, lines, _ = cli(capsys, "batches", "cancel", target, "--yes", "--json", "--url", url)
    assert code == 2
    (only,) = lines
    assert only["summary"]["exit_code"] == 2 and "--provider" in only["summary"]["error"]
    code, lines, _ = cli(
        capsys, "batches", "cancel", target, "--provider", "openai", "--yes", "--json",
        "--read-only", "--url", url,
    )  # fmt: skip
    assert code == 5
    (item,) = assert_shape(lines, 1, 5)
    assert item["outcome"] == "not_sent" and "read-only" in item["error"]
    assert cancels(world) == []


def test_all_active_on_an_unknown_provider_exits_1(capsys, world, url):
    code, lines, err = cli(
        capsys, "batches", "cancel", "--all-active", "--provider", "nosuch", "--yes", "--json",
        "--url", url,
    )  # fmt: skip
    assert code == 1, err
    assert lines[-1]["summary"]["exit_code"] == 1
    assert cancels(world) == []


def test_one_id_dry_run_round_trips_through_ids_from(capsys, world, url, tmp_path):
    target = running(world, "azure")[0]
    code, lines, _ = cli(
        capsys, "batches", "cancel", target, "--provider", "azure", "--dry-run", "--json",
        "--url", url,
    )  # fmt: skip
    assert code == 0
    (item,) = assert_shape(lines, 1, 0)
    assert item["dry_run"] and item["outcome"] == "not_sent" and item["error"] is None
    assert cancels(world) == []
    review = tmp_path / "review.json"
    review.write_text("".join(json.dumps(line) + "\n" for line in lines))
    code, lines, _ = cli(
        capsys, "batches", "cancel", "--ids-from", str(review), "--expect-count", "1", "--yes",
        "--json", "--url", url,
    )  # fmt: skip
    assert code == 0
    (item,) = assert_shape(lines, 1, 0)
    assert (item["provider"], item["batch_id"], item["outcome"]) == ("azure", target, "accepted")
    assert len(cancels(world)) == 1


def test_ids_it_could_not_read_are_not_fed_back_from_a_dry_run(capsys, world, url, tmp_path):
    ids = running(world, "openai", 2)
    code, lines, _ = cli(
        capsys, "batches", "cancel", *ids, "batch_missing", "--provider", "openai", "--dry-run",
        "--json", "--url", url,
    )  # fmt: skip
    assert code == 4  # partial: one id could not be read
    items = assert_shape(lines, 3, 4)
    assert {i["batch_id"]: i["outcome"] for i in items}["batch_missing"] == "refused"
    review = tmp_path / "review.json"
    review.write_text("".join(json.dumps(line) + "\n" for line in lines))
    code, lines, _ = cli(
        capsys, "batches", "cancel", "--ids-from", str(review), "--dry-run", "--json", "--url", url
    )
    assert code == 0
    assert sorted(i["batch_id"] for i in assert_shape(lines, 2, 0)) == ids
