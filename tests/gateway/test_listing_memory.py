"""Memory under the size cap: a list page is read item by item (ijson) and no further than
``MAX_PAGE_ITEMS`` items; a provider keeps at most ``MAX_PROVIDER_BATCHES`` batches. Beyond either
the listing is ``partial`` and says "newest N shown". The streamed reading means what the standard
parser's reading meant, on the recorded answers of a real gateway and on hostile bodies.

Against a fake gateway (exact bytes), the simulator in process (SimTransport) and, for the CLI, on
loopback.
"""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import ijson  # type: ignore[import-untyped]
import pytest

from bifrost_tui.cli import main
from bifrost_tui.clock import ManualClock
from bifrost_tui.gateway import listing as listing_module
from bifrost_tui.gateway import pages as pages_module
from bifrost_tui.gateway.client import ClientConfig, GatewayClient
from bifrost_tui.gateway.counts import Source
from bifrost_tui.gateway.errors import BadResponse
from bifrost_tui.gateway.list_wire import parse_list_page
from bifrost_tui.gateway.listing import MAX_PAGE_ITEMS, MAX_PROVIDER_BATCHES
from bifrost_tui.gateway.models import Batch
from bifrost_tui.gateway.outcomes import ListingStatus
from bifrost_tui.gateway.pages import ListPage, read_list_page
from bifrost_tui.gateway.reply import Reply, decode_json
from bifrost_tui.sim import ProviderConfig, SimTransport, SimWorld
from bifrost_tui.sim.server import serve
from tests.support.client_fakes import FakeGateway, json_response, make_client, openai_batch_json
from tests.support.clocks import T0, no_sleep

RECORDED = Path(__file__).resolve().parent.parent / "data" / "recorded"
DEEP = "/openai/v1/batches"


def reply_of(body: bytes, status: int = 200) -> Reply:
    return Reply(status, httpx.Headers({"content-type": "application/json"}), body, DEEP)


def from_openai(item: Any) -> Batch:
    return Batch.from_openai(item, provider="openai", provider_kind="openai")


def from_anthropic(item: Any) -> Batch:
    return Batch.from_anthropic(item, provider="anthropic", source=Source.LIST)


def old_read(body: bytes, parse: Any) -> tuple[list[Batch], list[dict[str, Any]], int, bool, Any]:
    """How a page was read before: the whole body parsed, then every item."""
    wire = parse_list_page(decode_json(reply_of(body)))
    batches, skipped = [], 0
    for item in wire.data:
        try:
            batches.append(parse(item))
        except (ValueError, TypeError, OverflowError):
            skipped += 1
    return batches, [b.raw for b in batches], skipped, wire.has_more, wire.next_cursor


def summary(page: ListPage) -> tuple[list[Batch], list[dict[str, Any]], int, bool, Any]:
    return (
        page.batches,
        [b.raw for b in page.batches],
        page.skipped,
        page.has_more,
        page.next_cursor,
    )


def recorded_list_bodies() -> list[Path]:
    out = []
    for body in sorted(RECORDED.glob("*/*.body")):
        code = body.with_suffix(".code")
        if code.exists() and code.read_text().strip() == "200":
            text = body.read_bytes()
            if text.lstrip().startswith(b"{") and b'"data"' in text:
                out.append(body)
    return out


def test_the_c_backend_is_the_one_in_use() -> None:
    assert ijson.backend == "yajl2_c"


@pytest.mark.parametrize("path", recorded_list_bodies(), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_the_streamed_reading_agrees_with_the_old_one_on_the_recorded_listings(path: Path) -> None:
    body = path.read_bytes()
    if isinstance(json.loads(body).get("data"), list) is False:
        pytest.skip("not a list page")
    for parse in (from_openai, from_anthropic):
        for exact_strings in (False, True):  # the C backend, and the pure-Python one
            streamed = pages_module._stream_page(
                body, parse, MAX_PAGE_ITEMS, exact_strings=exact_strings
            )
            assert summary(streamed) == old_read(body, parse)
        assert summary(read_list_page(reply_of(body), parse, MAX_PAGE_ITEMS)) == old_read(
            body, parse
        )


def test_recorded_listings_include_both_shapes() -> None:
    names = {p.stem for p in recorded_list_bodies()}
    assert {"list_anth", "list_oai", "oaiapi_list_oai5", "oaiapi_list_anth5"} <= names


@pytest.mark.parametrize(
    "body",
    [
        # not strict JSON, or read differently by the streaming parser: the standard one decides
        b'{"data": [{"id": "b1", "x": NaN}, {"id": "b2", "created_at": Infinity}]}',
        b'{"data": [{"id": "b1", "n": 1e400}], "has_more": true, "next_cursor": "c"}',
        b'{"data": [{"id": "msgbatch_\\ud800sur"}, {"id": "ok"}]}',
        b'\xef\xbb\xbf{"data": [{"id": "b1"}]}',
        '{"data": [{"id": "b1"}]}'.encode("utf-16"),
        b'{"data": [{"id": "b1", "deep": ' + b"[" * 600 + b"]" * 600 + b"}]}",
        # hostile shapes and values
        b'{"data": [{"id": "b1"}, 3, null, "x", [], {"id": ""}, {"id": 7}], "has_more": 1}',
        b'{"data": [{"id": "b1"}], "data": [{"id": "b2"}], "has_more": "yes", "next_cursor": ""}',
        b'{"has_more": true, "next_cursor": {"a": [1]}, "extra": [[{}]], "data": [{"id": "b"}]}',
        b'{"data": [{"id": "a", "id": "b", "request_counts": {"total": 1e308}}]}',
        b'{"data": [{"id": "b1", "n": 123456789012345678901234567890, "f": -0.0, "e": 1E5}]}',
        b' \n{"data": []}\n ',
    ],
)
def test_hostile_bodies_read_as_before(body: bytes) -> None:
    page = read_list_page(reply_of(body), from_openai, MAX_PAGE_ITEMS)
    assert summary(page) == old_read(body, from_openai)
    assert page.items == page.skipped + len(page.batches)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"   ",
        b'{"data": [{"id": "b1"}',
        b'{"data": [{"id": "b1"}]} trailing',
        b"<html><title>502 Bad Gateway</title></html>",
        b'[{"id": "b1"}]',
        b'"data"',
        b"42",
        b"null",
        b'{"data": {"id": "b1"}}',
        b'{"data": [], "data": 3}',
        b'{"items": []}',
        b'[{}, {}, {}, {"id": "b1"}',
        b"\xff\xfe\x00garbage",
    ],
)
def test_bad_bodies_fail_as_before(body: bytes) -> None:
    def outcome(read: Any) -> tuple[type, str]:
        try:
            read()
        except BadResponse as exc:
            return BadResponse, str(exc)
        except ValueError as exc:
            return ValueError, str(exc)
        raise AssertionError("no error")

    new = outcome(lambda: read_list_page(reply_of(body), from_openai, MAX_PAGE_ITEMS))
    old = outcome(lambda: old_read(body, from_openai))
    assert new == old


def test_reading_stops_at_the_cap_and_never_reads_the_rest() -> None:
    items = ",".join(json.dumps(openai_batch_json(f"b{i}")) for i in range(10))
    # The rest of the body is not even JSON: it is never read.
    body = ('{"data": [' + items + ", {broken").encode()
    page = read_list_page(reply_of(body), from_openai, 5)
    assert [b.id for b in page.batches] == ["b0", "b1", "b2", "b3", "b4"]
    assert page.truncated and page.items == 5


def page_body(ids: range, **extra: Any) -> bytes:
    return json.dumps({"data": [openai_batch_json(f"b{i}") for i in ids], **extra}).encode()


async def test_a_page_of_10001_items_keeps_10000_and_is_partial() -> None:
    assert MAX_PAGE_ITEMS == 10_000
    gateway = FakeGateway()
    body = page_body(range(MAX_PAGE_ITEMS + 1), has_more=False)
    gateway.on("GET", DEEP, httpx.Response(200, content=body))
    async with make_client(gateway) as client:
        listing = await client.list_batches("openai", deep=True)
    assert listing.status is ListingStatus.PARTIAL
    assert len(listing.batches) == 10_000
    assert listing.batches[0].id == "b0" and listing.batches[-1].id == "b9999"
    assert listing.missing is not None
    assert "more than 10,000 batches" in listing.missing
    assert "newest 10,000 shown" in listing.missing


async def test_a_page_of_exactly_the_cap_is_complete() -> None:
    gateway = FakeGateway()
    gateway.on("GET", DEEP, httpx.Response(200, content=page_body(range(50))))
    async with make_client(gateway) as client:
        listing = await client.list_batches("openai", deep=True)
    assert listing.status is ListingStatus.COMPLETE and len(listing.batches) == 50


async def test_a_provider_beyond_its_cap_is_partial_newest_shown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert MAX_PROVIDER_BATCHES == 100_000
    monkeypatch.setattr(listing_module, "MAX_PROVIDER_BATCHES", 250)
    gateway = FakeGateway()
    pages = [
        json_response(
            200,
            {
                "data": [openai_batch_json(f"b{i}") for i in range(n * 100, n * 100 + 100)],
                "has_more": True,
                "next_cursor": base64.b64encode(f'{{"v":1,"i":0,"c":"c{n}"}}'.encode()).decode(),
            },
        )
        for n in range(5)
    ]
    gateway.on("GET", DEEP, *pages)
    async with make_client(gateway) as client:
        listing = await client.list_batches("openai", deep=True)
    assert listing.status is ListingStatus.PARTIAL
    assert [b.id for b in listing.batches] == [f"b{i}" for i in range(250)]
    assert listing.missing is not None and "newest 250 shown" in listing.missing
    assert len(gateway.calls("GET", DEEP)) == 3  # stopped paging once past the cap


# --------------------------------------------------------------------------- the simulator


def world_with(provider: str, n: int) -> SimWorld:
    world = SimWorld(ManualClock(T0), providers=[ProviderConfig(provider)])
    for i in range(n):
        world.add_batch(
            provider, status="in_progress", total=10, created_at=T0 - timedelta(minutes=n - i)
        )
    return world


def client_for(world: SimWorld) -> GatewayClient:
    return GatewayClient(
        ClientConfig(base_url="http://127.0.0.1:8080"),
        transport=SimTransport(world, sleep=no_sleep),
        sleep=no_sleep,
    )


def newest_ids(world: SimWorld, provider: str, n: int) -> list[str]:
    batches = sorted(world.batches(provider), key=lambda b: b.created_at, reverse=True)
    return [b.id for b in batches[:n]]


async def test_the_simulators_big_page_is_cut_at_the_page_cap(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(listing_module, "MAX_PAGE_ITEMS", 30)
    world = world_with("anthropic", 60)
    async with client_for(world) as client:
        listing = await client.list_batches("anthropic", deep=True)
    assert listing.status is ListingStatus.PARTIAL
    assert listing.missing is not None
    assert "more than 30 batches" in listing.missing and "newest 30 shown" in listing.missing
    assert [b.id for b in listing.batches] == newest_ids(world, "anthropic", 30)


async def test_the_simulators_provider_beyond_its_cap_is_partial(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(listing_module, "MAX_PROVIDER_BATCHES", 150)
    world = world_with("openai", 260)
    async with client_for(world) as client:
        listing = await client.list_batches("openai", deep=True)
    assert listing.status is ListingStatus.PARTIAL
    assert listing.missing is not None and "newest 150 shown" in listing.missing
    assert [b.id for b in listing.batches] == newest_ids(world, "openai", 150)


def test_batches_list_says_newest_shown(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setattr(listing_module, "MAX_PROVIDER_BATCHES", 150)
    world = world_with("openai", 260)
    server = serve(world)
    try:
        code_text = main(["batches", "list", "--url", server.url])
        text_out, text_err = capsys.readouterr()
        code_json = main(["batches", "list", "--url", server.url, "--json"])
        out, _ = capsys.readouterr()
    finally:
        server.stop()
    assert code_text == code_json == 4  # partial
    assert "newest 150 shown" in text_out + text_err
    provider = {p["name"]: p for p in json.loads(out)["providers"]}["openai"]
    assert provider["listing"] == "partial" and "newest 150 shown" in provider["missing"]
    assert provider["count"] == 150


def test_a_lone_surrogate_id_is_kept_exactly_and_the_page_still_stops_at_the_cap() -> None:
    items = [{"id": "msgbatch_\ud800sur", "processing_status": "in_progress"}] + [
        {"id": f"msgbatch_{i}", "processing_status": "in_progress"} for i in range(20)
    ]
    body = ('{"data": [' + ", ".join(json.dumps(i) for i in items) + "]}").encode()
    assert b"\\ud800" in body
    page = read_list_page(reply_of(body), from_anthropic, 5)
    assert page.truncated and page.items == 5
    assert page.batches[0].id == "msgbatch_\ud800sur"
