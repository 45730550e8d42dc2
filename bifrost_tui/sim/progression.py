"""How a simulated batch moves through its plan: when its next transition is due, and what it does.

Each transition sets the batch's phase, counts, timestamps and result files. Transitions happen at
planned times, never at "whenever we looked"; the world keeps a heap of the due times and calls
``step`` for each one in order.
"""

from __future__ import annotations

from bifrost_tui.sim.ids import derived
from bifrost_tui.sim.model import ARCHIVE_AFTER_S, Counts, Phase, SimBatch, native_status


def next_event(b: SimBatch) -> int | None:
    phase = b.phase
    if phase is Phase.CANCELLING:
        return b.cancel_done_at
    if phase.active:
        candidates = []
        if b.plan_cancel_at is not None:
            candidates.append(b.plan_cancel_at)
        if b.plan_outcome == "fail" and b.plan_fail_at is not None:
            candidates.append(b.plan_fail_at)
        if phase is Phase.QUEUED and b.plan_start_at is not None:
            candidates.append(b.plan_start_at)
        if phase is Phase.RUNNING and b.plan_finish_at is not None and b.plan_outcome != "fail":
            candidates.append(b.plan_finish_at)
        if phase is Phase.FINALIZING and b.plan_done_at is not None:
            candidates.append(b.plan_done_at)
        if phase is not Phase.FINALIZING and b.expires_at is not None:
            candidates.append(b.expires_at)
        return min(candidates) if candidates else None
    if phase.terminal and b.kind == "anthropic" and b.archived_at is None:
        return b.created_at + ARCHIVE_AFTER_S
    return None


def step(b: SimBatch, t: int, cancel_delay: float) -> None:
    """Apply the one transition due at ``t`` (the earliest; ties in a fixed order)."""
    phase = b.phase
    if phase is Phase.CANCELLING:
        _finish_cancel(b, t)
    elif phase.active and b.plan_cancel_at == t:
        b.plan_cancel_at = None
        start_cancel(b, t, cancel_delay)
    elif phase.active and b.plan_outcome == "fail" and b.plan_fail_at == t:
        _fail(b, t)
    elif phase is Phase.QUEUED and b.plan_start_at == t:
        _set_phase(b, Phase.RUNNING)
        b.in_progress_at = t
    elif phase is Phase.RUNNING and b.plan_finish_at == t:
        if b.kind in ("openai", "azure") and b.plan_done_at is not None:
            b.counts = b.counts_at(t)
            b.live = False
            _set_phase(b, Phase.FINALIZING)
            b.finalizing_at = t
        else:
            _complete(b, t)
    elif phase is Phase.FINALIZING and b.plan_done_at == t:
        _complete(b, t)
    elif phase.active and b.expires_at == t:
        _expire(b, t)
    elif phase.terminal and b.kind == "anthropic":
        b.archived_at = t


def _set_phase(b: SimBatch, phase: Phase) -> None:
    b.phase = phase
    b.native = native_status(b.kind, phase)


def _freeze(b: SimBatch, t: int) -> Counts:
    counts = b.counts_at(t).copy()
    b.counts = counts
    b.live = False
    return counts


def _complete(b: SimBatch, t: int) -> None:
    counts = _freeze(b, t)
    if b.plan_finish_at is not None:
        counts.succeeded = counts.total - counts.errored - counts.canceled - counts.expired
    partial = b.plan_outcome == "partial" and b.kind == "bedrock"
    _set_phase(b, Phase.PARTIAL if partial else Phase.COMPLETED)
    b.completed_at = t
    b.ended_at = t
    _results(b)


def _fail(b: SimBatch, t: int) -> None:
    counts = _freeze(b, t)
    if b.kind in ("openai", "azure") and b.phase is Phase.QUEUED:
        # Validation failed: OpenAI never reports a request count for such a batch.
        b.counts = Counts()
        b.total = 0
    elif b.kind == "anthropic":
        # Anthropic has no "failed": the batch ends with every request errored.
        counts.errored = counts.total - counts.succeeded
    b.failed_at = t
    b.ended_at = t
    _set_phase(b, Phase.FAILED)
    if b.kind == "anthropic":
        _results(b)


def _expire(b: SimBatch, t: int) -> None:
    counts = _freeze(b, t)
    if b.kind in ("anthropic", "gemini"):
        counts.expired += counts.processing
    _set_phase(b, Phase.EXPIRED)
    b.expired_at = t
    b.ended_at = t
    _results(b)


def start_cancel(b: SimBatch, t: int, cancel_delay: float) -> None:
    _freeze(b, t)
    _set_phase(b, Phase.CANCELLING)
    b.cancelling_at = t
    b.cancel_done_at = t + max(0, round(cancel_delay))


def _finish_cancel(b: SimBatch, t: int) -> None:
    counts = b.counts
    if b.kind in ("anthropic", "gemini"):
        counts.canceled += counts.processing
    _set_phase(b, Phase.CANCELLED)
    b.cancelled_at = t
    b.ended_at = t
    b.cancel_done_at = None
    _results(b)


def _results(b: SimBatch) -> None:
    if b.kind == "anthropic" and b.results_url is None:
        b.results_url = f"https://api.anthropic.com/v1/messages/batches/{b.id}/results"
    elif b.kind in ("openai", "azure"):
        # Derived from the id, not drawn: the world must not depend on event order.
        if b.counts.succeeded and b.output_file_id is None:
            b.output_file_id = "file-" + derived(f"{b.id}:output", 22)
        # The error file also holds the requests a cancel or an expiry left unrun.
        if (b.counts.errored or b.counts.processing) and b.error_file_id is None:
            b.error_file_id = "file-" + derived(f"{b.id}:errors", 22)
