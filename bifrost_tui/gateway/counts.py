"""Request counts and their provenance: which route a batch was read from, which counts that
route fills faithfully for each provider, and how two reads of the counts merge.

docs/gateway.md §3.4: the Anthropic-format routes keep only ``errored`` for openai, azure and
bedrock, and the cancel reply loses counts for everyone; the OpenAI-format routes carry
``total/completed/failed``. A read's ``count_fidelity`` ranks its source, so a lossier one never
overwrites a better one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

COUNT_FIELDS: tuple[str, ...] = ("processing", "succeeded", "errored", "canceled", "expired")


class Source(StrEnum):
    """Which route produced a batch object: it decides which fields can be trusted."""

    LIST = "list"  # GET /anthropic/v1/messages/batches
    RETRIEVE = "retrieve"  # GET /anthropic/v1/messages/batches/{id}
    CANCEL = "cancel"  # POST .../cancel: partial, lossy
    OPENAI = "openai"  # GET /openai/v1/batches[/{id}], Bifrost/OpenAI shape


#: Kinds whose batches are read through the OpenAI-format routes (list and retrieve): only there
#: does the gateway carry their real ``total/completed/failed`` and tell ``cancelled`` from
#: ``completed`` (docs/gateway.md §3.4).
OPENAI_ROUTE_KINDS = frozenset({"openai", "azure"})
#: How far a source's request counts can be trusted: a lossier source never overwrites a better one.
FAITHFUL = 2


def count_fidelity(provider_kind: str, source: Source) -> int:
    """The provenance rank of the counts ``source`` gives for ``provider_kind`` (``FAITHFUL`` is
    the best there is for it).

    - openai, azure: the OpenAI-format list and retrieve (total/completed/failed); the Anthropic
      routes keep only ``errored``.
    - anthropic: every read route (the five buckets survive list, retrieve and the OpenAI format).
    - bedrock, gemini (and unknown kinds): the Anthropic-format retrieve (list items: no counts).
    - a cancel reply: never (its counts are lossy even for anthropic).
    """
    if source is Source.CANCEL:
        return 0
    if provider_kind in OPENAI_ROUTE_KINDS:
        return FAITHFUL if source is Source.OPENAI else 1
    if provider_kind == "anthropic" or source is Source.RETRIEVE:
        return FAITHFUL
    return 1


def _count(value: Any) -> int | None:
    """A request count: a non-negative int below an absurd bound, else unknown."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and (not math.isfinite(value) or value != int(value)):
        return None
    number = int(value)
    if number < 0 or number > 10**12:
        return None
    return number


# --------------------------------------------------------------------------- request counts


@dataclass(frozen=True, slots=True)
class RequestCounts:
    """Request counts; a field is ``None`` when the gateway does not fill it faithfully."""

    processing: int | None = None
    succeeded: int | None = None
    errored: int | None = None
    canceled: int | None = None
    expired: int | None = None
    #: Known total when the source gives one directly (OpenAI shape), else the sum when all known.
    known_total: int | None = None

    @property
    def total(self) -> int | None:
        if self.known_total is not None:
            return self.known_total
        parts: list[int | None] = [getattr(self, name) for name in COUNT_FIELDS]
        if any(p is None for p in parts):
            return None
        return sum(p for p in parts if p is not None)

    @property
    def complete(self) -> bool:
        """All five buckets are known: a progress bar is honest."""
        return all(getattr(self, name) is not None for name in COUNT_FIELDS)

    @property
    def done(self) -> int | None:
        """Requests no longer processing, when known."""
        total = self.total
        if total is None or self.processing is None:
            return None
        return max(0, total - self.processing)

    def to_json(self) -> dict[str, int | None]:
        return {name: getattr(self, name) for name in COUNT_FIELDS} | {"total": self.total}

    def merged_over(self, old: RequestCounts | None) -> RequestCounts:
        """Per field: this value where known, else the older known one (``self`` itself when
        the older one knows nothing more: a merge on every poll must not build copies)."""
        if old is None or old is self:
            return self
        mine = (
            self.processing,
            self.succeeded,
            self.errored,
            self.canceled,
            self.expired,
            self.known_total,
        )
        if None not in mine:
            return self
        theirs = (
            old.processing,
            old.succeeded,
            old.errored,
            old.canceled,
            old.expired,
            old.known_total,
        )
        merged = tuple(m if m is not None else t for m, t in zip(mine, theirs, strict=True))
        return self if merged == mine else RequestCounts(*merged)


def errored_unsure(counts: RequestCounts) -> RequestCounts:
    """Gemini counts of a batch that did not end completed: the gateway's ``errored`` (total -
    pending - succeeded) mixes real failures with requests a cancel or an expiry left unrun, and
    ``canceled``/``expired`` are never filled, so those three are unknown; the total stands."""
    return RequestCounts(
        processing=counts.processing,
        succeeded=counts.succeeded,
        known_total=counts.total,
    )


def trusted_count_fields(provider_kind: str, source: Source) -> frozenset[str]:
    """Which Anthropic-format count fields the gateway fills faithfully for this provider and route.

    - anthropic: all five on list and retrieve; the cancel reply keeps only ``errored`` (Failed).
    - gemini: all five on retrieve; list items carry no counts at all.
    - openai, azure, bedrock (and unknown kinds): only ``errored`` is real; ``succeeded`` and
      ``processing`` are always 0 because Bifrost maps ``Completed`` nowhere.
    """
    if source is Source.CANCEL:
        return frozenset({"errored"})
    if provider_kind == "anthropic" and source in (Source.LIST, Source.RETRIEVE):
        return frozenset(COUNT_FIELDS)
    if provider_kind == "gemini" and source is Source.RETRIEVE:
        return frozenset(COUNT_FIELDS)
    return frozenset({"errored"})


def counts_from_anthropic(raw: Any, provider_kind: str, source: Source) -> RequestCounts | None:
    if not isinstance(raw, dict):
        return None
    trusted = trusted_count_fields(provider_kind, source)
    return RequestCounts(
        **{name: _count(raw.get(name)) if name in trusted else None for name in COUNT_FIELDS}
    )


def counts_from_bifrost(
    raw: Any, provider_kind: str, active: bool, end: str = ""
) -> RequestCounts | None:
    """OpenAI-format ``request_counts{total, completed, failed, succeeded?, pending?, ...}``.

    Non-zero-only fields (``succeeded``, ``pending``, ``canceled``, ``expired``) are omitted when 0,
    so for providers that fill them (anthropic, gemini) a missing one means 0. OpenAI and Azure fill
    ``total``/``completed``/``failed``: succeeded = completed, errored = failed, and while the batch
    runs the rest is still processing; once it ended (``end`` is the Bifrost status) the rest is
    canceled (``cancelled``), expired (``expired``) or unknown.
    """
    if not isinstance(raw, dict):
        return None
    total = _count(raw.get("total"))
    if not total:
        return None
    failed = _count(raw.get("failed"))
    if provider_kind in ("anthropic", "gemini"):
        return RequestCounts(
            processing=_count(raw.get("pending", 0)),
            succeeded=_count(raw.get("succeeded", 0)),
            errored=failed,
            canceled=_count(raw.get("canceled", 0)),
            expired=_count(raw.get("expired", 0)),
            known_total=total,
        )
    completed = _count(raw.get("completed"))
    if completed is None or failed is None:
        return RequestCounts(succeeded=completed, errored=failed, known_total=total)
    rest = max(0, total - completed - failed)
    if active:
        return RequestCounts(
            processing=rest, succeeded=completed, errored=failed, known_total=total
        )
    # Ended: what is neither completed nor failed was canceled or expired, as the end state says;
    # after any other end it is unknown (``?``), never "processing".
    return RequestCounts(
        processing=0 if rest == 0 or end in ("cancelled", "expired") else None,
        succeeded=completed,
        errored=failed,
        canceled=rest if end == "cancelled" else None,
        expired=rest if end == "expired" else None,
        known_total=total,
    )
