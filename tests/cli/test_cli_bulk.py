"""`batches cancel` in bulk: selection, dry run, reviewed ids, partial listings, mixed outcomes."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from bifrost_tui.sim import SimWorld
from tests.support.clocks import T0


@pytest.fixture
def sim_seed() -> int:
    return 21


@pytest.fixture(autouse=True)
def _private_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The audit log lands in this test's folder, and no profile of the real user's is read."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def cancels(world: SimWorld) -> list:
    return world.requests(op="batch_cancel")


def active_ids(world: SimWorld, provider: str) -> set[str]:
    return {
        b.id
        for b in world.batches(provider)
        if b.phase.value in ("running", "queued", "finalizing")
    }


def test_dry_run_lists_exactly_what_would_be_cancelled_and_sends_nothing(run_cli, world, sim_url):
    code, out, _ = run_cli(
        "batches",
        "cancel",
        "--provider",
        "openai",
        "--all-active",
        "--dry-run",
        "--json",
        "--url",
        sim_url,
    )
    assert code == 0
    *lines, summary = json_lines(out)
    assert summary["summary"]["dry_run"] is True
    batches = [x["cancel"]["batch"] for x in lines]
    assert all(x["cancel"]["outcome"] == "not_sent" and x["cancel"]["dry_run"] for x in lines)
    chosen = {b["id"] for b in batches}
    assert chosen and all(b["cancellable"] for b in batches)
    assert summary["summary"]["selected"] == len(chosen)
    assert chosen <= active_ids(world, "openai")
    assert cancels(world) == []


def test_reviewed_ids_are_fed_back_and_expect_count_guards_them(run_cli, world, sim_url, tmp_path):
    code, out, _ = run_cli(
        "batches",
        "cancel",
        "--provider",
        "anthropic",
        "--all-active",
        "--dry-run",
        "--json",
        "--url",
        sim_url,
    )
    reviewed = tmp_path / "reviewed.json"
    reviewed.write_text(out)
    n = json_lines(out)[-1]["summary"]["selected"]
    assert n > 1
    code, _, err = run_cli(
        "batches",
        "cancel",
        "--ids-from",
        str(reviewed),
        "--expect-count",
        str(n + 1),
        "--yes",
        "--url",
        sim_url,
    )
    assert code == 5 and "expect-count" in err
    assert cancels(world) == []
    code, out, _ = run_cli(
        "batches",
        "cancel",
        "--ids-from",
        str(reviewed),
        "--expect-count",
        str(n),
        "--yes",
        "--json",
        "--url",
        sim_url,
    )
    lines = json_lines(out)
    assert code == 0
    items = [x["cancel"] for x in lines if "cancel" in x]
    assert len(items) == n and {x["outcome"] for x in items} == {"accepted"}
    assert lines[-1]["summary"]["outcomes"]["accepted"] == n
    assert lines[-1]["summary"]["total"] == n
    assert len(cancels(world)) == n


def test_older_than_and_filter_narrow_the_selection(run_cli, world, sim_url):
    old = world.add_batch(
        "openai",
        id="batch_old_one",
        status="in_progress",
        total=10,
        created_at=T0 - timedelta(hours=5),
    )
    code, out, _ = run_cli(
        "batches",
        "cancel",
        "--provider",
        "openai",
        "--all-active",
        "--older-than",
        "4h",
        "--filter",
        "old_one",
        "--dry-run",
        "--json",
        "--url",
        sim_url,
    )
    assert code == 0
    assert [x["cancel"]["batch_id"] for x in json_lines(out) if "cancel" in x] == [old.id]


def test_bad_duration_is_a_usage_error(run_cli, sim_url):
    code, _, err = run_cli(
        "batches",
        "cancel",
        "--provider",
        "openai",
        "--all-active",
        "--older-than",
        "soon",
        "--dry-run",
        "--url",
        sim_url,
    )
    assert code == 2 and "soon" in err


def test_an_ids_file_that_is_not_utf8_is_a_usage_error_and_sends_nothing(
    run_cli, world, sim_url, tmp_path
):
    ids = tmp_path / "ids.txt"
    ids.write_bytes(b"openai batch_ok\nopenai batch_\xff\xfe\n")
    code, _, err = run_cli("batches", "cancel", "--ids-from", str(ids), "--yes", "--url", sim_url)
    assert code == 2
    assert "not UTF-8" in err and "Traceback" not in err
    assert cancels(world) == []


def test_partial_listing_refuses_unless_allowed(run_cli, world, sim_url):
    for i in range(25):  # more than the Anthropic route's first page
        world.add_batch("anthropic", id=f"msgbatch_extra_{i:02d}", status="in_progress", total=3)
    # The deep route is blocked (an operator may block /openai) on an older gateway without the
    # passthrough prefixes: the listing stays partial.
    world.faults.fail_next(404, "not found", path="/openai/v1/batches", times=50)
    world.faults.refuse_passthrough = 404
    code, _, err = run_cli(
        "batches",
        "cancel",
        "--provider",
        "anthropic",
        "--all-active",
        "--yes",
        "--url",
        sim_url,
    )
    assert code == 5 and "--allow-partial" in err
    assert cancels(world) == []
    code, _, _ = run_cli(
        "batches",
        "cancel",
        "--provider",
        "anthropic",
        "--all-active",
        "--yes",
        "--allow-partial",
        "--url",
        sim_url,
    )
    assert code == 0
    assert cancels(world)


def test_mixed_outcomes_are_each_reported_and_exit_4(run_cli, world, sim_url):
    running = sorted(active_ids(world, "openai"))[:3]
    ended = next(b.id for b in world.batches("openai") if b.phase.value == "completed")
    world.faults.fail_next(
        409,
        '{"type":"error","error":{"type":"conflict_error","message":"busy"}}',
        method="POST",
        path=running[1],
    )
    world.faults.fail_next(
        502, "<html><title>502 Bad Gateway</title></html>", method="POST", path=running[2]
    )
    code, out, _ = run_cli(
        "batches",
        "cancel",
        *running,
        ended,
        "batch_does_not_exist",
        "--provider",
        "openai",
        "--yes",
        "--json",
        "--url",
        sim_url,
    )
    items = {x["cancel"]["batch_id"]: x["cancel"] for x in json_lines(out) if "cancel" in x}
    assert items[running[0]]["outcome"] == "accepted"
    assert items[running[1]]["outcome"] == "refused" and "busy" in items[running[1]]["error"]
    assert items[running[2]]["outcome"] == "unknown"
    assert items[ended]["outcome"] == "skipped"
    assert items["batch_does_not_exist"]["outcome"] == "refused"
    assert code == 4
    assert len(cancels(world)) == 3  # skipped and unknown ids never got a cancel


def test_bulk_without_terminal_or_yes_refuses(run_cli, world, sim_url):
    ids = sorted(active_ids(world, "azure"))[:2]
    code, _, err = run_cli("batches", "cancel", *ids, "--provider", "azure", "--url", sim_url)
    assert code == 2 and "--yes" in err
    assert cancels(world) == []


def test_read_only_refuses_bulk_and_dry_run_still_works(run_cli, world, sim_url):
    code, _, err = run_cli(
        "batches",
        "cancel",
        "--provider",
        "openai",
        "--all-active",
        "--yes",
        "--read-only",
        "--url",
        sim_url,
    )
    assert code == 5 and "read-only" in err
    code, _, _ = run_cli(
        "batches",
        "cancel",
        "--provider",
        "openai",
        "--all-active",
        "--dry-run",
        "--read-only",
        "--url",
        sim_url,
    )
    assert code == 0
    assert cancels(world) == []
