"""The listing strategy vs MockTransport: complete, partial, error, deep walk, guards, dedup."""

from __future__ import annotations

import asyncio
import base64

import httpx
import pytest

from bifrost_tui.gateway.counts import Source
from bifrost_tui.gateway.errors import BadResponse, GatewayConfigError, NotFound
from bifrost_tui.gateway.ids import normalise_id
from bifrost_tui.gateway.listing import MAX_DEEP_PAGES, MAX_EMPTY_PAGES
from bifrost_tui.gateway.models import ProviderInfo
from bifrost_tui.gateway.outcomes import ListingStatus
from tests.support.client_fakes import (
    FakeGateway,
    batch_json,
    json_response,
    make_client,
    openai_batch_json,
)

LIST = "/anthropic/v1/messages/batches"
DEEP = "/openai/v1/batches"


def page(*items, has_more: bool = False, **extra) -> httpx.Response:
    body = {"data": list(items), **extra}
    if has_more:
        body["has_more"] = True
    return json_response(200, body)


def cursor(native: str, key: int = 0) -> str:
    """Bifrost's serial cursor for a native cursor of one key."""
    raw = f'{{"v":1,"i":{key},"c":"{native}"}}'
    return base64.b64encode(raw.encode()).decode()


def params_of(request: httpx.Request) -> dict[str, str]:
    return dict(request.url.params)


async def test_first_page_without_more_is_complete_in_one_request() -> None:
    gateway = FakeGateway().on("GET", LIST, page(batch_json("b1"), batch_json("b2", "ended")))
    async with make_client(gateway) as client:
        listing = await client.list_batches("anthropic")
    assert listing.status is ListingStatus.COMPLETE
    assert [b.id for b in listing.batches] == ["b1", "b2"]
    assert all(b.source is Source.LIST and b.provider == "anthropic" for b in listing.batches)
    assert listing.requests == 1 and listing.missing is None and listing.error is None
    assert not listing.deep
    assert gateway.requests[0].headers["x-model-provider"] == "anthropic"
    assert gateway.requests[0].url.params == httpx.QueryParams()


async def test_more_without_deep_is_first_page_only() -> None:
    gateway = FakeGateway().on("GET", LIST, page(batch_json("b1"), has_more=True))
    async with make_client(gateway) as client:
        listing = await client.list_batches("anthropic", deep=False)
    assert listing.status is ListingStatus.PARTIAL
    assert "first page only" in (listing.missing or "")
    assert listing.requests == 1 and [b.id for b in listing.batches] == ["b1"]


@pytest.mark.parametrize(
    ("provider", "limit"), [("anthropic", "1000"), ("bedrock", "1000"), ("gemini", "1000")]
)
async def test_unpageable_providers_get_one_big_deep_page_then_partial(
    provider: str, limit: str
) -> None:
    gateway = FakeGateway()
    gateway.on("GET", LIST, page(batch_json("b1"), has_more=True))
    gateway.on(
        "GET",
        DEEP,
        page(
            openai_batch_json("b1"),
            openai_batch_json("b2"),
            has_more=True,
            next_cursor=cursor("c1"),
        ),
    )
    async with make_client(gateway) as client:
        listing = await client.list_batches(provider)
    assert listing.status is ListingStatus.PARTIAL
    assert listing.missing == (
        f"gateway returns at most {limit} {provider} batches per listing; "
        "older batches are not shown"
    )
    assert [b.id for b in listing.batches] == [normalise_id(provider, i) for i in ("b1", "b2")]
    assert listing.requests == 2 and listing.deep
    deep = gateway.calls("GET", DEEP)
    assert len(deep) == 1
    assert params_of(deep[0]) == {"provider": provider, "limit": limit}
    assert "x-model-provider" not in deep[0].headers


async def test_deep_listing_that_ends_is_complete_and_merges_duplicates() -> None:
    gateway = FakeGateway()
    gateway.on("GET", LIST, page(batch_json("b1", results_url="https://x/r"), has_more=True))
    gateway.on("GET", DEEP, page(openai_batch_json("b1"), openai_batch_json("b2")))
    async with make_client(gateway) as client:
        listing = await client.list_batches("anthropic")
    assert listing.status is ListingStatus.COMPLETE
    assert [b.id for b in listing.batches] == ["b1", "b2"]
    merged = listing.batches[0]
    assert merged.source is Source.OPENAI  # the deep object is the newer, richer one...
    assert merged.results_url == "https://x/r"  # ...and it erased nothing the first page knew
    assert merged.request_counts is not None and merged.request_counts.known_total == 10


async def test_openai_walks_the_cursor_until_the_end() -> None:
    gateway = FakeGateway()
    gateway.on(
        "GET",
        DEEP,
        page(
            openai_batch_json("b1"),
            openai_batch_json("b2"),
            has_more=True,
            next_cursor=cursor("c1"),
        ),
        page(openai_batch_json("b3"), has_more=True, next_cursor=cursor("c2")),
        page(openai_batch_json("b4")),
    )
    async with make_client(gateway) as client:
        listing = await client.list_batches("openai")
    assert listing.status is ListingStatus.COMPLETE
    assert [b.id for b in listing.batches] == ["b1", "b2", "b3", "b4"]
    assert listing.requests == 3  # openai starts on the OpenAI-format list: no Anthropic page
    assert [params_of(r) for r in gateway.calls("GET", DEEP)] == [
        {"provider": "openai", "limit": "100"},
        {"provider": "openai", "limit": "100", "after": cursor("c1")},
        {"provider": "openai", "limit": "100", "after": cursor("c2")},
    ]


async def test_azure_is_pageable_too() -> None:
    gateway = FakeGateway()
    gateway.on("GET", LIST, page(batch_json("a1"), has_more=True))
    gateway.on(
        "GET",
        DEEP,
        page(openai_batch_json("a1"), has_more=True, next_cursor=cursor("c1")),
        page(openai_batch_json("a2")),
    )
    async with make_client(gateway) as client:
        listing = await client.list_batches("azure")
    assert listing.status is ListingStatus.COMPLETE and len(listing.batches) == 2


async def test_loop_guard_stops_when_a_page_adds_nothing_new() -> None:
    gateway = FakeGateway()
    gateway.on(
        "GET",
        DEEP,
        page(openai_batch_json("b1"), has_more=True, next_cursor=cursor("c1")),
        page(openai_batch_json("b1"), has_more=True, next_cursor=cursor("c2")),
        page(openai_batch_json("b9")),
    )
    async with make_client(gateway) as client:
        listing = await client.list_batches("openai")
    assert listing.status is ListingStatus.PARTIAL
    assert "repeated batches already seen" in (listing.missing or "")
    assert listing.requests == 2 and [b.id for b in listing.batches] == ["b1"]


async def test_loop_guard_stops_on_a_repeated_cursor() -> None:
    gateway = FakeGateway()
    gateway.on(
        "GET",
        DEEP,
        page(openai_batch_json("b1"), has_more=True, next_cursor=cursor("same")),
        page(openai_batch_json("b2"), has_more=True, next_cursor=cursor("same")),
    )
    async with make_client(gateway) as client:
        listing = await client.list_batches("openai")
    assert listing.status is ListingStatus.PARTIAL
    assert "cursor went round in circles" in (listing.missing or "")
    assert [b.id for b in listing.batches] == ["b1", "b2"] and listing.requests == 2


async def test_an_empty_page_with_a_fresh_cursor_is_walked_past() -> None:
    gateway = FakeGateway()
    gateway.on(
        "GET",
        DEEP,
        page(openai_batch_json("b1"), has_more=True, next_cursor=cursor("c1")),
        page(has_more=True, next_cursor=cursor("c2")),  # a batch key with no batches
        page(openai_batch_json("b2")),
    )
    async with make_client(gateway) as client:
        listing = await client.list_batches("openai")
    assert listing.status is ListingStatus.COMPLETE
    assert [b.id for b in listing.batches] == ["b1", "b2"]


async def test_endless_empty_pages_stop() -> None:
    counter = iter(range(10_000))
    gateway = FakeGateway()
    gateway.on("GET", DEEP, lambda r: page(has_more=True, next_cursor=cursor(f"c{next(counter)}")))
    async with make_client(gateway) as client:
        listing = await client.list_batches("openai")
    assert listing.status is ListingStatus.PARTIAL
    assert "empty pages" in (listing.missing or "")
    assert listing.requests == 1 + MAX_EMPTY_PAGES + 1


async def test_page_cap_stops_an_endless_walk() -> None:
    counter = iter(range(10_000))

    def endless(request: httpx.Request) -> httpx.Response:
        n = next(counter)
        return page(openai_batch_json(f"b{n}"), has_more=True, next_cursor=cursor(f"c{n}"))

    gateway = FakeGateway()
    gateway.on("GET", DEEP, endless)
    async with make_client(gateway) as client:
        listing = await client.list_batches("openai")
    assert listing.status is ListingStatus.PARTIAL
    assert f"stopped after {MAX_DEEP_PAGES} pages" in (listing.missing or "")
    assert listing.requests == MAX_DEEP_PAGES
    assert len(listing.batches) == MAX_DEEP_PAGES


async def test_more_but_no_cursor_is_partial() -> None:
    gateway = FakeGateway()
    gateway.on("GET", DEEP, page(openai_batch_json("b1"), has_more=True))
    async with make_client(gateway) as client:
        listing = await client.list_batches("openai")
    assert listing.status is ListingStatus.PARTIAL
    assert "gave no cursor" in (listing.missing or "")


async def test_blocked_deep_route_keeps_the_first_page() -> None:
    gateway = FakeGateway()
    gateway.on("GET", LIST, page(batch_json("b1"), batch_json("b2"), has_more=True))
    gateway.on("GET", DEEP, json_response(404, {"error": {"message": "route blocked"}}))
    async with make_client(gateway) as client:
        listing = await client.list_batches("anthropic")
    assert listing.status is ListingStatus.PARTIAL
    assert [b.id for b in listing.batches] == ["b1", "b2"]
    missing = listing.missing or ""
    assert missing.startswith("deep listing failed (not found · HTTP 404")
    assert "route blocked" in missing and "showing the first page only" in missing
    assert listing.error is None and listing.requests == 2


async def test_deep_failure_midway_keeps_what_was_read() -> None:
    gateway = FakeGateway()
    gateway.on(
        "GET",
        DEEP,
        page(
            openai_batch_json("b1"),
            openai_batch_json("b2"),
            has_more=True,
            next_cursor=cursor("c1"),
        ),
        httpx.Response(200, text="<html><title>proxy login</title></html>"),
    )
    async with make_client(gateway) as client:
        listing = await client.list_batches("openai")
    assert listing.status is ListingStatus.PARTIAL
    assert [b.id for b in listing.batches] == ["b1", "b2"]
    assert "1 deep page(s) read before the failure" in (listing.missing or "")
    assert "proxy login" in (listing.missing or "")


async def test_first_page_error_is_an_error_listing() -> None:
    body = {
        "type": "error",
        "error": {"type": "api_error", "message": "no config found for batch apis"},
    }
    gateway = FakeGateway().on("GET", LIST, json_response(500, body))
    async with make_client(gateway) as client:
        listing = await client.list_batches("anthropic")
    assert listing.status is ListingStatus.ERROR
    assert isinstance(listing.error, GatewayConfigError)
    assert listing.error.provider == "anthropic"
    assert listing.batches == [] and listing.requests == 1
    assert listing.to_json()["error"].startswith("gateway config error · HTTP 500 · anthropic")


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, text="not json"),
        json_response(200, {"object": "list"}),
        json_response(200, [1, 2, 3]),
        json_response(200, {"data": "nope"}),
    ],
)
async def test_first_page_of_the_wrong_shape_is_an_error_listing(response: httpx.Response) -> None:
    gateway = FakeGateway().on("GET", LIST, response)
    async with make_client(gateway) as client:
        listing = await client.list_batches("anthropic")
    assert listing.status is ListingStatus.ERROR
    assert isinstance(listing.error, BadResponse)


async def test_unreadable_items_are_skipped_counted_and_make_it_partial() -> None:
    items = [1, "x", None, {}, {"id": ""}, batch_json("ok"), ["nested"]]
    gateway = FakeGateway().on("GET", LIST, page(*items))
    async with make_client(gateway) as client:
        listing = await client.list_batches("anthropic")
    assert listing.status is ListingStatus.PARTIAL
    assert [b.id for b in listing.batches] == ["ok"]
    assert listing.missing == (
        "6 unreadable items in the gateway's answer skipped (not an object or no id)"
    )


async def test_duplicates_in_one_page_are_merged() -> None:
    first = batch_json("dup", "in_progress", created_at="")
    second = batch_json("dup", "canceling", cancel_initiated_at="2026-05-13T11:00:00Z")
    gateway = FakeGateway().on("GET", LIST, page(first, second))
    async with make_client(gateway) as client:
        listing = await client.list_batches("anthropic")
    assert len(listing.batches) == 1
    only = listing.batches[0]
    assert only.processing_status == "canceling"
    assert only.cancel_initiated_at is not None


async def test_bedrock_base64_ids_dedupe_against_plain_arns() -> None:
    arn = "arn:aws:bedrock:us-east-1:1:model-invocation-job/j1"
    encoded = base64.b64encode(arn.encode()).decode()
    gateway = FakeGateway()
    gateway.on("GET", LIST, page(batch_json(arn), has_more=True))
    gateway.on("GET", DEEP, page(openai_batch_json(encoded)))
    async with make_client(gateway) as client:
        listing = await client.list_batches("bedrock")
    assert [b.id for b in listing.batches] == [arn]
    assert listing.status is ListingStatus.COMPLETE


async def test_custom_provider_uses_its_name_on_the_wire_and_its_kind_for_limits() -> None:
    gateway = FakeGateway()
    gateway.on("GET", LIST, page(batch_json("b1"), has_more=True))
    gateway.on("GET", DEEP, page(openai_batch_json("b1"), has_more=True, next_cursor=cursor("c")))
    async with make_client(gateway) as client:
        listing = await client.list_batches("my-claude", kind="anthropic")
    assert gateway.requests[0].headers["x-model-provider"] == "my-claude"
    assert params_of(gateway.calls("GET", DEEP)[0]) == {"provider": "my-claude", "limit": "1000"}
    assert listing.status is ListingStatus.PARTIAL
    assert listing.batches[0].provider == "my-claude"
    assert listing.batches[0].provider_kind == "anthropic"


async def test_unknown_kinds_use_limit_100_and_do_not_follow_cursors() -> None:
    gateway = FakeGateway()
    gateway.on("GET", LIST, page(batch_json("b1"), has_more=True))
    gateway.on("GET", DEEP, page(openai_batch_json("b1"), has_more=True, next_cursor=cursor("c")))
    async with make_client(gateway) as client:
        listing = await client.list_batches("vertex")
    assert params_of(gateway.calls("GET", DEEP)[0])["limit"] == "100"
    assert listing.requests == 2 and listing.status is ListingStatus.PARTIAL


async def test_requests_count_retries() -> None:
    gateway = FakeGateway().on(
        "GET", LIST, json_response(503, {"error": "busy"}), page(batch_json("b1"))
    )
    async with make_client(gateway) as client:
        listing = await client.list_batches("anthropic")
    assert listing.status is ListingStatus.COMPLETE and listing.requests == 2


async def test_bad_provider_names_are_an_error_listing_without_a_request() -> None:
    gateway = FakeGateway()
    async with make_client(gateway) as client:
        for name in ("", "a\r\nx-bf-vk: stolen"):
            listing = await client.list_batches(name)
            assert listing.status is ListingStatus.ERROR
    assert gateway.requests == []


async def test_list_all_is_concurrent_in_order_and_skips_incapable_providers() -> None:
    both_arrived = asyncio.Event()
    arrived: list[str] = []

    async def answer(request: httpx.Request) -> httpx.Response:
        provider = request.headers["x-model-provider"]
        arrived.append(provider)
        if len(arrived) == 2:
            both_arrived.set()
        await both_arrived.wait()  # only returns if the other provider's request is in flight too
        return page(batch_json(f"{provider}-1"))

    gateway = FakeGateway().on("GET", LIST, answer)
    providers = [
        ProviderInfo("bedrock", "bedrock", True),
        ProviderInfo("groq", "groq", False, reason="unsupported provider for batches"),
        ProviderInfo("anthropic", "anthropic", True),
    ]
    async with make_client(gateway, total_timeout=5.0) as client:
        listings = await client.list_all(providers)
    assert [item.provider for item in listings] == ["bedrock", "anthropic"]
    assert all(item.status is ListingStatus.COMPLETE for item in listings)
    assert [item.batches[0].id for item in listings] == ["bedrock-1", "anthropic-1"]
    assert sorted(arrived) == ["anthropic", "bedrock"]


async def test_list_all_keeps_going_when_one_provider_fails() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.headers["x-model-provider"] == "anthropic":
            return json_response(404, {"error": {"message": "gone"}})
        return page(batch_json("a1"))

    gateway = FakeGateway().on("GET", LIST, answer)
    providers = [ProviderInfo("openai", "openai", True), ProviderInfo("gemini", "gemini", True)]
    async with make_client(gateway) as client:
        first, second = await client.list_all(providers, deep=False)
    assert first.status is ListingStatus.ERROR and isinstance(first.error, NotFound)
    assert second.status is ListingStatus.COMPLETE
