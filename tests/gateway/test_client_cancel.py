"""Cancel outcomes vs MockTransport: accepted, refused, unknown, confirmed by re-read, unsent."""

from __future__ import annotations

import asyncio
import ssl

import httpx
import pytest

from bifrost_tui.gateway.counts import Source
from bifrost_tui.gateway.errors import (
    AuthRefused,
    BadResponse,
    Conflict,
    GatewayConfigError,
    GatewayTimeout,
    NotFound,
    RequestRejected,
    ServerError,
    TLSFailure,
    Unreachable,
)
from bifrost_tui.gateway.models import State
from bifrost_tui.gateway.outcomes import CancelOutcome
from tests.support.client_fakes import (
    FakeGateway,
    anthropic_error,
    batch_json,
    json_response,
    make_client,
)

GET = "/anthropic/v1/messages/batches/batch_1"
CANCEL = GET + "/cancel"
CANCEL_REPLY = {
    "id": "batch_1",
    "type": "message_batch",
    "processing_status": "canceling",
    "request_counts": {"processing": 0, "succeeded": 0, "errored": 3, "canceled": 0, "expired": 0},
    "created_at": "",
    "expires_at": "",
    "cancel_initiated_at": "2026-05-13T11:22:11Z",
}
RUNNING = batch_json("batch_1", "in_progress")
CANCELING = batch_json("batch_1", "canceling", cancel_initiated_at="2026-05-13T11:22:11Z")
ENDED_CANCELED = batch_json(
    "batch_1", "ended", cancel_initiated_at="2026-05-13T11:22:11Z", ended_at="2026-05-13T12:00:00Z"
)


def gateway_with(cancel, reread) -> FakeGateway:
    return FakeGateway().on("POST", CANCEL, cancel).on("GET", GET, reread)


async def cancel(gateway: FakeGateway, **kw):
    async with make_client(gateway, **kw) as client:
        return await client.cancel_batch("anthropic", "batch_1")


def raising(factory):
    def handler(request: httpx.Request) -> httpx.Response:
        raise factory(request)

    return handler


async def test_accepted_reply_is_merged_under_the_reread() -> None:
    reply = json_response(200, CANCEL_REPLY, **{"request-id": "req_abc"})
    gateway = gateway_with(reply, json_response(200, CANCELING))
    result = await cancel(gateway)
    assert result.outcome is CancelOutcome.ACCEPTED
    assert result.http_status == 200 and result.request_id == "req_abc"
    assert result.error is None and result.reread_error is None
    assert result.reply is not None and result.reply.source is Source.CANCEL
    assert result.reply.created_at is None  # the reply is partial...
    assert result.batch is not None
    assert result.batch.created_at is not None  # ...the re-read fills it in
    assert result.batch.cancel_initiated_at is not None
    assert result.batch.state is State.CANCELING
    assert [r.method for r in gateway.requests] == ["POST", "GET"]


async def test_the_reread_wins_over_the_reply() -> None:
    gateway = gateway_with(json_response(200, CANCEL_REPLY), json_response(200, ENDED_CANCELED))
    result = await cancel(gateway)
    assert result.outcome is CancelOutcome.ACCEPTED
    assert result.batch is not None
    assert result.batch.processing_status == "ended"
    assert result.batch.state is State.ENDED_CANCELED
    # The reply's counts were read while it was canceling: they do not outlive the end.
    assert result.batch.request_counts is None


async def test_openai_native_reply_is_accepted() -> None:
    native = {
        "id": "batch_1",
        "object": "batch",
        "status": "cancelling",
        "cancelling_at": 1778671331,
    }
    gateway = gateway_with(json_response(200, native), json_response(200, CANCELING))
    result = await cancel(gateway)
    assert result.outcome is CancelOutcome.ACCEPTED
    assert result.reply is not None and result.reply.processing_status == "canceling"


@pytest.mark.parametrize(
    ("response", "error_type"),
    [
        (anthropic_error(400, "Cannot cancel a batch with status 'completed'."), Conflict),
        (anthropic_error(409, "batch already ended", "conflict_error"), Conflict),
        (anthropic_error(404, "No batch found with id 'batch_1'."), NotFound),
        (
            json_response(
                401,
                {
                    "is_bifrost_error": False,
                    "status_code": 401,
                    "error": {"message": "Unauthorized"},
                },
            ),
            AuthRefused,
        ),
        (anthropic_error(403, "virtual key does not allow provider openai"), AuthRefused),
        (anthropic_error(400, "invalid batch id"), RequestRejected),
        (
            anthropic_error(500, "batch_cancel is not supported by groq provider", "api_error"),
            GatewayConfigError,
        ),
    ],
)
async def test_refusals_keep_the_parsed_error_and_reread(response, error_type) -> None:
    gateway = gateway_with(response, json_response(200, batch_json("batch_1", "ended")))
    result = await cancel(gateway)
    assert result.outcome is CancelOutcome.REFUSED
    assert type(result.error) is error_type
    assert result.http_status == response.status_code
    assert result.message == result.error.message
    assert result.batch is not None and result.batch.state is State.ENDED_OK
    assert len(gateway.calls("POST", CANCEL)) == 1 and len(gateway.calls("GET", GET)) == 1


async def test_refused_and_reread_fails_too() -> None:
    gone = anthropic_error(404, "No batch found", "not_found_error")
    result = await cancel(gateway_with(gone, gone))
    assert result.outcome is CancelOutcome.REFUSED
    assert isinstance(result.error, NotFound) and isinstance(result.reread_error, NotFound)
    assert result.batch is None and result.reply is None


async def test_request_id_from_the_error_body() -> None:
    body = {"type": "error", "error": {"message": "nope"}, "request_id": "req_body"}
    result = await cancel(gateway_with(json_response(409, body), json_response(200, RUNNING)))
    assert result.request_id == "req_body"


@pytest.mark.parametrize(
    "failure",
    [
        raising(lambda r: httpx.ReadTimeout("timed out", request=r)),
        raising(lambda r: httpx.RemoteProtocolError("Server disconnected", request=r)),
        raising(lambda r: httpx.ReadError("connection reset", request=r)),
        anthropic_error(503, "upstream unavailable", "overloaded_error"),
        anthropic_error(502, "bad gateway", "overloaded_error"),
        anthropic_error(500, "upstream exploded", "overloaded_error"),
    ],
)
async def test_no_answer_is_unknown_when_the_reread_shows_no_cancel(failure) -> None:
    result = await cancel(gateway_with(failure, json_response(200, RUNNING)))
    assert result.outcome is CancelOutcome.UNKNOWN
    assert isinstance(result.error, GatewayTimeout | Unreachable | ServerError)
    assert result.batch is not None and result.batch.state is State.ACTIVE


@pytest.mark.parametrize("reread", [CANCELING, ENDED_CANCELED])
async def test_no_answer_but_the_reread_shows_the_cancel_landed(reread) -> None:
    dropped = raising(lambda r: httpx.RemoteProtocolError("Server disconnected", request=r))
    gateway = gateway_with(dropped, json_response(200, reread))
    result = await cancel(gateway)
    assert result.outcome is CancelOutcome.ACCEPTED
    assert isinstance(result.error, Unreachable)  # what happened on the wire is kept
    assert result.reply is None and result.batch is not None
    assert len(gateway.calls("POST", CANCEL)) == 1


async def test_unknown_and_reread_fails_stays_unknown() -> None:
    gateway = gateway_with(
        raising(lambda r: httpx.ReadTimeout("timed out", request=r)),
        raising(lambda r: httpx.ConnectError("[Errno 111] Connection refused", request=r)),
    )
    result = await cancel(gateway)
    assert result.outcome is CancelOutcome.UNKNOWN
    assert isinstance(result.reread_error, Unreachable)
    assert result.batch is None


async def test_total_deadline_on_cancel_is_unknown() -> None:
    async def hang(request: httpx.Request) -> httpx.Response:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    result = await cancel(gateway_with(hang, json_response(200, RUNNING)), total_timeout=0.2)
    assert result.outcome is CancelOutcome.UNKNOWN
    assert isinstance(result.error, GatewayTimeout)


async def test_2xx_without_a_batch_is_unknown_until_the_reread_says() -> None:
    page = httpx.Response(200, text="<html><title>Welcome</title></html>")
    result = await cancel(gateway_with(page, json_response(200, RUNNING)))
    assert result.outcome is CancelOutcome.UNKNOWN
    assert isinstance(result.error, BadResponse)
    result = await cancel(gateway_with(json_response(200, {}), json_response(200, CANCELING)))
    assert result.outcome is CancelOutcome.ACCEPTED


@pytest.mark.parametrize(
    ("factory", "error_type"),
    [
        (lambda r: httpx.ConnectError("[Errno 111] Connection refused", request=r), Unreachable),
        (
            lambda r: httpx.ConnectError("[Errno -2] Name or service not known", request=r),
            Unreachable,
        ),
        (lambda r: httpx.ConnectTimeout("timed out", request=r), Unreachable),
        (
            lambda r: httpx.ConnectError(
                "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed", request=r
            ),
            TLSFailure,
        ),
    ],
)
async def test_never_sent_raises_and_does_nothing_else(factory, error_type) -> None:
    gateway = gateway_with(raising(factory), json_response(200, RUNNING))
    with pytest.raises(error_type) as info:
        await cancel(gateway)
    assert info.value.provider == "anthropic"
    assert len(gateway.requests) == 1  # no retry, no re-read


async def test_ssl_error_from_the_transport_is_tls_failure() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise ssl.SSLError(1, "[SSL: TLSV1_ALERT_UNKNOWN_CA] tlsv1 alert unknown ca")

    with pytest.raises(TLSFailure):
        await cancel(gateway_with(handler, json_response(200, RUNNING)))


async def test_redirect_on_cancel_is_refused_and_not_followed() -> None:
    redirect = httpx.Response(307, headers={"location": "https://other.example/cancel"})
    gateway = gateway_with(redirect, redirect)
    result = await cancel(gateway)
    assert result.outcome is CancelOutcome.REFUSED
    assert isinstance(result.error, GatewayConfigError)
    assert "other.example" in result.error.message
    assert all(r.url.host == "gw.test" for r in gateway.requests)
    assert len(gateway.requests) == 2  # the cancel and the re-read; neither followed


async def test_cancel_uses_the_kind_for_the_path() -> None:
    arn = "arn:aws:bedrock:us-east-1:1:model-invocation-job/j1"
    gateway = FakeGateway()
    gateway.on(
        "POST",
        "/anthropic/v1/messages/batches/j1/cancel",
        json_response(200, {"id": arn, "processing_status": "canceling"}),
    )
    gateway.on(
        "GET", "/anthropic/v1/messages/batches/j1", json_response(200, batch_json(arn, "canceling"))
    )
    async with make_client(gateway) as client:
        result = await client.cancel_batch("my-bedrock", arn, kind="bedrock")
    assert result.outcome is CancelOutcome.ACCEPTED
    assert result.batch is not None and result.batch.id == arn
    assert {r.headers["x-model-provider"] for r in gateway.requests} == {"my-bedrock"}
