"""The simulated gateway's request handler: (method, path, query, headers, body) -> response.

Pure with respect to I/O: no sockets, no sleeping. The in-process transport and the loopback server
both call ``handle`` and then act out what the returned ``SimResponse`` asks for (latency, a
trickled body, a dropped connection). Checks run in Bifrost v1.5.1's order: route, auth
middleware, virtual key, provider config, governance, batch keys, operation support, provider.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.cookies import CookieError, SimpleCookie
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote

from bifrost_tui.sim import emit
from bifrost_tui.sim.emit import GatewayFailure, dumps
from bifrost_tui.sim.faults import Faults, ScriptedFault, TransportError, proxy_error_body
from bifrost_tui.sim.model import ProviderConfig, SimBatch

if TYPE_CHECKING:
    from bifrost_tui.sim.world import SimWorld

JSON = "application/json"


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

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(slots=True)
class _Ctx:
    """What one request resolved to while being handled."""

    world: SimWorld
    request: SimRequest
    params: dict[str, str]
    query: dict[str, list[str]]
    route: str
    op: str | None = None
    provider: str | None = None

    def q(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


_Handler = Callable[[_Ctx], tuple[int, list[tuple[str, str]], bytes]]


# --------------------------------------------------------------------------- routing

#: Every (method, path template, route name) the simulator serves.
ROUTES: list[tuple[str, str, str]] = [
    ("GET", "/health", "health"),
    ("GET", "/api/version", "version"),
    ("GET", "/api/providers", "providers"),
    ("GET", "/api/providers/{provider}", "provider"),
    ("GET", "/api/providers/{provider}/keys", "keys"),
    ("POST", "/api/session/login", "login"),
    ("POST", "/api/session/logout", "logout"),
    ("GET", "/api/session/is-auth-enabled", "is_auth_enabled"),
    ("GET", "/anthropic/v1/messages/batches", "a_list"),
    ("POST", "/anthropic/v1/messages/batches", "a_create"),
    ("GET", "/anthropic/v1/messages/batches/{batch_id}", "a_retrieve"),
    ("POST", "/anthropic/v1/messages/batches/{batch_id}/cancel", "a_cancel"),
    ("GET", "/anthropic/v1/messages/batches/{batch_id}/results", "a_results"),
    ("GET", "/v1/batches", "v_list"),
    ("GET", "/v1/batches/{batch_id}", "v_retrieve"),
    ("POST", "/v1/batches/{batch_id}/cancel", "v_cancel"),
]
for _prefix in ("/openai/v1/batches", "/openai/batches", "/openai/openai/batches"):
    ROUTES += [
        ("GET", _prefix, "o_list"),
        ("GET", _prefix + "/{batch_id}", "o_retrieve"),
        ("POST", _prefix + "/{batch_id}/cancel", "o_cancel"),
    ]
_COMPILED = [(m, tuple(p.strip("/").split("/")), name) for m, p, name in ROUTES]

#: Routes the dashboard auth never guards (Bifrost's whitelist).
_OPEN_ROUTES = frozenset({"health", "version", "login", "logout", "is_auth_enabled"})
_OPS = {"list": "batch_list", "retrieve": "batch_retrieve", "cancel": "batch_cancel"}


def match(method: str, raw_path: str) -> tuple[str, dict[str, str]] | str | None:
    """Route name and percent-decoded params; ``"405"`` for a known path with another method;
    ``None`` when nothing matches. A raw ``/`` inside an id splits the segment: no match."""
    segments = tuple(raw_path.strip("/").split("/")) if raw_path.strip("/") else ()
    if raw_path.endswith("/") and raw_path != "/":
        return None
    path_known = False
    for route_method, pattern, name in _COMPILED:
        if len(pattern) != len(segments):
            continue
        params: dict[str, str] = {}
        for want, got in zip(pattern, segments, strict=True):
            if want.startswith("{"):
                if not got:
                    break
                params[want[1:-1]] = unquote(got)
            elif want != got:
                break
        else:
            if route_method == method:
                return name, params
            path_known = True
    return "405" if path_known else None


# --------------------------------------------------------------------------- entry point


def handle(world: SimWorld, request: SimRequest) -> SimResponse:
    """Answer ``request`` against ``world`` (under the world's lock)."""
    with world.lock:
        return _handle(world, request)


def _handle(world: SimWorld, request: SimRequest) -> SimResponse:
    method = request.method.upper()
    matched = match(method, request.path)
    query = parse_qs(request.query, keep_blank_values=True)
    route = matched[0] if isinstance(matched, tuple) else "unmatched"
    params = matched[1] if isinstance(matched, tuple) else {}
    ctx = _Ctx(world, request, params, query, route)
    ctx.op, ctx.provider = _classify(ctx)
    provider_faults = _provider_faults(world, ctx.provider)
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

    world.advance()
    if isinstance(matched, tuple):
        status, headers, body = _dispatch(ctx)
    elif matched == "405":
        status, headers, body = 405, [("content-type", "text/plain")], b"Method Not Allowed"
    else:
        status, headers, body = 404, [("content-type", "text/plain")], b"Not Found"

    if scripted is not None and scripted.kind == "response":
        _log(ctx, scripted.status, handled=True)
        return _scripted_response(scripted, knobs)
    response = SimResponse(status, headers, body)
    if scripted is not None and scripted.kind == "drop":
        response.transport_error = scripted.error
    elif ctx.op == "batch_cancel" and any(f.drop_cancel_after_send for f in knobs):
        response.transport_error = "remote_protocol"
    _log(ctx, None if response.transport_error else status, handled=True)
    return _finish(response, knobs)


def _scripted_response(fault: ScriptedFault, knobs: list[Faults]) -> SimResponse:
    headers = list(fault.headers.items())
    if not any(k.lower() == "content-type" for k, _ in headers) and fault.body:
        start = fault.body.lstrip()[:1]
        kind = JSON if start in (b"{", b"[") else "text/html" if start == b"<" else "text/plain"
        headers.append(("content-type", kind))
    return _finish(SimResponse(fault.status, headers, fault.body), knobs, corrupt=False)


def _finish(response: SimResponse, knobs: list[Faults], *, corrupt: bool = True) -> SimResponse:
    """Apply latency, trickling and body corruption."""
    response.latency = sum(f.latency for f in knobs)
    slow = max((f.slow_body for f in knobs), default=0.0)
    if slow > 0:
        response.trickle = slow
        response.trickle_chunk = min(f.slow_body_chunk for f in knobs if f.slow_body > 0)
    is_json = any(k == "content-type" and v.startswith(JSON) for k, v in response.headers)
    if corrupt and is_json and any(f.malformed_json for f in knobs) and response.body:
        response.body = response.body[: max(1, len(response.body) // 2)]
    return response


def _provider_faults(world: SimWorld, provider: str | None) -> Faults | None:
    if provider is None:
        return None
    config = world.providers.get(provider)
    return config.faults if config is not None else None


def _classify(ctx: _Ctx) -> tuple[str | None, str | None]:
    """The logged operation and the provider the request names (before any validation)."""
    route = ctx.route
    if route.startswith(("a_", "o_", "v_")):
        op = _OPS.get(route[2:], "batch_" + route[2:])
        if route.startswith("a_"):
            return op, ctx.request.header("x-model-provider") or "anthropic"
        provider = ctx.q("provider")
        if route.startswith("o_"):
            provider = provider or "openai"
        return op, provider
    if route in ("provider", "keys"):
        return route, ctx.params.get("provider")
    return (None if route == "unmatched" else route), None


def _log(ctx: _Ctx, status: int | None, *, handled: bool) -> None:
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
        )
    )


# --------------------------------------------------------------------------- dispatch


def _dispatch(ctx: _Ctx) -> tuple[int, list[tuple[str, str]], bytes]:
    route = ctx.route
    world = ctx.world
    if route.startswith(("a_", "o_", "v_")):
        return _inference(ctx)
    if world.dashboard_auth is not None and route not in _OPEN_ROUTES and not _dashboard_ok(ctx):
        return _json(401, emit.unauthorized_body())
    return _MANAGEMENT[route](ctx)


def _json(status: int, body: Any, headers: list[tuple[str, str]] | None = None) -> Any:
    return status, [("content-type", JSON), *(headers or [])], dumps(body)


# --------------------------------------------------------------------------- auth


def _dashboard_ok(ctx: _Ctx) -> bool:
    auth = ctx.world.dashboard_auth
    if auth is None:
        return True
    header = ctx.request.header("authorization").strip()
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if scheme.lower() == "basic" and _basic_ok(ctx.world, value):
        return True
    if scheme.lower() == "bearer" and (
        _session_ok(ctx.world, value) or _basic_ok(ctx.world, value)
    ):
        return True
    token = _cookie(ctx.request, "token")
    return bool(token) and _session_ok(ctx.world, token)


def _basic_ok(world: SimWorld, encoded: str) -> bool:
    auth = world.dashboard_auth
    if auth is None or not encoded:
        return False
    try:
        decoded = base64.b64decode(encoded, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return False
    user, sep, password = decoded.partition(":")
    if not sep:
        return False
    ok_user = hmac.compare_digest(user.encode(), auth.username.encode())
    ok_pass = hmac.compare_digest(password.encode(), auth.password.get_secret_value().encode())
    return ok_user and ok_pass


def _session_ok(world: SimWorld, token: str) -> bool:
    return any(hmac.compare_digest(token.encode(), s.encode()) for s in world.sessions)


def _cookie(request: SimRequest, name: str) -> str | None:
    raw = request.header("cookie")
    if not raw:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(raw)
    except CookieError:
        return None
    morsel = jar.get(name)
    return morsel.value if morsel is not None else None


def _virtual_key_value(ctx: _Ctx) -> str | None:
    """Where governance reads a VK: ``x-bf-vk``, or an ``sk-bf-`` value in ``Authorization:
    Bearer`` (unless the auth middleware owns that header), ``x-api-key`` or ``x-goog-api-key``."""
    request = ctx.request
    value = request.header("x-bf-vk").strip()
    if value:
        return value
    auth = ctx.world.dashboard_auth
    if auth is None or not auth.on_inference:
        scheme, _, bearer = request.header("authorization").strip().partition(" ")
        if scheme.lower() == "bearer" and bearer.strip().startswith("sk-bf-"):
            return bearer.strip()
    for name in ("x-api-key", "x-goog-api-key"):
        value = request.header(name).strip()
        if value.startswith("sk-bf-"):
            return value
    return None


# --------------------------------------------------------------------------- inference routes


class _Fail(Exception):
    def __init__(self, failure: GatewayFailure) -> None:
        super().__init__(failure.message)
        self.failure = failure


def _inference(ctx: _Ctx) -> tuple[int, list[tuple[str, str]], bytes]:
    world = ctx.world
    route = ctx.route
    fmt = route[:1]  # "a" (Anthropic envelope), "o" (/openai), "v" (/v1)
    auth = world.dashboard_auth
    if auth is not None and auth.on_inference and not _dashboard_ok(ctx):
        return _json(401, emit.unauthorized_body())
    vk_value = _virtual_key_value(ctx)
    vk = None
    if vk_value is not None:
        vk = world.virtual_key(vk_value)
        if vk is None:
            return _json(401, _vk_error("virtual_key_not_found", "virtual key not found"))
    elif world.require_virtual_key:
        return _json(
            401,
            _vk_error(
                "virtual_key_required",
                "virtual key is required. Provide a virtual key via the x-bf-vk header.",
            ),
        )
    if route in ("a_create", "a_results"):
        return _render_failure(
            ctx,
            fmt,
            GatewayFailure(f"{ctx.op} is not implemented by the bifrost-tui simulator", status=501),
        )
    if fmt == "v" and not ctx.provider:
        return _json(
            400,
            emit.bifrost_error_body(
                GatewayFailure("provider query parameter is required", status=400)
            ),
        )
    try:
        config = _resolve(ctx, vk)
        if route.endswith("_list"):
            return _list(ctx, fmt, config)
        if route.endswith("_retrieve"):
            return _retrieve(ctx, fmt, config)
        return _cancel(ctx, fmt, config)
    except _Fail as exc:
        return _render_failure(ctx, fmt, exc.failure)


def _vk_error(kind: str, message: str) -> dict[str, Any]:
    return emit.bifrost_error_body(GatewayFailure(message, status=401, type=kind, top_type=kind))


def _render_failure(
    ctx: _Ctx, fmt: str, failure: GatewayFailure
) -> tuple[int, list[tuple[str, str]], bytes]:
    if fmt == "a":
        return _json(failure.status or 500, emit.anthropic_error_body(failure))
    default = 400 if fmt == "v" else 500
    body = emit.bifrost_error_body(failure, provider=ctx.provider, request_type=ctx.op)
    return _json(failure.status or default, body)


def _resolve(ctx: _Ctx, vk: Any) -> ProviderConfig:
    """Provider config, governance, batch keys, operation support, in Bifrost's order."""
    world = ctx.world
    name = ctx.provider or ""
    config = world.providers.get(name)
    if config is None:
        raise _Fail(GatewayFailure("failed to get config for provider: not found"))
    if vk is not None and not vk.allows(name):
        raise _Fail(
            GatewayFailure(
                f"provider {name} is not allowed for this virtual key",
                status=403,
                top_type="provider_blocked",
            )
        )
    if not config.batch_keys():
        raise _Fail(GatewayFailure(f"no batch-enabled keys found for provider: {name} and model: "))
    op = ctx.op or ""
    if not config.batch_supported or not config.operation_allowed(op):
        raise _Fail(
            GatewayFailure(
                f"{op} is not supported by {name} provider", code="unsupported_operation"
            )
        )
    return config


def _latency_ms(ctx: _Ctx) -> int:
    """The ``extra_fields.latency`` Bifrost reports: a plausible upstream time plus injected
    latency, seeded by the request's position so a replayed session reports the same figures."""
    knobs = [ctx.world.faults, _provider_faults(ctx.world, ctx.provider)]
    extra = sum(f.latency for f in knobs if f is not None) * 1000
    rng = random.Random(f"{ctx.world.seed}:latency:{len(ctx.world.request_log)}")
    return int(extra) + rng.randint(80, 420)


def _list(ctx: _Ctx, fmt: str, config: ProviderConfig) -> Any:
    world = ctx.world
    name, kind = config.name, config.base
    keys = config.batch_keys()
    key_index, native = 0, ""
    limit = 0
    if fmt == "a":
        # The Anthropic route fills only PageSize and PageToken, and only Gemini (size, token) and
        # Bedrock (token) read them: everyone else returns the upstream's default first page.
        token = ctx.q("page_token")
        if token and kind in ("gemini", "bedrock"):
            parsed = emit.parse_serial_cursor(token)
            if parsed is None:
                raise _Fail(GatewayFailure("invalid pagination cursor"))
            key_index, native = parsed
        if kind == "gemini":
            limit = _int_param(ctx.q("page_size"))
    else:
        limit = _int_param(ctx.q("limit"))
        after = ctx.q("after")
        if after and kind in ("openai", "azure"):
            parsed = emit.parse_serial_cursor(after)
            if parsed is None:
                raise _Fail(GatewayFailure("invalid pagination cursor"))
            key_index, native = parsed
    cap = 100 if kind in ("openai", "azure") else 1000
    size = min(limit, cap) if limit > 0 else config.default_page_size
    if key_index >= len(keys):
        items: list[SimBatch] = []
        upstream_more = False
    else:
        start = _native_start(world, name, kind, key_index, native)
        items, upstream_more = world.page(name, key_index, start, size)
    has_more = upstream_more or key_index < len(keys) - 1
    now = world.now()
    views = [emit.bifrost_view(b, "list", now) for b in items]
    if fmt == "a":
        data = [emit.anthropic_object(v, kind) for v in views]
        return _json(200, emit.anthropic_list(data, has_more))
    next_cursor = None
    if upstream_more and items:
        if kind in ("gemini", "bedrock"):
            native_next = _page_token(_native_start(world, name, kind, key_index, native) + size)
        else:
            native_next = items[-1].id
        next_cursor = emit.serial_cursor(key_index, native_next)
    elif key_index < len(keys) - 1:
        next_cursor = emit.serial_cursor(key_index + 1, "")
    latency = _latency_ms(ctx)
    data = []
    for view in views:
        if fmt == "o":
            emit.rewrite_ids(view, kind)
        data.append(emit.openai_item(view, _item_extra(kind, name, latency)))
    body: dict[str, Any] = {"object": "list", "data": data}
    if has_more:
        body["has_more"] = True
    if next_cursor:
        body["next_cursor"] = next_cursor
    body["extra_fields"] = emit.extra_fields("batch_list", name, latency)
    return _json(200, body)


def _item_extra(kind: str, provider: str, latency: int) -> dict[str, Any]:
    """The per-item ``extra_fields`` each provider's list leaves behind."""
    if kind in ("openai", "azure"):
        return emit.extra_fields("", None, latency)
    if kind == "gemini":
        return emit.extra_fields("batch_list", provider, 0)
    return emit.extra_fields("", None, 0)


def _native_start(world: SimWorld, provider: str, kind: str, key_index: int, native: str) -> int:
    """Where a native cursor points, as a newest-first offset."""
    if not native:
        return 0
    if kind in ("gemini", "bedrock"):
        offset = _parse_page_token(native)
        if offset is None:
            raise _Fail(GatewayFailure("Invalid page token.", status=400))
        return offset
    position = world.position(provider, key_index, native)
    # An unknown "after" id: the upstream simply has nothing after it.
    return len(world.batches(provider, key_index)) if position is None else position + 1


def _page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"page:{offset}".encode()).decode().rstrip("=")


def _parse_page_token(token: str) -> int | None:
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (ValueError, UnicodeError):
        return None
    prefix, _, number = text.partition(":")
    if prefix != "page" or not number.isdigit():
        return None
    return int(number)


def _int_param(value: str | None) -> int:
    """Bifrost's limit parsing: absent -> 0 (the upstream default), not a number -> 30."""
    if value is None or value == "":
        return 0
    try:
        return int(value)
    except ValueError:
        return 30


def _upstream_id(ctx: _Ctx, fmt: str, kind: str) -> str:
    """The id the gateway hands the provider: Gemini ``batches-`` -> ``batches/``; on ``/openai``
    Bedrock ids are base64-decoded when they decode."""
    batch_id = ctx.params.get("batch_id", "")
    if kind == "gemini":
        return batch_id.replace("batches-", "batches/", 1) if fmt != "v" else batch_id
    if kind == "bedrock" and fmt == "o":
        try:
            return base64.b64decode(batch_id, validate=True).decode("utf-8", errors="replace")
        except (binascii.Error, ValueError):
            return batch_id
    return batch_id


def _lookup(ctx: _Ctx, fmt: str, config: ProviderConfig) -> tuple[SimBatch, str]:
    upstream_id = _upstream_id(ctx, fmt, config.base)
    batch = ctx.world.find(config.name, upstream_id)
    if batch is None or batch.key_index >= len(config.batch_keys()):
        # Every batch key is tried in turn; the last one's "not found" is what comes back.
        raise _Fail(emit.unknown_batch(config.base, upstream_id))
    return batch, upstream_id


def _retrieve(ctx: _Ctx, fmt: str, config: ProviderConfig) -> Any:
    batch, _ = _lookup(ctx, fmt, config)
    view = emit.bifrost_view(batch, "retrieve", ctx.world.now())
    if fmt == "a":
        return _json(200, emit.anthropic_object(view, config.base))
    if fmt == "o":
        emit.rewrite_ids(view, config.base)
    extra = emit.extra_fields("batch_retrieve", config.name, _latency_ms(ctx))
    return _json(200, emit.openai_item(view, extra))


def _cancel(ctx: _Ctx, fmt: str, config: ProviderConfig) -> Any:
    world = ctx.world
    batch, upstream_id = _lookup(ctx, fmt, config)
    outcome = world.cancel(batch)
    if outcome == "ended":
        raise _Fail(emit.cancel_conflict(batch, config.cancel_conflict_status))
    now = world.now()
    raw_wanted = config.send_back_raw_response or (
        world.allow_per_request_raw_override
        and ctx.request.header("x-bf-send-back-raw-response").lower() == "true"
    )
    if fmt == "a" and raw_wanted:
        native = emit.native_object(batch, now)
        if native is not None:
            return _json(200, native)
    view = emit.cancel_view(batch, now, upstream_id)
    if fmt == "a":
        return _json(200, emit.anthropic_cancel_object(view, config.base))
    if fmt == "o":
        emit.rewrite_ids(view, config.base)
    extra = emit.extra_fields("batch_cancel", config.name, _latency_ms(ctx))
    return _json(200, emit.openai_cancel(view, extra))


# --------------------------------------------------------------------------- management routes


def _health(ctx: _Ctx) -> Any:
    return _json(200, {"status": "ok", "components": {"db_pings": "ok"}})


def _version(ctx: _Ctx) -> Any:
    return _json(200, ctx.world.version)


def _provider_response(world: SimWorld, config: ProviderConfig) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": config.name,
        "network_config": {
            "default_request_timeout_in_seconds": 30,
            "max_retries": 0,
            "retry_backoff_initial": 500,
            "retry_backoff_max": 5000,
        },
        "concurrency_and_buffer_size": {"concurrency": 1000, "buffer_size": 5000},
        "proxy_config": None,
        "send_back_raw_request": False,
        "send_back_raw_response": config.send_back_raw_response,
        "store_raw_request_response": False,
    }
    if config.is_custom:
        custom: dict[str, Any] = {"is_key_less": False, "base_provider_type": config.base}
        if config.allowed_requests is not None:
            custom["allowed_requests"] = dict(config.allowed_requests)
        out["custom_provider_config"] = custom
    out["provider_status"] = config.provider_status
    out["config_hash"] = f"{random.Random(f'{world.seed}:hash:{config.name}').getrandbits(64):016x}"
    return out


def _providers(ctx: _Ctx) -> Any:
    world = ctx.world
    providers = [_provider_response(world, world.providers[n]) for n in sorted(world.providers)]
    return _json(200, {"providers": providers, "total": len(providers)})


def _not_found_provider(name: str) -> Any:
    return _json(
        404, emit.bifrost_error_body(GatewayFailure(f"Provider not found: {name}", status=404))
    )


def _provider(ctx: _Ctx) -> Any:
    name = ctx.params["provider"]
    config = ctx.world.providers.get(name)
    if config is None:
        return _not_found_provider(name)
    return _json(200, _provider_response(ctx.world, config))


def _env(value: str) -> dict[str, Any]:
    return {"value": value, "env_var": "", "from_env": False}


def _keys(ctx: _Ctx) -> Any:
    name = ctx.params["provider"]
    config = ctx.world.providers.get(name)
    if config is None:
        return _not_found_provider(name)
    keys = []
    for key in config.keys or []:
        item: dict[str, Any] = {
            "id": key.id,
            "name": key.name,
            "value": _env(key.redacted),
            "models": list(key.models),
            "weight": int(key.weight) if float(key.weight).is_integer() else key.weight,
        }
        if config.base == "azure":
            item["azure_key_config"] = {
                "endpoint": _env("https://bifrost-sim.openai.azure.com"),
                "api_version": _env("2024-10-21"),
            }
        elif config.base == "bedrock":
            item["bedrock_key_config"] = {
                "access_key": _env("AKIA************7XKQ"),
                "secret_key": _env("****************************"),
                "region": _env("us-east-1"),
            }
        if key.enabled is not None:
            item["enabled"] = key.enabled
        if key.use_for_batch_api is not None:
            item["use_for_batch_api"] = key.use_for_batch_api
        keys.append(item)
    return _json(200, {"keys": keys, "total": len(keys)})


def _message_error(status: int, message: str) -> Any:
    return _json(status, emit.bifrost_error_body(GatewayFailure(message, status=status)))


def _login(ctx: _Ctx) -> Any:
    world = ctx.world
    auth = world.dashboard_auth
    if auth is None:
        return _message_error(403, "Authentication is not enabled")
    try:
        data = json.loads(ctx.request.body or b"null")
    except ValueError:
        return _message_error(400, "Invalid request format")
    if not isinstance(data, dict):
        return _message_error(400, "Invalid request format")
    user, password = data.get("username"), data.get("password")
    if not isinstance(user, str) or not isinstance(password, str):
        return _message_error(400, "Invalid request format")
    encoded = base64.b64encode(f"{user}:{password}".encode()).decode()
    if not _basic_ok(world, encoded):
        return _message_error(401, "Invalid username or password")
    token = world.new_session()
    secure = "; Secure" if ctx.request.header("x-forwarded-proto").lower() == "https" else ""
    cookie = f"token={token}; Max-Age=2592000; Path=/; HttpOnly; SameSite=Lax{secure}"
    return _json(200, {"message": "Login successful"}, [("set-cookie", cookie)])


def _logout(ctx: _Ctx) -> Any:
    token = _cookie(ctx.request, "token")
    scheme, _, bearer = ctx.request.header("authorization").partition(" ")
    if not token and scheme.lower() == "bearer":
        token = bearer.strip()
    if token:
        ctx.world.sessions.discard(token)
    cookie = "token=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax"
    return _json(200, {"message": "Logout successful"}, [("set-cookie", cookie)])


def _is_auth_enabled(ctx: _Ctx) -> Any:
    enabled = ctx.world.dashboard_auth is not None
    valid = enabled and _dashboard_ok(ctx)
    return _json(200, {"is_auth_enabled": enabled, "has_valid_token": valid})


_MANAGEMENT: dict[str, _Handler] = {
    "health": _health,
    "version": _version,
    "providers": _providers,
    "provider": _provider,
    "keys": _keys,
    "login": _login,
    "logout": _logout,
    "is_auth_enabled": _is_auth_enabled,
}
