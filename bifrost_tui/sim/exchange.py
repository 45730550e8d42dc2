"""The simulator's request and response, and what one request resolved to while answered."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bifrost_tui.sim.emit import dumps
from bifrost_tui.sim.faults import Faults, TransportError

if TYPE_CHECKING:
    from bifrost_tui.sim.world import SimWorld

JSON = "application/json"

#: What a route answers: status, headers, body.
Answer = tuple[int, list[tuple[str, str]], bytes]


@dataclass(frozen=True, slots=True)
class SimRequest:
    """One HTTP request. ``path`` is the raw (percent-encoded) path; ``headers`` are lower-case."""

    method: str
    path: str
    query: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


class BodyStream:
    """A body written as it is generated, chunk by chunk, never held whole (a large results set).

    Each iteration starts the generation over, so a body can be read more than once.
    """

    def __init__(self, chunks: Callable[[], Iterator[bytes]]) -> None:
        self._chunks = chunks

    def __iter__(self) -> Iterator[bytes]:
        return self._chunks()


@dataclass(slots=True)
class SimResponse:
    """The answer plus how to deliver it."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes
    #: Seconds to wait before answering.
    latency: float = 0.0
    #: Fail the transport instead of (or after, for "drop") answering.
    transport_error: TransportError | None = None
    #: Seconds between body chunks (0: send at once) and the chunk size.
    trickle: float = 0.0
    trickle_chunk: int = 64
    #: A streamed body (sent chunked; ``body`` is then empty).
    stream: BodyStream | None = None
    #: Cut the body after this many bytes and drop the connection (an interrupted stream).
    cut_after: int | None = None

    def content(self) -> bytes:
        """The whole body (a streamed one joined: for small bodies in tests)."""
        return self.body if self.stream is None else b"".join(self.stream)

    def json(self) -> Any:
        return json.loads(self.content())


@dataclass(slots=True)
class RouteContext:
    """What one request resolved to while being handled."""

    world: SimWorld
    request: SimRequest
    params: dict[str, str]
    query: dict[str, list[str]]
    route: str
    op: str | None = None
    provider: str | None = None
    #: Set by a route whose body is streamed (the answer's body is then empty).
    stream: BodyStream | None = None
    #: The provider key a route used (pinned by ``x-bf-api-key-id`` or chosen), when one was.
    key_id: str | None = None

    def q(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    def provider_faults(self) -> Faults | None:
        """The fault knobs of the provider the request names (``None``: none, or unknown)."""
        if self.provider is None:
            return None
        config = self.world.providers.get(self.provider)
        return config.faults if config is not None else None


#: A route: the request as resolved -> its answer.
RouteHandler = Callable[[RouteContext], Answer]


def json_answer(status: int, body: Any, headers: list[tuple[str, str]] | None = None) -> Answer:
    """A JSON answer, encoded as Go's encoder writes it."""
    return status, [("content-type", JSON), *(headers or [])], dumps(body)
