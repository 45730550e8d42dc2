"""Bifrost's converters, replicated: upstream truth -> Bifrost struct -> the JSON each route emits.

Two steps, as in the gateway (Bifrost v1.5.1):
1. ``bifrost_view``: what the provider's Go code copies into ``BifrostBatchRetrieveResponse`` /
   ``BifrostBatchCancelResponse`` for one operation (each provider fills different fields: OpenAI
   only total/completed/failed, Bedrock's list no counts, Gemini's list no counts, ...).
2. ``anthropic_*`` (``core/providers/anthropic/batch.go``) or ``openai_*`` (the Bifrost struct as
   JSON, ``omitempty`` and all) turn that view into bytes. Key order follows the Go structs.

The quirks are the point: ``processing_status`` passes ``finalizing``/``failed``/``expired``
through, ``request_counts`` vanishes when the total is 0, timestamps are whole-second RFC 3339 or
``""``.
"""

from __future__ import annotations

import base64
import json
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bifrost_tui.sim.model import EXPIRES_ON_WIRE, Counts, Phase, SimBatch, bifrost_status

# Bifrost status -> Anthropic processing_status (toAnthropicProcessingStatus).
_TO_ANTHROPIC = {
    "in_progress": "in_progress",
    "validating": "in_progress",
    "cancelling": "canceling",
    "ended": "ended",
    "completed": "ended",
    "cancelled": "ended",
}


def dumps(value: Any) -> bytes:
    """Compact JSON, as Go's encoder writes it."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def rfc3339(ts: int | None) -> str:
    """``formatAnthropicTimestamp``: whole seconds UTC, ``""`` for 0/unset."""
    if not ts:
        return ""
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def to_anthropic_status(status: str) -> str:
    return _TO_ANTHROPIC.get(status, status)


# --------------------------------------------------------------------------- step 1: the view


def _counts(total: int = 0, completed: int = 0, failed: int = 0, **extra: int) -> dict[str, int]:
    counts = {"total": total, "completed": completed, "failed": failed}
    for name in ("succeeded", "expired", "canceled", "pending"):
        counts[name] = extra.get(name, 0)
    return counts


def _visible(b: SimBatch, now: int) -> Counts:
    """The counts the upstream API itself reports right now."""
    counts = b.counts_at(now)
    if b.kind in ("openai", "azure") and b.phase is Phase.QUEUED:
        return Counts()  # validating: OpenAI reports no request count yet
    if b.kind == "anthropic" and b.plan_finish_at is not None and not b.phase.terminal:
        # Anthropic keeps every request in "processing" until the whole batch has ended.
        return Counts(total=counts.total)
    return counts


def bifrost_view(b: SimBatch, op: str, now: int) -> dict[str, Any]:
    """What Bifrost holds after the provider call ``op`` ("list" or "retrieve")."""
    kind = b.kind
    status = bifrost_status(kind, b.native)
    view: dict[str, Any] = {
        "id": b.id,
        "object": "batch",
        "status": status,
        "request_counts": _counts(),
        "created_at": b.created_at,
    }
    c = _visible(b, now)
    if kind in ("openai", "azure"):
        view.update(
            endpoint=b.endpoint,
            input_file_id=b.input_file_id,
            completion_window=b.completion_window,
            request_counts=_counts(c.total, c.succeeded, c.errored),
            metadata=b.metadata,
            expires_at=b.expires_at,
            in_progress_at=b.in_progress_at,
            finalizing_at=b.finalizing_at,
            completed_at=b.completed_at,
            failed_at=b.failed_at,
            expired_at=b.expired_at,
            cancelling_at=b.cancelling_at,
            cancelled_at=b.cancelled_at,
            output_file_id=b.output_file_id,
            error_file_id=b.error_file_id,
        )
    elif kind == "anthropic":
        total = c.total
        view.update(
            request_counts=_counts(
                total,
                c.succeeded,
                c.errored,
                succeeded=c.succeeded,
                expired=c.expired,
                canceled=c.canceled,
                pending=c.processing,
            ),
            processing_status=b.native,
            results_url=b.results_url,
            expires_at=b.expires_at if b.expires_at else None,
            completed_at=b.ended_at,
            archived_at=b.archived_at,
            cancelling_at=b.cancelling_at,
        )
    elif kind == "bedrock":
        # The job's name and model, as Bifrost's metadata (when the world names them).
        view["metadata"] = b.metadata
        if op == "retrieve":
            # Only a retrieve carries the job's expiration time (the list leaves it out).
            view["expires_at"] = b.expires_at
            view.update(
                input_file_id=b.input_file_id,
                output_file_id=f"s3://bifrost-batch-output/{b.job_id}/",
                completed_at=b.ended_at,
            )
            if b.phase.terminal and c.processed > 0:
                # The counts come from the job's manifest.json.out, which exists only at the end.
                view["request_counts"] = _counts(c.total, c.succeeded, c.errored)
    elif kind == "gemini":
        view["operation_name"] = b.id
        if op == "list":
            # The list names each batch by its bare id (``x``); a retrieve by ``batches/x``.
            view["id"] = b.id.removeprefix("batches/")
        if op == "retrieve":
            pending = c.processing
            completed = c.total - pending
            view.update(
                request_counts=_counts(
                    c.total,
                    completed,
                    completed - c.succeeded,
                    succeeded=c.succeeded,
                    pending=pending,
                ),
                done=b.phase.terminal,
            )
    if kind not in EXPIRES_ON_WIRE and not (kind == "bedrock" and op == "retrieve"):
        view.pop("expires_at", None)
    return view


def cancel_view(b: SimBatch, now: int, requested_id: str) -> dict[str, Any]:
    """``BifrostBatchCancelResponse`` after a successful provider cancel."""
    kind = b.kind
    view: dict[str, Any] = {
        "id": b.id,
        "object": "batch",
        "status": bifrost_status(kind, b.native),
        "request_counts": _counts(),
    }
    c = _visible(b, now)
    if kind in ("openai", "azure"):
        view["request_counts"] = _counts(c.total, c.succeeded, c.errored)
        view["cancelling_at"] = b.cancelling_at
        view["cancelled_at"] = b.cancelled_at
    elif kind == "anthropic":
        # AnthropicProvider.BatchCancel keeps only Total/Completed/Failed.
        view["request_counts"] = _counts(c.total, c.succeeded, c.errored)
        view["cancelling_at"] = b.cancelling_at
    elif kind == "gemini":
        # Gemini's cancel answers nothing useful: Bifrost reports "cancelling" as of now, with the
        # id exactly as the request named it.
        view["id"] = requested_id
        view["status"] = "cancelling"
        view["cancelling_at"] = now
    # bedrock: stop, then re-retrieve: only the id and the status survive.
    return view


# --------------------------------------------------------------------- step 2: Anthropic format


def anthropic_id(kind: str, batch_id: str) -> str:
    return batch_id.replace("batches/", "batches-", 1) if kind == "gemini" else batch_id


def anthropic_object(view: dict[str, Any], kind: str) -> dict[str, Any]:
    """``ToAnthropicBatchRetrieveResponse`` (also each list item)."""
    out: dict[str, Any] = {
        "id": anthropic_id(kind, view["id"]),
        "type": "message_batch",
        "processing_status": to_anthropic_status(view["status"]),
    }
    counts = view["request_counts"]
    if counts["total"] > 0:
        out["request_counts"] = _anthropic_counts(counts)
    if view.get("completed_at") is not None:
        out["ended_at"] = rfc3339(view["completed_at"])
    out["created_at"] = rfc3339(view.get("created_at"))
    expires = view.get("expires_at")
    out["expires_at"] = rfc3339(expires) if expires is not None else ""
    if view.get("archived_at") is not None:
        out["archived_at"] = rfc3339(view["archived_at"])
    if view.get("cancelling_at") is not None:
        out["cancel_initiated_at"] = rfc3339(view["cancelling_at"])
    if view.get("results_url") is not None:
        out["results_url"] = view["results_url"]
    return out


def anthropic_cancel_object(view: dict[str, Any], kind: str) -> dict[str, Any]:
    """``ToAnthropicBatchCancelResponse``: partial, ``created_at``/``expires_at`` always ``""``.
    The id is the one the provider call used, unconverted (Gemini: ``batches/x`` or bare ``x``)."""
    out: dict[str, Any] = {
        "id": view["id"],
        "type": "message_batch",
        "processing_status": to_anthropic_status(view["status"]),
    }
    counts = view["request_counts"]
    if counts["total"] > 0:
        out["request_counts"] = _anthropic_counts(counts)
    out["created_at"] = ""
    out["expires_at"] = ""
    if view.get("cancelling_at") is not None:
        out["cancel_initiated_at"] = rfc3339(view["cancelling_at"])
    return out


def _anthropic_counts(counts: dict[str, int]) -> dict[str, int]:
    return {
        "processing": counts["pending"],
        "succeeded": counts["succeeded"],
        "errored": counts["failed"],
        "canceled": counts["canceled"],
        "expired": counts["expired"],
    }


def anthropic_list(items: list[dict[str, Any]], has_more: bool) -> dict[str, Any]:
    """``ToAnthropicBatchListResponse``: no ``first_id``/``last_id`` (no provider fills them) and
    the Bifrost cursor dropped."""
    return {"data": items, "has_more": has_more}


# --------------------------------------------------------------------------- step 2: OpenAI format

_TIMES = (
    "expires_at",
    "in_progress_at",
    "finalizing_at",
    "completed_at",
    "failed_at",
    "expired_at",
    "cancelling_at",
    "cancelled_at",
)


def rewrite_ids(view: dict[str, Any], kind: str) -> None:
    """The ``/openai`` route's response converters: Gemini ``batches/`` -> ``batches-`` (and
    ``files/`` -> ``files-``), Bedrock ids (and input file) base64-encoded."""
    if kind == "gemini":
        view["id"] = view["id"].replace("batches/", "batches-", 1)
        if view.get("input_file_id"):
            view["input_file_id"] = view["input_file_id"].replace("files/", "files-", 1)
    elif kind == "bedrock":
        view["id"] = base64.b64encode(view["id"].encode()).decode()
        if "input_file_id" in view:
            view["input_file_id"] = base64.b64encode(
                (view["input_file_id"] or "").encode()
            ).decode()


def extra_fields(
    request_type: str, provider: str | None, latency_ms: int, **more: Any
) -> dict[str, Any]:
    out: dict[str, Any] = {"request_type": request_type}
    if provider:
        out["provider"] = provider
    out["latency"] = latency_ms
    out["chunk_index"] = 0
    out.update(more)
    return out


def openai_item(view: dict[str, Any], extra: dict[str, Any] | None) -> dict[str, Any]:
    """``BifrostBatchRetrieveResponse`` marshalled: ``omitempty`` rules, struct key order."""
    out: dict[str, Any] = {"id": view["id"]}
    for name in ("object", "endpoint", "input_file_id", "completion_window"):
        if view.get(name):
            out[name] = view[name]
    out["status"] = view["status"]
    counts = view["request_counts"]
    out["request_counts"] = {
        "total": counts["total"],
        "completed": counts["completed"],
        "failed": counts["failed"],
        **{k: counts[k] for k in ("succeeded", "expired", "canceled", "pending") if counts[k]},
    }
    if view.get("metadata"):
        out["metadata"] = view["metadata"]
    if view.get("created_at"):
        out["created_at"] = view["created_at"]
    for name in _TIMES:
        if view.get(name) is not None:
            out[name] = view[name]
    for name in (
        "output_file_id",
        "error_file_id",
        "errors",
        "processing_status",
        "results_url",
        "archived_at",
        "operation_name",
        "done",
    ):
        if view.get(name) is not None:
            out[name] = view[name]
    if extra is not None:
        out["extra_fields"] = extra
    return out


def openai_cancel(view: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """``BifrostBatchCancelResponse`` marshalled."""
    counts = view["request_counts"]
    out: dict[str, Any] = {"id": view["id"], "object": view["object"], "status": view["status"]}
    out["request_counts"] = {
        "total": counts["total"],
        "completed": counts["completed"],
        "failed": counts["failed"],
        **{k: counts[k] for k in ("succeeded", "expired", "canceled", "pending") if counts[k]},
    }
    for name in ("cancelling_at", "cancelled_at"):
        if view.get(name) is not None:
            out[name] = view[name]
    out["extra_fields"] = extra
    return out


def serial_cursor(key_index: int, native: str) -> str:
    """Bifrost's serial pagination cursor: padded base64url of ``{"v":1,"i":k,"c":"<native>"}``."""
    raw = json.dumps({"v": 1, "i": key_index, "c": native}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode()


def parse_serial_cursor(value: str) -> tuple[int, str] | None:
    """``DecodeSerialCursor``; ``None`` when it is not a valid v1 cursor."""
    try:
        data = json.loads(base64.urlsafe_b64decode(value.encode("ascii")))
    except (ValueError, UnicodeError):
        return None
    if not isinstance(data, dict) or data.get("v") != 1:
        return None
    index, native = data.get("i", 0), data.get("c", "")
    if not isinstance(index, int) or isinstance(index, bool) or index < 0:
        return None
    if not isinstance(native, str):
        return None
    return index, native


# --------------------------------------------------------------------------- native (raw) bodies


def _micro(batch_id: str, field: str) -> int:
    return zlib.crc32(f"{batch_id}:{field}".encode()) % 1_000_000


def _native_time(b: SimBatch, field: str, ts: int | None) -> str | None:
    if ts is None:
        return None
    base = datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{base}.{_micro(b.id, field):06d}Z"


def native_object(b: SimBatch, now: int) -> dict[str, Any] | None:
    """The provider's own batch object (what ``send_back_raw_response`` passes through on cancel).

    OpenAI/Azure: the OpenAI batch object with ``status`` and explicit nulls. Anthropic: the native
    MessageBatch with microsecond timestamps and nulls. Bedrock and Gemini attach no raw body to a
    cancel in v1.5.1, so they answer ``None`` and the converted reply is sent instead.
    """
    c = _visible(b, now)
    if b.kind in ("openai", "azure"):
        return {
            "id": b.id,
            "object": "batch",
            "endpoint": b.endpoint,
            "errors": None,
            "input_file_id": b.input_file_id,
            "completion_window": b.completion_window,
            "status": b.native,
            "output_file_id": b.output_file_id,
            "error_file_id": b.error_file_id,
            "created_at": b.created_at,
            "in_progress_at": b.in_progress_at,
            "expires_at": b.expires_at,
            "finalizing_at": b.finalizing_at,
            "completed_at": b.completed_at,
            "failed_at": b.failed_at,
            "expired_at": b.expired_at,
            "cancelling_at": b.cancelling_at,
            "cancelled_at": b.cancelled_at,
            "request_counts": {"total": c.total, "completed": c.succeeded, "failed": c.errored},
            "metadata": b.metadata,
        }
    if b.kind == "anthropic":
        return {
            "id": b.id,
            "type": "message_batch",
            "processing_status": b.native,
            "request_counts": {
                "processing": c.processing,
                "succeeded": c.succeeded,
                "errored": c.errored,
                "canceled": c.canceled,
                "expired": c.expired,
            },
            "ended_at": _native_time(b, "ended_at", b.ended_at),
            "created_at": _native_time(b, "created_at", b.created_at),
            "expires_at": _native_time(b, "created_at", b.expires_at),
            "archived_at": _native_time(b, "archived_at", b.archived_at),
            "cancel_initiated_at": _native_time(b, "cancel_initiated_at", b.cancelling_at),
            "results_url": b.results_url,
        }
    return None


# --------------------------------------------------------------------------- errors


@dataclass(frozen=True, slots=True)
class GatewayFailure:
    """A BifrostError before a route's error converter renders it.

    ``status=None`` means Bifrost itself failed (no upstream status): integration routes answer 500,
    ``/v1`` answers 400. ``type=None``: the Anthropic envelope says ``api_error``.
    """

    message: str
    status: int | None = None
    type: str | None = None
    code: str | None = None
    #: Governance errors carry a top-level type (``virtual_key_required``...).
    top_type: str | None = None
    #: The provider's own error body, kept under ``extra_fields.raw_response`` (Bedrock).
    raw_response: dict[str, Any] | None = None


def anthropic_error_body(failure: GatewayFailure) -> dict[str, Any]:
    """``ToAnthropicChatCompletionError``: the type falls back to ``api_error``; code is dropped."""
    return {
        "type": "error",
        "error": {"type": failure.type or "api_error", "message": failure.message},
    }


def bifrost_error_body(
    failure: GatewayFailure,
    *,
    provider: str | None = None,
    request_type: str | None = None,
    status_in_body: int | None = None,
) -> dict[str, Any]:
    """``BifrostError`` as JSON: is_bifrost_error, status_code?, error, extra_fields."""
    out: dict[str, Any] = {}
    if failure.top_type:
        out["type"] = failure.top_type
    out["is_bifrost_error"] = False
    status = failure.status if status_in_body is None else status_in_body
    if status is not None:
        out["status_code"] = status
    error: dict[str, Any] = {}
    if failure.status is None and not failure.type and not failure.code:
        # The gateway's own failures repeat their message under ``error.error``.
        error["error"] = failure.message
    if failure.type:
        error["type"] = failure.type
    if failure.code:
        error["code"] = failure.code
    error["message"] = failure.message
    out["error"] = error
    extra: dict[str, Any] = {}
    if provider:
        extra["provider"] = provider
    if request_type:
        extra["request_type"] = request_type
    if failure.raw_response is not None:
        extra["raw_response"] = failure.raw_response
    out["extra_fields"] = extra
    return out


def unauthorized_body() -> dict[str, Any]:
    """The auth middleware's 401 on every route (Bifrost shape, even on ``/anthropic``)."""
    return {
        "is_bifrost_error": False,
        "status_code": 401,
        "error": {"message": "Unauthorized"},
        "extra_fields": {},
    }


def unknown_batch(kind: str, batch_id: str) -> GatewayFailure:
    """The upstream's answer for an id it does not have."""
    if kind in ("openai", "azure"):
        return GatewayFailure(
            f"No batch found with id '{batch_id}'.", status=404, type="invalid_request_error"
        )
    if kind == "anthropic":
        return GatewayFailure(
            "The requested resource could not be found.", status=404, type="not_found_error"
        )
    if kind == "bedrock":
        return _bedrock_failure(
            "The specified resource ARN was not found. Check the ARN and try your request again.",
            404,
        )
    return GatewayFailure("Requested entity was not found.", status=404)


def cancel_conflict(b: SimBatch, status_override: int | None) -> GatewayFailure:
    """The upstream's refusal to cancel a batch that has already ended.

    OpenAI/Azure: 409 ``invalid_request_error`` "Cannot cancel a batch with status '…'." (seen in
    the wild); Anthropic: 409 ``conflict_error`` (undocumented; its error docs list 409 for state
    conflicts); Bedrock: 400 ValidationException; Gemini: 400 FAILED_PRECONDITION. Bedrock and
    Gemini errors carry no type Bifrost keeps, so the Anthropic envelope shows ``api_error``.
    """
    if b.kind in ("openai", "azure"):
        return GatewayFailure(
            f"Cannot cancel a batch with status '{b.native}'.",
            status=status_override or 409,
            type="invalid_request_error",
        )
    if b.kind == "anthropic":
        return GatewayFailure(
            f"Batch {b.id} has already finished processing and cannot be canceled.",
            status=status_override or 409,
            type="conflict_error",
        )
    if b.kind == "bedrock":
        return _bedrock_failure(
            f"The model invocation job cannot be stopped because it is in {b.native} status.",
            status_override or 400,
        )
    return GatewayFailure(
        "The batch is already in a terminal state and cannot be cancelled.",
        status=status_override or 400,
    )


def _bedrock_failure(message: str, status: int) -> GatewayFailure:
    """A Bedrock error: no type Bifrost keeps; the provider's body rides along as raw response."""
    return GatewayFailure(message, status=status, raw_response={"message": message})


def bedrock_invalid_id(value: str) -> GatewayFailure:
    """Bedrock's 400 for a ``jobIdentifier`` that is neither a job ARN nor a job id: what the
    gateway passes on for a percent-encoded ARN (encoded once more), a base64 ARN on the Anthropic
    route, or a bare job id on ``/openai`` (base64-decoded into garbage)."""
    return _bedrock_failure(
        f"1 validation error detected: Value '{value}' at 'jobIdentifier' failed to satisfy "
        "constraint",
        400,
    )
