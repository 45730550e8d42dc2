"""Listing one key's batches through the passthrough prefixes, pinned, and merging the keys."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from bifrost_tui.gateway.discovery import REASON_NO_BATCH_KEY, BatchKey, KeysRead
from bifrost_tui.gateway.errors import NotFound
from bifrost_tui.gateway.models import Batch
from bifrost_tui.gateway.outcomes import ListingStatus, ProviderListing
from bifrost_tui.gateway.passthrough import (
    PIN_HEADER,
    KeyListing,
    merge_keys,
)
from tests.support.client_fakes import FakeGateway, json_response, make_client

RECORDED = Path(__file__).parents[1] / "data" / "recorded" / "passthrough"
ANTH = "/anthropic_passthrough/v1/messages/batches"
OAI = "/openai_passthrough/v1/batches"
KEY_A = BatchKey("953eb239-75ec-4a6b-a672-92dd0c50932f", "anth-batch")
KEY_B = BatchKey("66d19ed8-bac7-4bcb-9e35-35ea55629346", "anth-batch-2")


def recorded(name: str) -> httpx.Response:
    status = int((RECORDED / f"{name}.code").read_text().strip())
    body = (RECORDED / f"{name}.body").read_bytes()
    return httpx.Response(status, content=body, headers={"content-type": "application/json"})


def recorded_json(name: str) -> Any:
    return json.loads((RECORDED / f"{name}.body").read_bytes())


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def anth_item(batch_id: str) -> dict[str, Any]:
    return {
        "id": batch_id,
        "type": "message_batch",
        "processing_status": "in_progress",
        "request_counts": {"processing": 1, "succeeded": 0, "errored": 0},
        "created_at": "2026-12-01T14:43:30Z",
        "expires_at": "2026-12-02T14:43:30Z",
        "ended_at": None,
        "archived_at": None,
        "cancel_initiated_at": None,
        "results_url": None,
    }


def anth_page(ids: list[str], has_more: bool) -> httpx.Response:
    body = {
        "data": [anth_item(i) for i in ids],
        "has_more": has_more,
        "first_id": ids[0] if ids else None,
        "last_id": ids[-1] if ids else None,
    }
    return json_response(200, body)


def recorded_pages(request: httpx.Request) -> httpx.Response:
    """The recorded three-page walk, served by ``after_id``."""
    after = request.url.params.get("after_id")
    name = {
        None: "list_page1_limit100",
        "msgbatch_01UP0098": "list_page2_after",
        "msgbatch_01UP0198": "list_last_page",
    }.get(after)
    if name is None:
        return json_response(400, {"error": "unexpected cursor"})
    return recorded(name)


# --------------------------------------------------------------------------- walking to the end


def test_walks_the_recorded_anthropic_pages_to_the_end_pinned_with_the_largest_page() -> None:
    gw = FakeGateway().on("GET", ANTH, recorded_pages)
    listing = run(make_client(gw).list_pinned("anthropic", KEY_B))
    assert listing.status is ListingStatus.COMPLETE and listing.missing is None
    assert len(listing.batches) == 251 and listing.pages == 3 and listing.requests == 3
    assert listing.refused is None and listing.error is None
    calls = gw.calls("GET", ANTH)
    assert [c.url.params.get("after_id") for c in calls] == [
        None,
        "msgbatch_01UP0098",
        "msgbatch_01UP0198",
    ]
    assert {c.url.params["limit"] for c in calls} == {"1000"}
    assert all(c.headers[PIN_HEADER] == KEY_B.id for c in calls)
    assert all(b.listed_by == ("anth-batch-2",) for b in listing.batches)
    ended = next(b for b in listing.batches if b.id == "msgbatch_01UP0199")
    assert ended.ended_at is not None and ended.results_url is not None


def test_walks_openai_pages_with_after_and_a_hundred_per_page() -> None:
    first = recorded_json("openai_list_after")
    last = {"object": "list", "data": first["data"][:1], "has_more": False}
    last["data"] = [{**first["data"][0], "id": "batch_tail"}]

    def pages(request: httpx.Request) -> httpx.Response:
        after = request.url.params.get("after")
        return json_response(200, first if after is None else last)

    gw = FakeGateway().on("GET", OAI, pages)
    listing = run(make_client(gw).list_pinned("openai", KEY_A))
    assert listing.status is ListingStatus.COMPLETE and len(listing.batches) == 101
    calls = gw.calls("GET", OAI)
    assert [c.url.params.get("after") for c in calls] == [None, "batch_up0198"]
    assert {c.url.params["limit"] for c in calls} == {"100"}
    assert all(c.headers[PIN_HEADER] == KEY_A.id for c in calls)
    completed = [b for b in listing.batches if b.native_status == "completed"]
    assert completed and all(b.listed_by == ("anth-batch",) for b in listing.batches)


def test_on_page_sees_each_page_as_it_is_read() -> None:
    gw = FakeGateway().on("GET", ANTH, recorded_pages)
    seen: list[int] = []
    run(make_client(gw).list_pinned("anthropic", KEY_A, on_page=lambda b: seen.append(len(b))))
    assert seen == [100, 100, 51]


# --------------------------------------------------------------------------- guards and the cap


def test_a_page_that_adds_no_new_id_stops_the_walk_partial() -> None:
    gw = FakeGateway().on(
        "GET", ANTH, anth_page(["msgbatch_1", "msgbatch_2"], True), anth_page(["msgbatch_2"], True)
    )
    listing = run(make_client(gw).list_pinned("anthropic", KEY_A))
    assert listing.status is ListingStatus.PARTIAL and len(gw.calls("GET", ANTH)) == 2
    assert listing.missing == "key anth-batch: stopped paging, a page repeated batches already seen"


def test_a_cursor_that_repeats_stops_the_walk_partial() -> None:
    # Each page brings a new id but ends on the same last id: the cursor goes round.
    gw = FakeGateway().on(
        "GET",
        ANTH,
        anth_page(["msgbatch_1", "msgbatch_9"], True),
        anth_page(["msgbatch_2", "msgbatch_9"], True),
        anth_page(["msgbatch_3", "msgbatch_9"], True),
    )
    listing = run(make_client(gw).list_pinned("anthropic", KEY_A))
    assert listing.status is ListingStatus.PARTIAL and listing.pages == 2
    assert listing.missing == "key anth-batch: stopped paging, the cursor went round in circles"


def test_the_page_cap_per_key_makes_the_listing_partial_with_the_reason() -> None:
    counter = iter(range(10_000))

    def endless(request: httpx.Request) -> httpx.Response:
        return anth_page([f"msgbatch_{next(counter)}" for _ in range(3)], True)

    gw = FakeGateway().on("GET", ANTH, endless)
    listing = run(make_client(gw).list_pinned("anthropic", KEY_A, max_pages=4))
    assert listing.status is ListingStatus.PARTIAL and listing.pages == 4
    assert len(gw.calls("GET", ANTH)) == 4 and len(listing.batches) == 12
    assert listing.missing == (
        "key anth-batch: stopped after 4 pages (12 batches); older batches are not shown"
    )


def test_has_more_on_an_empty_page_is_partial_not_a_loop() -> None:
    gw = FakeGateway().on("GET", ANTH, anth_page([], True))
    listing = run(make_client(gw).list_pinned("anthropic", KEY_A))
    assert listing.status is ListingStatus.PARTIAL and listing.requests == 1
    assert "gave no page to follow" in (listing.missing or "")


def test_a_failure_after_the_first_page_keeps_what_was_read() -> None:
    gw = FakeGateway().on(
        "GET",
        ANTH,
        anth_page(["msgbatch_1"], True),
        json_response(400, {"type": "error", "error": {"message": "bad cursor"}}),
    )
    listing = run(make_client(gw).list_pinned("anthropic", KEY_A))
    assert listing.status is ListingStatus.PARTIAL and [b.id for b in listing.batches] == [
        "msgbatch_1"
    ]
    assert listing.refused is None
    assert (listing.missing or "").startswith("key anth-batch: listing failed after 1 page(s)")


# --------------------------------------------------------------------------- refusals returned


@pytest.mark.parametrize(
    ("name", "path", "words"),
    [
        ("no_such_route", ANTH, "passthrough refused (404 invalid_request_error)"),
        ("gov_provider_blocked", OAI, "passthrough refused (403 provider_blocked)"),
        ("gov_no_vk", ANTH, "passthrough refused (401 virtual_key_required)"),
        ("gov_bad_vk", ANTH, "passthrough refused (401 virtual_key_not_found)"),
    ],
)
def test_a_refused_route_is_returned_not_raised(name: str, path: str, words: str) -> None:
    gw = FakeGateway().on("GET", path, recorded(name))
    kind = "openai" if path == OAI else "anthropic"
    listing = run(make_client(gw).list_pinned(kind, KEY_A))
    assert listing.status is ListingStatus.ERROR and listing.refused == words
    assert listing.error is not None and listing.batches == []


def test_a_proxy_403_page_and_an_old_gateway_404_are_refusals() -> None:
    html = httpx.Response(403, content=b"<html><title>Forbidden</title></html>")
    gw = FakeGateway().on("GET", ANTH, html)
    assert run(make_client(gw).list_pinned("anthropic", KEY_A)).refused == (
        "passthrough refused (403)"
    )
    gw = FakeGateway()  # no route at all: the fake's 404
    assert run(make_client(gw).list_pinned("anthropic", KEY_A)).refused is not None


def test_an_html_page_with_200_is_a_refusal() -> None:
    page = httpx.Response(200, content=b"<!doctype html><html><title>Bifrost</title></html>")
    gw = FakeGateway().on("GET", ANTH, page)
    listing = run(make_client(gw).list_pinned("anthropic", KEY_A))
    assert listing.refused == "passthrough refused (its answer is not a batch list)"


def test_a_server_error_is_an_error_not_a_refusal() -> None:
    gw = FakeGateway().on("GET", ANTH, json_response(500, {"error": {"message": "boom"}}))
    listing = run(make_client(gw, retries=0).list_pinned("anthropic", KEY_A))
    assert listing.status is ListingStatus.ERROR and listing.refused is None
    assert listing.error is not None


def test_a_kind_without_a_prefix_is_refused_without_a_request() -> None:
    gw = FakeGateway()
    listing = run(make_client(gw).list_pinned("bedrock", KEY_A))
    assert listing.refused == "no passthrough route for bedrock" and gw.requests == []


# --------------------------------------------------------------------------- pinned re-read


def test_get_batch_with_a_key_reads_the_native_object_pinned() -> None:
    gw = FakeGateway().on("GET", f"{ANTH}/msgbatch_01UP0001", recorded("retrieve_ended"))
    batch = run(make_client(gw).get_batch("anthropic", "msgbatch_01UP0001", key=KEY_B))
    assert batch.listed_by == ("anth-batch-2",) and batch.ended_at is not None
    assert batch.results_url and batch.state.terminal
    (call,) = gw.requests
    assert call.headers[PIN_HEADER] == KEY_B.id and "x-model-provider" not in call.headers


def test_get_batch_with_a_key_of_another_account_is_not_found() -> None:
    gw = FakeGateway().on("GET", f"{ANTH}/msgbatch_nope", recorded("retrieve_unknown"))
    with pytest.raises(NotFound):
        run(make_client(gw).get_batch("anthropic", "msgbatch_nope", key=KEY_A))


def test_get_batch_with_a_key_on_openai_uses_its_prefix() -> None:
    item = recorded_json("openai_list_after")["data"][0]
    gw = FakeGateway().on("GET", f"{OAI}/batch_up0099", json_response(200, item))
    batch = run(make_client(gw).get_batch("openai", "batch_up0099", key=KEY_A))
    assert batch.native_status == "completed" and batch.listed_by == ("anth-batch",)
    assert gw.requests[0].headers[PIN_HEADER] == KEY_A.id


# --------------------------------------------------------------------------- keys and merging


def test_batch_keys_reads_the_recorded_two_keys_body() -> None:
    gw = FakeGateway().on("GET", "/api/providers/anthropic/keys", recorded("two_keys_keys"))
    read = run(make_client(gw).batch_keys("anthropic"))
    assert read == KeysRead(None, (KEY_A, KEY_B))
    assert "sk-" not in repr(read)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {"keys": [{"id": "k1", "name": "a", "use_for_batch_api": False}]},
            KeysRead(REASON_NO_BATCH_KEY, ()),
        ),
        (
            {"keys": [{"id": "k1", "name": "a", "use_for_batch_api": True, "enabled": False}]},
            KeysRead(REASON_NO_BATCH_KEY, ()),
        ),
        ({"keys": [{"name": "a", "use_for_batch_api": True}]}, KeysRead(None, None)),
        (
            {"keys": [{"id": "k1", "use_for_batch_api": True}]},
            KeysRead(None, (BatchKey("k1", "k1"),)),
        ),
        ({"nothing": 1}, KeysRead(None, None)),
    ],
)
def test_batch_keys_cases(body: Any, expected: KeysRead) -> None:
    gw = FakeGateway().on("GET", "/api/providers/anthropic/keys", json_response(200, body))
    client = make_client(gw)
    assert run(client.batch_keys("anthropic")) == expected
    assert run(client.key_reason("anthropic")) == expected.reason


def test_batch_keys_when_the_call_fails_is_unknown() -> None:
    gw = FakeGateway().on("GET", "/api/providers/anthropic/keys", json_response(403, {}))
    assert run(make_client(gw).batch_keys("anthropic")) == KeysRead(None, None)


def _batch(batch_id: str, key: str, status: str = "in_progress") -> Batch:
    batch = Batch.from_anthropic(
        {**anth_item(batch_id), "processing_status": status}, provider="anthropic"
    )
    object.__setattr__(batch, "listed_by", (key,))
    return batch


def test_updated_by_unions_listed_by() -> None:
    a, b = _batch("msgbatch_1", "prod-a"), _batch("msgbatch_1", "prod-b", "ended")
    merged = a.updated_by(b)
    assert merged.listed_by == ("prod-a", "prod-b") and merged.processing_status == "ended"
    assert merged.updated_by(b).listed_by == ("prod-a", "prod-b")
    plain = Batch.from_anthropic(anth_item("msgbatch_1"), provider="anthropic")
    assert plain.updated_by(a).listed_by == ("prod-a",)
    assert a.updated_by(plain).listed_by == ("prod-a",)


def test_merge_keys_keeps_one_row_per_id_naming_both_keys() -> None:
    first = KeyListing(
        KEY_A, ListingStatus.COMPLETE, [_batch("msgbatch_1", "anth-batch")], requests=2
    )
    second = KeyListing(
        KEY_B,
        ListingStatus.COMPLETE,
        [_batch("msgbatch_1", "anth-batch-2"), _batch("msgbatch_2", "anth-batch-2")],
        requests=3,
    )
    merged = merge_keys("anthropic", [first, second], via="passthrough, keys a, b")
    assert isinstance(merged, ProviderListing) and merged.status is ListingStatus.COMPLETE
    assert [b.id for b in merged.batches] == ["msgbatch_1", "msgbatch_2"]
    assert merged.batches[0].listed_by == ("anth-batch", "anth-batch-2")
    assert merged.requests == 5 and merged.to_json()["via"] == "passthrough, keys a, b"


def test_merge_keys_is_partial_or_error_with_the_keys_named() -> None:
    ok = KeyListing(KEY_A, ListingStatus.COMPLETE, [_batch("msgbatch_1", "anth-batch")])
    failed = KeyListing(KEY_B, ListingStatus.ERROR, error=NotFound("gone", status=404))
    merged = merge_keys("anthropic", [ok, failed])
    assert merged.status is ListingStatus.PARTIAL and len(merged.batches) == 1
    assert (merged.missing or "").startswith("key anth-batch-2: listing failed")
    assert merge_keys("anthropic", [failed]).status is ListingStatus.ERROR
