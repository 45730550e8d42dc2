"""What the gateway returns, parsed leniently, and the batch vocabulary every other module shares.

Two layers:
- wire models (pydantic, ``extra="allow"``): the JSON shapes as Bifrost really emits them, where any
  field may be missing, ``""`` or of a surprising value; unknown fields are kept.
- ``Batch``: one batch as the console knows it, with its provider, a normalised ``State``, request
  counts that are ``None`` wherever the gateway cannot be trusted, and the raw JSON it came from.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from bifrost_tui.gateway.counts import (
    FAITHFUL,
    RequestCounts,
    Source,
    count_fidelity,
    counts_from_anthropic,
    counts_from_bifrost,
    errored_unsure,
)
from bifrost_tui.gateway.ids import normalise_id

#: Base provider types that can do batches through the gateway (v1.5.x; vertex arrives in v2).
BATCH_PROVIDER_KINDS: tuple[str, ...] = ("anthropic", "openai", "azure", "bedrock", "gemini")
#: What to try when the management API cannot tell us which providers exist.
STANDARD_BATCH_PROVIDERS: tuple[str, ...] = BATCH_PROVIDER_KINDS


class State(StrEnum):
    """The one vocabulary of normalised batch states, shared by the store, the UI and the CLI."""

    ACTIVE = "active"
    CANCELING = "canceling"
    ENDED_OK = "ended-ok"
    ENDED_CANCELED = "ended-canceled"
    #: Ended, but whether it completed or was canceled no source tells (Bedrock and Gemini say
    #: ``ended`` for both on the Anthropic-format routes).
    ENDED_UNSURE = "ended-unknown"
    FAILED = "failed"
    EXPIRED = "expired"
    UNKNOWN = "unknown"

    @property
    def cancellable(self) -> bool:
        return self is State.ACTIVE

    @property
    def terminal(self) -> bool:
        return self in TERMINAL_STATES


#: States in which a Gemini retrieve's ``errored`` means what it says (see ``reported_counts``).
ERRORED_TRUSTED_STATES = frozenset({State.ACTIVE, State.ENDED_OK})
TERMINAL_STATES = frozenset(
    {State.ENDED_OK, State.ENDED_CANCELED, State.ENDED_UNSURE, State.FAILED, State.EXPIRED}
)
#: Kinds whose Anthropic-format ``ended`` hides a cancel (Bedrock ``Stopped``, Gemini
#: ``CANCELLED``): only the OpenAI-format list (``cancelled``/``completed``) or a cancel seen
#: landing tells the outcome.
AMBIGUOUS_END_KINDS = frozenset({"bedrock", "gemini"})
#: Provider-native state names the gateway passes through raw (Gemini's ``BATCH_STATE_*`` and
#: Vertex's ``JOB_STATE_*`` for the same states), as the Bifrost status they mean.
_NATIVE_STATES: dict[str, str] = {
    f"{prefix}_state_{name}": status
    for prefix in ("batch", "job")
    for name, status in (
        *((n, "in_progress") for n in ("queued", "pending", "running", "updating")),
        *(("succeeded", "completed"), ("cancelling", "canceling")),
        *((n, n) for n in ("failed", "cancelled", "expired")),
    )
}
#: ``processing_status`` values that mean "still running, may be cancelled".
ACTIVE_STATUSES = frozenset({"in_progress", "validating", "finalizing"})


# --------------------------------------------------------------------------- wire parsing helpers


def parse_timestamp(value: Any) -> datetime | None:
    """RFC 3339 (fractions, ``Z`` or offsets) or unix seconds -> aware UTC datetime; else ``None``.

    ``""``, ``0``, absent, and anything unparseable are unknown, never an error: the gateway emits
    ``""`` for unset times, and odd formats from other providers must not break a listing.
    """
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        if not math.isfinite(value) or value <= 0 or value > 32503680000:  # year 3000
            return None
        return datetime.fromtimestamp(value, tz=UTC)
    if not isinstance(value, str) or len(value) > 64:
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # e.g. year 9999 with a negative offset: out of range once in UTC
        return None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int | float | bool):
        return str(value)
    return None


#: Status strings kept shared: every batch of a listing repeats a handful of them.
_SHARED: dict[str, str] = {}
_SHARED_MAX = 1024


def _shared(value: str) -> str:
    """``value``, or the equal string already kept by another batch (one copy per distinct short
    status, not one per batch; a hostile gateway's endless variety is kept per batch as before)."""
    if len(value) > 64:
        return value
    known = _SHARED.get(value)
    if known is not None:
        return known
    if len(_SHARED) < _SHARED_MAX:
        _SHARED[value] = value
    return value


# --------------------------------------------------------------------------- status mapping

# Bifrost status -> Anthropic processing_status (core/providers/anthropic/batch.go).
_BIFROST_TO_ANTHROPIC = {
    "in_progress": "in_progress",
    "validating": "in_progress",
    "cancelling": "canceling",
    "ended": "ended",
    "completed": "ended",
    "cancelled": "ended",
}


def to_processing_status(bifrost_status: str) -> str:
    """Map a Bifrost/OpenAI ``status`` to the value the Anthropic route would show for it."""
    return _BIFROST_TO_ANTHROPIC.get(bifrost_status, bifrost_status)


def derive_state(
    status: str,
    cancel_initiated_at: datetime | None,
    counts: RequestCounts | None,
    native_status: str | None = None,
    provider_kind: str = "",
) -> State:
    """Normalise a raw ``processing_status`` (any string) into a ``State``.

    A plain ``ended`` from a provider kind that says it for a cancel too (``AMBIGUOUS_END_KINDS``)
    is ``ENDED_UNSURE`` unless something tells: a cancel seen landing, or the OpenAI-format list's
    ``cancelled``/``completed`` (``native_status``).
    """
    s = status.strip().lower()
    s = _NATIVE_STATES.get(s, s)
    if s in ACTIVE_STATUSES:
        return State.ACTIVE
    if s in ("canceling", "cancelling"):
        return State.CANCELING
    if s == "failed":
        return State.FAILED
    if s == "expired":
        return State.EXPIRED
    if s in ("ended", "completed", "cancelled", "canceled", "deleted"):
        if cancel_initiated_at is not None or native_status == "cancelled" or s == "cancelled":
            return State.ENDED_CANCELED
        if counts is not None and counts.canceled:
            return State.ENDED_CANCELED
        if s == "ended" and provider_kind in AMBIGUOUS_END_KINDS and native_status != "completed":
            return State.ENDED_UNSURE
        if counts is not None and counts.complete:
            total = counts.total or 0
            if total and counts.errored == total:
                return State.FAILED
            if counts.expired and not counts.succeeded and not counts.errored:
                return State.EXPIRED
        return State.ENDED_OK
    return State.UNKNOWN


# --------------------------------------------------------------------------- the batch

#: ``Batch.raw`` kept compact: ASCII (lone surrogates stay escapes), ``NaN`` as the gateway sent it.
_RAW_ENCODER = json.JSONEncoder(separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class Batch:
    """One batch as the console knows it.

    Equality is what an operator can see: it ignores ``raw`` (it carries per-call latency) and
    ``source`` (a light poll and a deep listing describe the same batch through different routes;
    counted as a change, the flip would repaint every row on every poll).
    """

    id: str
    provider: str
    processing_status: str
    provider_kind: str = ""
    source: Source = field(default=Source.LIST, compare=False)
    request_counts: RequestCounts | None = None
    created_at: datetime | None = None
    expires_at: datetime | None = None
    ended_at: datetime | None = None
    cancel_initiated_at: datetime | None = None
    archived_at: datetime | None = None
    results_url: str | None = None
    #: The Bifrost status when the object came in OpenAI shape (``cancelled``, ``completed``...).
    native_status: str | None = None
    #: Names of the batch keys whose pinned listing or re-read showed this batch (never a key
    #: value); empty when it was read through the batch routes, which do not say. Two names: the
    #: keys share one account.
    listed_by: tuple[str, ...] = ()
    #: The JSON object it came from: a dict, or once ``compact()``-ed the same as JSON bytes.
    raw_data: dict[str, Any] | bytes = field(
        default_factory=dict, compare=False, repr=False, hash=False
    )
    #: Provenance of ``request_counts``: the route they were read from (``None``: ``source``).
    counts_source: Source | None = field(default=None, compare=False, repr=False)
    #: Gemini retrieve: the counts as the gateway reported them. Its ``errored`` is total - pending
    #: - succeeded, so it holds requests a cancel or an expiry left unrun: ``request_counts``
    #: shows it only while the batch is active or ended completed, else as unknown.
    reported_counts: RequestCounts | None = field(default=None, compare=False, repr=False)
    #: Derived once: the store, the table and the rules read it for every row, often.
    _state: State = field(init=False, compare=False, repr=False, hash=False)

    def __post_init__(self) -> None:
        if self.counts_source is None:
            object.__setattr__(self, "counts_source", self.source)
        reported = self.reported_counts
        state = derive_state(
            self.processing_status,
            self.cancel_initiated_at,
            self.request_counts if reported is None else reported,
            self.native_status,
            self.provider_kind or self.provider,
        )
        object.__setattr__(self, "_state", state)
        if reported is not None:
            trusted = state in ERRORED_TRUSTED_STATES
            object.__setattr__(
                self, "request_counts", reported if trusted else errored_unsure(reported)
            )

    @property
    def key(self) -> tuple[str, str]:
        return (self.provider, self.id)

    @property
    def raw(self) -> dict[str, Any]:
        """The JSON object the batch was read from (a fresh copy when it is kept compact)."""
        data = self.raw_data
        if isinstance(data, bytes):
            loaded = json.loads(data)
            return loaded if isinstance(loaded, dict) else {}
        return data

    def compact(self) -> None:
        """Keep ``raw`` as compact JSON bytes: about a quarter of the memory of the dict (the
        store does this for every batch it keeps; ``raw`` reads the same afterwards)."""
        if isinstance(self.raw_data, dict):
            try:
                packed = _RAW_ENCODER.encode(self.raw_data).encode("ascii")
            except (TypeError, ValueError, RecursionError):
                return  # not JSON-encodable (never from the gateway): keep the dict
            object.__setattr__(self, "raw_data", packed)

    @property
    def state(self) -> State:
        return self._state

    @property
    def not_run_or_failed(self) -> int | None:
        """What the gateway calls ``errored`` for a Gemini batch that did not end completed:
        requests that failed or were never run (``None`` when ``errored`` is shown as it is)."""
        reported = self.reported_counts
        if reported is None or self._state in ERRORED_TRUSTED_STATES:
            return None
        return reported.errored

    @property
    def cancellable(self) -> bool:
        return self.state.cancellable

    @property
    def counts_fidelity(self) -> int:
        return count_fidelity(
            self.provider_kind or self.provider, self.counts_source or self.source
        )

    @property
    def counts_faithful(self) -> bool:
        """The counts come from the route that is faithful for this provider (or nothing better
        exists): no re-read would tell more."""
        return self.counts_fidelity >= FAITHFUL

    # ---- constructors ------------------------------------------------------------------------

    @classmethod
    def from_anthropic(
        cls,
        data: Any,
        *,
        provider: str,
        provider_kind: str | None = None,
        source: Source = Source.LIST,
    ) -> Batch:
        """Parse one Anthropic-format object (list item, retrieve or cancel reply).

        Raises ``ValueError`` when the object has no usable id; every other field is optional.
        """
        if not isinstance(data, dict):
            raise ValueError("batch object is not a JSON object")
        kind = provider_kind or provider
        raw_id = _text(data.get("id"))
        if not raw_id:
            raise ValueError("batch object has no id")
        status = _text(data.get("processing_status"))
        if status is not None:
            status = _shared(status)
        native = None
        if status is None and isinstance(data.get("status"), str):
            # Provider-native (OpenAI-shaped) cancel reply when raw responses are switched on.
            native = _shared(data["status"])
            status = to_processing_status(native)
        if source is Source.CANCEL and "status" in data and "processing_status" not in data:
            return cls.from_openai(data, provider=provider, provider_kind=kind, source=source)
        counts = counts_from_anthropic(data.get("request_counts"), kind, source)
        return cls(
            id=normalise_id(kind, raw_id),
            provider=provider,
            provider_kind=kind,
            source=source,
            processing_status=status or "",
            native_status=native,
            request_counts=counts,
            reported_counts=counts if kind == "gemini" and source is Source.RETRIEVE else None,
            created_at=parse_timestamp(data.get("created_at")),
            expires_at=parse_timestamp(data.get("expires_at")),
            ended_at=parse_timestamp(data.get("ended_at")),
            cancel_initiated_at=parse_timestamp(data.get("cancel_initiated_at")),
            archived_at=parse_timestamp(data.get("archived_at")),
            results_url=_text(data.get("results_url")),
            raw_data=data,
        )

    @classmethod
    def from_openai(
        cls,
        data: Any,
        *,
        provider: str,
        provider_kind: str | None = None,
        source: Source = Source.OPENAI,
    ) -> Batch:
        """Parse one Bifrost/OpenAI-format object (``status``, unix timestamps, OpenAI counts)."""
        if not isinstance(data, dict):
            raise ValueError("batch object is not a JSON object")
        kind = provider_kind or provider
        raw_id = _text(data.get("id"))
        if not raw_id:
            raise ValueError("batch object has no id")
        native = _shared(_text(data.get("status")) or _text(data.get("processing_status")) or "")
        status = to_processing_status(native)
        ended_at = None
        for name in ("completed_at", "cancelled_at", "failed_at", "expired_at", "ended_at"):
            ended_at = parse_timestamp(data.get(name))
            if ended_at is not None:
                break
        if source is Source.CANCEL:
            counts = counts_from_anthropic(
                {"errored": (data.get("request_counts") or {}).get("failed")}
                if isinstance(data.get("request_counts"), dict)
                else None,
                kind,
                source,
            )
        else:
            counts = counts_from_bifrost(
                data.get("request_counts"),
                kind,
                status in ACTIVE_STATUSES or status == "canceling",
                native.strip().lower(),
            )
        return cls(
            id=normalise_id(kind, raw_id),
            provider=provider,
            provider_kind=kind,
            source=source,
            processing_status=status,
            native_status=native,
            request_counts=counts,
            created_at=parse_timestamp(data.get("created_at")),
            expires_at=parse_timestamp(data.get("expires_at")),
            ended_at=ended_at,
            cancel_initiated_at=parse_timestamp(
                data.get("cancelling_at") or data.get("cancel_initiated_at")
            ),
            archived_at=parse_timestamp(data.get("archived_at")),
            results_url=_text(data.get("results_url")),
            raw_data=data,
        )

    # ---- merging -----------------------------------------------------------------------------

    def updated_by(self, newer: Batch) -> Batch:
        """This batch brought up to date by ``newer``, which never erases what is known.

        A cancel reply is partial (empty ``created_at``/``expires_at``, lossy counts): it may move
        the status forward and set ``cancel_initiated_at``, nothing else. Any other source replaces
        the status and fills every field it knows; a field it leaves unknown keeps its older value.

        Request counts merge per field by provenance (``count_fidelity``): counts from a lossier
        source never overwrite those of a better one. Across a state change (active to ended,
        say) no count read before it survives: the newer object's counts stand alone, unknown
        where its source does not know them, until the faithful route is read again.
        ``listed_by`` is the union of both (a batch seen under two keys names both).
        """
        if newer.source is Source.CANCEL:
            return replace(
                self,
                processing_status=newer.processing_status or self.processing_status,
                native_status=newer.native_status or self.native_status,
                cancel_initiated_at=newer.cancel_initiated_at or self.cancel_initiated_at,
                listed_by=_union(self.listed_by, newer.listed_by),
            )
        counts, counts_source = newer.request_counts, newer.counts_source
        reported = newer.reported_counts
        state_changed = newer.state is not self.state and not (
            newer.state.terminal and self.state.terminal
        )
        if state_changed:
            pass
        elif newer.counts_fidelity < self.counts_fidelity:
            counts, counts_source = self.request_counts, self.counts_source
            reported = self.reported_counts
        elif counts is not None:
            counts = counts.merged_over(self.request_counts)
        else:
            counts, reported = self.request_counts, self.reported_counts
        # The Anthropic route says only "ended" for a cancelled OpenAI-shaped batch: keep the
        # "cancelled" that a deep listing saw rather than turning it into ended-ok.
        native_status = newer.native_status or self.native_status
        created_at = _time(self.created_at, newer.created_at)
        expires_at = _time(self.expires_at, newer.expires_at)
        ended_at = _time(self.ended_at, newer.ended_at)
        cancel_initiated_at = _time(self.cancel_initiated_at, newer.cancel_initiated_at)
        archived_at = _time(self.archived_at, newer.archived_at)
        results_url = newer.results_url or self.results_url
        listed_by = _union(self.listed_by, newer.listed_by)
        if (
            counts is newer.request_counts
            and counts_source is newer.counts_source
            and reported is newer.reported_counts
            and native_status is newer.native_status
            and created_at is newer.created_at
            and expires_at is newer.expires_at
            and ended_at is newer.ended_at
            and cancel_initiated_at is newer.cancel_initiated_at
            and archived_at is newer.archived_at
            and results_url is newer.results_url
            and listed_by is newer.listed_by
        ):
            # ``newer`` already says all there is (the usual case: a batch read again through
            # the route it was read from): no copy to build, a poll's changes cost less.
            return newer
        return replace(
            newer,
            counts_source=counts_source,
            reported_counts=reported,
            native_status=native_status,
            request_counts=counts,
            created_at=created_at,
            expires_at=expires_at,
            ended_at=ended_at,
            cancel_initiated_at=cancel_initiated_at,
            archived_at=archived_at,
            results_url=results_url,
            listed_by=listed_by,
        )

    def to_json(self) -> dict[str, Any]:
        """The CLI's JSON for one batch: unknown counts are ``null``, times RFC 3339 UTC."""
        counts = self.request_counts
        return {
            "id": self.id,
            "provider": self.provider,
            "processing_status": self.processing_status,
            "state": self.state.value,
            "cancellable": self.cancellable,
            "request_counts": counts.to_json() if counts is not None else None,
            "not_run_or_failed": self.not_run_or_failed,
            "created_at": _iso(self.created_at),
            "expires_at": _iso(self.expires_at),
            "ended_at": _iso(self.ended_at),
            "cancel_initiated_at": _iso(self.cancel_initiated_at),
            "archived_at": _iso(self.archived_at),
            "results_url": self.results_url,
            # The names of the batch keys whose passthrough listing showed it (never a key value).
            "listed_by": list(self.listed_by),
        }


def _time(older: datetime | None, newer: datetime | None) -> datetime | None:
    """A time read again: ``newer`` unless it is unknown, or the same second as ``older`` (a batch
    route gives whole seconds where the provider's own object gives microseconds: no change)."""
    if newer is None:
        return older
    if older is not None and older.replace(microsecond=0) == newer.replace(microsecond=0):
        return older
    return newer


def _union(older: tuple[str, ...], newer: tuple[str, ...]) -> tuple[str, ...]:
    """Both key-name tuples, older names first, each once (``newer`` itself when it holds all)."""
    if not older or older == newer:
        return newer
    if not newer:
        return older
    extra = tuple(n for n in older if n not in newer)
    return newer if not extra else tuple(dict.fromkeys(older + newer))


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else None


# --------------------------------------------------------------------------- providers


@dataclass(frozen=True, slots=True)
class ProviderInfo:
    """A provider the gateway knows, and whether the console can list its batches."""

    name: str
    kind: str
    batch_capable: bool
    #: Why not, in words, when not batch-capable ("no batch-enabled key", "unsupported", ...).
    reason: str | None = None
    status: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "batch_capable": self.batch_capable,
            "reason": self.reason,
        }
