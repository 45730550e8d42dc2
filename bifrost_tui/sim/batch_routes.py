"""The simulated gateway's batch routes: list, retrieve, cancel and results (with the OpenAI files'
content), quirks included.

Served on the Anthropic route (``/anthropic``) and the OpenAI ones (``/openai``, ``/v1``). Checks
run as Bifrost v1.5.1 runs them: auth middleware, virtual key, provider config, governance, batch
keys, operation support, then the provider.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import random
import re
from typing import TYPE_CHECKING, Any

from bifrost_tui.sim import emit, results
from bifrost_tui.sim.auth import admit
from bifrost_tui.sim.emit import GatewayFailure
from bifrost_tui.sim.exchange import Answer, RouteContext, json_answer
from bifrost_tui.sim.key_pin import UnknownKeyError, pinned_key
from bifrost_tui.sim.model import ProviderConfig, SimBatch

if TYPE_CHECKING:
    from bifrost_tui.sim.world import SimWorld


class _Fail(Exception):
    def __init__(self, failure: GatewayFailure) -> None:
        super().__init__(failure.message)
        self.failure = failure


def batch_route(ctx: RouteContext) -> Answer:
    route = ctx.route
    fmt = route[:1]  # "a" (Anthropic envelope), "o" (/openai), "v" (/v1)
    admitted = admit(ctx)
    if admitted.dashboard_refused:
        return json_answer(401, emit.unauthorized_body())
    if admitted.refusal is not None:
        return _render_failure(ctx, fmt, _vk_failure(*admitted.refusal))
    vk = admitted.vk
    if route == "a_create":
        return _render_failure(
            ctx,
            fmt,
            GatewayFailure(f"{ctx.op} is not implemented by the bifrost-tui simulator", status=501),
        )
    if fmt == "v" and not ctx.provider:
        return json_answer(
            400,
            emit.bifrost_error_body(
                GatewayFailure("provider query parameter is required", status=400)
            ),
        )
    try:
        config = _resolve(ctx, vk)
        if route == "a_results":
            return _results(ctx, fmt, config)
        if route == "o_file_content":
            return _file_content(ctx, config)
        if route.endswith("_list"):
            return _list(ctx, fmt, config)
        if route.endswith("_retrieve"):
            return _retrieve(ctx, fmt, config)
        return _cancel(ctx, fmt, config)
    except _Fail as exc:
        return _render_failure(ctx, fmt, exc.failure)


def _vk_failure(kind: str, message: str) -> GatewayFailure:
    """A governance refusal: the Anthropic route shows it as 401 ``api_error`` in its own
    envelope; the OpenAI routes keep Bifrost's shape with the governance type on top."""
    return GatewayFailure(message, status=401, top_type=kind)


def _render_failure(ctx: RouteContext, fmt: str, failure: GatewayFailure) -> Answer:
    if fmt == "a":
        return json_answer(failure.status or 500, emit.anthropic_error_body(failure))
    default = 400 if fmt == "v" else 500
    body = emit.bifrost_error_body(failure, provider=ctx.provider, request_type=ctx.op)
    return json_answer(failure.status or default, body)


def _resolve(ctx: RouteContext, vk: Any) -> ProviderConfig:
    """Provider config, governance, batch keys, operation support, in Bifrost's order."""
    world = ctx.world
    name = ctx.provider or ""
    config = world.providers.get(name)
    if config is None:
        raise _Fail(GatewayFailure("failed to get config for provider: not found"))
    if vk is not None and not vk.allows(name):
        raise _Fail(
            GatewayFailure(
                f"Provider '{name}' is not allowed for this virtual key",
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


def _latency_ms(ctx: RouteContext) -> int:
    """The ``extra_fields.latency`` Bifrost reports: a plausible upstream time plus injected
    latency, seeded by the request's position so a replayed session reports the same figures."""
    knobs = [ctx.world.faults, ctx.provider_faults()]
    extra = sum(f.latency for f in knobs if f is not None) * 1000
    rng = random.Random(f"{ctx.world.seed}:latency:{len(ctx.world.request_log)}")
    return int(extra) + rng.randint(80, 420)


def _slots(ctx: RouteContext, config: ProviderConfig) -> list[int]:
    """The batch keys (indices in sorted order) this request may use: every one, or the one
    ``x-bf-api-key-id`` pins (an id that is no batch key: Bifrost's 400)."""
    keys = config.batch_keys()
    try:
        pin = pinned_key(ctx, config, keys)
    except UnknownKeyError as exc:
        raise _Fail(exc.failure) from None
    return list(range(len(keys))) if pin is None else [keys.index(pin)]


def _list(ctx: RouteContext, fmt: str, config: ProviderConfig) -> Answer:
    world = ctx.world
    name, kind = config.name, config.base
    keys = _slots(ctx, config)
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
    account = config.account_of(keys[key_index]) if key_index < len(keys) else -1
    if fmt == "a" and kind == "bedrock":
        # No page size reaches Bedrock from this route: its list returns every job of the key in
        # one answer (``has_more`` false), as recorded.
        size = max(1, len(world.batches(name, account)))
    if key_index >= len(keys):
        items: list[SimBatch] = []
        upstream_more = False
    else:
        start = _native_start(world, name, kind, account, native)
        items, upstream_more = world.page(name, account, start, size)
    has_more = upstream_more or key_index < len(keys) - 1
    now = world.now()
    views = [emit.bifrost_view(b, "list", now) for b in items]
    if fmt == "a":
        data = [emit.anthropic_object(v, kind) for v in views]
        return json_answer(200, emit.anthropic_list(data, has_more))
    next_cursor = None
    if upstream_more and items:
        if kind in ("gemini", "bedrock"):
            native_next = _page_token(_native_start(world, name, kind, account, native) + size)
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
        data.append(emit.openai_item(view, _item_extra(kind, latency)))
    body: dict[str, Any] = {"object": "list", "data": data}
    if has_more:
        body["has_more"] = True
    if next_cursor:
        body["next_cursor"] = next_cursor
    body["extra_fields"] = emit.extra_fields("batch_list", name, latency)
    return json_answer(200, body)


def _item_extra(kind: str, latency: int) -> dict[str, Any]:
    """The per-item ``extra_fields`` each provider's list leaves behind (Bedrock and Gemini: an
    empty request type, no provider, zero latency)."""
    if kind in ("openai", "azure"):
        return emit.extra_fields("", None, latency)
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


def _raw_batch_id(ctx: RouteContext) -> str:
    """The batch id segment exactly as it arrived, still percent-encoded: the gateway's router
    hands the provider the raw segment (a ``%2F`` stays ``%2F`` and is encoded once more)."""
    segments = ctx.request.path.strip("/").split("/")
    return segments[-1] if ctx.route.endswith("_retrieve") else segments[-2]


#: What Bedrock accepts as a ``jobIdentifier``: the job ARN or its trailing 12-character job id.
_BEDROCK_JOB = re.compile(
    r"(arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:model-invocation-job/)?[a-z0-9]{12}"
)


def _upstream_id(ctx: RouteContext, fmt: str, kind: str, *, raw: bool = True) -> str:
    """The id the gateway hands the provider, from the raw path segment (``raw``; the ``/v1``
    route and the results route use the decoded one).

    Gemini: ``batches-x`` -> ``batches/x``, anything else as it came (``batches%2Fx`` then names
    ``batches/batches%2Fx`` upstream: not found). Bedrock: on ``/openai`` the segment is
    base64-decoded when it decodes (a bare job id decodes into garbage); on the Anthropic route it
    goes as it came, so only the trailing job id is a valid identifier there."""
    batch_id = ctx.params.get("batch_id", "")
    if raw and fmt != "v" and kind in ("gemini", "bedrock"):
        batch_id = _raw_batch_id(ctx)
    if kind == "gemini":
        return batch_id.replace("batches-", "batches/", 1) if fmt != "v" else batch_id
    if kind == "bedrock" and fmt == "o":
        with contextlib.suppress(binascii.Error, ValueError):
            batch_id = base64.b64decode(batch_id, validate=True).decode("utf-8", errors="replace")
    if raw and kind == "bedrock" and fmt != "v" and not _BEDROCK_JOB.fullmatch(batch_id):
        raise _Fail(emit.bedrock_invalid_id(batch_id))
    return batch_id


def _lookup(
    ctx: RouteContext, fmt: str, config: ProviderConfig, *, raw: bool = True
) -> tuple[SimBatch, str]:
    upstream_id = _upstream_id(ctx, fmt, config.base, raw=raw)
    batch = ctx.world.find(config.name, upstream_id)
    accounts = {config.account_of(slot) for slot in _slots(ctx, config)}
    if batch is None or batch.key_index not in accounts:
        # Every batch key is tried in turn; the last one's "not found" is what comes back.
        raise _Fail(emit.unknown_batch(config.base, upstream_id))
    return batch, upstream_id


def _retrieve(ctx: RouteContext, fmt: str, config: ProviderConfig) -> Answer:
    batch, _ = _lookup(ctx, fmt, config)
    view = emit.bifrost_view(batch, "retrieve", ctx.world.now())
    if fmt == "a":
        return json_answer(200, emit.anthropic_object(view, config.base))
    if fmt == "o":
        emit.rewrite_ids(view, config.base)
    extra = emit.extra_fields("batch_retrieve", config.name, _latency_ms(ctx))
    return json_answer(200, emit.openai_item(view, extra))


def _results(ctx: RouteContext, fmt: str, config: ProviderConfig) -> Answer:
    batch, _ = _lookup(ctx, fmt, config, raw=False)
    failure = results.refusal(batch)
    if failure is not None:
        raise _Fail(failure)
    return results.results_answer(ctx, batch, _latency_ms(ctx))


def _file_content(ctx: RouteContext, config: ProviderConfig) -> Answer:
    if config.base not in ("openai", "azure"):
        raise _Fail(
            GatewayFailure(
                f"file_content for {config.base} is not implemented by the bifrost-tui simulator",
                status=501,
            )
        )
    file_id = ctx.params.get("file_id", "")
    found = results.find_file(ctx.world, config.name, file_id)
    if found is None:
        raise _Fail(results.unknown_file(file_id))
    return results.file_answer(ctx, *found)


def _cancel(ctx: RouteContext, fmt: str, config: ProviderConfig) -> Answer:
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
            return json_answer(200, native)
    view = emit.cancel_view(batch, now, upstream_id)
    if fmt == "a":
        return json_answer(200, emit.anthropic_cancel_object(view, config.base))
    if fmt == "o":
        emit.rewrite_ids(view, config.base)
    extra = emit.extra_fields("batch_cancel", config.name, _latency_ms(ctx))
    return json_answer(200, emit.openai_cancel(view, extra))
