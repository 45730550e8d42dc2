"""ResultsReader against the recorded bodies (httpx.MockTransport) and the simulator: every shape,
the OpenAI files route and its fallback, refusals, limits, an interrupted stream, hostile text."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bifrost_tui.gateway.batch_results import (
    ResultItem,
    ResultsMeta,
    ResultsReader,
    ResultsUnsupported,
)
from bifrost_tui.gateway.client import ClientConfig, GatewayClient
from bifrost_tui.gateway.errors import (
    BadResponse,
    GatewayConfigError,
    GatewayError,
    GatewayTimeout,
    NotFound,
    RequestRejected,
    Unreachable,
)
from bifrost_tui.sim import SimTransport, SimWorld
from bifrost_tui.sim.results import HOSTILE_IDS
from tests.support.client_fakes import FakeGateway, Handler, json_response, make_client
from tests.support.sim_fixtures import clock_at

RECORDED = Path(__file__).parent.parent / "data" / "recorded" / "results"
BATCHES = "/anthropic/v1/messages/batches"
OAI_BATCH = "/openai/v1/batches/batch_up0001"
OUT_FILE = "/openai/v1/files/file-out-batch_up0001/content"
ERR_FILE = "/openai/v1/files/file-err-batch_up0001/content"


def recorded(name: str) -> httpx.Response:
    status = int((RECORDED / f"{name}.code").read_text().strip())
    body = (RECORDED / f"{name}.body").read_bytes()
    return httpx.Response(status, content=body, headers={"content-type": "application/json"})


def body_response(body: bytes, *, chunk: int | None = None) -> httpx.Response | Handler:
    """A 200 whose body comes in pieces of ``chunk`` bytes (every boundary is exercised)."""
    if chunk is None:
        return httpx.Response(200, content=body)
    size = chunk

    async def pieces() -> AsyncIterator[bytes]:
        for start in range(0, len(body), size):
            yield body[start : start + size]

    return lambda _request: httpx.Response(200, content=pieces())


async def read_all(
    gateway: FakeGateway, provider: str, batch_id: str, **options: Any
) -> tuple[list[ResultItem], ResultsMeta]:
    async with make_client(gateway, retries=0) as client:
        reader = ResultsReader(client, provider, batch_id, **options)
        items = [item async for item in reader.items()]
    return items, reader.meta


def envelope(results: Any, **extra: Any) -> bytes:
    return json.dumps({"batch_id": "b1", "results": results, **extra}).encode()


# ---- Anthropic-origin: the results route ---------------------------------------------------------


async def test_anthropic_ended_counts_and_the_lost_errors_as_recorded() -> None:
    gateway = FakeGateway().on(
        "GET", f"{BATCHES}/msgbatch_01UP0001/results", recorded("anth_ended_results")
    )
    progress: list[tuple[int, int]] = []
    items, meta = await read_all(
        gateway, "anthropic", "msgbatch_01UP0001", on_progress=lambda b, n: progress.append((b, n))
    )
    assert Counter(item.type for item in items) == {"succeeded": 99, "errored": 1, "expired": 1}
    errored = next(item for item in items if item.type == "errored")
    assert errored == ResultItem("req-00099", "errored", "error", None)
    assert meta.lost_error_details is True
    assert meta.source == "results-route"
    assert meta.items_read == 101 and not meta.has_more and not meta.truncated_at_cap
    size = (RECORDED / "anth_ended_results.body").stat().st_size
    assert meta.bytes_read == size and progress[-1] == (size, 101)
    (request,) = gateway.requests
    assert request.headers["x-model-provider"] == "anthropic"
    assert all(item.output is None for item in items)


async def test_include_output_keeps_the_succeeded_message() -> None:
    gateway = FakeGateway().on(
        "GET", f"{BATCHES}/msgbatch_01UP0001/results", recorded("anth_ended_results")
    )
    items, _ = await read_all(gateway, "anthropic", "msgbatch_01UP0001", include_output=True)
    assert items[0].output["id"] == "msg_00000"


async def test_anthropic_active_400_and_unknown_404_are_raised() -> None:
    gateway = FakeGateway().on(
        "GET", f"{BATCHES}/msgbatch_01UP0000/results", recorded("anth_active_results")
    )
    with pytest.raises(RequestRejected) as info:
        await read_all(gateway, "anthropic", "msgbatch_01UP0000")
    assert info.value.message == "Batch is not yet ended." and info.value.status == 400
    gateway.on("GET", f"{BATCHES}/msgbatch_nope/results", recorded("anth_unknown_results"))
    with pytest.raises(NotFound):
        await read_all(gateway, "anthropic", "msgbatch_nope")


async def test_results_null_is_zero_items() -> None:
    gateway = FakeGateway().on("GET", f"{BATCHES}/b1/results", body_response(envelope(None)))
    items, meta = await read_all(gateway, "anthropic", "b1")
    assert items == [] and meta.own_parse_errors == 0 and meta.notes == []


async def test_has_more_and_the_gateways_parse_errors_are_reported() -> None:
    body = envelope(
        [{"custom_id": "a", "result": {"type": "succeeded"}}],
        has_more=True,
        next_cursor="c2",
        extra_fields={"parse_errors": ["line 7: bad json", {"line": 9}]},
    )
    gateway = FakeGateway().on("GET", f"{BATCHES}/b1/results", body_response(body, chunk=5))
    items, meta = await read_all(gateway, "anthropic", "b1")
    assert [item.custom_id for item in items] == ["a"]
    assert meta.has_more is True
    assert meta.gateway_parse_errors == ["line 7: bad json", '{"line": 9}']
    assert len(gateway.requests) == 1  # has_more is never followed


async def test_jsonl_is_sniffed_and_keeps_the_providers_errors() -> None:
    raw_error = (RECORDED / "upstream_anth_errored_line.jsonl").read_bytes()
    body = b'{"custom_id": "req-1", "result": {"type": "succeeded"}}\n' + raw_error + b"not json\n"
    gateway = FakeGateway().on("GET", f"{BATCHES}/b1/results", body_response(body, chunk=3))
    items, meta = await read_all(gateway, "anthropic", "b1")
    assert items == [
        ResultItem("req-1", "succeeded"),
        ResultItem(
            "req-00099",
            "errored",
            "invalid_request_error",
            "prompt is too long: 210000 tokens > 200000 maximum",
        ),
    ]
    assert meta.own_parse_errors == 1 and meta.lost_error_details is False


async def test_an_envelope_in_small_pieces_reads_like_a_whole_one() -> None:
    whole = (RECORDED / "anth_ended_results.body").read_bytes()
    gateway = FakeGateway().on("GET", f"{BATCHES}/b1/results", body_response(whole, chunk=7))
    items, meta = await read_all(gateway, "anthropic", "b1")
    assert len(items) == 101 and meta.bytes_read == len(whole)


async def test_the_size_cap_stops_the_read_and_marks_it_truncated() -> None:
    whole = (RECORDED / "anth_ended_results.body").read_bytes()
    gateway = FakeGateway().on("GET", f"{BATCHES}/b1/results", body_response(whole, chunk=1000))
    items, meta = await read_all(gateway, "anthropic", "b1", max_bytes=5000)
    assert meta.truncated_at_cap is True and meta.bytes_read == 5000
    assert 0 < len(items) < 101


async def test_a_stream_cut_midway_raises_a_gateway_error() -> None:
    whole = (RECORDED / "anth_ended_results.body").read_bytes()

    async def cut() -> AsyncIterator[bytes]:
        yield whole[:3000]
        raise httpx.RemoteProtocolError("peer closed connection without sending complete body")

    gateway = FakeGateway().on(
        "GET", f"{BATCHES}/b1/results", lambda _r: httpx.Response(200, content=cut())
    )
    seen: list[ResultItem] = []
    with pytest.raises(Unreachable) as info:
        async with make_client(gateway, retries=0) as client:
            async for item in ResultsReader(client, "anthropic", "b1").items():
                seen.append(item)
    assert "dropped" in info.value.message and seen


async def test_a_malformed_envelope_is_a_bad_response() -> None:
    gateway = FakeGateway().on(
        "GET", f"{BATCHES}/b1/results", body_response(b'{"batch_id": "b1", "results": [1,,]}')
    )
    with pytest.raises(BadResponse):
        await read_all(gateway, "anthropic", "b1")
    gateway.on("GET", f"{BATCHES}/b2/results", body_response(b"<html>proxy</html>"))
    with pytest.raises(BadResponse) as info:
        await read_all(gateway, "anthropic", "b2")
    assert "HTML" in info.value.message


async def test_no_first_byte_in_time_is_a_timeout() -> None:
    never = asyncio.Event()

    async def stall(_request: httpx.Request) -> httpx.Response:
        await never.wait()
        raise AssertionError("unreachable")

    gateway = FakeGateway().on("GET", f"{BATCHES}/b1/results", stall)
    with pytest.raises(GatewayTimeout) as info:
        await read_all(gateway, "anthropic", "b1", first_byte_timeout=0.01)
    assert "0.01 s" in info.value.message


async def test_a_body_that_stalls_past_the_total_deadline_is_a_timeout() -> None:
    never = asyncio.Event()

    async def stalled() -> AsyncIterator[bytes]:
        yield b'{"batch_id": "b1", "results": [{"custom_id": "a", "result": {"type": "expired"}},'
        yield b" " * 16  # past the few bytes held back for an escape that may straddle pieces
        await never.wait()

    gateway = FakeGateway().on(
        "GET", f"{BATCHES}/b1/results", lambda _r: httpx.Response(200, content=stalled())
    )
    seen: list[ResultItem] = []
    with pytest.raises(GatewayTimeout) as info:
        async with make_client(gateway, retries=0) as client:
            async for item in ResultsReader(client, "anthropic", "b1", total_timeout=0.05).items():
                seen.append(item)
    assert "not complete within 0.05 s" in info.value.message
    assert seen == [ResultItem("a", "expired")]


async def test_gemini_is_refused_in_words_and_nothing_is_sent() -> None:
    gateway = FakeGateway()
    with pytest.raises(ResultsUnsupported) as info:
        await read_all(gateway, "gem", "b1", provider_kind="gemini")
    assert "gemini" in info.value.message and gateway.requests == []


# ---- hostile text ------------------------------------------------------------------------------


async def test_hostile_ids_and_messages_stay_raw() -> None:
    evil_id = "\x1b[2J\x1b[31mreq-evil\n[bold]x[/]"
    evil_message = "sk-ant-api03-" + "x" * 40 + " \x1b]8;;http://evil\x07"
    error = {"type": "t", "message": evil_message}
    items_json = [
        {"custom_id": evil_id, "result": {"type": "errored", "error": error}},
        {"custom_id": 17, "result": {"type": "weird"}},
        {"result": {"type": "canceled"}},
        "not an object",
    ]  # fmt: skip
    gateway = FakeGateway().on("GET", f"{BATCHES}/b1/results", body_response(envelope(items_json)))
    items, meta = await read_all(gateway, "anthropic", "b1")
    assert items == [
        ResultItem(evil_id, "errored", "t", evil_message),
        ResultItem("17", "unknown"),
        ResultItem(None, "canceled"),
    ]
    assert meta.own_parse_errors == 1


async def test_a_lone_surrogate_is_kept_in_jsonl_and_counted_in_an_envelope() -> None:
    line = b'{"custom_id": "req-\\ud800x", "response": {"status_code": 200}}\n'
    gateway = FakeGateway().on("GET", f"{BATCHES}/b1/results", body_response(line))
    items, meta = await read_all(gateway, "anthropic", "b1")
    assert items[0].custom_id == "req-\ud800x" and meta.own_parse_errors == 0
    pair = '"req-\\ud83d\\ude00"'
    body = (
        b'{"batch_id": "b", "results": [{"custom_id": "req-\\udc00", "result": {"type": '
        b'"succeeded"}}, {"custom_id": ' + pair.encode() + b', "result": {"type": "succeeded"}}]}'
    )
    gateway.on("GET", f"{BATCHES}/b2/results", body_response(body, chunk=4))
    items, meta = await read_all(gateway, "anthropic", "b2")
    assert items[0].custom_id == "req-\ufffd" and items[1].custom_id == "req-\U0001f600"
    assert meta.own_parse_errors == 1 and "surrogate" in meta.notes[0]


# ---- OpenAI-origin: the files route and its fallback -------------------------------------------


def openai_gateway() -> FakeGateway:
    return (
        FakeGateway()
        .on("GET", OAI_BATCH, recorded("oai_retrieve_openai_format"))
        .on("GET", OUT_FILE, recorded("oai_output_file_content"))
        .on("GET", ERR_FILE, recorded("oai_error_file_content"))
        .on("GET", f"{BATCHES}/batch_up0001/results", recorded("oai_completed_results"))
    )


async def test_openai_completed_reads_both_files() -> None:
    gateway = openai_gateway()
    items, meta = await read_all(gateway, "openai", "batch_up0001")
    assert meta.source == "openai-files" and meta.notes == []
    assert Counter(item.type for item in items) == {"succeeded": 51, "errored": 2}
    assert items[-1] == ResultItem("req-e00001", "errored", "http_400", "Invalid model", 400)
    assert gateway.calls("GET", f"{BATCHES}/batch_up0001/results") == []
    for request in gateway.requests:
        assert request.url.params["provider"] == "openai"


async def test_openai_files_refused_falls_back_to_the_results_route_with_a_note() -> None:
    gateway = openai_gateway().on(
        "GET", OUT_FILE, json_response(404, {"error": {"message": "no route"}})
    )
    items, meta = await read_all(gateway, "openai", "batch_up0001")
    assert meta.source == "results-route (files refused)"
    assert len(items) == 51 and all(item.type == "succeeded" for item in items)
    assert "2 request(s)" in meta.notes[0] and "error file" in meta.notes[0]


async def test_openai_batch_route_refused_falls_back_too() -> None:
    gateway = openai_gateway().on(
        "GET", OAI_BATCH, json_response(404, {"error": {"message": "no route"}})
    )
    items, meta = await read_all(gateway, "azure-eu", "batch_up0001", provider_kind="azure")
    assert meta.source == "results-route (files refused)" and len(items) == 51
    assert "error file are missing" in meta.notes[0]


async def test_openai_unreadable_error_file_is_said_not_hidden() -> None:
    gateway = openai_gateway().on("GET", ERR_FILE, json_response(500, {"error": "boom"}))
    items, meta = await read_all(gateway, "openai", "batch_up0001")
    assert len(items) == 51 and meta.source == "openai-files"
    assert "(2 by the batch's failed count) are missing" in meta.notes[0]


async def test_openai_active_batch_gets_the_gateways_500() -> None:
    gateway = openai_gateway().on(
        "GET", OAI_BATCH, json_response(200, {"id": "batch_up0000", "status": "in_progress"})
    )
    gateway.on("GET", f"{BATCHES}/batch_up0001/results", recorded("oai_active_results"))
    with pytest.raises(GatewayConfigError) as info:
        await read_all(gateway, "openai", "batch_up0001")
    assert "output_file_id is empty" in info.value.message


async def test_openai_unknown_batch_is_not_found() -> None:
    gateway = (
        FakeGateway()
        .on("GET", "/openai/v1/batches/batch_nope", recorded("oai_unknown_results"))
        .on("GET", f"{BATCHES}/batch_nope/results", recorded("oai_unknown_results"))
    )
    with pytest.raises(NotFound):
        await read_all(gateway, "openai", "batch_nope")


async def test_openai_error_lines_map_codes_and_unrun_requests() -> None:
    limited = {"code": "rate_limit_exceeded", "message": "slow"}
    lines = [
        {"custom_id": "a", "response": {"status_code": 429, "body": {"error": limited}}},
        {"custom_id": "b", "response": None, "error": {"code": "batch_expired", "message": "late"}},
        {"custom_id": "c", "response": None, "error": {"code": "batch_cancelled", "message": "x"}},
        {"custom_id": "d", "response": {"status_code": 500, "body": "oops"}},
    ]  # fmt: skip
    body = b"\n".join(json.dumps(line).encode() for line in lines)
    gateway = (
        FakeGateway()
        .on("GET", OAI_BATCH, json_response(200, {"id": "b", "error_file_id": "f1"}))
        .on("GET", "/openai/v1/files/f1/content", body_response(body, chunk=11))
    )
    items, _ = await read_all(gateway, "openai", "batch_up0001")
    assert [(i.type, i.error_code, i.error_message) for i in items] == [
        ("errored", "rate_limit_exceeded", "slow"),
        ("expired", "batch_expired", "late"),
        ("canceled", "batch_cancelled", "x"),
        ("errored", "http_500", None),
    ]


# ---- against the simulator ---------------------------------------------------------------------


async def _no_sleep(_seconds: float) -> None:
    return None


def sim_client(world: SimWorld) -> GatewayClient:
    config = ClientConfig(base_url="http://sim", retries=0)
    return GatewayClient(config, transport=SimTransport(world, sleep=_no_sleep))


async def test_simulator_anthropic_and_openai_with_hostile_ids() -> None:
    world = SimWorld(clock_at(), seed=3)
    world.add_batch(
        "anthropic", id="msgbatch_e", status="ended", succeeded=20, errored=4, expired=2
    )
    world.add_batch("openai", id="batch_c", status="cancelled", total=30, completed=10, failed=2)
    world.set_results("openai")
    world.set_results("anthropic", "msgbatch_e", hostile=True)
    async with sim_client(world) as client:
        reader = ResultsReader(client, "anthropic", "msgbatch_e")
        items = [item async for item in reader.items()]
        assert Counter(i.type for i in items) == {"succeeded": 20, "errored": 4, "expired": 2}
        assert reader.meta.lost_error_details is True
        ids = [item.custom_id or "" for item in items]
        assert any(cid.startswith(HOSTILE_IDS[0]) for cid in ids)  # escape sequences kept raw
        reader = ResultsReader(client, "openai", "batch_c")
        items = [item async for item in reader.items()]
    assert reader.meta.source == "openai-files"
    assert len(items) == 30
    assert Counter(i.type for i in items)["canceled"] == 18


async def test_simulator_cut_body_is_a_gateway_error() -> None:
    world = SimWorld(clock_at(), seed=3)
    world.add_batch("anthropic", id="msgbatch_e", status="ended", succeeded=200)
    world.faults.cut_body_after = 1000
    async with sim_client(world) as client:
        with pytest.raises(GatewayError):
            async for _item in ResultsReader(client, "anthropic", "msgbatch_e").items():
                pass
