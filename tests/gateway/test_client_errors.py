"""Client vs MockTransport: every error envelope and how it maps to a GatewayError subclass."""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx
import pytest

from bifrost_tui.gateway.errors import (
    AuthRefused,
    BadResponse,
    Conflict,
    GatewayConfigError,
    GatewayError,
    GatewayTimeout,
    NotFound,
    RateLimited,
    RequestRejected,
    ServerError,
    TLSFailure,
    Unreachable,
)
from bifrost_tui.gateway.reply import MAX_MESSAGE_CHARS
from tests.support.client_fakes import (
    FakeGateway,
    Handler,
    anthropic_error,
    batch_json,
    json_response,
    make_client,
)

BATCH_PATH = "/anthropic/v1/messages/batches/b1"
GOLDEN = Path(__file__).parent.parent / "data" / "golden"


async def _get_error(response: httpx.Response | Handler) -> GatewayError:
    gateway = FakeGateway().on("GET", BATCH_PATH, response)
    async with make_client(gateway, retries=0) as client:
        with pytest.raises(GatewayError) as info:
            await client.get_batch("anthropic", "b1")
    return info.value


async def test_anthropic_envelope_404_is_not_found_with_the_upstream_message() -> None:
    error = await _get_error(anthropic_error(404, "No batch found with id 'batch_nope'."))
    assert type(error) is NotFound
    assert error.message == "No batch found with id 'batch_nope'."
    assert error.error_type == "invalid_request_error"
    assert error.status == 404
    assert error.provider == "anthropic"
    assert error.path == BATCH_PATH


async def test_bifrost_auth_envelope_401_is_auth_refused() -> None:
    body = {"is_bifrost_error": False, "status_code": 401, "error": {"message": "Unauthorized"}}
    error = await _get_error(json_response(401, {**body, "extra_fields": {}}))
    assert type(error) is AuthRefused
    assert error.message == "Unauthorized"


async def test_governance_top_level_type_is_kept() -> None:
    body = {
        "is_bifrost_error": False,
        "status_code": 403,
        "type": "virtual_key_blocked",
        "error": {"message": "virtual key is blocked"},
    }
    error = await _get_error(json_response(403, body))
    assert type(error) is AuthRefused
    assert error.error_type == "virtual_key_blocked"
    assert error.message == "virtual key is blocked"


async def test_gemini_envelope_is_read() -> None:
    body = {"error": {"code": 404, "message": "Batch not found", "status": "NOT_FOUND"}}
    error = await _get_error(json_response(404, body))
    assert type(error) is NotFound
    assert error.message == "Batch not found"
    assert error.error_type == "NOT_FOUND"


async def test_409_is_conflict() -> None:
    error = await _get_error(
        anthropic_error(409, "Batch is not in a cancellable state", "conflict")
    )
    assert type(error) is Conflict


@pytest.mark.parametrize(
    "message",
    [
        "Cannot cancel a batch with status 'completed'.",
        "Batch msgbatch_1 cannot be canceled because it has already ended",
        "batch has already been cancelled",
    ],
)
async def test_400_refusing_a_cancel_is_conflict(message: str) -> None:
    assert type(await _get_error(anthropic_error(400, message))) is Conflict


async def test_other_4xx_is_request_rejected() -> None:
    error = await _get_error(anthropic_error(400, "limit must be an integer"))
    assert type(error) is RequestRejected
    assert type(await _get_error(anthropic_error(422, "unprocessable"))) is RequestRejected


async def test_429_is_rate_limited_with_retry_after() -> None:
    response = httpx.Response(
        429, json={"type": "error", "error": {"message": "slow down"}}, headers={"retry-after": "7"}
    )
    error = await _get_error(response)
    assert type(error) is RateLimited
    assert error.retry_after == 7.0


@pytest.mark.parametrize(
    "body",
    [
        {"type": "error", "error": {"type": "api_error", "message": "something odd"}},
        {
            "type": "error",
            "error": {
                "type": "api_error",
                "message": "no batch-enabled keys found for provider: openai and model: ",
            },
        },
        {
            "is_bifrost_error": False,
            "status_code": 500,
            "error": {"message": "failed to get config for provider: not found"},
        },
        {
            "is_bifrost_error": True,
            "error": {
                "message": "batch_list is not supported by groq provider",
                "code": "unsupported_operation",
            },
        },
    ],
)
async def test_gateway_side_500_is_a_config_error(body: dict) -> None:
    error = await _get_error(json_response(500, body))
    assert type(error) is GatewayConfigError
    assert error.status == 500


async def test_upstream_500_is_a_server_error() -> None:
    body = {"type": "error", "error": {"type": "overloaded_error", "message": "upstream melted"}}
    error = await _get_error(json_response(500, body))
    assert type(error) is ServerError
    assert error.message == "upstream melted"


async def test_plain_text_error_body() -> None:
    error = await _get_error(httpx.Response(502, text="upstream connect error\nreset reason: x"))
    assert type(error) is ServerError
    assert error.message == "upstream connect error reset reason: x"


async def test_html_error_page_is_reduced_to_its_title() -> None:
    page = (
        "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>"
        + "<p>nginx</p>" * 2000
        + "</body></html>"
    )
    error = await _get_error(httpx.Response(502, text=page, headers={"content-type": "text/html"}))
    assert type(error) is ServerError
    assert error.message == "502 Bad Gateway"


async def test_html_without_title_gives_its_first_line_of_text() -> None:
    page = "<html><body>\n<h1>Access denied by corporate proxy</h1>" + "<p>x</p>" * 3000
    error = await _get_error(httpx.Response(403, text=page))
    assert type(error) is AuthRefused
    assert error.message == "Access denied by corporate proxy"


async def test_long_messages_are_capped() -> None:
    error = await _get_error(anthropic_error(400, "y" * 10_000))
    assert len(error.message) <= MAX_MESSAGE_CHARS
    assert error.message.endswith("…")


async def test_control_characters_in_messages_become_spaces() -> None:
    error = await _get_error(anthropic_error(400, "bad\x1b[31m thing\r\n\x00here"))
    assert error.message == "bad [31m thing here"


async def test_empty_error_body_uses_the_reason_phrase() -> None:
    error = await _get_error(httpx.Response(418))
    assert type(error) is RequestRejected
    assert error.message == "I'm a teapot"


async def test_request_id_from_header_or_body() -> None:
    with_header = anthropic_error(404, "nope")
    with_header.headers["request-id"] = "req_header_1"
    assert (await _get_error(with_header)).request_id == "req_header_1"
    body = {"type": "error", "error": {"message": "nope"}, "request_id": "req_body_2"}
    assert (await _get_error(json_response(404, body))).request_id == "req_body_2"
    x_header = httpx.Response(404, text="nope", headers={"x-request-id": "req_x_3"})
    assert (await _get_error(x_header)).request_id == "req_x_3"


# --------------------------------------------------------------------------- bad 2xx bodies


async def test_malformed_json_is_bad_response() -> None:
    error = await _get_error(httpx.Response(200, text='{"id": "b1", '))
    assert type(error) is BadResponse
    assert "not valid JSON" in error.message


async def test_html_page_instead_of_json_says_so() -> None:
    page = "<!doctype html><html><head><title>Bifrost</title></head><body>ui</body></html>"
    error = await _get_error(httpx.Response(200, text=page, headers={"content-type": "text/html"}))
    assert type(error) is BadResponse
    assert "HTML page (Bifrost)" in error.message and "base URL" in error.message


async def test_wrong_shape_is_bad_response() -> None:
    for body in ({"object": "batch"}, [1, 2], "text", None):
        error = await _get_error(json_response(200, body))
        assert type(error) is BadResponse


async def test_invalid_utf8_is_bad_response() -> None:
    error = await _get_error(httpx.Response(200, content=b'{"id": "\xff\xfe"}'))
    assert type(error) is BadResponse


async def test_deeply_nested_json_is_bad_response_not_recursion_error() -> None:
    error = await _get_error(httpx.Response(200, content=b"[" * 200_000 + b"]" * 200_000))
    assert type(error) is BadResponse


async def test_odd_status_is_bad_response() -> None:
    error = await _get_error(httpx.Response(699, text="?"))
    assert type(error) is BadResponse
    assert "unexpected HTTP status 699" in error.message


# --------------------------------------------------------------------------- transport failures


def _raiser(exc_factory):
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc_factory(request)

    return handler


async def test_connection_refused_is_unreachable() -> None:
    error = await _get_error(
        _raiser(lambda r: httpx.ConnectError("[Errno 111] Connection refused", request=r))
    )
    assert type(error) is Unreachable
    assert "gw.test" in error.message and "Connection refused" in error.message


async def test_dns_failure_says_cannot_resolve_host() -> None:
    error = await _get_error(
        _raiser(lambda r: httpx.ConnectError("[Errno -2] Name or service not known", request=r))
    )
    assert type(error) is Unreachable
    assert error.message == "cannot resolve host gw.test"


async def test_certificate_failure_is_tls_failure_with_advice() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        cause = ssl.SSLCertVerificationError(
            1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate"
        )
        raise httpx.ConnectError(str(cause), request=request) from cause

    error = await _get_error(handler)
    assert type(error) is TLSFailure
    assert isinstance(error, Unreachable)
    assert error.message.startswith("certificate not trusted")
    assert "ca_bundle" in error.message and "never turned off silently" in error.message


async def test_other_tls_errors_are_tls_failure() -> None:
    error = await _get_error(
        _raiser(
            lambda r: httpx.ConnectError("[SSL: WRONG_VERSION_NUMBER] wrong version", request=r)
        )
    )
    assert type(error) is TLSFailure
    assert "TLS handshake failed" in error.message


async def test_read_timeout_is_gateway_timeout() -> None:
    error = await _get_error(_raiser(lambda r: httpx.ReadTimeout("timed out", request=r)))
    assert type(error) is GatewayTimeout


async def test_connect_timeout_is_unreachable() -> None:
    error = await _get_error(_raiser(lambda r: httpx.ConnectTimeout("timed out", request=r)))
    assert type(error) is Unreachable
    assert "no answer within 5 s" in error.message


async def test_unexpected_transport_exception_is_wrapped() -> None:
    error = await _get_error(_raiser(lambda r: RuntimeError("boom")))
    assert isinstance(error, GatewayError)


async def test_health_and_version() -> None:
    gateway = FakeGateway()
    gateway.on("GET", "/health", json_response(200, {"status": "ok", "components": {}}))
    gateway.on(
        "GET",
        "/api/version",
        json_response(200, "v1.5.1"),
        json_response(200, {"version": "v2.2.5"}),
        httpx.Response(200, text="v1.4.0\n"),
        httpx.Response(200, text="<html><title>login</title></html>"),
    )
    async with make_client(gateway) as client:
        assert await client.health() == {"status": "ok", "components": {}}
        assert await client.version() == "v1.5.1"
        assert await client.version() == "v2.2.5"
        assert await client.version() == "v1.4.0"
        with pytest.raises(BadResponse):
            await client.version()


async def test_health_503_is_a_server_error_after_retries() -> None:
    body = {
        "is_bifrost_error": False,
        "status_code": 503,
        "error": {"message": "config store not available"},
    }
    gateway = FakeGateway().on("GET", "/health", json_response(503, body))
    async with make_client(gateway) as client:
        with pytest.raises(ServerError, match="config store not available"):
            await client.health()
    assert len(gateway.requests) == 3


async def test_get_batch_parses_the_retrieve_body() -> None:
    gateway = FakeGateway().on("GET", BATCH_PATH, json_response(200, batch_json("b1", "ended")))
    async with make_client(gateway) as client:
        batch = await client.get_batch("anthropic", "b1")
    assert batch.id == "b1" and batch.provider == "anthropic"
    assert batch.processing_status == "ended"
    assert gateway.requests[0].headers["x-model-provider"] == "anthropic"


@pytest.mark.parametrize(
    ("name", "status", "error_type", "message"),
    [
        ("error_401_unauthorized_10_4.json", 401, AuthRefused, "Unauthorized"),
        ("error_404_unknown_id_10_4.json", 404, NotFound, "No batch found with id 'batch_nope'."),
        (
            "error_500_no_batch_key_10_4.json",
            500,
            GatewayConfigError,
            "no batch-enabled keys found for provider: openai and model:",
        ),
        (
            "error_500_unknown_provider_10_4.json",
            500,
            GatewayConfigError,
            "failed to get config for provider: not found",
        ),
        (
            "error_500_unsupported_10_4.json",
            500,
            GatewayConfigError,
            "batch_cancel is not supported by groq provider",
        ),
    ],
)
async def test_golden_error_bodies(name: str, status: int, error_type: type, message: str) -> None:
    body = (GOLDEN / name).read_bytes()
    response = httpx.Response(status, content=body, headers={"content-type": "application/json"})
    error = await _get_error(response)
    assert type(error) is error_type
    assert error.status == status and error.message == message
