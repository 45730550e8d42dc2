"""The passthrough prefixes: ``/anthropic_passthrough``, ``/openai_passthrough``, ``/azure_…``.

Bifrost strips the prefix and forwards the request to the provider with one of the provider's keys;
the answer is the provider's own (recorded: native list pages with ``after_id``/``after`` cursors,
native objects with their ``null`` fields, the provider's 404s). The key is the one
``x-bf-api-key-id`` pins, else one drawn per request; only that key's account is visible. Governance
runs first and answers in Bifrost's own shape with ``extra_fields.request_type: "passthrough"``.
Azure's batch API lives under ``/openai/batches`` (and ``/openai/v1/batches``) of the resource, so
``/azure_passthrough/openai/batches`` is Azure's list.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from bifrost_tui.sim import emit
from bifrost_tui.sim.auth import admit
from bifrost_tui.sim.emit import GatewayFailure
from bifrost_tui.sim.exchange import Answer, RouteContext, json_answer
from bifrost_tui.sim.faults import proxy_error_body
from bifrost_tui.sim.key_pin import UnknownKeyError, chosen_key, pinned_key
from bifrost_tui.sim.model import KeyConfig, ProviderConfig, SimBatch

if TYPE_CHECKING:
    from bifrost_tui.sim.world import SimWorld

#: Path prefix (first segment) -> the provider it forwards to.
PASSTHROUGH_PREFIXES: dict[str, str] = {
    "anthropic_passthrough": "anthropic",
    "openai_passthrough": "openai",
    "azure_passthrough": "azure",
}
#: The provider's own batch collection path (after the prefix), per provider.
BATCH_PATHS: dict[str, tuple[tuple[str, ...], ...]] = {
    "anthropic": (("v1", "messages", "batches"),),
    "openai": (("v1", "batches"),),
    "azure": (("openai", "batches"), ("openai", "v1", "batches")),
}
#: Page sizes the providers accept: (default, largest).
PAGE_LIMITS: dict[str, tuple[int, int]] = {
    "anthropic": (20, 1000),
    "openai": (20, 100),
    "azure": (20, 100),
}
#: What the provider answers for a path it does not serve (recorded).
UNKNOWN_ROUTE = {"error": {"message": "unknown route", "type": "invalid_request_error"}}
#: The content type the recorded passthrough answers carried.
NATIVE_TYPE = "text/plain; charset=utf-8"
_FORBIDDEN_HTML = (
    "<html>\r\n<head><title>403 Forbidden</title></head>\r\n<body>\r\n"
    "<center><h1>403 Forbidden</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)


def classify(method: str, provider: str, rest: str) -> str:
    """The logged operation: ``passthrough_list``/``_retrieve``/``_cancel`` or ``passthrough``."""
    op, _ = _operation(method, provider, rest)
    return f"passthrough_{op}" if op else "passthrough"


def refusal(status: int) -> Answer:
    """A refused prefix: 404 as a gateway without passthrough routes answers it, 403 (or any other
    status) as a reverse proxy blocking the path answers it."""
    if status == 404:
        return 404, [("content-type", "text/plain")], b"Not Found"
    if status == 403:
        return 403, [("content-type", "text/html")], _FORBIDDEN_HTML.encode()
    return status, [("content-type", "text/html")], proxy_error_body(status)


def passthrough_route(ctx: RouteContext) -> Answer:
    world = ctx.world
    provider = ctx.params["provider"]
    admitted = admit(ctx)
    if admitted.dashboard_refused:
        return json_answer(401, emit.unauthorized_body())
    if admitted.refusal is not None:
        return _bifrost(ctx, 401, *admitted.refusal)
    vk = admitted.vk
    config = world.providers.get(provider)
    if config is None:
        failure = GatewayFailure("failed to get config for provider: not found")
        return json_answer(500, _bifrost_body(ctx, failure))
    if vk is not None and not vk.allows(provider):
        message = f"Provider '{provider}' is not allowed for this virtual key"
        return _bifrost(ctx, 403, "provider_blocked", message)
    pool = sorted(
        (k for k in config.keys or [] if k.enabled is not False), key=lambda k: k.id or ""
    )
    if not pool:
        failure = GatewayFailure(f"no keys found for provider: {provider}", status=400)
        return json_answer(400, _bifrost_body(ctx, failure))
    try:
        key = pinned_key(ctx, config, pool) or chosen_key(ctx, pool)
    except UnknownKeyError as exc:
        return json_answer(400, _bifrost_body(ctx, exc.failure))
    account = _account(config, key)
    op, batch_id = _operation(ctx.request.method.upper(), config.base, ctx.params["rest"])
    if op == "list":
        return _list(ctx, config, account)
    if op is None or batch_id is None:
        return _native(404, UNKNOWN_ROUTE)
    batch = world.find(config.name, batch_id)
    if batch is None or batch.key_index != account:
        return _native(404, _not_found(config.base, batch_id))
    if op == "cancel" and world.cancel(batch) == "ended":
        conflict = "conflict_error" if config.base == "anthropic" else "invalid_request_error"
        message = f"Cannot cancel a batch with status '{batch.native}'."
        return _native(409, _error(config.base, conflict, message))
    return _native(200, _object(batch, world.now()))


def _bifrost(ctx: RouteContext, status: int, kind: str, message: str) -> Answer:
    return json_answer(status, _bifrost_body(ctx, GatewayFailure(message, status, top_type=kind)))


def _bifrost_body(ctx: RouteContext, failure: GatewayFailure) -> dict[str, Any]:
    return emit.bifrost_error_body(failure, provider=ctx.provider, request_type="passthrough")


def _account(config: ProviderConfig, key: KeyConfig) -> int | None:
    """The account a key reaches; ``None``: a key that is not batch-enabled holds no batches."""
    keys = config.batch_keys()
    return config.account_of(keys.index(key)) if key in keys else None


def _operation(method: str, provider: str, rest: str) -> tuple[str | None, str | None]:
    """(``"list"``/``"retrieve"``/``"cancel"`` or ``None``, batch id) for a path under a prefix."""
    segments = tuple(rest.strip("/").split("/")) if rest.strip("/") else ()
    for base in BATCH_PATHS.get(provider, ()):
        n = len(base)
        if segments[:n] != base:
            continue
        tail = segments[n:]
        if not tail and method == "GET":
            return "list", None
        if len(tail) == 1 and tail[0] and method == "GET":
            return "retrieve", _unquote(tail[0])
        if len(tail) == 2 and tail[0] and tail[1] == "cancel" and method == "POST":
            return "cancel", _unquote(tail[0])
    return None, None


def _unquote(segment: str) -> str:
    return unquote(segment)


def _native(status: int, body: Any) -> Answer:
    """The provider's own answer, passed through as the recordings show it."""
    return status, [("content-type", NATIVE_TYPE)], json.dumps(body).encode()


def _error(kind: str, error_type: str, message: str) -> dict[str, Any]:
    if kind == "anthropic":
        return {"type": "error", "error": {"type": error_type, "message": message}}
    return {"error": {"message": message, "type": error_type, "param": None, "code": None}}


def _not_found(kind: str, batch_id: str) -> dict[str, Any]:
    error_type = "not_found_error" if kind == "anthropic" else "invalid_request_error"
    return _error(kind, error_type, f"No batch found with id '{batch_id}'.")


def _object(batch: SimBatch, now: int) -> dict[str, Any]:
    native = emit.native_object(batch, now)
    assert native is not None  # only anthropic, openai and azure have a passthrough prefix
    return native


def _list(ctx: RouteContext, config: ProviderConfig, account: int | None) -> Answer:
    kind = config.base
    default, largest = PAGE_LIMITS[kind]
    raw = ctx.q("limit")
    try:
        limit = default if raw is None or raw == "" else int(raw)
    except ValueError:
        limit = -1
    if not 1 <= limit <= largest:
        message = f"limit: Input should be between 1 and {largest}"
        return _native(400, _error(kind, "invalid_request_error", message))
    world = ctx.world
    if kind == "anthropic":
        after, before = ctx.q("after_id"), ctx.q("before_id")
        if after and before:
            message = "Only one of before_id or after_id may be given."
            return _native(400, _error(kind, "invalid_request_error", message))
    else:
        after, before = ctx.q("after"), None
    items, more = _page(world, config.name, account, limit, after or "", before or "")
    now = world.now()
    data = [_object(b, now) for b in items]
    first = items[0].id if items else None
    last = items[-1].id if items else None
    if kind == "anthropic":
        body = {"data": data, "has_more": more, "first_id": first, "last_id": last}
    else:
        body = {
            "object": "list",
            "data": data,
            "has_more": more,
            "first_id": first,
            "last_id": last,
        }
    return _native(200, body)


def _page(
    world: SimWorld, provider: str, account: int | None, limit: int, after: str, before: str
) -> tuple[list[SimBatch], bool]:
    """Newest first: ``limit`` items older than ``after``, or the ``limit`` just newer than
    ``before`` (``has_more``: newer ones remain), or the newest ``limit``."""
    if account is None:
        return [], False
    if before:
        pos = world.position(provider, account, before)
        if pos is None:
            return [], False
        lo = max(0, pos - limit)
        items, _ = world.page(provider, account, lo, pos - lo)
        return items, lo > 0
    start = 0
    if after:
        pos = world.position(provider, account, after)
        if pos is None:
            return [], False
        start = pos + 1
    return world.page(provider, account, start, limit)
