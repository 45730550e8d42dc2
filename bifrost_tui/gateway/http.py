"""HTTP plumbing for the gateway client: URL checks, headers, deadlines, size cap, retries, errors.

Everything here turns the messy outside (httpx exceptions, proxies' HTML pages, three error
envelopes, trickling bodies) into either a ``Reply`` or a ``GatewayError``. ``client.py`` builds the
Bifrost routes on top and never touches httpx exceptions itself.

Secrets live in ``Credentials`` and are unwrapped in exactly one place, ``Credentials.headers_for``,
where a request's headers are built; ``Credentials.redact`` scrubs them from any text the gateway
echoes back before that text becomes an error message.
"""

from __future__ import annotations

import asyncio
import base64
import html
import ipaddress
import json
import logging
import re
import socket
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import httpx
from pydantic import SecretStr

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

log = logging.getLogger("bifrost_tui.gateway")

#: Longest error message kept from a response body; a proxy's 10 KB HTML page becomes one line.
MAX_MESSAGE_CHARS = 300
#: Exponential backoff never waits longer than this between two attempts.
BACKOFF_CAP_SECONDS = 8.0
#: A 429's ``retry-after`` is honoured up to this many seconds (a TUI poll must not stall for long).
RETRY_AFTER_CAP_SECONDS = 15.0
#: GET statuses worth another attempt: rate limiting and a proxy that lost its upstream.
RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
#: Header the client must never send: it makes Bifrost return provider-native bodies.
FORBIDDEN_HEADERS = frozenset({"x-bf-send-back-raw-response"})
#: Headers the client owns; ``extra_headers`` may not override them. (``authorization`` is allowed
#: for a reverse proxy's own token, unless dashboard auth already uses it.)
PROTOCOL_HEADERS = frozenset(
    {"x-model-provider", "x-bf-vk", "content-length", "transfer-encoding", "host"}
)

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
_TITLE = re.compile(r"<title[^>]*>(.*?)</title\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


class Route(Enum):
    """Which auth a route gets (gateway notes §4)."""

    INFERENCE = "inference"  # /anthropic, /openai: virtual key + dashboard auth + extra headers
    MANAGEMENT = "management"  # /api/*: dashboard auth + extra headers, never the virtual key
    PUBLIC = "public"  # /health: extra headers only


# --------------------------------------------------------------------------- secrets


def as_secret(value: SecretStr | str | None) -> SecretStr | None:
    """Accept a plain string where a secret is expected, and wrap it at once."""
    if value is None or isinstance(value, SecretStr):
        return value
    return SecretStr(str(value))


class Credentials:
    """Holds the secrets; the only code that unwraps them. Its repr never shows them."""

    __slots__ = ("_basic", "_extra", "_vk")

    def __init__(
        self,
        *,
        virtual_key: SecretStr | None,
        username: str | None,
        password: SecretStr | None,
        extra_headers: Mapping[str, SecretStr],
    ) -> None:
        self._vk = virtual_key
        self._basic: SecretStr | None = None
        if password is not None:
            pair = f"{username or ''}:{password.get_secret_value()}".encode()
            self._basic = SecretStr("Basic " + base64.b64encode(pair).decode("ascii"))
        self._extra = dict(extra_headers)

    def __repr__(self) -> str:
        return "Credentials(<redacted>)"

    def sends_secret(self, route: Route) -> bool:
        if self._extra:
            return True
        if route is Route.PUBLIC:
            return False
        if route is Route.INFERENCE and self._vk is not None:
            return True
        return self._basic is not None

    def headers_for(self, route: Route) -> dict[str, str]:
        """The auth headers of one request: the single place where secrets are unwrapped.

        Dashboard Basic auth goes on inference routes too: Bifrost's auth middleware guards them as
        well when ``disable_auth_on_inference`` is false, and it consumes ``Authorization`` while
        governance reads the virtual key from ``x-bf-vk``, so the two never collide (notes §4.1).
        """
        headers = {name: value.get_secret_value() for name, value in self._extra.items()}
        if route is Route.PUBLIC:
            return headers
        if self._basic is not None:
            headers["authorization"] = self._basic.get_secret_value()
        if route is Route.INFERENCE and self._vk is not None:
            headers["x-bf-vk"] = self._vk.get_secret_value()
        return headers

    def redact(self, text: str) -> str:
        """``text`` with every secret value (and the Basic token) replaced by ``***``."""
        secrets = [s.get_secret_value() for s in self._extra.values()]
        if self._vk is not None:
            secrets.append(self._vk.get_secret_value())
        if self._basic is not None:
            token = self._basic.get_secret_value()
            secrets += [token, token.removeprefix("Basic ")]
            secrets.append(base64.b64decode(token.removeprefix("Basic ")).decode().split(":", 1)[1])
        for secret in sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True):
            text = text.replace(secret, "***")
        return text


# --------------------------------------------------------------------------- configuration checks


def redact_url(url: str) -> str:
    """``url`` without userinfo, query or fragment: safe to show and to log."""
    try:
        parsed = httpx.URL(url)
        return str(parsed.copy_with(userinfo=b"", query=None, fragment=None))
    except Exception:
        return "<unparseable URL>"


def check_base_url(base_url: str) -> httpx.URL:
    """Parse and vet the base URL; raise ``GatewayConfigError`` without echoing any credential."""
    if not isinstance(base_url, str):
        raise GatewayConfigError("the base URL must be text")
    try:
        url = httpx.URL(base_url.strip())
    except Exception:
        raise GatewayConfigError("the base URL cannot be parsed") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise GatewayConfigError("the base URL must start with http:// or https:// and name a host")
    if url.userinfo:
        raise GatewayConfigError(
            "the base URL carries credentials (user:password@); remove them and put the virtual "
            "key or dashboard password in an environment variable referenced by the profile"
        )
    if url.query or url.fragment:
        raise GatewayConfigError(
            "the base URL carries a query string or fragment; a base URL takes none, and tokens "
            "belong in an environment variable referenced by the profile, not in the URL"
        )
    return url


def is_loopback(host: str) -> bool:
    name = host.strip("[]").rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def check_extra_headers(
    headers: Mapping[str, Any], *, dashboard_auth: bool = False
) -> dict[str, SecretStr]:
    """Validate names and values of ``extra_headers`` (values are secrets: never echoed)."""
    checked: dict[str, SecretStr] = {}
    for name, value in headers.items():
        if not isinstance(name, str) or not _HEADER_NAME.match(name):
            raise GatewayConfigError("an extra header has an invalid name")
        lowered = name.lower()
        if lowered in FORBIDDEN_HEADERS:
            raise GatewayConfigError(
                f"extra header {name} is not allowed: the console reads Bifrost's converted bodies"
            )
        if lowered in PROTOCOL_HEADERS or (lowered == "authorization" and dashboard_auth):
            raise GatewayConfigError(
                f"extra header {name} is set by the console itself; use the profile's own setting"
            )
        secret = as_secret(value)
        if secret is None or not isinstance(secret.get_secret_value(), str):
            raise GatewayConfigError(f"extra header {name} has no value")
        if _CONTROL.search(secret.get_secret_value().replace("\t", " ")):
            raise GatewayConfigError(f"extra header {name} has a value with control characters")
        checked[lowered] = secret
    return checked


def tls_verify(verify: bool | str) -> bool | ssl.SSLContext:
    """``True`` → httpx's default trust store; a path → an SSL context trusting that CA bundle."""
    if verify is True:
        return True
    if verify is False:
        # Only an explicit False from the caller gets here; nothing ever falls back to it.
        log.warning("TLS certificate verification is off for this profile")
        return False
    try:
        return ssl.create_default_context(cafile=verify)
    except (OSError, ssl.SSLError, ValueError) as exc:
        raise GatewayConfigError(
            f"cannot load the CA bundle {verify!r}: {type(exc).__name__}"
        ) from None


# --------------------------------------------------------------------------- replies and failures


@dataclass(frozen=True, slots=True)
class Reply:
    """One complete HTTP answer, body read within the size cap and the deadline."""

    status: int
    headers: httpx.Headers
    body: bytes
    path: str
    #: Scrubs the client's secrets from text taken from this reply (a gateway may echo them).
    redact: Callable[[str], str] = field(default=lambda s: s, compare=False, repr=False)

    def __repr__(self) -> str:
        # Never the body or the headers: a gateway may echo a key back in either, and a crash
        # traceback prints the locals of every frame (Textual's does) with their reprs.
        return f"Reply(status={self.status}, path={self.path!r}, body=<{len(self.body)} bytes>)"

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def request_id(self) -> str | None:
        value = self.headers.get("request-id") or self.headers.get("x-request-id")
        return clean_text(value, 120) if value else None


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


@dataclass(slots=True)
class RequestCounter:
    """HTTP requests made on behalf of one operation (retries included)."""

    n: int = 0


# --------------------------------------------------------------------------- text helpers


def clean_text(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """One line of plain text: control characters and runs of whitespace become one space."""
    one_line = " ".join(_CONTROL.sub(" ", text).split())
    if len(one_line) > limit:
        return one_line[: limit - 1].rstrip() + "…"
    return one_line


def looks_like_html(body: bytes, content_type: str) -> bool:
    if "html" in content_type.lower():
        return True
    head = body[:512].lstrip().lower()
    return head.startswith((b"<!doctype", b"<html", b"<head", b"<body"))


def html_summary(body: bytes) -> str:
    """A proxy's HTML error page reduced to its ``<title>`` or first line of text."""
    text = body[:65536].decode("utf-8", errors="replace")
    match = _TITLE.search(text)
    if match and match.group(1).strip():
        return clean_text(html.unescape(match.group(1)))
    stripped = html.unescape(_TAG.sub("\n", text))
    for line in stripped.splitlines():
        if line.strip():
            return clean_text(line)
    return "an HTML page"


def decode_json(reply: Reply) -> Any:
    """The reply's JSON, or ``BadResponse`` saying what came instead."""
    if not reply.body.strip():
        raise BadResponse("the gateway's answer was empty", status=reply.status, path=reply.path)
    try:
        return json.loads(reply.body)
    except (ValueError, RecursionError):
        pass
    content_type = reply.headers.get("content-type", "")
    if looks_like_html(reply.body, content_type):
        raise BadResponse(
            f"expected JSON but got an HTML page ({reply.redact(html_summary(reply.body))}); "
            "check that the base URL points at the gateway",
            status=reply.status,
            path=reply.path,
        )
    raise BadResponse(
        "the gateway's answer is not valid JSON", status=reply.status, path=reply.path
    )


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


def parse_error_body(body: bytes, content_type: str, status: int) -> ErrorBody:
    """Read the Anthropic, Bifrost and Gemini envelopes, plain text and proxies' HTML pages."""
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
                clean_text(message) if message else _fallback_message(data, status),
                clean_text(error_type, 80) if error_type else None,
                clean_text(code, 80) if code else None,
                clean_text(request_id, 120) if request_id else None,
            )
        message = _str_or_none(err) or _str_or_none(data.get("message"))
        message = message or _str_or_none(data.get("detail"))
        return ErrorBody(
            clean_text(message) if message else _fallback_message(data, status),
            clean_text(_str_or_none(data.get("type")) or "", 80) or None,
            None,
            clean_text(request_id, 120) if request_id else None,
        )
    if isinstance(data, str) and data.strip():
        return ErrorBody(clean_text(data))
    if data is not None:
        return ErrorBody(_fallback_message(data, status))
    if looks_like_html(body, content_type):
        return ErrorBody(html_summary(body))
    text = body[:65536].decode("utf-8", errors="replace")
    if text.strip():
        return ErrorBody(clean_text(text))
    return ErrorBody(httpx.codes.get_reason_phrase(status) or f"HTTP {status}")


def _fallback_message(data: Any, status: int) -> str:
    try:
        text = json.dumps(data, ensure_ascii=False)[:2000]
    except (TypeError, ValueError, RecursionError):
        text = ""
    return clean_text(text) if text.strip() else (httpx.codes.get_reason_phrase(status) or "")


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
    parsed = parse_error_body(reply.body, reply.headers.get("content-type", ""), status)
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
            detail = clean_text(str(verify_message), 120) if verify_message else ""
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
            return TLSFailure(f"TLS handshake failed: {clean_text(text, 160)}")
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
        reason = clean_text(redact(str(exc)), 120) or type(exc).__name__
        return TransportFailure(
            Unreachable(f"cannot connect to {where} ({reason})"), sent=False, retryable=True
        )
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.LocalProtocolError):
        return TransportFailure(
            GatewayConfigError(
                f"the request could not be made: {clean_text(redact(str(exc)), 120)}"
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
            Unreachable(f"network error talking to {where}: {clean_text(redact(str(exc)), 120)}"),
            sent=True,
        )
    return TransportFailure(
        Unreachable(f"request to {where} failed ({type(exc).__name__})"), sent=True
    )


# --------------------------------------------------------------------------- the HTTP core


class HttpCore:
    """One httpx.AsyncClient with the client's policies: auth, deadline, size cap, retries."""

    def __init__(
        self,
        *,
        base_url: httpx.URL,
        credentials: Credentials,
        user_agent: str,
        connect_timeout: float,
        read_timeout: float,
        total_timeout: float,
        verify: bool | str,
        max_response_bytes: int,
        retries: int,
        backoff: float,
        allow_insecure_http: bool,
        transport: httpx.AsyncBaseTransport | None,
        sleep: Callable[[float], Awaitable[None]],
    ) -> None:
        self.base_url = base_url
        self._credentials = credentials
        self._timeouts = (connect_timeout, read_timeout, total_timeout)
        self._max_bytes = max_response_bytes
        self._retries = max(0, retries)
        self._backoff = max(0.0, backoff)
        self._sleep = sleep
        self._insecure = (
            base_url.scheme == "http" and not is_loopback(base_url.host) and not allow_insecure_http
        )
        self._client = httpx.AsyncClient(
            base_url=base_url,
            headers={"user-agent": user_agent, "accept": "application/json"},
            timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
            # A transport given by the caller (tests, the simulator) brings its own TLS.
            verify=tls_verify(verify) if transport is None else True,
            follow_redirects=False,
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"HttpCore(base_url={str(self.base_url)!r})"

    async def aclose(self) -> None:
        await self._client.aclose()

    def redact(self, text: str) -> str:
        return self._credentials.redact(text)

    def backoff_delay(self, attempt: int) -> float:
        return min(BACKOFF_CAP_SECONDS, self._backoff * (2**attempt))

    async def exchange(
        self,
        method: str,
        path: str,
        *,
        route: Route,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
        counter: RequestCounter | None = None,
    ) -> Reply:
        """Exactly one HTTP request; raises ``TransportFailure``, or GatewayError before sending."""
        if self._insecure and self._credentials.sends_secret(route):
            raise GatewayConfigError(
                f"refusing to send credentials over plain http:// to {self.base_url.host}; use "
                "https://, or set allow_insecure_http in the profile if this network is trusted",
                path=path,
            )
        request_headers = dict(headers or {})
        request_headers.update(self._credentials.headers_for(route))
        try:
            request = self._client.build_request(
                method, path, params=params, headers=request_headers, content=content
            )
        except Exception as exc:
            raise GatewayConfigError(
                f"the request could not be built ({type(exc).__name__})", path=path
            ) from None
        total = self._timeouts[2]
        started = time.monotonic()
        if counter is not None:
            counter.n += 1
        try:
            async with asyncio.timeout(total):
                reply = await self._receive(request, path)
        except GatewayError as exc:
            raise TransportFailure(exc, sent=True) from None
        except Exception as exc:
            failure = classify_failure(exc, request.url, self._timeouts, self.redact)
            failure.error.path = path
            log.debug("%s %s failed: %s", method, path, failure.error.kind)
            raise failure from None
        log.debug(
            "%s %s -> %d in %.0f ms", method, path, reply.status, (time.monotonic() - started) * 1e3
        )
        return reply

    async def _receive(self, request: httpx.Request, path: str) -> Reply:
        response = await self._client.send(request, stream=True)
        try:
            declared = response.headers.get("content-length", "")
            if declared.strip().isdigit() and int(declared) > self._max_bytes:
                raise self._too_large(response.status_code, path)
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > self._max_bytes:
                    raise self._too_large(response.status_code, path)
                chunks.append(chunk)
            return Reply(
                response.status_code, response.headers, b"".join(chunks), path, self.redact
            )
        finally:
            await response.aclose()

    def _too_large(self, status: int, path: str) -> BadResponse:
        return BadResponse(
            f"response larger than {self._max_bytes} bytes; refused", status=status, path=path
        )

    async def call(
        self,
        method: str,
        path: str,
        *,
        route: Route,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
        provider: str | None = None,
        counter: RequestCounter | None = None,
        retry: bool = True,
    ) -> Reply:
        """A 2xx reply or a ``GatewayError``; GETs retry with capped exponential backoff.

        Retried: connection failures, a connection dropped before the answer, 429 (honouring
        ``retry-after`` up to a cap) and 502/503/504. Never retried: timeouts after the request
        left, other statuses, and anything with ``retry=False`` (cancel).
        """
        attempts = 1 + (self._retries if retry else 0)
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                reply = await self.exchange(
                    method, path, route=route, params=params, headers=headers, counter=counter
                )
            except TransportFailure as failure:
                if not last and failure.retryable:
                    await self._sleep(self.backoff_delay(attempt))
                    continue
                failure.error.provider = failure.error.provider or provider
                raise failure.error from None
            if reply.ok:
                return reply
            error = error_from_reply(reply, provider=provider, redact=self.redact)
            if not last and reply.status in RETRYABLE_STATUSES:
                delay = self.backoff_delay(attempt)
                if isinstance(error, RateLimited) and error.retry_after is not None:
                    delay = min(RETRY_AFTER_CAP_SECONDS, error.retry_after)
                await self._sleep(delay)
                continue
            raise error
        raise AssertionError("unreachable: the loop always returns or raises")  # pragma: no cover
