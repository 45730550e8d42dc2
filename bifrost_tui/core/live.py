"""LiveSession: polls the gateway into the BatchStore and follows cancels until they land.

Plain asyncio, no Textual: the console arms its timers around these calls (a poll is re-armed only
when the previous one finished, so polls never overlap), and tests drive them directly.

Request cost of a refresh (stated in the README):
- light poll: one first-page request per batch-capable provider, plus one retrieve for each known
  active batch that the first page did not cover, at most ``MAX_ACTIVE_REREADS`` per poll, taken
  round robin (the longest unread first), so with ``N`` such batches each is re-read once every
  ``ceil(N / MAX_ACTIVE_REREADS)`` light polls;
- deep poll (at start, on ``r``, every ``deep_every`` light polls): the first page, then the
  OpenAI-format deep listing where the first page says ``has_more`` (1+ pages per provider), plus
  ``/health`` and ``/api/version``;
- each cancel in flight: one retrieve per watch tick (1 s, doubling to 15 s);
- a batch a listing saw end without faithful counts (bedrock, gemini): one retrieve at once.
Retrieves and the first pages go through each provider's faithful route (``client.py``).
"""

from __future__ import annotations

import asyncio
import heapq
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bifrost_tui.clock import Clock
from bifrost_tui.core.skew import SkewTracker
from bifrost_tui.core.store import BatchStore, Diff, Key
from bifrost_tui.core.stuck import (
    Finding,
    PhaseKey,
    Thresholds,
    findings,
    forget_phases,
    note_phases,
)
from bifrost_tui.gateway.client import GatewayClient
from bifrost_tui.gateway.errors import AuthRefused, GatewayError, GatewayTimeout, Unreachable
from bifrost_tui.gateway.models import Batch
from bifrost_tui.gateway.outcomes import CancelResult, ListingStatus

MAX_ACTIVE_REREADS = 20
WATCH_FIRST_DELAY = 1.0
WATCH_MAX_DELAY = 15.0
#: Retrieves in flight at once for watched cancels, shared by all of them.
WATCH_CONCURRENCY = 4


@dataclass
class Watch:
    """A cancelled batch being followed until it reaches a terminal state."""

    key: Key
    due: datetime
    delay: float = WATCH_FIRST_DELAY


@dataclass
class PollResult:
    diff: Diff = field(default_factory=Diff)
    #: Batches that reached a terminal state while being watched.
    ended: list[Batch] = field(default_factory=list)
    error: GatewayError | None = None


class LiveSession:
    """The console's view of one gateway: discovery, polls, health, cancels and their watches."""

    def __init__(
        self,
        client: GatewayClient,
        store: BatchStore,
        clock: Clock,
        *,
        fallback_providers: Iterable[str] | None = None,
        thresholds: Thresholds | None = None,
    ) -> None:
        self.client = client
        self.store = store
        self.clock = clock
        self.fallback_providers = list(fallback_providers) if fallback_providers else None
        self.health: str | None = None
        #: ``health`` says the gateway did not answer (not what ``/health`` said): the next poll
        #: that gets an answer proves otherwise.
        self._health_unreached = False
        self.version: str | None = None
        self.last_ok: datetime | None = None
        self.last_error: GatewayError | None = None
        self.discovered = False
        self.watches: dict[Key, Watch] = {}
        self.thresholds = thresholds or Thresholds()
        #: When each batch was first seen canceling / finalizing (the gateway may not say).
        self.first_seen: dict[PhaseKey, datetime] = {}
        #: Stuck and suspicious findings, only for batches that have some.
        self.flags: dict[Key, list[Finding]] = {}
        #: For each known active batch, when it was last read (listed or re-read; absent: never)
        #: as a stamp that only grows, so light polls re-read the longest unread first.
        self._read_at: dict[Key, int] = {}
        self._stamps = 0
        self._skew = SkewTracker(clock)
        client.observe_dates(self._skew.observe)

    # ---- stuck and suspicious batches -----------------------------------------------------------

    def update_flags(self, diff: Diff | None = None) -> None:
        """Re-judge the batches in ``diff`` (all of them when ``None``: once a minute, since the
        rules are about time passing)."""
        now = self.clock.now()
        batches = self.store.batches
        if diff is None:
            keys: Iterable[Key] = list(batches)
            self.flags.clear()
        else:
            for key in diff.removed:
                self.flags.pop(key, None)
                forget_phases(self.first_seen, key)
            keys = diff.added | diff.changed
        for key in keys:
            batch = batches.get(key)
            if batch is None:
                continue
            note_phases(self.first_seen, batch, now)
            found = findings(batch, now, self.thresholds, first_seen=self.first_seen)
            if found:
                self.flags[key] = found
            else:
                self.flags.pop(key, None)

    def flagged_per_provider(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for provider, _ in self.flags:
            counts[provider] = counts.get(provider, 0) + 1
        return counts

    # ---- status -------------------------------------------------------------------------------

    @property
    def clock_skew(self) -> timedelta | None:
        """The gateway's clock minus this machine's, from its last answers' ``Date`` (positive:
        the gateway is ahead); ``None`` under a minute or before any answer."""
        return self._skew.skew

    @property
    def stale(self) -> bool:
        """The data on screen is older than the last attempt: the last refresh failed."""
        return self.last_error is not None

    def _failed(self, error: GatewayError) -> None:
        self.last_error = error
        if isinstance(error, Unreachable | GatewayTimeout):
            # The gateway as a whole is not answering: the health badge must not still say ok.
            self._set_health(error.kind, unreached=True)

    def _set_health(self, health: str, *, unreached: bool) -> None:
        self.health = health
        self._health_unreached = unreached

    def _answered(self) -> None:
        """A listing came back: the gateway is reachable, whatever the last failure said (the
        health check runs only on deep polls, far too late to say so)."""
        if self.health is None or self._health_unreached:
            self._set_health("ok", unreached=False)

    # ---- discovery and health ----------------------------------------------------------------

    async def check_health(self) -> None:
        try:
            body = await self.client.health()
            status = body.get("status") if isinstance(body, dict) else None
            self._set_health(str(status) if status else "ok", unreached=False)
        except GatewayError as exc:
            self._set_health(exc.kind, unreached=isinstance(exc, Unreachable | GatewayTimeout))
            return
        try:
            self.version = await self.client.version()
        except GatewayError:
            self.version = None

    async def discover(self) -> None:
        discovery = await self.client.discover_providers(self.fallback_providers)
        self.store.set_providers(discovery.providers)
        self.discovered = True

    # ---- polls --------------------------------------------------------------------------------

    async def poll(self, *, deep: bool) -> PollResult:
        """One refresh. Never raises for gateway trouble: the error is kept, data marked stale."""
        if deep or not self.discovered:
            await self.check_health()
            try:
                await self.discover()
            except GatewayError as exc:
                if not self.discovered:
                    self._failed(exc)
                    return PollResult(error=exc)
                # Providers are already known: a slow management API must not stop the listing
                # (nor make every deep poll flicker STALE); the listings below say the truth.
        providers = [s.info for s in self.store.providers.values() if s.info.batch_capable]
        was_active = set(self.store.active_keys())
        listings = await self.client.list_all(providers, deep=deep)
        now = self.clock.now()
        diff = Diff()
        for listing in listings:
            diff = diff | self.store.apply_listing(listing, now)
        diff = diff | await self._reread_ended(was_active)
        self._note_read(b.key for x in listings for b in x.batches if not b.state.terminal)
        errors = [x.error for x in listings if x.status is ListingStatus.ERROR and x.error]
        if listings and len(errors) == len(listings):
            self._failed(errors[0])
            self.update_flags(diff)
            return PollResult(diff=diff, error=errors[0])
        if any(x.status in (ListingStatus.COMPLETE, ListingStatus.PARTIAL) for x in listings):
            self._answered()
        if not deep:
            seen = {b.key for x in listings for b in x.batches}
            diff = diff | await self._reread_active(exclude=seen)
        self.last_ok = now
        self.last_error = errors[0] if errors else None
        self.update_flags(diff)
        return PollResult(diff=diff, error=errors[0] if errors else None)

    async def _reread_ended(self, was_active: set[Key]) -> Diff:
        """Batches a listing just saw end, through a route whose counts are not the faithful ones
        (bedrock and gemini list items carry none): re-read at once, so the counts of the end
        state are shown (``?`` until then), never those read while it ran."""
        batches = self.store.batches
        keys = [
            key
            for key in was_active
            if (batch := batches.get(key)) is not None
            and batch.state.terminal
            and not batch.counts_faithful
        ]
        diff = Diff()
        for batch in await asyncio.gather(*(self._get(k) for k in keys)):
            if batch is not None:
                diff = diff | self.store.apply_batch(batch)
        return diff

    def _note_read(self, keys: Iterable[Key]) -> None:
        read_at = self._read_at
        # Stamped in the order they were last read: a listing that reads many at once (a deep
        # poll) leaves the rotation where it was instead of starting it over.
        ordered = sorted(keys, key=lambda k: read_at.get(k, -1))
        read_at.update(zip(ordered, range(self._stamps, self._stamps + len(ordered)), strict=True))
        self._stamps += len(ordered)

    async def _reread_active(self, exclude: set[Key]) -> Diff:
        """Known active batches that the first pages did not cover: re-read a bounded number,
        round robin: the longest unread first (ties in the order first seen), so over
        ``ceil(N / MAX_ACTIVE_REREADS)`` light polls each of ``N`` such batches is read once."""
        # The store keeps its active keys at hand: no walk over every batch on each poll. Only
        # they keep a place in the rotation, so ended and vanished batches leave it here.
        read_at = self._read_at
        self._read_at = {k: read_at.get(k, -1) for k in self.store.active_keys()}
        candidates = (k for k in self._read_at if k not in exclude and k not in self.watches)
        # A stable pick (like sorted()[:n]): never-read and equally old batches go in first-seen
        # order.
        keys = heapq.nsmallest(MAX_ACTIVE_REREADS, candidates, key=self._read_at.__getitem__)
        # Marked read even when the retrieve fails: one batch the gateway cannot read must not
        # hold a place in every poll.
        self._note_read(keys)
        results = await asyncio.gather(*(self._get(k) for k in keys))
        diff = Diff()
        for batch in results:
            if batch is not None:
                diff = diff | self.store.apply_batch(batch)
        return diff

    async def _get(self, key: Key) -> Batch | None:
        provider, batch_id = key
        try:
            return await self.client.get_batch(provider, batch_id, kind=self._kind(provider))
        except GatewayError:
            return None

    def _kind(self, provider: str) -> str:
        status = self.store.providers.get(provider)
        return status.info.kind if status is not None else provider

    # ---- cancel -------------------------------------------------------------------------------

    async def cancel(
        self, key: Key, *, on_change: Callable[[Diff], None] | None = None
    ) -> CancelResult:
        """Send one cancel (never retried), fold what came back into the store, start watching."""
        provider, batch_id = key
        # Raises Unreachable when the request never left (nothing happened): the caller says so.

        def reply_landed(reply: Batch) -> None:
            # Shown at once; the re-read that follows fills in what the partial reply lacks.
            diff = self.store.apply_batch(reply)
            if on_change is not None and diff:
                on_change(diff)

        result = await self.client.cancel_batch(
            provider, batch_id, kind=self._kind(provider), on_reply=reply_landed
        )
        diff = Diff(changed=frozenset({key}))
        if result.batch is not None:
            self.store.apply_batch(result.batch)
        self.update_flags(diff)
        current = self.store.batches.get(key)
        if current is not None and not current.state.terminal:
            self.watches[key] = Watch(key, due=self.clock.now() + timedelta(seconds=1))
        return result

    async def poll_watched(self, *, force: bool = False) -> PollResult:
        """Re-read the watched batches that are due; back off each one up to WATCH_MAX_DELAY."""
        now = self.clock.now()
        due = [w for w in self.watches.values() if force or w.due <= now]
        if not due:
            return PollResult()
        semaphore = asyncio.Semaphore(WATCH_CONCURRENCY)

        async def reread(watch: Watch) -> tuple[Watch, Batch | None]:
            async with semaphore:
                return watch, await self._get(watch.key)

        diff = Diff()
        ended: list[Batch] = []
        for watch, batch in await asyncio.gather(*(reread(w) for w in due)):
            if batch is not None:
                diff = diff | self.store.apply_batch(batch)
            current = self.store.batches.get(watch.key)
            if current is not None and current.state.terminal:
                ended.append(current)
                self.watches.pop(watch.key, None)
                continue
            watch.delay = min(WATCH_MAX_DELAY, watch.delay * 2)
            watch.due = now + timedelta(seconds=watch.delay)
        self.update_flags(diff)
        return PollResult(diff=diff, ended=ended)

    def next_watch_in(self) -> float | None:
        """Seconds until the next watched batch is due (None when nothing is watched)."""
        if not self.watches:
            return None
        now = self.clock.now()
        return max(0.0, min((w.due - now).total_seconds() for w in self.watches.values()))


def describe_error(error: GatewayError) -> str:
    """Words an operator can act on, for the STALE badge and the flash line."""
    if isinstance(error, Unreachable):
        return f"gateway unreachable: {error.message}"
    if isinstance(error, AuthRefused):
        return f"auth refused (check the virtual key / dashboard credentials): {error.message}"
    return error.describe()
