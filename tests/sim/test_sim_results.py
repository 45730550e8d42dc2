"""The simulator's results route and OpenAI files route: shapes, generated items, test knobs,
streaming (in process and on loopback) and the faults."""

from __future__ import annotations

import json
import tracemalloc
from collections import Counter
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from bifrost_tui.sim import DashboardAuth, SimServer, SimTransport, SimWorld
from bifrost_tui.sim.results import CHUNK_BYTES, HOSTILE_IDS, NO_OUTPUT_FILE, NOT_ENDED
from tests.sim.test_recorded_contract import key_paths
from tests.support.sim_fixtures import DATA, call, clock_at

RESULTS_DATA = DATA / "recorded" / "results"
BATCHES = "/anthropic/v1/messages/batches"
ANTHROPIC = {"x-model-provider": "anthropic"}
OPENAI = {"x-model-provider": "openai"}


def _world(**opts: Any) -> SimWorld:
    world = SimWorld(clock_at(), seed=3, **opts)
    world.add_batch(
        "anthropic", id="msgbatch_ended", status="ended", succeeded=40, errored=6, expired=3,
        canceled=1,
    )  # fmt: skip
    world.add_batch("anthropic", id="msgbatch_running", status="in_progress", processing=9)
    world.add_batch("openai", id="batch_done", status="completed", total=30, completed=25, failed=5)
    world.add_batch(
        "openai", id="batch_cancelled", status="cancelled", total=30, completed=10, failed=2
    )
    world.add_batch("openai", id="batch_running", status="in_progress", total=30, completed=4)
    world.set_results("openai")
    return world


def _results(world: SimWorld, batch_id: str, provider: str = "anthropic") -> Any:
    answer = call(
        world, "GET", f"{BATCHES}/{batch_id}/results", headers={"x-model-provider": provider}
    )
    assert answer.status == 200, answer.content()
    return answer.json()


def _jsonl(raw: bytes) -> list[Any]:
    return [json.loads(line) for line in raw.splitlines()]


def _file(world: SimWorld, file_id: str | None) -> list[Any]:
    assert file_id is not None
    answer = call(world, "GET", f"/openai/v1/files/{file_id}/content", query="provider=openai")
    assert answer.status == 200
    assert dict(answer.headers)["content-type"] == "application/octet-stream"
    return _jsonl(answer.content())


def test_anthropic_items_follow_the_counts_and_lose_every_error() -> None:
    body = _results(_world(), "msgbatch_ended")
    assert list(body) == ["batch_id", "results", "extra_fields"]
    assert body["extra_fields"]["request_type"] == "batch_results"
    types = Counter(item["result"]["type"] for item in body["results"])
    assert types == {"succeeded": 40, "errored": 6, "expired": 3, "canceled": 1}
    errored = [i for i in body["results"] if i["result"]["type"] == "errored"]
    assert all(
        i["error"] == {"code": "error"} and i["result"] == {"type": "errored"} for i in errored
    )
    assert len({i["custom_id"] for i in body["results"]}) == 50


def test_generation_is_seeded_and_repeatable() -> None:
    first = call(_world(), "GET", f"{BATCHES}/msgbatch_ended/results", headers=ANTHROPIC)
    again = call(_world(), "GET", f"{BATCHES}/msgbatch_ended/results", headers=ANTHROPIC)
    assert first.content() == again.content() == first.content()
    other = _world()
    other.set_results("anthropic", "msgbatch_ended", seed=99)
    moved = call(other, "GET", f"{BATCHES}/msgbatch_ended/results", headers=ANTHROPIC)
    assert moved.content() != first.content()


def test_raw_jsonl_keeps_the_errors_as_the_provider_sent_them() -> None:
    world = _world()
    world.set_results("anthropic", "msgbatch_ended", raw_jsonl=True)
    answer = call(world, "GET", f"{BATCHES}/msgbatch_ended/results", headers=ANTHROPIC)
    lines = _jsonl(answer.content())
    assert len(lines) == 50
    errored = [line for line in lines if line["result"]["type"] == "errored"]
    upstream = _jsonl((RESULTS_DATA / "upstream_anth_errored_line.jsonl").read_bytes())
    assert key_paths(errored) == key_paths(upstream)
    assert all(line["result"]["error"]["error"]["message"] for line in errored)


def test_parse_errors_drop_duplicates_missing_ids_and_has_more() -> None:
    world = _world()
    world.set_results(
        "anthropic", "msgbatch_ended", parse_errors=2, drop=3, duplicates=4, missing_ids=1,
        has_more=True,
    )  # fmt: skip
    body = _results(world, "msgbatch_ended")
    assert len(body["results"]) == 50 - 3 + 4 - 2
    assert len(body["extra_fields"]["parse_errors"]) == 2
    assert body["has_more"] is True and body["next_cursor"]
    assert "custom_id" not in body["results"][0]
    ids = Counter(i.get("custom_id") for i in body["results"])
    # The gateway could not parse the last two (repeats): the id-less one and one id come twice.
    assert sorted(n for n in ids.values() if n > 1) == [2, 2] and ids[None] == 2


def test_zero_items_is_null_as_go_encodes_an_empty_slice() -> None:
    world = _world()
    world.add_batch("anthropic", id="msgbatch_empty", status="ended", canceled=2)
    world.set_results("anthropic", "msgbatch_empty", drop=2)
    assert _results(world, "msgbatch_empty")["results"] is None


def test_hostile_ids_and_messages_reach_the_client_unchanged() -> None:
    world = _world()
    world.set_results("anthropic", "msgbatch_ended", raw_jsonl=True, hostile=True)
    lines = _jsonl(
        call(world, "GET", f"{BATCHES}/msgbatch_ended/results", headers=ANTHROPIC).content()
    )
    ids = [line["custom_id"] for line in lines]
    assert any(i.startswith(HOSTILE_IDS[0]) for i in ids)
    assert any("\n" in i for i in ids)


def test_refusals_active_no_output_file_unknown_and_unsupported() -> None:
    world = _world()
    active = call(world, "GET", f"{BATCHES}/msgbatch_running/results", headers=ANTHROPIC)
    assert (active.status, active.json()["error"]) == (
        400,
        {"type": "invalid_request_error", "message": NOT_ENDED},
    )
    running = call(world, "GET", f"{BATCHES}/batch_running/results", headers=OPENAI)
    assert (running.status, running.json()["error"]) == (
        500,
        {"type": "api_error", "message": NO_OUTPUT_FILE},
    )
    for provider in ("anthropic", "openai"):
        unknown = call(
            world, "GET", f"{BATCHES}/nope/results", headers={"x-model-provider": provider}
        )
        assert unknown.status == 404
    world.add_batch("bedrock", id="job1", status="Completed", succeeded=1)
    bedrock = call(world, "GET", f"{BATCHES}/job1/results", headers={"x-model-provider": "bedrock"})
    assert bedrock.status == 501


def test_openai_results_route_reads_only_the_output_file() -> None:
    world = _world()
    body = _results(world, "batch_done", "openai")
    assert len(body["results"]) == 25
    assert {i["response"]["status_code"] for i in body["results"]} == {200}


def test_openai_files_hold_the_failures_and_the_requests_a_cancel_left_unrun() -> None:
    world = _world()
    retrieved = call(
        world, "GET", "/openai/v1/batches/batch_cancelled", query="provider=openai"
    ).json()
    output = _file(world, retrieved["output_file_id"])
    errors = _file(world, retrieved["error_file_id"])
    assert len(output) == 10 and {line["response"]["status_code"] for line in output} == {200}
    failed = [line for line in errors if line["response"] is not None]
    unrun = [line for line in errors if line["response"] is None]
    assert len(failed) == 2 and all(line["response"]["body"]["error"]["message"] for line in failed)
    assert len(unrun) == 18 and {line["error"]["code"] for line in unrun} == {"batch_cancelled"}
    ids = [line["custom_id"] for line in output + errors]
    assert len(set(ids)) == 30
    missing = call(world, "GET", "/openai/v1/files/file-nope/content", query="provider=openai")
    assert missing.status == 404 and missing.json()["error"]["type"] == "invalid_request_error"


def test_auth_and_virtual_keys_guard_the_new_routes() -> None:
    auth = DashboardAuth("admin", SecretStr("pw"), on_inference=True)
    world = _world(dashboard_auth=auth)
    assert call(world, "GET", f"{BATCHES}/msgbatch_ended/results", headers=ANTHROPIC).status == 401
    world = _world(require_virtual_key=True, virtual_keys=["sk-bf-ok"])
    path = "/openai/v1/files/x/content"
    assert call(world, "GET", path, query="provider=openai").status == 401
    good = call(
        world,
        "GET",
        f"{BATCHES}/msgbatch_ended/results",
        headers={**ANTHROPIC, "x-bf-vk": "sk-bf-ok"},
    )
    assert good.status == 200


def _large_world() -> SimWorld:
    world = SimWorld(clock_at(), seed=5)
    world.add_batch(
        "anthropic", id="msgbatch_large", status="ended", succeeded=29_000, errored=600,
        expired=250, canceled=150,
    )  # fmt: skip
    world.set_results("anthropic", "msgbatch_large", text_bytes=700)
    return world


def test_a_large_results_set_is_written_in_chunks_never_held_whole() -> None:
    answer = call(_large_world(), "GET", f"{BATCHES}/msgbatch_large/results", headers=ANTHROPIC)
    assert answer.body == b"" and answer.stream is not None
    tracemalloc.start()
    try:
        total = biggest = items = 0
        for chunk in answer.stream:
            total += len(chunk)
            biggest = max(biggest, len(chunk))
            items += chunk.count(b'"custom_id"')
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert items == 30_000
    assert total > 20_000_000
    assert biggest < 2 * CHUNK_BYTES
    assert peak < 5_000_000


async def test_streamed_in_process_and_cut_mid_body() -> None:
    world = _world()
    transport = SimTransport(world, sleep=_no_sleep)
    async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
        response = await client.get(f"{BATCHES}/msgbatch_ended/results", headers=ANTHROPIC)
        assert len(response.json()["results"]) == 50
        world.faults.cut_body_after = 100
        async with client.stream(
            "GET", f"{BATCHES}/msgbatch_ended/results", headers=ANTHROPIC
        ) as streamed:
            got = b""
            with pytest.raises(httpx.RemoteProtocolError):
                async for chunk in streamed.aiter_bytes():
                    got += chunk
        assert len(got) == 100


async def _no_sleep(_seconds: float) -> None:
    return None


async def test_latency_and_a_dropped_answer_apply_to_results() -> None:
    world = _world()
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    async with httpx.AsyncClient(
        transport=SimTransport(world, sleep=sleep), base_url="http://sim"
    ) as client:
        world.faults.latency = 2.0
        assert (
            await client.get(f"{BATCHES}/msgbatch_ended/results", headers=ANTHROPIC)
        ).status_code == 200
        assert slept == [2.0]
        world.faults.drop_next(method="GET", path="/results")
        with pytest.raises(httpx.RemoteProtocolError):
            await client.get(f"{BATCHES}/msgbatch_ended/results", headers=ANTHROPIC)
        world.faults.latency = 0.0
        world.faults.malformed_json = True
        broken = await client.get(f"{BATCHES}/msgbatch_ended/results", headers=ANTHROPIC)
        with pytest.raises(ValueError):
            broken.json()
        world.faults.malformed_json = False
        world.faults.error_rate = 1.0
        proxied = await client.get(f"{BATCHES}/msgbatch_ended/results", headers=ANTHROPIC)
        assert proxied.status_code in (500, 502, 503)


def test_on_loopback_the_body_is_chunked_and_a_cut_drops_the_connection() -> None:
    world = _world()
    with SimServer(world) as server, httpx.Client(base_url=server.url, timeout=10) as client:
        response = client.get(f"{BATCHES}/msgbatch_ended/results", headers=ANTHROPIC)
        assert response.headers["transfer-encoding"] == "chunked"
        assert len(response.json()["results"]) == 50
        error_file = client.get(
            "/openai/v1/batches/batch_done", params={"provider": "openai"}
        ).json()["error_file_id"]
        lines = client.get(f"/openai/v1/files/{error_file}/content", params={"provider": "openai"})
        assert len(_jsonl(lines.content)) == 5
        world.faults.cut_body_after = 500
        with pytest.raises(httpx.RemoteProtocolError):
            client.get(f"{BATCHES}/msgbatch_ended/results", headers=ANTHROPIC)
        world.faults.cut_body_after = None
        assert client.get("/health").status_code == 200


def test_a_cancel_played_forward_leaves_the_unrun_requests_in_the_error_file() -> None:
    clock = clock_at()
    world = SimWorld(clock, seed=4, cancel_delay=20)
    batch = world.create_batch("openai", total=40, duration=1000, start_delay=0, error_ratio=0.0)
    clock.advance(500)
    assert world.cancel(batch) == "cancelling"
    clock.advance(60)
    world.advance()
    assert batch.phase.value == "cancelled" and batch.error_file_id is not None
    unrun = [line for line in _file(world, batch.error_file_id) if line["response"] is None]
    assert len(unrun) == batch.counts.processing > 0
    assert {line["error"]["code"] for line in unrun} == {"batch_cancelled"}
