"""The HTTP core of the gateway client: one httpx client with its policies.

Auth headers on every request, a total deadline, a response size cap, redirects never followed,
credentials never sent over plain http to another host, and retries with capped backoff for GETs
(never for a cancel). Everything that goes wrong comes out as a ``GatewayError``; ``client.py``
builds the Bifrost routes on top and never touches httpx exceptions itself. A large body (batch
results) is streamed instead (``HttpCore.stream``), under limits of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

import httpx

from bifrost_tui.gateway.credentials import Credentials, Route
from bifrost_tui.gateway.endpoint import is_loopback, tls_verify
from bifrost_tui.gateway.errors import (
    BadResponse,
    GatewayConfigError,
    GatewayError,
    GatewayTimeout,
    RateLimited,
)
from bifrost_tui.gateway.failures import TransportFailure, classify_failure, error_from_reply
from bifrost_tui.gateway.reply import Reply

log = logging.getLogger("bifrost_tui.gateway")

#: Exponential backoff never waits longer than this between two attempts.
BACKOFF_CAP_SECONDS = 8.0
#: A 429's ``retry-after`` is honoured up to this many seconds (a TUI poll must not stall for long).
RETRY_AFTER_CAP_SECONDS = 15.0
#: GET statuses worth another attempt: rate limiting and a proxy that lost its upstream.
RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
#: A refused stream's error body is read no further than this (it only feeds the error message).
STREAM_ERROR_BODY_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class StreamLimits:
    """A streamed body's own limits: bytes, the first byte's wait and the whole read's deadline.

    The deadlines are ``asyncio`` loop times (``loop.time()``), so several streams of one
    operation can share one total deadline.
    """

    max_bytes: int
    first_byte_deadline: float
    total_deadline: float
    #: Said in a timeout's message ("within 600 s").
    first_byte_timeout: float
    total_timeout: float


@dataclass(slots=True)
class RequestCounter:
    """HTTP requests made on behalf of one operation (retries included)."""

    n: int = 0


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
        #: Called with the ``Date`` of every answer (any status): how the caller tracks skew.
        self.date_listeners: list[Callable[[datetime], None]] = []
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
        return min(BACKOFF_CAP_SECONDS, self._backoff * 2.0**attempt)

    def _build(
        self,
        method: str,
        path: str,
        route: Route,
        params: Mapping[str, str | int] | None,
        headers: Mapping[str, str] | None,
        *,
        content: bytes | None = None,
        timeout: httpx.Timeout | None = None,
    ) -> httpx.Request:
        """The request with the route's credentials; GatewayError (nothing sent) if it cannot."""
        if self._insecure and self._credentials.sends_secret(route):
            raise GatewayConfigError(
                f"refusing to send credentials over plain http:// to {self.base_url.host}; use "
                "https://, or set allow_insecure_http in the profile if this network is trusted",
                path=path,
            )
        request_headers = dict(headers or {})
        request_headers.update(self._credentials.headers_for(route))
        try:
            return self._client.build_request(
                method,
                path,
                params=params,
                headers=request_headers,
                content=content,
                timeout=httpx.USE_CLIENT_DEFAULT if timeout is None else timeout,
            )
        except Exception as exc:
            raise GatewayConfigError(
                f"the request could not be built ({type(exc).__name__})", path=path
            ) from None

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
        request = self._build(method, path, route, params, headers, content=content)
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
        date = reply.date
        if date is not None:
            for listener in self.date_listeners:
                listener(date)
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

    @contextlib.asynccontextmanager
    async def stream(
        self,
        path: str,
        *,
        route: Route,
        limits: StreamLimits,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
        provider: str | None = None,
    ) -> AsyncIterator[BodyStream]:
        """One GET whose 2xx body is read chunk by chunk (``BodyStream``), under ``limits``.

        One attempt, never retried: each attempt may make the gateway fetch a whole results file
        again. The status and headers must come before ``limits.first_byte_deadline``; the body
        is read without the client's read timeout (a gateway may prepare a large body for
        minutes) and stops at ``limits.max_bytes``. A non-2xx answer raises its ``GatewayError``
        (``error_from_reply``), its body read no further than ``STREAM_ERROR_BODY_BYTES``; a
        dropped connection or a deadline raises ``Unreachable`` or ``GatewayTimeout``.
        """
        timeout = httpx.Timeout(None, connect=self._timeouts[0])
        request = self._build("GET", path, route, params, headers, timeout=timeout)
        where = request.url.host or "the gateway"
        first_byte = GatewayTimeout(
            f"no answer from {where} within {limits.first_byte_timeout:g} s",
            provider=provider,
            path=path,
        )
        body = BodyStream(self, request, path, limits, provider, first_byte)
        try:
            await body.open()
            yield body
        finally:
            await body.aclose()

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


class BodyStream:
    """A 2xx body read chunk by chunk within its limits; ``read`` returns ``b""`` at the end.

    ``capped`` says the end came from ``max_bytes``, not from the gateway. Every failure is a
    ``GatewayError``.
    """

    def __init__(
        self,
        core: HttpCore,
        request: httpx.Request,
        path: str,
        limits: StreamLimits,
        provider: str | None,
        first_byte: GatewayTimeout,
    ) -> None:
        self._core = core
        self._request = request
        self.path = path
        self._limits = limits
        self._provider = provider
        self._first_byte = first_byte
        self._response: httpx.Response | None = None
        self._chunks: AsyncIterator[bytes] | None = None
        self._started = False
        self._done = False
        #: Bytes of the body handed out so far.
        self.size = 0
        #: The body went on past ``max_bytes``: what was read is a prefix of it.
        self.capped = False
        self.status = 0

    def _timeout_error(self) -> GatewayTimeout:
        if not self._started:
            return self._first_byte
        return GatewayTimeout(
            f"the answer was not complete within {self._limits.total_timeout:g} s",
            provider=self._provider,
            path=self.path,
        )

    def _deadline(self) -> float:
        if self._started:
            return self._limits.total_deadline
        return min(self._limits.first_byte_deadline, self._limits.total_deadline)

    def _failure(self, exc: BaseException) -> GatewayError:
        failure = classify_failure(exc, self._request.url, self._core._timeouts, self._core.redact)
        failure.error.path = self.path
        failure.error.provider = failure.error.provider or self._provider
        return failure.error

    async def open(self) -> None:
        """Send the request and take the status line; a non-2xx raises its ``GatewayError``."""
        client = self._core._client
        try:
            async with asyncio.timeout_at(self._deadline()):
                self._response = await client.send(self._request, stream=True)
        except TimeoutError:
            raise self._timeout_error() from None
        except Exception as exc:
            raise self._failure(exc) from None
        response = self._response
        self._started = True  # the status line is the answer's first byte
        self.status = response.status_code
        reply_date = Reply(response.status_code, response.headers, b"", self.path).date
        if reply_date is not None:
            for listener in self._core.date_listeners:
                listener(reply_date)
        self._chunks = response.aiter_bytes()
        if 200 <= response.status_code < 300:
            return
        chunks: list[bytes] = []
        size = 0
        while size < STREAM_ERROR_BODY_BYTES:
            chunk = await self._next()
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        body = b"".join(chunks)[:STREAM_ERROR_BODY_BYTES]
        reply = Reply(response.status_code, response.headers, body, self.path, self._core.redact)
        raise error_from_reply(reply, provider=self._provider, redact=self._core.redact)

    async def _next(self) -> bytes:
        if self._done or self._chunks is None:
            return b""
        try:
            async with asyncio.timeout_at(self._deadline()):
                chunk = await anext(self._chunks, b"")
        except TimeoutError:
            raise self._timeout_error() from None
        except Exception as exc:
            raise self._failure(exc) from None
        if not chunk:
            self._done = True
        return chunk

    async def read(self) -> bytes:
        """The next piece of the body; ``b""`` at its end or at ``max_bytes``."""
        if self.capped:
            return b""
        while True:
            chunk = await self._next()
            if chunk or self._done:
                break
        room = self._limits.max_bytes - self.size
        if len(chunk) > room:
            chunk = chunk[:room]
            self.capped = True
            self._done = True
        self.size += len(chunk)
        return chunk

    async def aclose(self) -> None:
        if self._response is not None:
            with contextlib.suppress(Exception):
                await self._response.aclose()
