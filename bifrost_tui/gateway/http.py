"""The HTTP core of the gateway client: one httpx client with its policies.

Auth headers on every request, a total deadline, a response size cap, redirects never followed,
credentials never sent over plain http to another host, and retries with capped backoff for GETs
(never for a cancel). Everything that goes wrong comes out as a ``GatewayError``; ``client.py``
builds the Bifrost routes on top and never touches httpx exceptions itself.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

import httpx

from bifrost_tui.gateway.credentials import Credentials, Route
from bifrost_tui.gateway.endpoint import is_loopback, tls_verify
from bifrost_tui.gateway.errors import BadResponse, GatewayConfigError, GatewayError, RateLimited
from bifrost_tui.gateway.failures import TransportFailure, classify_failure, error_from_reply
from bifrost_tui.gateway.reply import Reply

log = logging.getLogger("bifrost_tui.gateway")

#: Exponential backoff never waits longer than this between two attempts.
BACKOFF_CAP_SECONDS = 8.0
#: A 429's ``retry-after`` is honoured up to this many seconds (a TUI poll must not stall for long).
RETRY_AFTER_CAP_SECONDS = 15.0
#: GET statuses worth another attempt: rate limiting and a proxy that lost its upstream.
RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})


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
