"""openai and azure read from the OpenAI-format routes, replayed from a real gateway's answers."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from bifrost_tui.gateway.counts import Source
from bifrost_tui.gateway.models import Batch, State
from bifrost_tui.gateway.outcomes import ListingStatus
from tests.support.client_fakes import FakeGateway, make_client

RECORDED = Path(__file__).parent.parent / "data" / "recorded" / "basic"


def recorded(name: str) -> httpx.Response:
    status = int((RECORDED / f"{name}.code").read_text().strip())
    body = (RECORDED / f"{name}.body").read_bytes()
    return httpx.Response(status, content=body, headers={"content-type": "application/json"})


@pytest.mark.parametrize("provider", ["openai", "azure"])
async def test_retrieve_reads_the_openai_format_route_with_the_provider_query(
    provider: str,
) -> None:
    gateway = FakeGateway().on("GET", "/openai/v1/batches/batch_up0001", recorded("oaiapi_get_oai"))
    async with make_client(gateway) as client:
        batch = await client.get_batch(provider, "batch_up0001")
    (request,) = gateway.requests
    assert dict(request.url.params) == {"provider": provider}
    assert "x-model-provider" not in request.headers
    assert batch.source is Source.OPENAI and batch.counts_faithful
    counts = batch.request_counts
    assert counts is not None and (counts.total, counts.succeeded, counts.errored) == (51, 51, 2)
    assert counts.processing == 0


async def test_an_ended_cancelled_openai_batch_counts_the_rest_as_canceled() -> None:
    """``batch_REALCANCELME``: 900 total, 450 completed, 2 failed, cancelled (recorded)."""
    gateway = FakeGateway().on("GET", "/openai/v1/batches", recorded("oaiapi_list_oai5"))
    async with make_client(gateway) as client:
        listing = await client.list_batches("openai", deep=False)
    assert listing.status is ListingStatus.PARTIAL and listing.first_page_only
    (request,) = gateway.requests
    assert dict(request.url.params) == {"provider": "openai", "limit": "20"}
    cancelled = listing.batches[0]
    assert cancelled.id == "batch_REALCANCELME" and cancelled.state is State.ENDED_CANCELED
    counts = cancelled.request_counts
    assert counts is not None
    assert (counts.processing, counts.succeeded, counts.errored, counts.canceled) == (
        0,
        450,
        2,
        448,
    )


async def test_the_anthropic_routes_lossy_end_does_not_keep_the_running_counts() -> None:
    """Read running through the OpenAI format, then ended through the Anthropic route (which
    keeps only ``errored``): no count read while it ran survives; the rest shows as unknown."""
    running = Batch.from_openai(
        {
            "id": "batch_REALCANCELME",
            "status": "in_progress",
            "request_counts": {"total": 900, "completed": 450, "failed": 2},
        },
        provider="openai",
    )
    assert running.request_counts is not None and running.request_counts.processing == 448
    body = json.loads((RECORDED / "get_oai_after_wait.body").read_bytes())
    lossy = Batch.from_anthropic(body, provider="openai", source=Source.RETRIEVE)
    merged = running.updated_by(lossy)
    assert merged.state is State.ENDED_CANCELED
    assert merged.request_counts is not None
    assert merged.request_counts.processing is None and merged.request_counts.succeeded is None
    assert not merged.counts_faithful  # the console re-reads the faithful route at once
