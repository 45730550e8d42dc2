"""Shared helpers for the reliability and security suite (no tests here).

- ``rig``: the console on the in-process simulator, like ``ui_fixtures.make_rig``, but with the
  client's settings (timeouts, size cap, secrets) and a transport in front of the simulator that
  can fail the way a real network does (DNS, TLS, refused) without leaving the process.
- ``screen_text`` / ``screen_segments``: exactly what the console would paint, taken from the
  compositor, so a test can look for escape sequences the operator's terminal would receive.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from typing import Any

import httpx

from bifrost_tui.clock import ManualClock
from bifrost_tui.config.connection import DEMO_URL, Connection
from bifrost_tui.config.resolve import ResolvedConnection
from bifrost_tui.gateway.client import ClientConfig
from bifrost_tui.sim import SimTransport, SimWorld
from bifrost_tui.ui.app import BifrostApp
from tests.support.clocks import T0, no_sleep
from tests.support.ui_fixtures import Rig

#: Characters that must never reach the operator's terminal from gateway text: C0 controls (ESC,
#: BEL, CR, backspace...), DEL, C1 controls (CSI 0x9b, OSC 0x9d, ST 0x9c), bidi overrides and
#: isolates, and the Unicode line separators.
DANGEROUS = frozenset(
    [
        *(chr(c) for c in range(0x00, 0x20) if c != 0x0A),
        *(chr(c) for c in range(0x7F, 0xA0)),
        *(chr(c) for c in (0x061C, 0x200E, 0x200F, 0x2028, 0x2029)),
        *(chr(c) for c in range(0x202A, 0x202F)),
        *(chr(c) for c in range(0x2066, 0x206A)),
    ]
)


def dangerous_in(text: str) -> list[str]:
    """The dangerous characters found in ``text`` (as their escapes, for a readable failure)."""
    return sorted({f"U+{ord(ch):04X}" for ch in text if ch in DANGEROUS})


class FlakyNetwork(httpx.AsyncBaseTransport):
    """The simulator behind a network that can fail: ``fail_with`` raises instead of answering.

    ``fail_with`` is a factory ``request -> exception`` (``None``: the network works). Nothing ever
    leaves the process: the simulator answers whatever gets through.
    """

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.fail_with: Callable[[httpx.Request], BaseException] | None = None
        self.seen: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        if self.fail_with is not None:
            raise self.fail_with(request)
        return await self.inner.handle_async_request(request)


def dns_failure(request: httpx.Request) -> BaseException:
    cause = OSError(-2, "Name or service not known")
    error = httpx.ConnectError("[Errno -2] Name or service not known", request=request)
    error.__cause__ = cause
    return error


def tls_failure(request: httpx.Request) -> BaseException:
    cause = ssl.SSLCertVerificationError(
        1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate"
    )
    cause.verify_message = "self-signed certificate"
    error = httpx.ConnectError(str(cause), request=request)
    error.__cause__ = cause
    return error


def refused(request: httpx.Request) -> BaseException:
    return httpx.ConnectError("[Errno 111] Connection refused", request=request)


def rig(
    *,
    world: SimWorld | None = None,
    read_only: bool = False,
    profile: str | None = "staging",
    seed: int = 7,
    connection_opts: dict[str, Any] | None = None,
    **config: Any,
) -> tuple[Rig, FlakyNetwork]:
    """The console on the simulator behind a ``FlakyNetwork``; ``config`` goes to ClientConfig."""
    clock = ManualClock(T0)
    world = world or SimWorld.demo(clock, seed=seed, arrival_interval=None)
    network = FlakyNetwork(SimTransport(world, sleep=no_sleep))
    config.setdefault("retries", 0)
    config.setdefault("base_url", DEMO_URL)
    connection = Connection(
        settings=ResolvedConnection(
            profile=profile,
            base_url=config["base_url"],
            read_only=read_only,
            read_only_reasons=("profile",) if read_only else (),
        ),
        client_config=ClientConfig(**config),
        clock=world.clock,
        transport=network,
        world=world,
        **(connection_opts or {}),
    )
    app = BifrostApp(connection, clock=world.clock, live_updates=False)
    assert isinstance(world.clock, ManualClock), "the tests move time by hand"
    return Rig(app, world, world.clock), network


def screen_strips(app: BifrostApp) -> list[Any]:
    """Every line of the current screen as the compositor would send it to the terminal."""
    return list(app.screen._compositor.render_strips())


def screen_text(app: BifrostApp) -> str:
    """The current screen's characters, one line per row (styles dropped)."""
    return "\n".join(strip.text for strip in screen_strips(app))


def screen_segments_text(app: BifrostApp) -> str:
    """All segment texts of the current screen, including the ones of overlays and toasts."""
    return "".join(seg.text for strip in screen_strips(app) for seg in strip)
