"""What went wrong, as a ``GatewayError``: a non-2xx reply, or a request that got no answer.

Reads the Anthropic, Bifrost and Gemini error envelopes, plain text and proxies' HTML pages; maps
httpx and ssl exceptions to timeouts, unreachable hosts and TLS failures. Text from the outside is
redacted before it becomes part of a message.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

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
from bifrost_tui.gateway.reply import Reply, clean_text, html_summary, looks_like_html

# Bifrost's own gateway-side failures (no status code of their own, so they surface as HTTP 500).
_GATEWAY_SIDE_MESSAGES = (
    "no batch-enabled keys found",
    "failed to get config for provider",
    "is not supported by",
    "no config found for batch apis",
)
# A 400 that refuses a cancel because of the batch's state is a conflict, not a malformed request.
_NOT_CANCELLABLE = re.compile(
    r"cannot\s+(be\s+)?(cancel|stop)|can't\s+(be\s+)?(cancel|stop)|not\s+cancel+able"
    r"|could\s+not\s+be\s+cancel"
    r"|already\s+(been\s+)?(cancel|ended|completed|finished|expired|failed)",
    re.IGNORECASE,
)
_DNS_FAILURE = re.compile(
    r"name or service not known|nodename nor servname|getaddrinfo failed|name resolution"
    r"|no address associated|temporary failure in name|could not resolve",
    re.IGNORECASE,
)


class TransportFailure(Exception):
    """Internal: a request that got no complete answer. ``sent`` says whether it may have left.

    Never escapes the client: ``HttpCore.call`` raises ``error`` instead, and cancel reads ``sent``
    to tell "nothing happened" from "it may have landed".
    """

    def __init__(self, error: GatewayError, *, sent: bool, retryable: bool = False) -> None:
        super().__init__(error.message)
        self.error = error
        self.sent = sent
        self.retryable = retryable


# --------------------------------------------------------------------------- error envelopes


@dataclass(frozen=True, slots=True)
class ErrorBody:
    message: str
    error_type: str | None = None
    code: str | None = None
    request_id: str | None = None


def _str_or_none(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def parse_error_body(
    body: bytes, content_type: str, status: int, redact: Callable[[str], str] | None = None
) -> ErrorBody:
    """Read the Anthropic, Bifrost and Gemini envelopes, plain text and proxies' HTML pages.

    Every text is redacted whole before it is cut (``clean_text``), so no cut can keep a piece
    of a secret that straddled its limit.
    """
    data: Any = None
    try:
        data = json.loads(body) if body.strip() else None
    except (ValueError, RecursionError):
        data = None
    if isinstance(data, dict):
        err = data.get("error")
        request_id = _str_or_none(data.get("request_id"))
        if isinstance(err, dict):
            request_id = request_id or _str_or_none(err.get("request_id"))
            message = _str_or_none(err.get("message")) or _str_or_none(err.get("error"))
            # Anthropic: error.type; Bifrost: error.type or the governance top-level type;
            # Gemini: error.status ("NOT_FOUND").
            error_type = (
                _str_or_none(err.get("type"))
                or (_str_or_none(data.get("type")) if data.get("type") != "error" else None)
                or _str_or_none(err.get("status"))
            )
            code = _str_or_none(err.get("code"))
            return ErrorBody(
                clean_text(message, redact=redact)
                if message
                else _fallback_message(data, status, redact),
                clean_text(error_type, 80, redact) if error_type else None,
                clean_text(code, 80, redact) if code else None,
                clean_text(request_id, 120, redact) if request_id else None,
            )
        message = _str_or_none(err) or _str_or_none(data.get("message"))
        message = message or _str_or_none(data.get("detail"))
        return ErrorBody(
            clean_text(message, redact=redact)
            if message
            else _fallback_message(data, status, redact),
            clean_text(_str_or_none(data.get("type")) or "", 80, redact) or None,
            None,
            clean_text(request_id, 120, redact) if request_id else None,
        )
    if isinstance(data, str) and data.strip():
        return ErrorBody(clean_text(data, redact=redact))
    if data is not None:
        return ErrorBody(_fallback_message(data, status, redact))
    if looks_like_html(body, content_type):
        return ErrorBody(html_summary(body, redact))
    text = body[:65536].decode("utf-8", errors="replace")
    if text.strip():
        return ErrorBody(clean_text(text, redact=redact))
    return ErrorBody(httpx.codes.get_reason_phrase(status) or f"HTTP {status}")


def _fallback_message(data: Any, status: int, redact: Callable[[str], str] | None = None) -> str:
    try:
        text = json.dumps(data, ensure_ascii=False)[:65536]
    except (TypeError, ValueError, RecursionError):
        text = ""
    if not text.strip():
        return httpx.codes.get_reason_phrase(status) or ""
    return clean_text(text, redact=redact)


def is_gateway_side(body: ErrorBody) -> bool:
    """A Bifrost-side failure (no batch key, unknown provider, unsupported op), not upstream's."""
    if body.error_type == "api_error" or body.code == "unsupported_operation":
        return True
    lowered = body.message.lower()
    return any(marker in lowered for marker in _GATEWAY_SIDE_MESSAGES)


def parse_retry_after(value: str | None) -> float | None:
    """``retry-after`` in seconds; the HTTP-date form is ignored (we have no trusted clock here)."""
    if not value:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    if seconds != seconds or seconds < 0 or seconds == float("inf"):
        return None
    return seconds


def error_from_reply(
    reply: Reply, *, provider: str | None, redact: Callable[[str], str] | None = None
) -> GatewayError:
    """The ``GatewayError`` for a non-2xx reply (3xx included: redirects are never followed)."""
    redact = redact or reply.redact
    status = reply.status
    if 300 <= status < 400:
        location = reply.headers.get("location", "")
        try:
            host = httpx.URL(location).host if location else ""
        except Exception:
            host = ""
        where = f"to {host}" if host else "elsewhere"
        return GatewayConfigError(
            f"gateway answered with a redirect {where}; check the base URL",
            status=status,
            provider=provider,
            path=reply.path,
        )
    parsed = parse_error_body(reply.body, reply.headers.get("content-type", ""), status, redact)
    request_id = reply.request_id or parsed.request_id
    kw: dict[str, Any] = {
        "status": status,
        "error_type": redact(parsed.error_type) if parsed.error_type else None,
        "request_id": redact(request_id) if request_id else None,
        "provider": provider,
        "path": reply.path,
    }
    message = redact(parsed.message)
    if status in (401, 403):
        return AuthRefused(message, **kw)
    if status == 404:
        return NotFound(message, **kw)
    if status == 409 or (status == 400 and _NOT_CANCELLABLE.search(message)):
        return Conflict(message, **kw)
    if status == 429:
        return RateLimited(
            message, retry_after=parse_retry_after(reply.headers.get("retry-after")), **kw
        )
    if 400 <= status < 500:
        return RequestRejected(message, **kw)
    if status == 500 and is_gateway_side(parsed):
        return GatewayConfigError(message, **kw)
    if 500 <= status < 600:
        return ServerError(message, **kw)
    return BadResponse(f"unexpected HTTP status {status}: {message}", **kw)


# --------------------------------------------------------------------------- transport failures


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 10:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _tls_failure(exc: BaseException, redact: Callable[[str], str]) -> TLSFailure | None:
    chain = _chain(exc)
    for item in chain:
        if isinstance(item, ssl.SSLCertVerificationError):
            verify_message = getattr(item, "verify_message", None)
            detail = clean_text(str(verify_message), 120, redact) if verify_message else ""
            if "mismatch" in detail.lower():
                return TLSFailure(
                    f"certificate does not match the host ({detail}); check the base URL's host "
                    "name — verification is never turned off silently"
                )
            why = f" ({detail})" if detail else ""
            return TLSFailure(
                f"certificate not trusted{why}; set a CA bundle in the profile (ca_bundle) — "
                "verification is never turned off silently"
            )
    for item in chain:
        if isinstance(item, ssl.SSLError) or "[SSL" in str(item):
            text = redact(str(item))
            if "CERTIFICATE_VERIFY_FAILED" in text:
                return TLSFailure(
                    "certificate not trusted; set a CA bundle in the profile (ca_bundle) — "
                    "verification is never turned off silently"
                )
            return TLSFailure(f"TLS handshake failed: {clean_text(text, 160, redact)}")
    return None


def classify_failure(
    exc: BaseException,
    url: httpx.URL,
    timeouts: tuple[float, float, float],
    redact: Callable[[str], str] = lambda s: s,
) -> TransportFailure:
    """Map an exception raised while exchanging one request to a ``TransportFailure``.

    The exception's own text is redacted before it goes into a message (a proxy may echo headers).
    """
    connect, read, total = timeouts
    host = url.host or "the gateway"
    where = f"{host}:{url.port}" if url.port else host
    if isinstance(exc, TimeoutError | asyncio.TimeoutError) and not isinstance(
        exc, httpx.TimeoutException
    ):
        return TransportFailure(
            GatewayTimeout(f"no complete answer from {where} within {total:g} s"), sent=True
        )
    if isinstance(exc, httpx.ConnectTimeout):
        return TransportFailure(
            Unreachable(f"cannot connect to {where}: no answer within {connect:g} s"),
            sent=False,
            retryable=True,
        )
    if isinstance(exc, httpx.PoolTimeout):
        return TransportFailure(
            GatewayTimeout("too many requests in flight; no connection became free"), sent=False
        )
    if isinstance(exc, httpx.ReadTimeout | httpx.WriteTimeout | httpx.TimeoutException):
        return TransportFailure(
            GatewayTimeout(f"{where} stopped answering for {read:g} s"), sent=True
        )
    if isinstance(exc, httpx.ConnectError | httpx.ProxyError | ssl.SSLError):
        tls = _tls_failure(exc, redact)
        if tls is not None:
            return TransportFailure(tls, sent=False)
        if any(isinstance(item, socket.gaierror) for item in _chain(exc)) or _DNS_FAILURE.search(
            redact(str(exc))
        ):
            return TransportFailure(
                Unreachable(f"cannot resolve host {host}"), sent=False, retryable=True
            )
        reason = clean_text(str(exc), 120, redact) or type(exc).__name__
        return TransportFailure(
            Unreachable(f"cannot connect to {where} ({reason})"), sent=False, retryable=True
        )
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.LocalProtocolError):
        return TransportFailure(
            GatewayConfigError(
                f"the request could not be made: {clean_text(str(exc), 120, redact)}"
            ),
            sent=False,
        )
    if isinstance(exc, httpx.DecodingError):
        return TransportFailure(BadResponse("the gateway's answer could not be decoded"), sent=True)
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
        tls = _tls_failure(exc, redact)
        if tls is not None:
            return TransportFailure(tls, sent=True)
        # The connection dropped after the request left: a GET may try again, a POST may not.
        return TransportFailure(
            Unreachable(f"connection to {where} dropped before the answer was complete"),
            sent=True,
            retryable=True,
        )
    if isinstance(exc, OSError):
        return TransportFailure(
            Unreachable(f"network error talking to {where}: {clean_text(str(exc), 120, redact)}"),
            sent=True,
        )
    return TransportFailure(
        Unreachable(f"request to {where} failed ({type(exc).__name__})"), sent=True
    )
