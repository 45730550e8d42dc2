"""SimTransport: an httpx transport that answers from a SimWorld in process (``--demo``, tests).

Latency and trickled bodies wait through an injectable async ``sleep`` so tests can skip the wait;
client timeouts (``request.extensions["timeout"]``) are honoured against that simulated time, so a
slow gateway raises ``httpx.ReadTimeout`` exactly as a real one would, without a test waiting.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx

from bifrost_tui.sim.exchange import SimRequest, SimResponse
from bifrost_tui.sim.world import SimWorld

Sleep = Callable[[float], Awaitable[None]]


class SimTransport(httpx.AsyncBaseTransport):
    """Route every request of an ``httpx.AsyncClient`` to ``world`` (the host part is ignored)."""

    def __init__(self, world: SimWorld, *, sleep: Sleep | None = None) -> None:
        self.world = world
        self._sleep: Sleep = sleep or asyncio.sleep

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        raw_path, _, query = request.url.raw_path.decode("ascii").partition("?")
        headers: dict[str, str] = {}
        for key, value in request.headers.raw:
            name = key.decode("latin-1").lower()
            text = value.decode("latin-1")
            headers[name] = f"{headers[name]}, {text}" if name in headers else text
        answer = self.world.handle(SimRequest(request.method, raw_path, query, headers, body))
        read_timeout = _read_timeout(request)
        if answer.transport_error == "connect":
            raise httpx.ConnectError("[Errno 111] Connection refused (simulated)", request=request)
        if answer.latency > 0:
            if read_timeout is not None and answer.latency > read_timeout:
                await self._sleep(read_timeout)
                raise httpx.ReadTimeout("The read operation timed out (simulated)", request=request)
            await self._sleep(answer.latency)
        _raise_transport_error(answer, request)
        if answer.stream is not None or answer.cut_after is not None:
            chunked = _ChunkStream(answer, self._sleep, read_timeout, request)
            return httpx.Response(
                answer.status, headers=answer.headers, stream=chunked, request=request
            )
        if answer.trickle > 0:
            stream = _TrickleStream(answer, self._sleep, read_timeout, request)
            headers_out = [*answer.headers, ("content-length", str(len(answer.body)))]
            return httpx.Response(
                answer.status, headers=headers_out, stream=stream, request=request
            )
        return httpx.Response(
            answer.status, headers=answer.headers, content=answer.body, request=request
        )


def _read_timeout(request: httpx.Request) -> float | None:
    timeout = request.extensions.get("timeout")
    if isinstance(timeout, dict):
        value = timeout.get("read")
        return float(value) if isinstance(value, int | float) else None
    return None


def _raise_transport_error(answer: SimResponse, request: httpx.Request) -> None:
    error = answer.transport_error
    if error == "remote_protocol":
        raise httpx.RemoteProtocolError(
            "Server disconnected without sending a response. (simulated)", request=request
        )
    if error == "read_error":
        raise httpx.ReadError("[Errno 104] Connection reset by peer (simulated)", request=request)
    if error == "read_timeout":
        raise httpx.ReadTimeout("The read operation timed out (simulated)", request=request)


class _SimStream(httpx.AsyncByteStream):
    """A simulated body: the answer, how time passes, and the client's read timeout."""

    def __init__(
        self,
        answer: SimResponse,
        sleep: Sleep,
        read_timeout: float | None,
        request: httpx.Request,
    ) -> None:
        self._answer = answer
        self._sleep = sleep
        self._read_timeout = read_timeout
        self._request = request


class _TrickleStream(_SimStream):
    """A body that arrives a few bytes at a time."""

    async def __aiter__(self) -> AsyncIterator[bytes]:
        body = self._answer.body
        step = max(1, self._answer.trickle_chunk)
        interval = self._answer.trickle
        for start in range(0, len(body), step):
            if self._read_timeout is not None and interval > self._read_timeout:
                await self._sleep(self._read_timeout)
                raise httpx.ReadTimeout(
                    "The read operation timed out (simulated)", request=self._request
                )
            await self._sleep(interval)
            yield body[start : start + step]


class _ChunkStream(_SimStream):
    """A streamed body, chunk by chunk as it is generated (trickled, or cut mid-body and the
    connection dropped, as the faults say)."""

    async def __aiter__(self) -> AsyncIterator[bytes]:
        answer = self._answer
        chunks = answer.stream if answer.stream is not None else (answer.body,)
        sent = 0
        for chunk in chunks:
            if answer.trickle > 0:
                if self._read_timeout is not None and answer.trickle > self._read_timeout:
                    await self._sleep(self._read_timeout)
                    raise httpx.ReadTimeout(
                        "The read operation timed out (simulated)", request=self._request
                    )
                await self._sleep(answer.trickle)
            if answer.cut_after is not None and sent + len(chunk) > answer.cut_after:
                part = chunk[: answer.cut_after - sent]
                if part:
                    yield part
                raise httpx.RemoteProtocolError(
                    "peer closed connection without sending complete message body (simulated)",
                    request=self._request,
                )
            sent += len(chunk)
            yield chunk
