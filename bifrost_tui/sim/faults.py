"""Fault injection for the simulated gateway: latency, flaky proxies, a dead gateway, bad bodies.

A ``Faults`` object hangs off the world (every request) or off one provider (requests that name it).
Random faults draw from the world's own seeded generator, so a run is repeatable. One-shot scripted
faults (``fail_next``, ``drop_next``, ``refuse_next``) answer the next matching request exactly.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Literal

#: How a request can fail at the transport level instead of getting an HTTP answer.
TransportError = Literal["connect", "remote_protocol", "read_error", "read_timeout"]

PROXY_HTML = (
    "<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
    "<center><h1>{status} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)
_REASONS = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Temporarily Unavailable",
    504: "Gateway Time-out",
}


def proxy_error_body(status: int) -> bytes:
    """The HTML a reverse proxy (nginx) in front of the gateway sends for a 5xx."""
    return PROXY_HTML.format(status=status, reason=_REASONS.get(status, "Error")).encode()


@dataclass(slots=True)
class ScriptedFault:
    """One scripted answer for the next request that matches ``method``/``path``/``provider``.

    ``kind``: ``"response"`` sends ``status``/``headers``/``body`` instead of the real answer;
    ``"drop"`` lets the request reach the world (a cancel is applied) and then fails the transport
    with ``error``; ``"refuse"`` fails before anything reaches the world (``error="connect"``).
    With ``apply=True`` a ``"response"`` fault still lets the world act first (e.g. the cancel took
    effect but a proxy answered 502).
    """

    kind: Literal["response", "drop", "refuse"] = "response"
    status: int = 500
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    method: str | None = None
    #: Substring of the request path that must match (``"/cancel"``), or ``None`` for any path.
    path: str | None = None
    provider: str | None = None
    error: TransportError = "remote_protocol"
    apply: bool = False
    times: int = 1

    def matches(self, method: str, path: str, provider: str | None) -> bool:
        if self.method is not None and self.method.upper() != method.upper():
            return False
        if self.path is not None and self.path not in path:
            return False
        return self.provider is None or self.provider == provider


@dataclass
class Faults:
    """Fault knobs. All default to "healthy"; set them on the world or on one provider.

    - ``latency``: seconds added before the answer (the in-process transport sleeps through an
      injectable async sleep, so tests need not wait).
    - ``error_rate``: fraction (0..1) of requests answered by a "reverse proxy" with one of
      ``error_statuses`` and an HTML body.
    - ``down``: the gateway is unreachable (transport: ``httpx.ConnectError``; server: the socket is
      closed without an answer).
    - ``malformed_json``: JSON bodies are cut in half.
    - ``slow_body``: seconds between body chunks of ``slow_body_chunk`` bytes (trickle).
    - ``drop_cancel_after_send``: every cancel is applied to the world, then the transport fails
      (``httpx.RemoteProtocolError``): the client cannot know the outcome.
    - ``cancel_latency``: seconds added before the answer to a cancel only (the cancel is applied
      and logged at once): slow cancels behind fast listings, to interrupt a run mid-flight.

    - ``cut_body_after``: every body stops after this many bytes and the connection drops
      (``httpx.RemoteProtocolError`` mid-body): an interrupted stream.
    - ``refuse_passthrough``: every request under a passthrough prefix (on a provider's knobs:
      that provider's prefix) is refused with this status: 404 ``Not Found`` as a gateway without
      the passthrough routes answers, 403 (or another status) as a reverse proxy's HTML page.
    """

    latency: float = 0.0
    error_rate: float = 0.0
    error_statuses: tuple[int, ...] = (502, 503, 500)
    down: bool = False
    malformed_json: bool = False
    slow_body: float = 0.0
    slow_body_chunk: int = 64
    drop_cancel_after_send: bool = False
    cancel_latency: float = 0.0
    cut_body_after: int | None = None
    refuse_passthrough: int | None = None
    scripted: deque[ScriptedFault] = field(default_factory=deque)

    def fail_next(
        self,
        status: int = 500,
        body: bytes | str = b"",
        headers: dict[str, str] | None = None,
        *,
        method: str | None = None,
        path: str | None = None,
        provider: str | None = None,
        apply: bool = False,
        times: int = 1,
    ) -> ScriptedFault:
        """Answer the next matching request with exactly this status, headers and body."""
        fault = ScriptedFault(
            kind="response",
            status=status,
            body=body.encode() if isinstance(body, str) else body,
            headers=dict(headers or {}),
            method=method,
            path=path,
            provider=provider,
            apply=apply,
            times=times,
        )
        self.scripted.append(fault)
        return fault

    def drop_next(
        self,
        *,
        method: str | None = "POST",
        path: str | None = "/cancel",
        provider: str | None = None,
        error: TransportError = "remote_protocol",
        times: int = 1,
    ) -> ScriptedFault:
        """Let the next matching request act on the world, then fail the transport (default: the
        next cancel is applied but its answer is lost)."""
        fault = ScriptedFault(
            kind="drop", method=method, path=path, provider=provider, error=error, times=times
        )
        self.scripted.append(fault)
        return fault

    def refuse_next(
        self,
        *,
        method: str | None = None,
        path: str | None = None,
        provider: str | None = None,
        times: int = 1,
    ) -> ScriptedFault:
        """Refuse the next matching connection (``httpx.ConnectError``); the world sees nothing."""
        fault = ScriptedFault(
            kind="refuse", method=method, path=path, provider=provider, error="connect", times=times
        )
        self.scripted.append(fault)
        return fault

    def take_scripted(self, method: str, path: str, provider: str | None) -> ScriptedFault | None:
        """Consume one use of the first scripted fault matching this request."""
        for fault in self.scripted:
            if fault.matches(method, path, provider):
                fault.times -= 1
                if fault.times <= 0:
                    self.scripted.remove(fault)
                return fault
        return None

    def clear(self) -> None:
        """Back to healthy."""
        self.latency = 0.0
        self.error_rate = 0.0
        self.down = False
        self.malformed_json = False
        self.slow_body = 0.0
        self.drop_cancel_after_send = False
        self.cancel_latency = 0.0
        self.cut_body_after = None
        self.refuse_passthrough = None
        self.scripted.clear()
