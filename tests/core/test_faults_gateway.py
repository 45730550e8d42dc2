"""Gateway faults below the screen: every HTTP failure a refresh can meet is said in words, keeps
the last good data (marked stale) and clears by itself on the next good poll; cancel races and
repeats tell the truth; oversized bodies are refused, not eaten."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from bifrost_tui.config.connection import DEMO_URL
from bifrost_tui.core.live import LiveSession, describe_error
from bifrost_tui.core.store import BatchStore
from bifrost_tui.gateway.client import ClientConfig, GatewayClient
from bifrost_tui.gateway.errors import BadResponse
from bifrost_tui.gateway.models import State
from bifrost_tui.gateway.outcomes import CancelOutcome, ListingStatus
from bifrost_tui.sim import SimTransport, SimWorld
from bifrost_tui.sim.faults import proxy_error_body
from tests.support.client_fakes import FakeGateway, batch_json, json_response, make_client
from tests.support.clocks import T0, no_sleep

GOLDEN = Path(__file__).parent.parent / "data" / "golden"
LIST = "/anthropic/v1/messages/batches"
#: openai and azure list through the OpenAI-format route.
OPENAI_LIST = "/openai/v1/batches"
CAPABLE = ("anthropic", "azure", "bedrock", "gemini", "openai")


def session_on(world: SimWorld, **config) -> LiveSession:
    config.setdefault("retries", 0)
    client = GatewayClient(
        ClientConfig(base_url=DEMO_URL, **config), transport=SimTransport(world, sleep=no_sleep)
    )
    return LiveSession(client, BatchStore(), world.clock)


@pytest.fixture
def sim_seed() -> int:
    return 5


def anthropic_envelope(kind: str, message: str) -> bytes:
    return json.dumps({"type": "error", "error": {"type": kind, "message": message}}).encode()


HTML_PAGE = b"<!doctype html><html><head><title>Bifrost UI</title></head><body></body></html>"

# (status, body, headers, the words the operator reads)
HTTP_FAULTS = {
    "401-bifrost-shape": (
        401,
        (GOLDEN / "error_401_unauthorized_10_4.json").read_bytes(),
        {"content-type": "application/json"},
        "auth refused (check the virtual key / dashboard credentials): Unauthorized",
    ),
    "403": (
        403,
        anthropic_envelope("permission_error", "virtual key is not allowed for this provider"),
        {"content-type": "application/json"},
        "auth refused (check the virtual key / dashboard credentials): virtual key is not allowed",
    ),
    "404": (
        404,
        anthropic_envelope("not_found_error", "route not found"),
        {"content-type": "application/json"},
        "not found · HTTP 404",
    ),
    "429-retry-after": (
        429,
        anthropic_envelope("rate_limit_error", "slow down"),
        {"content-type": "application/json", "retry-after": "3"},
        "rate limited · HTTP 429",
    ),
    # (A 500 saying "no batch-enabled keys found" is no failure: the provider is unsupported.)
    "500-api_error": (
        500,
        anthropic_envelope("api_error", "no config found for batch apis"),
        {"content-type": "application/json"},
        "gateway config error · HTTP 500",
    ),
    "502-proxy-html": (
        502,
        proxy_error_body(502),
        {"content-type": "text/html"},
        "server error · HTTP 502",
    ),
    "503-proxy-html": (
        503,
        proxy_error_body(503),
        {"content-type": "text/html"},
        "503 Service Temporarily Unavailable",
    ),
    "504-proxy-html": (
        504,
        proxy_error_body(504),
        {"content-type": "text/html"},
        "504 Gateway Time-out",
    ),
    "200-empty-body": (200, b"", {}, "the gateway's answer was empty"),
    "200-html-instead-of-json": (
        200,
        HTML_PAGE,
        {"content-type": "application/json"},  # the wrong content type, too
        "expected JSON but got an HTML page (Bifrost UI)",
    ),
    "200-malformed-json": (
        200,
        b'{"data": [{"id": "b1", ',
        {"content-type": "application/json"},
        "not valid JSON",
    ),
    "200-wrong-shape": (
        200,
        b'{"batches": [], "object": "list"}',
        {"content-type": "application/json"},
        "bad response · HTTP 200",
    ),
}


@pytest.mark.parametrize("fault", list(HTTP_FAULTS), ids=list(HTTP_FAULTS))
async def test_refresh_failure_is_said_in_words_keeps_data_stale_and_clears_itself(world, fault):
    status, body, headers, words = HTTP_FAULTS[fault]
    session = session_on(world)
    await session.poll(deep=True)
    known = dict(session.store.batches)
    assert known and not session.stale
    # Every first page of the next refresh gets this answer; the one after is healthy again.
    world.faults.fail_next(status, body, headers, method="GET", path=LIST, times=len(CAPABLE) - 2)
    world.faults.fail_next(status, body, headers, method="GET", path=OPENAI_LIST, times=2)
    world.clock.advance(5)
    result = await session.poll(deep=False)
    assert result.error is not None and session.stale
    said = describe_error(session.last_error)
    assert words in said, said
    assert "<" not in said  # a proxy's HTML page is reduced to words, never shown as markup
    assert session.store.batches == known  # the last good data stays
    assert session.last_ok == T0  # ... and says how old it is
    assert all(session.store.providers[p].listing is ListingStatus.ERROR for p in CAPABLE)
    world.clock.advance(5)
    await session.poll(deep=False)
    assert not session.stale and session.last_ok == world.clock.now()


async def test_json_under_a_wrong_content_type_is_still_read():
    """Lenient on labels, strict on content: a proxy that relabels JSON does not break listing."""
    body = json.dumps({"data": [batch_json("b1")], "has_more": False}).encode()
    gateway = FakeGateway().on(
        "GET", LIST, httpx.Response(200, content=body, headers={"content-type": "text/plain"})
    )
    async with make_client(gateway) as client:
        listing = await client.list_batches("anthropic")
    assert listing.status is ListingStatus.COMPLETE
    assert [b.id for b in listing.batches] == ["b1"]


async def test_a_10_mb_body_is_refused_for_its_provider_while_the_others_refresh(world):
    cap = 1 << 20
    session = session_on(world, max_response_bytes=cap)
    await session.poll(deep=True)
    huge = json.dumps({"data": [batch_json("x" * 1000)] * 10_000, "has_more": False}).encode()
    assert len(huge) > 10_000_000
    world.faults.fail_next(200, huge, method="GET", path=OPENAI_LIST, provider="openai")
    world.clock.advance(5)
    await session.poll(deep=False)
    openai = session.store.providers["openai"]
    assert openai.listing is ListingStatus.ERROR
    assert isinstance(openai.error, BadResponse)
    assert f"response larger than {cap} bytes; refused" in openai.error.message
    assert all(session.store.providers[p].listing is not ListingStatus.ERROR for p in CAPABLE[:-1])
    assert any(k[0] == "openai" for k in session.store.batches)  # openai's last good data stays


async def test_a_10_mb_body_stops_being_read_at_the_cap():
    """Streamed and counted: the client stops pulling chunks once past the cap."""
    pulled: list[int] = []

    async def endless_chunks():
        for _ in range(10 * 64):  # 10 MB in 16 KB chunks
            pulled.append(1)
            yield b" " * 16384

    gateway = FakeGateway().on(
        "GET", f"{LIST}/b1", lambda request: httpx.Response(200, content=endless_chunks())
    )
    async with make_client(gateway, max_response_bytes=1 << 20, retries=0) as client:
        with pytest.raises(BadResponse, match="larger than"):
            await client.get_batch("anthropic", "b1")
    assert len(pulled) < 80  # about 1 MiB worth, not 10 MB


# --------------------------------------------------------------------------- cancel truths


async def test_cancel_whose_answer_is_lost_and_whose_reread_fails_never_claims_success(world):
    session = session_on(world)
    await session.poll(deep=True)
    target = next(
        b for b in session.store.batches.values() if b.provider == "openai" and b.cancellable
    )
    # The request leaves, the upstream never gets it (a proxy drops it), the answer is lost, and
    # the gateway is gone before the re-read.
    world.faults.fail_next(502, proxy_error_body(502), method="POST", path="/cancel")
    world.faults.refuse_next(method="GET", path=target.id)
    result = await session.cancel(target.key)
    assert result.outcome is CancelOutcome.UNKNOWN
    assert result.reread_error is not None
    assert session.store.batches[target.key].state is State.ACTIVE  # not painted "canceling"
    assert len([r for r in world.request_log if r.method == "POST"]) == 1  # sent once, no retry
    assert target.key in session.watches  # followed until the truth is known


async def test_cancel_of_a_batch_that_ended_meanwhile_is_refused_with_its_real_state(world):
    """The batch ends on the gateway between our read and our request: 409, then the re-read."""
    clock = world.clock
    inner = SimTransport(world, sleep=no_sleep)

    class EndsFirst(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            if request.method == "POST":
                world.cancel(world.get("openai", target_id))
                clock.advance(world.cancel_delay + 1)
            return await inner.handle_async_request(request)

    target_id = next(b.id for b in world.batches("openai") if b.phase.value == "running")
    client = GatewayClient(ClientConfig(base_url=DEMO_URL, retries=0), transport=EndsFirst())
    async with client:
        result = await client.cancel_batch("openai", target_id)
    assert result.outcome is CancelOutcome.REFUSED
    assert result.http_status == 409 and result.error is not None
    assert result.error.kind == "conflict"
    assert result.batch is not None and result.batch.state is State.ENDED_CANCELED


async def test_cancelling_twice_is_idempotent_on_the_gateway(world):
    client = GatewayClient(
        ClientConfig(base_url=DEMO_URL, retries=0), transport=SimTransport(world, sleep=no_sleep)
    )
    target_id = next(b.id for b in world.batches("anthropic") if b.phase.value == "running")
    async with client:
        first = await client.cancel_batch("anthropic", target_id)
        world.clock.advance(2)
        second = await client.cancel_batch("anthropic", target_id)
    assert first.outcome is CancelOutcome.ACCEPTED and second.outcome is CancelOutcome.ACCEPTED
    assert first.batch is not None and second.batch is not None
    assert first.batch.state is State.CANCELING and second.batch.state is State.CANCELING
    # The second cancel changed nothing: same cancel time.
    assert second.batch.cancel_initiated_at == first.batch.cancel_initiated_at


def test_cli_second_cancel_of_a_canceling_batch_is_skipped_locally(run_cli, world, sim_url):
    target_id = next(b.id for b in world.batches("openai") if b.phase.value == "running")
    args = ["batches", "cancel", target_id, "--provider", "openai", "--yes", "--url"]
    first, _, _ = run_cli(*args, sim_url)
    second, out, err = run_cli(*args, sim_url, "--json")
    assert first == 0 and second == 5
    assert len(world.requests(op="batch_cancel")) == 1  # the second one sent nothing
    assert json.loads(out.splitlines()[0])["cancel"]["outcome"] == "skipped"
    assert "skipped (already canceling)" in err


async def test_auth_refused_at_start_falls_back_to_the_standard_providers(clock):
    """401 on the management API: the console still lists through the standard providers."""
    gateway = FakeGateway()
    body = (GOLDEN / "error_401_unauthorized_10_4.json").read_bytes()
    unauthorized = httpx.Response(401, content=body, headers={"content-type": "application/json"})
    gateway.on("GET", "/api/providers", unauthorized)
    gateway.on("GET", "/health", json_response(200, {"status": "ok"}))
    gateway.on("GET", "/api/version", json_response(200, "v1.5.1"))
    gateway.on("GET", LIST, json_response(200, {"data": [batch_json("b1")], "has_more": False}))
    gateway.on("GET", OPENAI_LIST, json_response(200, {"data": [], "object": "list"}))
    client = make_client(gateway, retries=0)
    session = LiveSession(client, BatchStore(), clock)
    async with client:
        await session.poll(deep=True)
    assert set(session.store.providers) == set(CAPABLE)
    assert not session.stale


@pytest.mark.parametrize(
    "keys_answer",
    [
        lambda request: (_ for _ in ()).throw(httpx.ReadTimeout("slow", request=request)),
        httpx.Response(503, text="<html><title>503 Service Unavailable</title></html>"),
        json_response(429, {"error": {"message": "slow down"}}),
    ],
    ids=["timeout", "proxy-503", "429"],
)
async def test_a_provider_whose_keys_did_not_answer_in_time_is_still_listed(keys_answer):
    """No answer about the keys is not "no batch key": the provider stays batch-capable, so its
    listing is tried (and its data kept and shown stale if that fails too)."""
    gateway = FakeGateway()
    gateway.on("GET", "/api/providers", json_response(200, {"providers": [{"name": "gemini"}]}))
    gateway.on("GET", "/api/providers/gemini/keys", keys_answer)
    async with make_client(gateway, retries=0) as client:
        (gemini,) = await client.list_providers()
    assert gemini.batch_capable and gemini.reason is None
