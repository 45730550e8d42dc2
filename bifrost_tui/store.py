"""BatchStore: the console's state, keyed by (provider, batch id); refreshes come in, diffs go out.

No Textual here: the store is plain data so that it can be tested, benchmarked and reused. The UI
asks it for the current view (filtered, sorted keys) and for what changed since the last refresh.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from .gateway.errors import GatewayError
from .gateway.models import Batch, ProviderInfo, State
from .gateway.results import ListingStatus, ProviderListing

Key = tuple[str, str]  # (provider, normalised batch id)


class SortKey(StrEnum):
    CREATED = "created"
    PROVIDER = "provider"
    STATUS = "status"
    ID = "id"
    EXPIRES = "expires"
    PROGRESS = "progress"


SORT_CYCLE: tuple[SortKey, ...] = tuple(SortKey)

#: Order of states when sorting by status: what needs attention first.
_STATE_ORDER = {
    State.ACTIVE: 0,
    State.CANCELING: 1,
    State.UNKNOWN: 2,
    State.FAILED: 3,
    State.EXPIRED: 4,
    State.ENDED_CANCELED: 5,
    State.ENDED_OK: 6,
}

#: State groups counted per provider in the provider list.
STATE_GROUPS: dict[State, str] = {
    State.ACTIVE: "active",
    State.CANCELING: "canceling",
    State.ENDED_OK: "ended",
    State.ENDED_CANCELED: "ended",
    State.FAILED: "failed",
    State.EXPIRED: "failed",
    State.UNKNOWN: "active",
}


@dataclass
class ProviderStatus:
    """What the console knows about one provider's listing."""

    info: ProviderInfo
    listing: ListingStatus | None = None
    missing: str | None = None
    error: GatewayError | None = None
    last_ok: datetime | None = None
    counts: Counter[str] = field(default_factory=Counter)
    #: A listing that was not cut at the first page on purpose has been applied.
    deep_seen: bool = False


@dataclass(frozen=True)
class Diff:
    """Keys that appeared, changed or disappeared in one update."""

    added: frozenset[Key] = frozenset()
    changed: frozenset[Key] = frozenset()
    removed: frozenset[Key] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.removed)

    def __or__(self, other: Diff) -> Diff:
        return Diff(
            self.added | other.added, self.changed | other.changed, self.removed | other.removed
        )


class BatchStore:
    """All batches the console knows, plus the current view (provider, filter, hide-ended, sort)."""

    def __init__(self) -> None:
        self.batches: dict[Key, Batch] = {}
        self.providers: dict[str, ProviderStatus] = {}
        # View settings.
        self.provider_filter: str | None = None  # None = all providers
        self.text_filter: str = ""
        self.hide_ended: bool = False
        self.sort_key: SortKey = SortKey.CREATED
        self.sort_reverse: bool = True  # newest first
        self._view: list[Key] | None = None

    # ---- providers ---------------------------------------------------------------------------

    def set_providers(self, infos: Iterable[ProviderInfo]) -> None:
        """Replace the provider list, keeping what is known about providers that stay."""
        fresh: dict[str, ProviderStatus] = {}
        for info in infos:
            status = self.providers.get(info.name) or ProviderStatus(info=info)
            status.info = info
            fresh[info.name] = status
        gone = set(self.providers) - set(fresh)
        self.providers = fresh
        if gone:
            for key in [k for k in self.batches if k[0] in gone]:
                del self.batches[key]
            self._recount()
        self._view = None

    # ---- updates -----------------------------------------------------------------------------

    def apply_listing(self, listing: ProviderListing, now: datetime) -> Diff:
        """Fold one provider's listing in. Batches disappear only on a complete listing."""
        status = self.providers.get(listing.provider)
        if status is None:
            status = ProviderStatus(
                info=ProviderInfo(name=listing.provider, kind=listing.provider, batch_capable=True)
            )
            self.providers[listing.provider] = status
        if listing.status is ListingStatus.ERROR:
            # Keep the last good data; the UI marks it stale with this error.
            status.error = listing.error
            status.listing = ListingStatus.ERROR
            return Diff()
        status.error = None
        if not (listing.first_page_only and status.listing is not None and status.deep_seen):
            # A light poll stops at the first page on purpose: it does not undo what the last
            # deep listing established about completeness.
            status.listing = listing.status
            status.missing = listing.missing
        status.deep_seen = status.deep_seen or listing.deep or not listing.first_page_only
        status.last_ok = now
        added: set[Key] = set()
        changed: set[Key] = set()
        seen: set[Key] = set()
        for batch in listing.batches:
            key = batch.key
            seen.add(key)
            old = self.batches.get(key)
            new = batch if old is None else old.updated_by(batch)
            if old is None:
                added.add(key)
                self.batches[key] = new
            elif new != old:
                changed.add(key)
                self.batches[key] = new
        removed: set[Key] = set()
        if listing.status is ListingStatus.COMPLETE:
            # A complete listing is the whole truth: what it no longer shows is gone.
            removed = {k for k in self.batches if k[0] == listing.provider and k not in seen}
            for key in removed:
                del self.batches[key]
        diff = Diff(frozenset(added), frozenset(changed), frozenset(removed))
        if diff:
            self._recount_provider(listing.provider)
            self._view_changed(diff)
        return diff

    def apply_batch(self, batch: Batch) -> Diff:
        """Fold one batch in (a re-read, a cancel reply): never erases what is known."""
        key = batch.key
        old = self.batches.get(key)
        new = batch if old is None else old.updated_by(batch)
        if old is not None and new == old:
            return Diff()
        self.batches[key] = new
        diff = Diff(added=frozenset({key})) if old is None else Diff(changed=frozenset({key}))
        self._recount_provider(batch.provider)
        self._view_changed(diff)
        return diff

    def load(self, batches: Iterable[Batch]) -> None:
        """Put batches straight in (benchmarks, tests: the gateway caps what one listing gives)."""
        for batch in batches:
            self.batches[batch.key] = batch
            if batch.provider not in self.providers:
                self.providers[batch.provider] = ProviderStatus(
                    info=ProviderInfo(name=batch.provider, kind=batch.provider, batch_capable=True)
                )
        self._recount()
        self._view = None

    # ---- counts ------------------------------------------------------------------------------

    def _recount(self) -> None:
        for name in self.providers:
            self._recount_provider(name)

    def _recount_provider(self, provider: str) -> None:
        status = self.providers.get(provider)
        if status is None:
            return
        status.counts = Counter(
            STATE_GROUPS[b.state] for k, b in self.batches.items() if k[0] == provider
        )

    def totals(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for status in self.providers.values():
            total.update(status.counts)
        return total

    # ---- the view ----------------------------------------------------------------------------

    def set_view(
        self,
        *,
        provider: str | type[...] | None = ...,
        text: str | None = None,
        hide_ended: bool | None = None,
        sort_key: SortKey | None = None,
        sort_reverse: bool | None = None,
    ) -> None:
        if provider is not ...:
            self.provider_filter = provider  # type: ignore[assignment]
        if text is not None:
            self.text_filter = text
        if hide_ended is not None:
            self.hide_ended = hide_ended
        if sort_key is not None:
            self.sort_key = sort_key
        if sort_reverse is not None:
            self.sort_reverse = sort_reverse
        self._view = None

    def matches(self, batch: Batch) -> bool:
        """The filter ``/`` applies: provider, hide-ended, and text in id / status / state."""
        if self.provider_filter is not None and batch.provider != self.provider_filter:
            return False
        if self.hide_ended and batch.state.terminal:
            return False
        return text_matches(batch, self.text_filter)

    def view(self) -> list[Key]:
        """Keys of the visible batches, filtered and sorted (cached until something changes)."""
        if self._view is None:
            keys = [k for k, b in self.batches.items() if self.matches(b)]
            keys.sort(key=self._sort_value, reverse=self.sort_reverse)
            self._view = keys
        return self._view

    def _sort_value(self, key: Key) -> tuple[object, ...]:
        batch = self.batches[key]
        match self.sort_key:
            case SortKey.CREATED:
                primary: object = batch.created_at.timestamp() if batch.created_at else 0.0
            case SortKey.PROVIDER:
                primary = batch.provider
            case SortKey.STATUS:
                primary = _STATE_ORDER[batch.state]
            case SortKey.ID:
                primary = batch.id
            case SortKey.EXPIRES:
                primary = batch.expires_at.timestamp() if batch.expires_at else 0.0
            case SortKey.PROGRESS:
                counts = batch.request_counts
                done, total = (counts.done, counts.total) if counts else (None, None)
                primary = (done / total) if done is not None and total else -1.0
        return (primary, key)

    def _view_changed(self, diff: Diff) -> None:
        # Any change may move a row (sort by status, counts...) or change whether it matches.
        self._view = None

    def visible_counts(self) -> int:
        return len(self.view())


def text_matches(batch: Batch, text: str) -> bool:
    """Case-insensitive substring over id, raw status, normalised state and provider."""
    if not text:
        return True
    needle = text.lower()
    return any(
        needle in hay.lower()
        for hay in (batch.id, batch.processing_status, batch.state.value, batch.provider)
    )


def keys_of(batches: Sequence[Batch]) -> set[Key]:
    return {b.key for b in batches}
