"""Bulk cancel: select what to cancel, then cancel it concurrently with a bound, interruptibly.

Shared by the console (``C``) and the CLI (``batches cancel --all-active`` / several ids). No
Textual. Every item ends with exactly one outcome, so nothing is lost when the run is interrupted:
items never started are ``not_sent``; items whose request left are waited for.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bifrost_tui.core.store import Key
from bifrost_tui.core.text_filter import text_matches
from bifrost_tui.gateway.errors import GatewayError, GatewayTimeout, RequestRejected, Unreachable
from bifrost_tui.gateway.models import Batch, State
from bifrost_tui.gateway.outcomes import CancelOutcome, CancelResult

DEFAULT_CONCURRENCY = 8
#: Above this many batches the operator types a confirmation word instead of pressing y.
TYPED_CONFIRM_ABOVE = 10


class ItemOutcome:
    """Outcomes of one bulk item: the three a cancel can have, plus the two that send nothing."""

    ACCEPTED = CancelOutcome.ACCEPTED.value
    REFUSED = CancelOutcome.REFUSED.value
    UNKNOWN = CancelOutcome.UNKNOWN.value
    SKIPPED = "skipped"  # already canceling or ended when its turn came: nothing sent
    NOT_SENT = "not_sent"  # the run was interrupted before this one started, or it never left


@dataclass
class ItemResult:
    key: Key
    outcome: str
    state_before: State | None
    result: CancelResult | None = None
    reason: str | None = None

    @property
    def message(self) -> str | None:
        if self.reason:
            return self.reason
        if self.result is not None and self.result.error is not None:
            return self.result.error.describe()
        return None


@dataclass
class BulkSummary:
    total: int
    items: list[ItemResult] = field(default_factory=list)
    interrupted: bool = False

    @property
    def counts(self) -> Counter[str]:
        return Counter(item.outcome for item in self.items)

    @property
    def done(self) -> int:
        return len(self.items)

    @property
    def troubled(self) -> list[ItemResult]:
        """Refused, unknown or never sent: what the operator must look at."""
        bad = (ItemOutcome.REFUSED, ItemOutcome.UNKNOWN, ItemOutcome.NOT_SENT)
        return [i for i in self.items if i.outcome in bad]

    def words(self) -> str:
        c = self.counts
        canceling = sum(
            1
            for i in self.items
            if i.outcome == ItemOutcome.SKIPPED and i.state_before is State.CANCELING
        )
        parts = [
            f"{c[ItemOutcome.ACCEPTED]} accepted",
            f"{c[ItemOutcome.REFUSED]} refused",
            f"{c[ItemOutcome.UNKNOWN]} unknown",
        ]
        if canceling:
            parts.append(f"{canceling} {SKIP_CANCELING}")
        if c[ItemOutcome.SKIPPED] - canceling or not canceling:
            parts.append(f"{c[ItemOutcome.SKIPPED] - canceling} skipped (already ended)")
        if c[ItemOutcome.NOT_SENT]:
            parts.append(f"{c[ItemOutcome.NOT_SENT]} not sent")
        return f"{self.done}/{self.total}: " + ", ".join(parts)


#: How a batch that was already canceling is reported: nothing was sent for it.
SKIP_CANCELING = "skipped (already canceling)"


def skip_reason(batch: Batch) -> str:
    """Why a batch that is no longer cancellable gets no cancel: ``already canceling``, or
    ``already <its status>`` once it ended."""
    if batch.state is State.CANCELING:
        return "already canceling"
    return f"already {batch.processing_status or batch.state.value}"


CancelFn = Callable[[Key], Awaitable[CancelResult]]
CurrentFn = Callable[[Key], Batch | None]


async def run_bulk(
    keys: Sequence[Key],
    *,
    cancel: CancelFn,
    current: CurrentFn,
    concurrency: int = DEFAULT_CONCURRENCY,
    on_result: Callable[[ItemResult], None] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    abandon: asyncio.Event | None = None,
) -> BulkSummary:
    """Cancel ``keys`` with at most ``concurrency`` requests in flight.

    ``current`` gives the batch as known right now (to skip what ended since the selection);
    ``should_stop`` is checked before each send: once it says stop, the rest is ``not_sent`` and the
    requests already sent are waited for, so every item gets its outcome. Once ``abandon`` is set
    (the grace after an interrupt ran out, or a second signal), requests still unanswered stop
    being waited for and read ``unknown``: they may have landed.
    """
    summary = BulkSummary(total=len(keys))
    semaphore = asyncio.Semaphore(max(1, concurrency))

    def finish(item: ItemResult) -> None:
        summary.items.append(item)
        if on_result is not None:
            on_result(item)

    async def one(key: Key) -> None:
        async with semaphore:
            batch = current(key)
            before = batch.state if batch is not None else None
            if should_stop():
                summary.interrupted = True
                finish(ItemResult(key, ItemOutcome.NOT_SENT, before, reason="interrupted"))
                return
            if batch is not None and not batch.cancellable:
                finish(
                    ItemResult(
                        key,
                        ItemOutcome.SKIPPED,
                        before,
                        reason=skip_reason(batch),
                    )
                )
                return
            try:
                result = await unless_abandoned(cancel(key), abandon)
            except Abandoned:
                summary.interrupted = True
                finish(ItemResult(key, ItemOutcome.UNKNOWN, before, reason=ABANDONED_REASON))
                return
            except (Unreachable, GatewayTimeout, RequestRejected) as exc:
                # Raised only when the request never left (RequestRejected: refused before
                # sending, e.g. an id that is not valid text): nothing happened to this batch.
                finish(ItemResult(key, ItemOutcome.NOT_SENT, before, reason=exc.describe()))
                return
            except GatewayError as exc:
                finish(ItemResult(key, ItemOutcome.UNKNOWN, before, reason=exc.describe()))
                return
            finish(ItemResult(key, result.outcome.value, before, result=result))

    await asyncio.gather(*(one(key) for key in keys))
    return summary


#: Why an item reads ``unknown`` when the run stopped waiting for its answer.
ABANDONED_REASON = "interrupted: no answer before exit (the cancel may have landed; not retried)"


class Abandoned(Exception):
    """The run stopped waiting for this request's answer (it may still have landed)."""


async def unless_abandoned(
    request: Awaitable[CancelResult], abandon: asyncio.Event | None
) -> CancelResult:
    """``await request``, unless ``abandon`` is set first: then the request is dropped."""
    if abandon is None:
        return await request
    task = asyncio.ensure_future(request)
    if abandon.is_set():
        task.cancel()
    waiter = asyncio.ensure_future(abandon.wait())
    try:
        await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
    if not task.done():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        raise Abandoned
    if task.cancelled():
        raise Abandoned
    return task.result()


# --------------------------------------------------------------------------- selection


@dataclass(frozen=True)
class Selection:
    """What a bulk cancel would act on, and why some candidates were left out."""

    keys: list[Key]
    batches: list[Batch]
    excluded: dict[str, int] = field(default_factory=dict)

    def per_provider(self) -> Counter[str]:
        return Counter(k[0] for k in self.keys)


def select(
    batches: Iterable[Batch],
    *,
    now: datetime,
    older_than: timedelta | None = None,
    text: str = "",
    providers: Iterable[str] | None = None,
) -> Selection:
    """Every cancellable batch matching the filter (``/``'s matching), older than a duration.

    A batch whose ``created_at`` is unknown is never selected by ``--older-than``: age unknown is
    not "old".
    """
    wanted = set(providers) if providers is not None else None
    chosen: list[Batch] = []
    excluded: Counter[str] = Counter()
    for batch in batches:
        if wanted is not None and batch.provider not in wanted:
            continue
        if not text_matches(batch, text):
            continue
        if not batch.cancellable:
            excluded["not cancellable"] += 1
            continue
        if older_than is not None:
            if batch.created_at is None:
                excluded["age unknown"] += 1
                continue
            if now - batch.created_at < older_than:
                excluded["too recent"] += 1
                continue
        chosen.append(batch)
    chosen.sort(key=lambda b: (b.provider, b.created_at or now, b.id))
    return Selection([b.key for b in chosen], chosen, dict(excluded))


def confirm_word(profile: str | None, gateway_url: str) -> str:
    """What the operator types to confirm a large bulk cancel: the profile name, else the host."""
    if profile:
        return profile
    from urllib.parse import urlsplit

    return urlsplit(gateway_url).hostname or gateway_url


def needs_typed_confirmation(count: int, confirm_style: str) -> bool:
    return count > TYPED_CONFIRM_ABOVE or confirm_style == "typed"
