"""Bedrock and Gemini end to end, against the simulator seeded with the jobs a real gateway was
recorded with (``tests/sim/test_contract_bedrock_gemini.py``): a cancel stays a cancel, one Gemini
batch is one row whatever id form the gateway gave it, Gemini's ``errored`` is not trusted on a
canceled batch, and an outcome no source tells is said to be unknown."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bifrost_tui.clock import ManualClock
from bifrost_tui.sim import ProviderConfig, SimWorld, serve
from bifrost_tui.sim.faults import proxy_error_body
from bifrost_tui.ui.screens.detail import DetailScreen
from bifrost_tui.ui.widgets.batch_table.table import BatchTable
from tests.sim.test_contract_bedrock_gemini import (
    AFTER_CANCEL,
    RECORDED_AT,
    bedrock_world,
    gemini_world,
)
from tests.support.cli_runner import CliRun
from tests.support.clocks import GOLDEN_T0
from tests.support.sim_fixtures import clock_at
from tests.support.ui_fixtures import main_screen, make_rig

UNSURE_WORDS = "ended (completed or canceled: the gateway does not say)"
BUILD = {"bedrock": bedrock_world, "gemini": gemini_world}


@pytest.fixture(autouse=True)
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


class Recorded:
    """One provider's recorded world, served on loopback."""

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self.clock = ManualClock(RECORDED_AT)
        self.world: SimWorld = BUILD[provider](self.clock)
        self.url = ""


@pytest.fixture
def served(request: pytest.FixtureRequest) -> Iterator[Recorded]:
    recorded = Recorded(request.param)
    server = serve(recorded.world)
    recorded.url = server.url
    try:
        yield recorded
    finally:
        server.stop()


def listed(run: CliRun, r: Recorded) -> dict[str, Any]:
    code, out, err = run("batches", "list", "--provider", r.provider, "--json", "--url", r.url)
    assert code == 0, err
    return json.loads(out)


def by_id(payload: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {b["id"]: b for b in payload["batches"]}


def shown(run: CliRun, r: Recorded, batch_id: str, *json_flag: str) -> str:
    code, out, err = run(
        "batches", "show", batch_id, "--provider", r.provider, *json_flag, "--url", r.url
    )
    assert code == 0, err
    return out


def refuse_openai_format(world: SimWorld) -> None:
    """Every ``/openai/v1/batches`` read answered by a proxy's 502: no source tells the outcome."""
    world.faults.fail_next(502, proxy_error_body(502), path="/openai/v1/batches", times=1000)


# --------------------------------------------------------------------------- a cancel is a cancel


@pytest.mark.parametrize(
    ("served", "typed", "stored"),
    [
        ("gemini", "cancelmegem1", "batches-cancelmegem1"),
        ("bedrock", "cancelme0001", "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/"),
    ],
    indirect=["served"],
    ids=["gemini", "bedrock"],
)
def test_a_canceled_batch_is_canceled_in_the_cancel_and_in_the_next_list(
    run_cli: CliRun, served: Recorded, typed: str, stored: str
) -> None:
    r = served
    code, out, err = run_cli(
        "batches", "cancel", typed, "--provider", r.provider, "--yes", "--json", "--url", r.url
    )
    assert code == 0, err
    cancel = json.loads(out.splitlines()[0])["cancel"]
    assert cancel["outcome"] == "accepted"
    assert cancel["batch"]["state"] in ("canceling", "ended-canceled")
    batch_id = cancel["batch"]["id"]
    assert batch_id.startswith(stored) and batch_id.endswith(typed)

    r.clock.advance(AFTER_CANCEL)  # the upstream has stopped the job: the gateway says "ended"
    entry = by_id(listed(run_cli, r))[batch_id]
    assert entry["processing_status"] == "ended"
    assert entry["state"] == "ended-canceled"
    # ...and so does a re-read of that one batch.
    assert json.loads(shown(run_cli, r, typed, "--json"))["batch"]["state"] == "ended-canceled"


@pytest.mark.parametrize("served", ["gemini", "bedrock"], indirect=True)
def test_batches_that_ended_as_recorded_keep_completed_and_canceled_apart(
    run_cli: CliRun, served: Recorded
) -> None:
    states = {i.rsplit("/", 1)[-1]: b["state"] for i, b in by_id(listed(run_cli, served)).items()}
    if served.provider == "gemini":
        assert states["batches-g02succeeded"] == "ended-ok"
        assert states["batches-g04cancelled"] == "ended-canceled"
        assert states["batches-g07succeeded"] == "ended-ok"  # JOB_STATE_SUCCEEDED
    else:
        assert states["job02compxxx"] == "ended-ok"
        assert states["job05stopxxx"] == "ended-canceled"  # Stopped
        assert states["job06partxxx"] == "failed"  # PartiallyCompleted


# --------------------------------------------------------------------------- one Gemini id


@pytest.mark.parametrize("served", ["gemini"], indirect=True)
def test_a_gemini_batch_listed_and_reread_has_one_id(run_cli: CliRun, served: Recorded) -> None:
    payload = listed(run_cli, served)
    ids = [b["id"] for b in payload["batches"]]
    assert len(ids) == len(set(ids)) == len(served.world.batches("gemini"))
    assert "batches-g01running" in ids and "g01running" not in ids
    for typed in ("g01running", "batches-g01running", "batches/g01running"):
        reread = json.loads(shown(run_cli, served, typed, "--json"))["batch"]
        assert reread["id"] == "batches-g01running", typed


async def test_a_gemini_batch_listed_then_reread_by_a_cancel_is_one_row_in_the_console() -> None:
    world = gemini_world(ManualClock(RECORDED_AT))
    rig = make_rig(world=world)
    async with rig.app.run_test(size=(160, 40)) as pilot:
        app = rig.app
        await app.do_poll(deep=True)
        await pilot.pause()
        key = ("gemini", "batches-g01running")
        assert key in app.store.batches
        await app.do_cancel(key)  # the cancel echoes batches/x, its re-read says batches-x
        await app.do_poll(deep=False)
        await pilot.pause()
        gemini = sorted(i for p, i in app.store.batches if p == "gemini")
        assert len(gemini) == len(world.batches("gemini"))
        assert [i for i in gemini if i.endswith("g01running")] == ["batches-g01running"]
        table = main_screen(app).query_one(BatchTable)
        assert table.row_count == len(app.store.view())


# --------------------------------------------------------------------------- Gemini errored


@pytest.mark.parametrize("served", ["gemini"], indirect=True)
def test_gemini_errored_of_a_canceled_batch_is_not_run_or_failed(
    run_cli: CliRun, served: Recorded
) -> None:
    # g04cancelled: 14 requests, 7 succeeded, 1 failed, 6 left unrun by the cancel; the gateway
    # says 7 errored.
    batch = json.loads(shown(run_cli, served, "batches-g04cancelled", "--json"))["batch"]
    assert batch["state"] == "ended-canceled"
    assert batch["request_counts"]["errored"] is None
    assert batch["request_counts"]["succeeded"] == 7
    assert batch["not_run_or_failed"] == 7
    text = shown(run_cli, served, "batches-g04cancelled")
    assert "not run or failed" in text and "7 (errored: unknown)" in text
    assert "7 errored" not in text
    # A batch that ended completed keeps its errored count.
    done = json.loads(shown(run_cli, served, "batches-g02succeeded", "--json"))["batch"]
    assert done["request_counts"]["errored"] == 2 and done["not_run_or_failed"] is None


async def test_the_detail_screen_says_why_gemini_errored_is_unknown() -> None:
    world = gemini_world(ManualClock(RECORDED_AT))
    rig = make_rig(world=world)
    async with rig.app.run_test(size=(160, 50)) as pilot:
        app = rig.app
        await app.do_poll(deep=True)
        await pilot.pause()
        key = ("gemini", "batches-g04cancelled")
        await app.do_cancel(key)  # refused (already ended), and re-read with its counts
        await pilot.pause()
        app.open_detail(key)
        await pilot.pause()
        assert isinstance(app.screen, DetailScreen)
        text = " ".join(str(app.screen.query_one("#detail").render()).split())
        assert "errored ? (7 not run or failed)" in text
        assert "requests left unrun are counted with the real failures" in text


# --------------------------------------------------------------------------- no source tells


@pytest.mark.parametrize("served", ["gemini", "bedrock"], indirect=True)
def test_with_the_openai_format_routes_refused_the_outcome_is_unknown(
    run_cli: CliRun, served: Recorded
) -> None:
    refuse_openai_format(served.world)
    payload = listed(run_cli, served)
    states = {i.rsplit("/", 1)[-1]: b["state"] for i, b in by_id(payload).items()}
    ended = (
        ("batches-g02succeeded", "batches-g04cancelled")
        if served.provider == "gemini"
        else ("job02compxxx", "job05stopxxx")
    )
    assert [states[i] for i in ended] == ["ended-unknown", "ended-unknown"]
    if served.provider == "bedrock":
        assert "ended-ok" not in states.values()
    code, out, err = run_cli("batches", "list", "--provider", served.provider, "--url", served.url)
    assert code == 0, err
    rows = [line for line in out.splitlines() if line.split()[1].endswith(ended)]
    assert len(rows) == 2 and all("ENDED?" in row for row in rows)
    text = shown(run_cli, served, ended[0])
    assert UNSURE_WORDS in " ".join(text.split())


# --------------------------------------------------------------------------- Bedrock, no paging


@pytest.fixture
def many_bedrock() -> Iterator[tuple[SimWorld, str]]:
    world = SimWorld(clock_at(), providers=[ProviderConfig("bedrock")])
    for i in range(45):  # more than any page size the other providers use
        world.add_batch(
            "bedrock",
            created_at=GOLDEN_T0 - timedelta(minutes=45 - i),
            status="InProgress",
            total=10,
        )
    server = serve(world)
    try:
        yield world, server.url
    finally:
        server.stop()


@pytest.mark.parametrize("light", [False, True], ids=["deep", "light"])
def test_bedrock_listing_is_complete_in_one_answer(
    run_cli: CliRun, many_bedrock: tuple[SimWorld, str], light: bool
) -> None:
    world, url = many_bedrock
    flags = ("--first-page",) if light else ()
    world.clear_request_log()
    code, out, err = run_cli(
        "batches", "list", "--provider", "bedrock", "--json", *flags, "--url", url
    )
    assert code == 0, err
    payload = json.loads(out)
    (listing,) = payload["providers"]
    assert listing["listing"] == "complete" and listing["count"] == 45
    assert {b["id"] for b in payload["batches"]} == {b.id for b in world.batches("bedrock")}
    assert len(world.requests(op="batch_list")) == 1
