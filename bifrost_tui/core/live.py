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
  ``/health``, ``/api/version``, ``/api/providers`` and the keys calls, all beside the listings
  (``gateway/survey.py``: the first pages wait at most for ``/api/providers``, at the very first
  poll without a profile's ``providers`` list; never for the others);
- each cancel in flight: one retrieve per watch tick (1 s, doubling to 15 s);
- a batch a listing saw end without faithful counts (bedrock, gemini): one retrieve at once.
Retrieves and the first pages go through each provider's faithful route (``client.py``).
"""

from __future__ import annotations

import asyncio
import itertools
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
from bifrost_tui.gateway.discovery import BatchKey
from bifrost_tui.gateway.errors import AuthRefused, GatewayError, GatewayTimeout, Unreachable
from bifrost_tui.gateway.listing_strategy import Strategy
from bifrost_tui.gateway.models import Batch, ProviderInfo
from bifrost_tui.gateway.outcomes import CancelResult, ListingStatus, ProviderListing
from bifrost_tui.gateway.survey import SurveyHooks, survey

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
        named_providers: Iterable[str] | None = None,
        fallback_providers: Iterable[str] | None = None,
        thresholds: Thresholds | None = None,
        listing: str = "auto",
    ) -> None:
        self.client = client
        self.store = store
        self.clock = clock
        #: A profile's ``providers``: listed at once, before the management API answers
        #: (``fallback_providers`` is the older name of the same list).
        names = named_providers or fallback_providers
        self.named_providers = list(names) if names else None
        #: The profile's ``listing`` setting, and the road each provider's last deep listing took:
        #: its re-reads go the same way (pinned to the key that listed the batch).
        self.listing = listing
        self.strategies: dict[str, Strategy] = {}
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
        #: The light polls' re-read rotation over the known active batches, in the order they
        #: come up: those never read (in the order first seen), then those read, each with when
        #: it was last read (listed or re-read) as a stamp that only grows, the longest unread
        #: first. Kept in step with the store's changes, so a poll costs what changed.
        self._unread: dict[Key, None] = {}
        self._read_at: dict[Key, int] = {}
        self._stamps = 0
        #: The store's version the rotation is in step with (``None``: not yet).
        self._rotation_at: int | None = None
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
        """``/health`` and ``/api/version``, concurrently; never raises."""

        async def version() -> str | None:
            try:
                return await self.client.version()
            except GatewayError:
                return None

        async def health() -> None:
            try:
                body = await self.client.health()
            except GatewayError as exc:
                self._set_health(exc.kind, unreached=isinstance(exc, Unreachable | GatewayTimeout))
                return
            status = body.get("status") if isinstance(body, dict) else None
            self._set_health(str(status) if status else "ok", unreached=False)

        _, self.version = await asyncio.gather(health(), version())

    @property
    def listing_pending(self) -> list[str] | None:
        """``None`` once every batch-capable provider's first listing has landed; else the names of
        those still listing (empty while the provider list itself is not known yet)."""
        if not self.discovered:
            return []
        return self.store.still_listing() or None

    def _listing_face(self, provider: str) -> tuple[object, ...]:
        """What the provider list shows of a provider's listing (a change there is repainted)."""
        status = self.store.providers.get(provider)
        if status is None:
            return ()
        return (status.listing, status.missing, status.error, status.stale_since)

    # ---- polls --------------------------------------------------------------------------------

    async def poll(
        self, *, deep: bool, on_change: Callable[[Diff], None] | None = None
    ) -> PollResult:
        """One refresh. Never raises for gateway trouble: the error is kept, data marked stale.

        The first rows come after at most two round trips (``gateway/survey.py``); ``/health``
        and ``/api/version`` run beside the listings on a deep poll and never delay them. With
        ``on_change`` every change is passed on as it is applied (the provider list, each
        provider's first page, its listing, the re-reads); ``PollResult.diff`` still holds them
        all, and must not be applied again by that caller.
        """
        diff = Diff()

        def changed(step: Diff, *, shown: bool = False) -> None:
            """``shown``: something on screen changed even when no batch did."""
            nonlocal diff
            diff = diff | step
            if on_change is not None and (step or shown):
                on_change(step)

        def on_providers(infos: list[ProviderInfo]) -> None:
            self.store.set_providers(infos)
            self.discovered = True
            changed(Diff(), shown=True)

        def on_page(provider: str, batches: list[Batch]) -> None:
            changed(self.store.apply_page(provider, batches))

        def on_listing(listing: ProviderListing) -> None:
            before = self._listing_face(listing.provider)
            step = self.store.apply_listing(listing, self.clock.now())
            changed(step, shown=self._listing_face(listing.provider) != before)

        fresh = deep or not self.discovered
        health = asyncio.ensure_future(self.check_health()) if fresh else None
        known = [s.info for s in self.store.providers.values()] if self.discovered else None
        was_active = set(self.store.active)
        try:
            found = await survey(
                self.client,
                deep=deep,
                named=self.named_providers,
                known=known,
                discover=fresh,
                hooks=SurveyHooks(on_providers, on_page, on_listing),
                listing=self.listing,
            )
        finally:
            if health is not None:
                await health
        self.strategies.update(found.strategies)
        if found.error is not None:
            self._failed(found.error)
            return PollResult(diff=diff, error=found.error)
        listings = found.listings
        changed(await self._reread_ended(was_active))
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
            changed(await self._reread_active(exclude=seen))
        self.last_ok = self.clock.now()
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
            for key in was_active.difference(self.store.active)
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
        read_at, unread = self._read_at, self._unread
        # Stamped in the order they were last read: a listing that reads many at once (a deep
        # poll) leaves the rotation where it was instead of starting it over.
        ordered = sorted(keys, key=lambda k: read_at.get(k, -1))
        if unread:
            for key in ordered:
                unread.pop(key, None)
        # Out and in again: ``read_at`` stays in the order of its stamps.
        for key in ordered:
            read_at.pop(key, None)
        read_at.update(zip(ordered, range(self._stamps, self._stamps + len(ordered)), strict=True))
        self._stamps += len(ordered)

    def _catch_up_rotation(self) -> None:
        """Bring the rotation in step with the store: batches that became active join it (as
        never read), those that ended or went leave it. In time proportional to the store's
        changes since the last call; rebuilt from the active keys when those are not known
        (a bulk load, a first listing, many changes)."""
        store = self.store
        at, self._rotation_at = self._rotation_at, store.version
        changes = store.changes_since(at) if at is not None else None
        unread, read_at, active = self._unread, self._read_at, store.active
        if changes is None:
            self._read_at = {k: t for k, t in read_at.items() if k in active}
            self._unread = dict.fromkeys(k for k in active if k not in self._read_at)
            return
        for key in changes:
            if key in active:
                if key not in read_at:
                    unread.setdefault(key, None)
            else:
                unread.pop(key, None)
                read_at.pop(key, None)

    async def _reread_active(self, exclude: set[Key]) -> Diff:
        """Known active batches that the first pages did not cover: re-read a bounded number,
        round robin: the longest unread first (ties in the order first seen), so over
        ``ceil(N / MAX_ACTIVE_REREADS)`` light polls each of ``N`` such batches is read once."""
        # No walk over the active batches: the rotation is kept in the order the batches come
        # up, so the pick reads its head (skipping the batches the first pages covered, those
        # being watched, and those listed that the store does not hold as active).
        self._catch_up_rotation()
        active, watches = self.store.active, self.watches
        keys: list[Key] = []
        strays: list[Key] = []
        for key in itertools.chain(self._unread, self._read_at):
            if len(keys) == MAX_ACTIVE_REREADS:
                break
            if key in exclude or key in watches:
                continue
            if key in active:
                keys.append(key)
            else:
                strays.append(key)
        for key in strays:
            self._read_at.pop(key, None)
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
            return await self.client.get_batch(
                provider, batch_id, kind=self._kind(provider), key=self._pinned_key(key)
            )
        except GatewayError:
            return None

    def _pinned_key(self, key: Key) -> BatchKey | None:
        """The batch key that listed ``key`` through the passthrough prefix, when its provider's
        listing took that road: a re-read goes the same way and gets the native object."""
        strategy = self.strategies.get(key[0])
        batch = self.store.batches.get(key)
        if strategy is None or not strategy.passthrough or batch is None:
            return None
        return next((k for k in strategy.keys if k.name in batch.listed_by), None)

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
