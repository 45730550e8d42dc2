"""Watching batches: re-read each one on an interval and yield an event whenever it changes.

No printing and no Textual here: ``cli_watch`` turns the events into lines, and the console can use
the same generator. Time comes from the injected clock and waits from the injected ``sleep``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from bifrost_tui.gateway.errors import GatewayError, NotFound
from bifrost_tui.gateway.models import Batch, State

if TYPE_CHECKING:
    from bifrost_tui.clock import Clock
    from bifrost_tui.gateway.client import GatewayClient

#: ``change``: first read, or something worth showing moved; ``error``: this round's read failed
#: (reported once per distinct error, retried next round); ``recovered``: read again after an error;
#: ``gone``: the gateway says 404, the batch vanished, watching it ends.
EventKind = Literal["change", "error", "recovered", "gone"]

#: ``after`` of a ``gone`` event.
NOT_FOUND = "not found"
#: At most this many reads in flight at once: --all-active may watch hundreds of batches.
MAX_CONCURRENT_READS = 8

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class WatchEvent:
    """Something to tell the operator about one watched batch."""

    time: datetime
    provider: str
    #: The id as the caller asked for it (the gateway may spell it differently: see ``batch``).
    batch_id: str
    #: ``processing_status`` before this event (``None`` on the first read).
    before: str | None
    #: ``processing_status`` now (the last known one for an ``error``; ``"not found"`` if gone).
    after: str
    #: ``State`` value now (``"unknown"`` when gone or never read).
    state: str
    counts: dict[str, int | None] | None
    #: This target is finished: terminal state, or gone.
    ended: bool
    kind: EventKind = "change"
    #: 1 for the first round of reads, 2 for the next...
    poll: int = 1
    error: GatewayError | None = field(default=None, compare=False)
    #: The batch as read (``None`` for ``error``/``gone``).
    batch: Batch | None = field(default=None, compare=False, repr=False)

    @property
    def key(self) -> tuple[str, str]:
        return (self.provider, self.batch_id)

    def to_json(self) -> dict[str, Any]:
        """The ``event`` object of ``batches watch --json`` (one per line)."""
        error = self.error
        return {
            "kind": self.kind,
            "time": self.time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "provider": self.provider,
            "batch_id": self.batch_id,
            "before": self.before,
            "after": self.after,
            "state": self.state,
            "counts": self.counts,
            "ended": self.ended,
            "poll": self.poll,
            "error": None
            if error is None
            else {
                "kind": error.kind,
                "status": error.status,
                "type": error.error_type,
                "message": error.message,
                "request_id": error.request_id,
            },
        }


def ended_cleanly(event: WatchEvent, *, strict: bool = False) -> bool:
    """Whether a watched batch's last event is a clean end: ended successfully, or ended canceled
    after the gateway reported a cancel was initiated (``cancel_initiated_at``: the cancel someone
    asked for took effect). ``strict``: only a successful end is clean."""
    if event.kind == "gone":
        return False
    if event.state == State.ENDED_OK.value:
        return True
    return (
        not strict
        and event.state == State.ENDED_CANCELED.value
        and event.batch is not None
        and event.batch.cancel_initiated_at is not None
    )


@dataclass(slots=True)
class _Target:
    provider: str
    batch_id: str
    last: Batch | None = None
    last_error: str | None = None
    done: bool = False


def _signature(batch: Batch) -> tuple[Any, ...]:
    """What makes a re-read worth an event (``raw`` and listing-only fields are ignored)."""
    counts = batch.request_counts
    return (
        batch.processing_status,
        batch.state,
        counts.to_json() if counts is not None else None,
        batch.cancel_initiated_at,
        batch.ended_at,
    )


def _event(
    target: _Target,
    *,
    now: datetime,
    poll: int,
    kind: EventKind,
    batch: Batch | None = None,
    error: GatewayError | None = None,
) -> WatchEvent:
    last = target.last
    before = last.processing_status if last is not None else None
    if kind == "gone":
        after, state, counts, ended = NOT_FOUND, State.UNKNOWN.value, None, True
    else:
        shown = batch or last
        after = shown.processing_status if shown is not None else ""
        state = shown.state.value if shown is not None else State.UNKNOWN.value
        c = shown.request_counts if shown is not None else None
        counts = c.to_json() if c is not None else None
        ended = batch is not None and batch.state.terminal
    return WatchEvent(
        time=now,
        provider=target.provider,
        batch_id=target.batch_id,
        before=before,
        after=after,
        state=state,
        counts=counts,
        ended=ended,
        kind=kind,
        poll=poll,
        error=error,
        batch=batch,
    )


async def watch_batches(
    client: GatewayClient,
    targets: Sequence[tuple[str, str]],
    *,
    clock: Clock,
    interval: float = 5.0,
    sleep: Sleep = asyncio.sleep,
    max_polls: int | None = None,
) -> AsyncIterator[WatchEvent]:
    """Re-read every ``(provider, batch_id)`` each ``interval`` seconds until all have ended.

    Yields, per target: the first read; then an event whenever ``processing_status``, the state,
    the counts, ``cancel_initiated_at`` or ``ended_at`` change. A failed read yields an ``error``
    event (once per distinct error, not every round) and is retried next round; the first good read
    after it yields ``recovered``. A 404 yields ``gone`` and ends that target. Reads of one round
    run concurrently (bounded) and their events come in target order; the next round starts
    ``interval`` seconds after the previous one finished, so rounds never overlap. Stops when every
    target has ended, or after ``max_polls`` rounds.
    """
    if interval < 0:
        raise ValueError("interval must not be negative")
    state: list[_Target] = []
    seen: set[tuple[str, str]] = set()
    for provider, batch_id in targets:
        if (provider, batch_id) not in seen:  # watching the same batch twice says it twice
            seen.add((provider, batch_id))
            state.append(_Target(provider, batch_id))
    limit = asyncio.Semaphore(MAX_CONCURRENT_READS)

    async def read(target: _Target) -> Batch | GatewayError:
        async with limit:
            try:
                return await client.get_batch(target.provider, target.batch_id)
            except GatewayError as exc:
                return exc

    poll = 0
    while True:
        live = [t for t in state if not t.done]
        if not live:
            return
        poll += 1
        results = await asyncio.gather(*(read(t) for t in live))
        now = clock.now()
        for target, result in zip(live, results, strict=True):
            event = _step(target, result, now=now, poll=poll)
            if event is not None:
                yield event
        if all(t.done for t in state):
            return
        if max_polls is not None and poll >= max_polls:
            return
        await sleep(interval)


def _step(
    target: _Target, result: Batch | GatewayError, *, now: datetime, poll: int
) -> WatchEvent | None:
    """Fold one read into the target; the event to yield, if any."""
    if isinstance(result, NotFound):
        gone = _event(target, now=now, poll=poll, kind="gone", error=result)
        target.done = True
        return gone
    if isinstance(result, GatewayError):
        described = result.describe()
        if described == target.last_error:
            return None  # the same failure again: said once is enough
        target.last_error = described
        return _event(target, now=now, poll=poll, kind="error", error=result)
    batch = result
    recovered = target.last_error is not None
    changed = target.last is None or _signature(batch) != _signature(target.last)
    event: WatchEvent | None = None
    if changed or recovered:
        kind: EventKind = "recovered" if recovered and target.last is not None else "change"
        event = _event(target, now=now, poll=poll, kind=kind, batch=batch)
    target.last = batch
    target.last_error = None
    target.done = batch.state.terminal
    return event


__all__ = [
    "MAX_CONCURRENT_READS",
    "NOT_FOUND",
    "EventKind",
    "WatchEvent",
    "ended_cleanly",
    "watch_batches",
]
