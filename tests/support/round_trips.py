"""A transport in front of the simulator that can hold requests unanswered and remembers, for each
request, which answers had already come back when it left: round trips as order, never as time."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from urllib.parse import parse_qs

import httpx

MANAGEMENT = ("/health", "/api/version", "/api/providers")


def label_of(request: httpx.Request) -> str:
    """``first-page P``, ``page P`` (a later page), ``get P``, ``passthrough K`` (a key's native
    listing through a passthrough prefix), or the path for the others."""
    path = request.url.path
    query = parse_qs(request.url.query.decode())
    provider = request.headers.get("x-model-provider") or (query.get("provider") or [""])[0]
    if path in ("/anthropic/v1/messages/batches", "/openai/v1/batches"):
        return f"{'page' if 'after' in query else 'first-page'} {provider}"
    if path.startswith(("/anthropic/v1/messages/batches/", "/openai/v1/batches/")):
        return f"get {provider}"
    head = path.split("/")[1] if path.count("/") > 1 else ""
    if head.endswith("_passthrough"):
        return f"passthrough {head.removesuffix('_passthrough')}"  # a key's native listing
    return path


def is_management(label: str) -> bool:
    return label.startswith(MANAGEMENT)


class RoundTrips(httpx.AsyncBaseTransport):
    """``inner`` behind a gate: requests for which ``hold`` says yes wait until ``release()``."""

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        hold: Callable[[str], bool] = lambda _label: False,
    ) -> None:
        self.inner = inner
        self.hold = hold
        self._released = asyncio.Event()
        #: Labels in the order their answers came back.
        self.answered: list[str] = []
        #: Each request as it left: its label and the answers already back at that moment.
        self.sent: list[tuple[str, frozenset[str]]] = []

    def release(self) -> None:
        self._released.set()

    def before(self, label: str) -> frozenset[str]:
        """The answers already back when the first request labelled ``label`` left."""
        return next(done for sent, done in self.sent if sent == label)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        label = label_of(request)
        self.sent.append((label, frozenset(self.answered)))
        if self.hold(label):
            await self._released.wait()
        response = await self.inner.handle_async_request(request)
        await response.aread()
        self.answered.append(label)
        return response

    @staticmethod
    async def until(condition: Callable[[], bool], *, turns: int = 10_000) -> None:
        """Let the event loop run, turn by turn (no timed sleep: the simulator answers in
        process), until ``condition()`` holds."""
        for _ in range(turns):
            if condition():
                return
            await asyncio.sleep(0)
        raise AssertionError("the condition never held")
