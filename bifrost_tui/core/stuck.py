"""Stuck and suspicious batches: flags judged only from fields the gateway really fills.

Five rules, each silent when its provider's fields cannot be trusted (a rule that cannot be judged
must never raise a false alarm):

- ``canceling-stuck``: canceling longer than the threshold, timed from ``cancel_initiated_at`` or,
  when that is unknown, from when the console first saw the batch canceling.
- ``finalizing-stuck``: ``processing_status == "finalizing"`` (OpenAI/Azure) longer than the
  threshold, timed from the OpenAI-shape ``finalizing_at`` or from when the console first saw it.
- ``past-expiry``: still running past ``expires_at`` plus a grace (``expires_at`` is unknown for
  Bedrock and Gemini, so they are never judged).
- ``ended-zero-succeeded``: ended normally with a trusted ``succeeded`` count of zero.
- ``near-archive``: an ended Anthropic batch whose results are about to pass the 29-day retention.

``findings`` runs per visible row per render and per batch when counting flags per provider, so it
does a handful of comparisons and at most one dict lookup into the raw JSON.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from bifrost_tui.formatting import duration_text
from bifrost_tui.gateway.models import Batch, State, parse_timestamp

#: Anthropic keeps results downloadable for 29 days after ``created_at`` (docs/gateway.md §11.1).
ARCHIVE_AFTER = timedelta(days=29)

#: Phases whose start the store remembers when the gateway gives no timestamp for them.
CANCELING = "canceling"
FINALIZING = "finalizing"
PHASES: tuple[str, ...] = (CANCELING, FINALIZING)

#: ``first_seen`` key: ``(batch.key, phase)``.
PhaseKey = tuple[tuple[str, str], str]


class Flag(StrEnum):
    """Why a batch is flagged; declaration order is display order (most urgent first)."""

    CANCELING_STUCK = "canceling-stuck"
    FINALIZING_STUCK = "finalizing-stuck"
    PAST_EXPIRY = "past-expiry"
    ENDED_ZERO_SUCCEEDED = "ended-zero-succeeded"
    NEAR_ARCHIVE = "near-archive"


@dataclass(frozen=True)
class Thresholds:
    """When a batch counts as stuck; the two stuck thresholds come from the profile."""

    canceling_minutes: int = 30
    finalizing_minutes: int = 60
    #: Warn when the results are within this many days of the 29-day archive.
    archive_warn_days: float = 2.0
    #: Slack past ``expires_at`` before a still-running batch is flagged (clock skew, last poll).
    expiry_grace_minutes: int = 5

    @classmethod
    def from_settings(cls, settings: Any) -> Thresholds:
        """From anything with ``canceling_stuck_minutes``/``finalizing_stuck_minutes`` (a Profile,
        a ResolvedConnection); a missing attribute keeps the default."""
        base = cls()
        return cls(
            canceling_minutes=getattr(settings, "canceling_stuck_minutes", base.canceling_minutes),
            finalizing_minutes=getattr(
                settings, "finalizing_stuck_minutes", base.finalizing_minutes
            ),
        )


@dataclass(frozen=True)
class Finding:
    """One flag on one batch, with a sentence for the detail view and the CLI."""

    flag: Flag
    message: str  # e.g. "canceling for 47m (threshold 30m)"

    def to_json(self) -> dict[str, str]:
        return {"flag": self.flag.value, "message": self.message}


def _finalizing(batch: Batch) -> bool:
    # Same normalisation as derive_state; "finalizing" reaches the Anthropic route unchanged.
    return batch.processing_status.strip().lower() == FINALIZING


def _dur(seconds: float) -> str:
    return "<1m" if seconds < 60 else duration_text(seconds)


def _phase_start(
    stamp: datetime | None,
    batch: Batch,
    phase: str,
    first_seen: Mapping[PhaseKey, datetime] | None,
) -> tuple[datetime | None, bool]:
    """When the phase began: the gateway's stamp, else the console's first sighting (a lower
    bound, hence ``exact=False``), else unknown."""
    if stamp is not None:
        return stamp, True
    if first_seen:
        seen = first_seen.get((batch.key, phase))
        if seen is not None:
            return seen, False
    return None, False


def _stuck(
    flag: Flag,
    phase: str,
    start: datetime | None,
    exact: bool,
    now: datetime,
    minutes: int,
) -> Finding | None:
    if start is None:
        return None  # no basis to judge: silent
    elapsed = (now - start).total_seconds()
    if elapsed <= minutes * 60:
        return None
    text = _dur(elapsed)
    if exact:
        message = f"{phase} for {text} (threshold {minutes}m)"
    else:
        message = f"{phase} for at least {text} (since first seen {phase}; threshold {minutes}m)"
    return Finding(flag, message)


def findings(
    batch: Batch,
    now: datetime,
    thresholds: Thresholds,
    *,
    first_seen: Mapping[PhaseKey, datetime] | None = None,
) -> list[Finding]:
    """Every flag that applies to ``batch`` at ``now``, most urgent first; ``[]`` when none.

    ``first_seen[(batch.key, "canceling" | "finalizing")]`` is when the console first saw the batch
    in that phase (kept by the store, see ``note_phases``); it times a phase the gateway gives no
    timestamp for, and can only under-estimate, never over-estimate, how long it has lasted.
    """
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    state = batch.state  # derived on each access: compute once
    out: list[Finding] = []

    if state is State.CANCELING:
        start, exact = _phase_start(batch.cancel_initiated_at, batch, CANCELING, first_seen)
        found = _stuck(
            Flag.CANCELING_STUCK, CANCELING, start, exact, now, thresholds.canceling_minutes
        )
        if found is not None:
            out.append(found)

    if state is State.ACTIVE and _finalizing(batch):
        # Only the OpenAI shape (deep listing) carries finalizing_at; the Anthropic shape has none.
        stamp = parse_timestamp(batch.raw.get("finalizing_at")) if batch.raw else None
        start, exact = _phase_start(stamp, batch, FINALIZING, first_seen)
        found = _stuck(
            Flag.FINALIZING_STUCK, FINALIZING, start, exact, now, thresholds.finalizing_minutes
        )
        if found is not None:
            out.append(found)

    if (state is State.ACTIVE or state is State.CANCELING) and batch.expires_at is not None:
        # expires_at is None for Bedrock and Gemini (the gateway sends ""): never judged there.
        over = (now - batch.expires_at).total_seconds()
        if over > thresholds.expiry_grace_minutes * 60:
            text = _dur(over)
            doing = "canceling" if state is State.CANCELING else "active"
            out.append(
                Finding(
                    Flag.PAST_EXPIRY,
                    f"still {doing} {text} past expires_at (grace "
                    f"{thresholds.expiry_grace_minutes}m)",
                )
            )

    if state in (State.ENDED_OK, State.ENDED_UNSURE):
        counts = batch.request_counts
        # succeeded is None wherever the gateway fakes it (openai/azure/bedrock on the Anthropic
        # route, gemini list items). processing must be a known 0: a non-zero one means these are
        # counts kept from a read taken while the batch ran, not its final tally.
        if (
            counts is not None
            and counts.succeeded == 0
            and counts.processing == 0
            and (total := counts.total)
        ):
            errored = f", {counts.errored} errored" if counts.errored is not None else ""
            out.append(
                Finding(
                    Flag.ENDED_ZERO_SUCCEEDED,
                    f"ended with 0 of {total} requests succeeded{errored}",
                )
            )

    if state.terminal and batch.provider_kind == "anthropic" and batch.archived_at is None:
        created = batch.created_at
        if created is not None:
            deadline = created + ARCHIVE_AFTER
            left = (deadline - now).total_seconds()
            # Past the deadline the results are gone (or archived_at just not reported): not
            # actionable, so silent rather than a permanent flag on every old batch.
            if 0 < left <= thresholds.archive_warn_days * 86400:
                text = _dur(left)
                out.append(
                    Finding(
                        Flag.NEAR_ARCHIVE,
                        f"results archived in {text} (29 days after creation): download them "
                        "before then",
                    )
                )
    return out


def note_phases(
    first_seen: MutableMapping[PhaseKey, datetime], batch: Batch, now: datetime
) -> None:
    """Remember when the console first saw ``batch`` canceling or finalizing; forget a phase it has
    left, so a later return to it is timed afresh. Call on every batch the store takes in."""
    key = batch.key
    in_phase = {
        CANCELING: batch.state is State.CANCELING,
        FINALIZING: _finalizing(batch),
    }
    for phase, inside in in_phase.items():
        if inside:
            first_seen.setdefault((key, phase), now)
        else:
            first_seen.pop((key, phase), None)


def forget_phases(first_seen: MutableMapping[PhaseKey, datetime], key: tuple[str, str]) -> None:
    """Drop what was remembered about a batch the store no longer holds."""
    for phase in PHASES:
        first_seen.pop((key, phase), None)
