"""Property tests: whatever the gateway sends back, only GatewayError leaves the client.

(The models' own property test, arbitrary JSON into Batch and parse_list_page, is in test_models.)
"""

from __future__ import annotations

import contextlib
import json

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from bifrost_tui.gateway.errors import GatewayError
from bifrost_tui.gateway.models import Batch
from bifrost_tui.gateway.outcomes import CancelOutcome, CancelResult, ListingStatus, ProviderListing
from tests.support.client_fakes import FakeGateway, SleepRecorder, make_client

PROPERTY_SETTINGS = settings(max_examples=200, derandomize=True, deadline=None, database=None)

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**64), max_value=2**64)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=20,
)
words = st.sampled_from(
    ["in_progress", "ended", "canceling", "cancelled", "failed", "", "2026-05-13T10:30:00Z"]
)
batch_like = st.fixed_dictionaries(
    {"id": st.one_of(st.text(max_size=12), st.integers(), st.none(), json_values)},
    optional={
        "processing_status": words | json_values,
        "status": words | json_values,
        "request_counts": json_values,
        "created_at": words | json_values,
        "cancel_initiated_at": words | json_values,
        "cancelling_at": json_values,
    },
)
pages = st.fixed_dictionaries(
    {"data": st.lists(batch_like | json_values, max_size=5)},
    optional={
        "has_more": json_values | st.booleans(),
        "next_cursor": st.text(max_size=8) | json_values,
        "object": st.just("list"),
    },
)
error_bodies = st.fixed_dictionaries(
    {"error": st.fixed_dictionaries({}, optional={"message": json_values, "type": json_values})},
    optional={"type": json_values, "is_bifrost_error": json_values, "request_id": json_values},
)
providers = st.fixed_dictionaries(
    {"providers": st.lists(json_values | st.fixed_dictionaries({"name": st.text(max_size=8)}))},
    optional={"keys": st.lists(json_values)},
)
json_bodies = st.one_of(pages, batch_like, error_bodies, providers, json_values).map(
    lambda value: json.dumps(value).encode()
)
raw_bodies = st.binary(max_size=200) | st.sampled_from(
    [b"", b"<html><title>x</title>", b"[" * 5000, b'{"data": [', b"\xff\xfe\x00"]
)
statuses = st.sampled_from([200, 200, 200, 201, 204, 301, 400, 401, 404, 409, 429, 500, 502, 503])
content_types = st.sampled_from(["application/json", "text/html", "text/plain", ""])


def _handler(status: int, body: bytes, content_type: str):
    def handle(request: httpx.Request) -> httpx.Response:
        headers = {"content-type": content_type} if content_type else {}
        if status == 429:
            headers["retry-after"] = "1"
        if 300 <= status < 400:
            headers["location"] = "https://elsewhere.example/x"
        return httpx.Response(status, content=body, headers=headers)

    return handle


async def _exercise(status: int, body: bytes, content_type: str) -> None:
    gateway = FakeGateway()
    gateway.path_of = lambda request: "any"  # type: ignore[method-assign]  # one route for every path
    handler = _handler(status, body, content_type)
    gateway.on("GET", "any", handler).on("POST", "any", handler)
    # One retry is enough to walk the retry path; more only multiplies requests per example.
    async with make_client(gateway, sleep=SleepRecorder(), retries=1) as client:
        for provider in ("openai", "anthropic"):
            listing = await client.list_batches(provider)  # never raises
            assert isinstance(listing, ProviderListing)
            assert listing.status in set(ListingStatus)
            assert (listing.error is not None) == (listing.status is ListingStatus.ERROR)
            assert all(isinstance(b, Batch) for b in listing.batches)
            assert listing.requests >= 1
        with contextlib.suppress(GatewayError):
            assert isinstance(await client.get_batch("openai", "b/1"), Batch)
        try:
            result = await client.cancel_batch("gemini", "batches-1")
            assert isinstance(result, CancelResult)
            assert result.outcome in set(CancelOutcome)
            if result.outcome is CancelOutcome.ACCEPTED:
                assert result.reply is not None or result.batch is not None
        except GatewayError:
            pass
        for call in (client.discover_providers, client.version, client.health):
            with contextlib.suppress(GatewayError):
                await call()


@PROPERTY_SETTINGS
@given(status=statuses, body=json_bodies, content_type=content_types)
async def test_arbitrary_json_bodies_only_raise_gateway_errors(
    status: int, body: bytes, content_type: str
) -> None:
    await _exercise(status, body, content_type)


@PROPERTY_SETTINGS
@given(status=statuses, body=raw_bodies, content_type=content_types)
async def test_arbitrary_bytes_only_raise_gateway_errors(
    status: int, body: bytes, content_type: str
) -> None:
    await _exercise(status, body, content_type)
