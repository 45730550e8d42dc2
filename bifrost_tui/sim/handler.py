"""The simulated gateway's front door: a request in, a ``SimResponse`` out, faults applied.

Pure with respect to I/O: no sockets, no sleeping. The in-process transport and the loopback server
both call ``handle`` and then act out what the returned ``SimResponse`` asks for (latency, a
trickled body, a dropped connection). Faults in front of the gateway (down, refused, a proxy's
error page, a scripted answer) come first; then the route answers, every request logged.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from bifrost_tui.sim import emit
from bifrost_tui.sim.auth import dashboard_ok
from bifrost_tui.sim.batch_routes import batch_route
from bifrost_tui.sim.exchange import (
    JSON,
    Answer,
    BodyStream,
    RouteContext,
    SimRequest,
    SimResponse,
    json_answer,
)
from bifrost_tui.sim.faults import Faults, ScriptedFault, proxy_error_body
from bifrost_tui.sim.management_routes import MANAGEMENT_ROUTES
from bifrost_tui.sim.passthrough import classify, passthrough_route, refusal
from bifrost_tui.sim.routes import OPEN_ROUTES, OPS, match

if TYPE_CHECKING:
    from bifrost_tui.sim.world import SimWorld


def handle(world: SimWorld, request: SimRequest) -> SimResponse:
    """Answer ``request`` against ``world`` (under the world's lock), with a ``Date`` header from
    the world's clock, as the gateway (fasthttp) sends on every answer."""
    with world.lock:
        response = _handle(world, request)
        if not any(name.lower() == "date" for name, _ in response.headers):  # scripted: its own
            response.headers.append(("date", http_date(world.clock.now())))
        return response


def http_date(when: datetime) -> str:
    """An HTTP ``Date`` value (RFC 9110 IMF-fixdate): ``Tue, 01 Dec 2026 13:53:17 GMT``."""
    return format_datetime(when.astimezone(UTC), usegmt=True)


def _handle(world: SimWorld, request: SimRequest) -> SimResponse:
    method = request.method.upper()
    matched = match(method, request.path)
    query = parse_qs(request.query, keep_blank_values=True)
    route = matched[0] if isinstance(matched, tuple) else "unmatched"
    params = matched[1] if isinstance(matched, tuple) else {}
    ctx = RouteContext(world, request, params, query, route)
    ctx.op, ctx.provider = _classify(ctx)
    provider_faults = ctx.provider_faults()
    scripted = world.faults.take_scripted(method, request.path, ctx.provider)
    if scripted is None and provider_faults is not None:
        scripted = provider_faults.take_scripted(method, request.path, ctx.provider)
    knobs = [f for f in (world.faults, provider_faults) if f is not None]

    # Faults in front of the gateway: it never sees these requests.
    if any(f.down for f in knobs) or (scripted is not None and scripted.kind == "refuse"):
        _log(ctx, None, handled=False)
        return SimResponse(0, [], b"", transport_error="connect")
    if scripted is not None and scripted.kind == "response" and not scripted.apply:
        _log(ctx, scripted.status, handled=False)
        return _scripted_response(scripted, knobs)
    for f in knobs:
        if f.error_rate > 0 and world.fault_rng.random() < f.error_rate:
            status = world.fault_rng.choice(f.error_statuses or (502,))
            _log(ctx, status, handled=False)
            return _finish(
                SimResponse(status, [("content-type", "text/html")], proxy_error_body(status)),
                knobs,
            )

    refused = next((f.refuse_passthrough for f in knobs if f.refuse_passthrough), None)
    if route == "passthrough" and refused:
        _log(ctx, refused, handled=False)
        return _finish(SimResponse(*refusal(refused)), knobs)

    world.advance()
    if isinstance(matched, tuple):
        status, headers, body = _dispatch(ctx)
    elif matched == "405":
        status, headers, body = 405, [("content-type", "text/plain")], b"Method Not Allowed"
    elif request.path.startswith("/anthropic/v1/messages/batches/"):
        status, headers, body = _anthropic_unmatched(method)
    else:
        status, headers, body = 404, [("content-type", "text/plain")], b"Not Found"

    if scripted is not None and scripted.kind == "response":
        _log(ctx, scripted.status, handled=True)
        return _scripted_response(scripted, knobs)
    response = SimResponse(status, headers, body, stream=ctx.stream)
    if scripted is not None and scripted.kind == "drop":
        response.transport_error = scripted.error
    elif ctx.op == "batch_cancel" and any(f.drop_cancel_after_send for f in knobs):
        response.transport_error = "remote_protocol"
    _log(ctx, None if response.transport_error else status, handled=True)
    return _finish(response, knobs, cancel=ctx.op == "batch_cancel")


#: What the gateway's web UI serves for a GET no route takes (its HTML page, status 200).
UI_PAGE = b"<html><body>Bifrost</body></html>\n"


def _anthropic_unmatched(method: str) -> Answer:
    """A batch path no route takes (an id with a raw ``/``, as recorded): a GET gets the
    web UI's page with 200; anything else reaches the Anthropic integration's catch-all, which
    fails with 500 in the Anthropic envelope."""
    if method == "GET":
        return 200, [("content-type", "text/html; charset=utf-8")], UI_PAGE
    failure = emit.GatewayFailure("responses not provided for responses request")
    return json_answer(500, emit.anthropic_error_body(failure))


def _scripted_response(fault: ScriptedFault, knobs: list[Faults]) -> SimResponse:
    headers = list(fault.headers.items())
    if not any(k.lower() == "content-type" for k, _ in headers) and fault.body:
        start = fault.body.lstrip()[:1]
        kind = JSON if start in (b"{", b"[") else "text/html" if start == b"<" else "text/plain"
        headers.append(("content-type", kind))
    return _finish(SimResponse(fault.status, headers, fault.body), knobs, corrupt=False)


def _finish(
    response: SimResponse, knobs: list[Faults], *, corrupt: bool = True, cancel: bool = False
) -> SimResponse:
    """Apply latency (a cancel's own on top), trickling and body corruption."""
    response.latency = sum(f.latency + (f.cancel_latency if cancel else 0.0) for f in knobs)
    slow = max((f.slow_body for f in knobs), default=0.0)
    if slow > 0:
        response.trickle = slow
        response.trickle_chunk = min(f.slow_body_chunk for f in knobs if f.slow_body > 0)
    is_json = any(k == "content-type" and v.startswith(JSON) for k, v in response.headers)
    if corrupt and is_json and any(f.malformed_json for f in knobs) and response.body:
        response.body = response.body[: max(1, len(response.body) // 2)]
    if corrupt and is_json and any(f.malformed_json for f in knobs) and response.stream:
        response.stream = _half_first_chunk(response.stream)
    cuts = [f.cut_body_after for f in knobs if f.cut_body_after is not None]
    if cuts:
        response.cut_after = min(cuts)
    return response


def _half_first_chunk(stream: BodyStream) -> BodyStream:
    """A streamed JSON body that ends cleanly halfway through its first chunk."""

    def chunks() -> Iterator[bytes]:
        for chunk in stream:
            yield chunk[: max(1, len(chunk) // 2)]
            return

    return BodyStream(chunks)


def _classify(ctx: RouteContext) -> tuple[str | None, str | None]:
    """The logged operation and the provider the request names (before any validation)."""
    route = ctx.route
    if route.startswith(("a_", "o_", "v_")):
        op = OPS.get(route[2:], "batch_" + route[2:])
        if route.startswith("a_"):
            return op, ctx.request.header("x-model-provider") or "anthropic"
        provider = ctx.q("provider")
        if route.startswith("o_"):
            provider = provider or "openai"
        return op, provider
    if route in ("provider", "keys"):
        return route, ctx.params.get("provider")
    if route == "passthrough":
        provider = ctx.params["provider"]
        return classify(ctx.request.method.upper(), provider, ctx.params["rest"]), provider
    return (None if route == "unmatched" else route), None


def _log(ctx: RouteContext, status: int | None, *, handled: bool) -> None:
    from bifrost_tui.sim.world import RequestRecord

    request = ctx.request
    ctx.world.log_request(
        RequestRecord(
            method=request.method.upper(),
            path=request.path,
            query=request.query,
            provider=ctx.provider,
            op=ctx.op,
            status=status,
            handled=handled,
            header_names=tuple(sorted(request.headers)),
            at=ctx.world.clock.now(),
            key_id=ctx.key_id,
        )
    )


def _dispatch(ctx: RouteContext) -> Answer:
    route = ctx.route
    world = ctx.world
    if route.startswith(("a_", "o_", "v_")):
        return batch_route(ctx)
    if route == "passthrough":
        return passthrough_route(ctx)
    if world.dashboard_auth is not None and route not in OPEN_ROUTES and not dashboard_ok(ctx):
        return json_answer(401, emit.unauthorized_body())
    return MANAGEMENT_ROUTES[route](ctx)
