"""Contract: the results requests a real Bifrost v1.5.1 gateway answered
(``tests/data/recorded/results``) replayed against the simulator holding the same batches.

Compared as in ``test_recorded_contract``: the status, the error envelope and the set of key paths
of the body (a JSONL body: the key paths of all its lines). Ids, times and the stand-in upstream's
own words are not compared.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from bifrost_tui.clock import ManualClock
from bifrost_tui.sim import KeyConfig, ProviderConfig, SimWorld
from tests.sim.test_recorded_contract import RECORDED, RECORDED_AT, envelope, key_paths
from tests.support.sim_fixtures import call

RESULTS = RECORDED / "results"


def _index() -> list[tuple[str, str, str, str, dict[str, str], int]]:
    """``INDEX.txt``: ``NAME  METHOD PATH[?QUERY]  [x-model-provider: P] -> STATUS``."""
    rows = []
    for line in (RESULTS / "INDEX.txt").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        head, _, status = line.rpartition("->")
        parts = head.split()
        headers = {}
        if "x-model-provider:" in parts:
            headers["x-model-provider"] = parts[parts.index("x-model-provider:") + 1]
        path, _, query = parts[2].partition("?")
        rows.append((parts[0], parts[1], path, query, headers, int(status)))
    return rows


def results_world(clock: ManualClock) -> SimWorld:
    """The stand-in upstream's batches the recording read: an ended and an active batch each."""
    providers = [
        ProviderConfig(name, keys=[KeyConfig(f"{name}-0", id=f"{name}-key-0")])
        for name in ("anthropic", "openai")
    ]
    world = SimWorld(clock, providers=providers)
    world.add_batch("anthropic", id="msgbatch_01UP0000", status="in_progress", processing=20)
    world.add_batch(
        "anthropic",
        id="msgbatch_01UP0001",
        status="ended",
        succeeded=99,
        errored=1,
        expired=1,
        ended_at=1796137637,
    )
    world.add_batch("openai", id="batch_up0000", status="in_progress", total=20, completed=3)
    retrieve = json.loads((RESULTS / "oai_retrieve_openai_format.body").read_bytes())
    counts = retrieve["request_counts"]
    world.add_batch(
        "openai",
        id=retrieve["id"],
        status=retrieve["status"],
        total=counts["total"],
        completed=counts["completed"],
        failed=counts["failed"],
        created_at=retrieve["created_at"],
        expires_at=retrieve["expires_at"],
        in_progress_at=retrieve["in_progress_at"],
        completed_at=retrieve["completed_at"],
        input_file_id=retrieve["input_file_id"],
        output_file_id=retrieve["output_file_id"],
        error_file_id=retrieve["error_file_id"],
    )
    return world


def _parse(raw: bytes) -> Any:
    """A JSON body, or a JSONL one as the list of its lines."""
    try:
        return json.loads(raw)
    except ValueError:
        return [json.loads(line) for line in raw.splitlines() if line.strip()]


ROWS = _index()


@pytest.mark.parametrize(("name", "method", "path", "query", "headers", "status"), ROWS)
def test_the_simulator_serves_results_as_the_recorded_gateway(
    name: str, method: str, path: str, query: str, headers: dict[str, str], status: int
) -> None:
    world = results_world(ManualClock(RECORDED_AT))
    answer = call(world, method, path, query=query, headers=headers)
    recorded_status = int((RESULTS / f"{name}.code").read_text().strip())
    assert recorded_status == status
    assert answer.status == status
    body = _parse((RESULTS / f"{name}.body").read_bytes())
    got = _parse(answer.content())
    assert type(got) is type(body)
    assert envelope(got) == envelope(body)
    assert (key_paths(body) - key_paths(got), key_paths(got) - key_paths(body)) == (set(), set())
    recorded_type = _header(name, "content-type")
    assert dict(answer.headers)["content-type"] == recorded_type


def _header(name: str, wanted: str) -> str:
    for line in (RESULTS / f"{name}.hdr").read_text(encoding="utf-8").splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() == wanted:
            return value.strip()
    raise AssertionError(f"{name}: no {wanted} header")


def test_the_item_counts_match_the_recording() -> None:
    """Anthropic: every request, errored ones with the lost error; OpenAI: the output file's
    lines only, and both files in full through the files route."""
    world = results_world(ManualClock(RECORDED_AT))
    for name, method, path, query, headers, _ in ROWS:
        recorded = _parse((RESULTS / f"{name}.body").read_bytes())
        got = _parse(call(world, method, path, query=query, headers=headers).content())
        if isinstance(recorded, dict) and "results" in recorded:
            assert len(got["results"]) == len(recorded["results"]), name
            lost = [i for i in got["results"] if "error" in i]
            assert all(i["error"] == {"code": "error"} for i in lost)
            assert len(lost) == sum(1 for i in recorded["results"] if "error" in i)
        elif isinstance(recorded, list):
            assert len(got) == len(recorded), name


def test_every_recorded_results_request_is_replayed() -> None:
    names = {row[0] for row in ROWS}
    stems = {p.name.split(".")[0] for p in RESULTS.iterdir() if p.suffix in (".body", ".code")}
    assert stems == names
    assert (RESULTS / "upstream_anth_errored_line.jsonl").is_file()
