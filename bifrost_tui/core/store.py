"""BatchStore: the console's state, keyed by (provider, batch id); refreshes come in, diffs go out.

No Textual here: the store is plain data so that it can be tested, benchmarked and reused. The UI
asks it for the current view (filtered, sorted keys) and for what changed since the last refresh.
What a sort key means lives in ``sorting``, what the text filter matches in ``text_filter``; the
store keeps the caches that make both cheap.
"""

from __future__ import annotations

import itertools
from collections import Counter, deque
from collections.abc import Iterable, Iterator, KeysView, Mapping
from datetime import datetime
from enum import Enum

from bifrost_tui.core.changes import (
    STATE_GROUPS,
    Diff,
    Key,
    ProviderStatus,
    StatesView,
    Transition,
)
from bifrost_tui.core.sorting import (
    DEFAULT_SORT_KEY,
    DEFAULT_SORT_REVERSE,
    VALUE_OF,
    SortKey,
    SortValue,
    insert_sorted,
    kept,
    position,
    remove_sorted,
    sorted_keys,
    value_at,
)
from bifrost_tui.core.text_filter import SEP, haystacks, text_matches
from bifrost_tui.gateway.models import TERMINAL_STATES, Batch, ProviderInfo, State
from bifrost_tui.gateway.outcomes import ListingStatus, ProviderListing


class _Keep(Enum):
    """``set_view``'s "leave it as it is" for the provider, where ``None`` means all providers."""

    KEEP = "keep"


class BatchStore:
    """All batches the console knows, plus the current view (provider, filter, hide-ended, sort).

    Kept cheap at 50,000 batches (see ``bench/``): a change costs in proportion to what changed,
    not to what is known. Besides the batches the store keeps the active keys and the text the
    filter searches (each batch caches its own state); the counts per provider are adjusted
    rather than recounted; and the sorted order of every batch is kept between changes: a changed
    batch is re-placed by bisection only when its sort value moved. Sort values are not kept
    (they would be a tenth of the memory): bisection computes the log n it reads. The view is
    that order filtered; a filter keystroke filters the order (or, when the text only grew, the
    previous result) and never sorts.
    """

    def __init__(self) -> None:
        self.batches: dict[Key, Batch] = {}
        self.providers: dict[str, ProviderStatus] = {}
        # View settings.
        self.provider_filter: str | None = None  # None = all providers
        self.text_filter: str = ""
        self.hide_ended: bool = False
        self.sort_key: SortKey = DEFAULT_SORT_KEY  # oldest active first
        self.sort_reverse: bool = DEFAULT_SORT_REVERSE
        #: Bumped on every change of ``batches``; see ``changed_since``.
        self.version = 0
        self._log: deque[tuple[int, tuple[Key, ...] | None]] = deque(maxlen=_LOG_SIZE)
        # Caches, all kept in step with ``batches`` by ``_commit``.
        self._keys: dict[str, dict[Key, None]] = {}  # per provider, in arrival order
        self._states = StatesView(self.batches)
        self._active: dict[Key, None] = {}  # keys whose state is not terminal
        self._order: list[Key] | None = None  # every key, sorted; never mutated once built
        self._order_sig: tuple[SortKey, bool] | None = None
        # The filter's ``haystack`` per batch lined up with ``_order`` (None: not built); only here.
        self._order_hays: list[str] | None = None
        # The last order dropped and its haystacks, while they read right: to line up again.
        self._spare: tuple[list[Key], list[str]] | None = None
        self._view: list[Key] | None = None  # ``_order`` filtered; never mutated once built
        self._view_hays: list[str] | None = None  # lined up with a filtered ``_view``
        # Filtered views (and their haystacks) of the current order by filter settings: typing
        # narrows from the last result, backspace finds the earlier one here.
        self._memo: dict[tuple[str | None, str, bool], tuple[list[Key], list[str] | None]] = {}

    # ---- providers ---------------------------------------------------------------------------

    def set_providers(self, infos: Iterable[ProviderInfo]) -> None:
        """Replace the provider list, keeping what is known about providers that stay."""
        fresh: dict[str, ProviderStatus] = {}
        new: list[str] = []
        for info in infos:
            status = self.providers.get(info.name)
            if status is None:
                status = ProviderStatus(info=info)
                new.append(info.name)
            status.info = info
            fresh[info.name] = status
        gone = set(self.providers) - set(fresh)
        self.providers = fresh
        for name in new:
            self._recount_provider(name)
        if gone:
            olds: dict[Key, Batch | None] = {}
            for name in gone:
                for key in list(self._keys.get(name, ())):
                    olds[key] = self.batches.pop(key)
            if olds:
                self._commit(olds)

    # ---- updates -----------------------------------------------------------------------------

    def apply_listing(self, listing: ProviderListing, now: datetime) -> Diff:
        """Fold one provider's listing in. Batches disappear only on a complete listing."""
        status = self.providers.get(listing.provider)
        if status is None:
            status = ProviderStatus(
                info=ProviderInfo(name=listing.provider, kind=listing.provider, batch_capable=True)
            )
            self.providers[listing.provider] = status
            self._recount_provider(listing.provider)
        if listing.status is ListingStatus.ERROR:
            # Keep the last good data; the UI marks it stale with this error.
            status.error = listing.error
            status.listing = ListingStatus.ERROR
            if status.stale_since is None:
                status.stale_since = now
            return Diff()
        first = status.last_ok is None  # its first listing: what it holds is not news
        status.error = None
        status.stale_since = None
        if not (listing.first_page_only and status.listing is not None and status.deep_seen):
            # A light poll stops at the first page on purpose: it does not undo what the last
            # deep listing established about completeness.
            status.listing = listing.status
            status.missing = listing.missing
        status.deep_seen = status.deep_seen or listing.deep or not listing.first_page_only
        status.via = listing.via or status.via
        status.last_ok = now
        return self._fold(
            listing.provider,
            listing.batches,
            first=first,
            complete=(listing.status is ListingStatus.COMPLETE),
        )

    def apply_page(self, provider: str, batches: list[Batch]) -> Diff:
        """Fold in a provider's first page while its deep listing goes on: batches are added and
        updated, none removed, and the provider's listing status stays as it was (``None``,
        ``listing…``, on its first listing) until the listing itself lands."""
        status = self.providers.get(provider)
        if status is None:
            return Diff()  # no longer shown (the provider list changed meanwhile)
        return self._fold(provider, batches, first=status.last_ok is None, complete=False)

    def _fold(self, provider: str, listed: list[Batch], *, first: bool, complete: bool) -> Diff:
        """Add and merge ``listed``; with ``complete``, what it no longer shows is gone."""
        batches = self.batches
        # Each key's batch before this listing (None: new). The caches are brought along once, at
        # the end, in time proportional to what changed.
        olds: dict[Key, Batch | None] = {}
        added: set[Key] = set()
        changed: set[Key] = set()
        seen: set[Key] = set()
        for batch in listed:
            key = batch.key
            seen.add(key)
            old = batches.get(key)
            if old is None:
                batch.compact()  # the raw JSON as bytes: most of a batch's memory otherwise
                batches[key] = batch
                added.add(key)
                olds[key] = None
            elif old is not batch and old != batch:
                # (An equal batch would merge into an equal one: no need to build it.)
                new = old.updated_by(batch)
                if new != old:
                    new.compact()
                    batches[key] = new
                    changed.add(key)
                    olds.setdefault(key, old)
        removed: list[Key] = []
        if complete:
            # A complete listing is the whole truth: what it no longer shows is gone.
            removed = [k for k in self._keys.get(provider, ()) if k not in seen]
            for key in removed:
                olds[key] = batches.pop(key)
        if not olds:
            return Diff()
        before = {k: old.state for k in (*changed, *removed) if (old := olds[k]) is not None}
        if len(added) == len(olds) > _BULK:
            self._commit_added(list(olds), provider)
        else:
            self._commit(olds)
        # A provider's first listing is not news, nor is what it changes of its own first page.
        moves = () if first else self._moves(before, added)
        # (A key twice in one listing, new at the first: added, not also changed.)
        return Diff(frozenset(added), frozenset(changed - added), frozenset(removed), moves)

    def apply_batch(self, batch: Batch) -> Diff:
        """Fold one batch in (a re-read, a cancel reply): never erases what is known."""
        key = batch.key
        old = self.batches.get(key)
        new = batch if old is None else old.updated_by(batch)
        if old is not None and new == old:
            return Diff()
        new.compact()
        before = {key: old.state} if old is not None else {}
        self.batches[key] = new
        self._commit({key: old})
        moves = self._moves(before, () if before else (key,))
        if old is None:
            return Diff(added=frozenset({key}), transitions=moves)
        return Diff(changed=frozenset({key}), transitions=moves)

    def load(self, batches: Iterable[Batch]) -> None:
        """Put batches straight in (benchmarks, tests: the gateway caps what one listing gives)."""
        for batch in batches:
            key = batch.key
            batch.compact()
            self.batches[key] = batch
            self._keys.setdefault(batch.provider, {})[key] = None
            self._set_state(key, batch.state)
            if batch.provider not in self.providers:
                self.providers[batch.provider] = ProviderStatus(
                    info=ProviderInfo(name=batch.provider, kind=batch.provider, batch_capable=True)
                )
        self._recount()
        self._invalidate()

    def changed_since(self, version: int) -> frozenset[Key] | None:
        """Keys added, changed or removed after ``version``; ``None`` when that is not known any
        more (too long ago, or a bulk ``load``) or is most of them (a first listing: a set of
        every key would cost more memory than a pass over all): treat every key as changed."""
        changes = self.changes_since(version)
        return None if changes is None else frozenset(changes)

    def changes_since(self, version: int) -> list[Key] | None:
        """``changed_since`` in order: each key once, as it first changed (new: first seen)."""
        if version == self.version:
            return []
        if not self._log or self._log[0][0] > version + 1:
            return None
        logged: list[tuple[Key, ...]] = []
        for at, changed in self._log:
            if at > version:
                if changed is None:
                    return None
                logged.append(changed)
        if 2 * sum(map(len, logged)) > max(len(self.batches), _BULK):
            return None
        return list(dict.fromkeys(itertools.chain(*logged)))

    @property
    def states(self) -> Mapping[Key, State]:
        """``batches[key].state`` for every key (read-only; a view: each batch caches its state)."""
        return self._states

    def still_listing(self) -> list[str]:
        """Batch-capable providers whose first listing has not landed yet (``listing…``)."""
        return [n for n, s in self.providers.items() if s.info.batch_capable and s.listing is None]

    def active_keys(self) -> Iterator[Key]:
        """Keys of the batches not in a terminal state, in the order they were first seen."""
        return iter(list(self._active))

    @property
    def active(self) -> KeysView[Key]:
        """``active_keys`` as a live view (no copy): ``in`` and set operations on it are cheap."""
        return self._active.keys()

    # ---- bookkeeping -------------------------------------------------------------------------

    def _moves(self, before: dict[Key, State], added: Iterable[Key]) -> tuple[Transition, ...]:
        """The transitions of a change, once committed: each key of ``before`` (its state then)
        whose state moved or that is gone, then each of ``added``. Only changed keys are read."""
        states = self._states
        moved = [(k, s, now) for k, s in before.items() if (now := states.get(k)) is not s]
        return (*moved, *((k, None, states[k]) for k in added))

    def _set_state(self, key: Key, state: State) -> None:
        if state in TERMINAL_STATES:
            self._active.pop(key, None)
        else:
            self._active[key] = None

    def _commit(self, olds: dict[Key, Batch | None]) -> None:
        """``batches`` changed at these keys (each one's batch before the change; ``None``: it is
        new): bring the per-key caches, the counts and the view along, in one pass over the
        changed keys (at 50,000 batches every look-up per key shows).

        Allocates next to nothing per change: at 50,000 batches a full garbage collection costs
        more than the work itself.
        """
        batches = self.batches
        active = self._active
        keys_of = self._keys
        # Sort values matter only to an order that is kept: otherwise the next view sorts.
        value_of = VALUE_OF[self.sort_key] if self._order is not None else None
        # The new sort value of each key whose value moved (None: the key is gone).
        fresh: dict[Key, SortValue | None] = {}
        reread: list[Key] = []  # batches that read differently to the text filter now
        provider = None
        tally: Counter[str] | None = None
        provider_keys: dict[Key, None] = {}
        for key, old in olds.items():
            new = batches.get(key)
            if key[0] != provider:  # a listing is one provider's: this is rare
                provider = key[0]
                status = self.providers.get(provider)
                tally = status.counts if status is not None else None
                provider_keys = keys_of.setdefault(provider, {})
            if old is not None and tally is not None:
                _uncount(tally, STATE_GROUPS[old.state])
            if new is None:
                provider_keys.pop(key, None)
                active.pop(key, None)
                if value_of is not None:
                    fresh[key] = None
                continue
            state, status_text = new.state, new.processing_status
            if state in TERMINAL_STATES:
                active.pop(key, None)
            else:
                active[key] = None
            if old is None:
                provider_keys[key] = None
            if tally is not None:
                tally[STATE_GROUPS[state]] += 1
            if old is not None and (old.state, old.processing_status) != (state, status_text):
                reread.append(key)  # its haystack (id, status, state, provider) changed
            if value_of is not None:
                value = (value_of(new, state), key)
                if old is None or value != (value_of(old, old.state), key):
                    fresh[key] = value
        self.version += 1
        self._log.append((self.version, tuple(olds)))  # a frozenset: 5x the memory
        self._memo.clear()
        self._update_view(olds, fresh, reread)
        if reread:
            self._spare = None

    def _commit_added(self, keys: list[Key], provider: str) -> None:
        """``_commit`` for a listing that only added batches (a first deep listing), done with
        bulk operations over the new keys rather than a Python pass per key."""
        batches = self.batches
        news = [batches[k] for k in keys]
        if any(k[0] != provider for k in keys):
            self._commit(dict.fromkeys(keys))
            return
        states = [b.state for b in news]
        self._active.update(
            dict.fromkeys(k for k, s in zip(keys, states, strict=True) if s not in TERMINAL_STATES)
        )
        self._keys.setdefault(provider, {}).update(dict.fromkeys(keys))
        status = self.providers.get(provider)
        if status is not None:
            status.counts.update(map(STATE_GROUPS.__getitem__, states))
        self.version += 1
        self._log.append((self.version, tuple(keys)))
        # Many new keys: sort once, when the view is next asked for (as ``_update_view`` does).
        self._drop_order()

    def _invalidate(self) -> None:
        """Everything changed (a bulk load): caches are rebuilt when next needed."""
        self.version += 1
        self._log.append((self.version, None))
        self._drop_order()
        self._spare = None

    # ---- counts ------------------------------------------------------------------------------

    def _recount(self) -> None:
        for name in self.providers:
            self._recount_provider(name)

    def _recount_provider(self, provider: str) -> None:
        status = self.providers.get(provider)
        if status is None:
            return
        batches = self.batches
        keys = self._keys.get(provider, ())
        status.counts = Counter(STATE_GROUPS[batches[k].state] for k in keys)

    def totals(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for status in self.providers.values():
            total.update(status.counts)
        return total

    # ---- the view ----------------------------------------------------------------------------

    def set_view(
        self,
        *,
        provider: str | _Keep | None = _Keep.KEEP,
        text: str | None = None,
        hide_ended: bool | None = None,
        sort_key: SortKey | None = None,
        sort_reverse: bool | None = None,
    ) -> None:
        before = self._filter_sig()
        if not isinstance(provider, _Keep):
            self.provider_filter = provider
        if text is not None:
            self.text_filter = text
        if hide_ended is not None:
            self.hide_ended = hide_ended
        if sort_key is not None:
            self.sort_key = sort_key
        if sort_reverse is not None:
            self.sort_reverse = sort_reverse
        if (self.sort_key, self.sort_reverse) != self._order_sig:
            self._drop_order()
        elif self._filter_sig() != before:
            if self._view is not None and self._view is not self._order:
                self._memo[before] = (self._view, self._view_hays)
                if len(self._memo) > _MEMO_SIZE:
                    del self._memo[next(iter(self._memo))]
            self._view = None
            self._view_hays = None

    def matches(self, batch: Batch) -> bool:
        """The filter ``/`` applies: provider, hide-ended, and text in id / status / state."""
        if self.provider_filter is not None and batch.provider != self.provider_filter:
            return False
        if self.hide_ended and batch.state.terminal:
            return False
        return text_matches(batch, self.text_filter)

    def view(self) -> list[Key]:
        """Keys of the visible batches, filtered and sorted (cached until something changes).

        The list returned is never modified afterwards: a change produces a new list (so a
        caller can tell by identity that the view changed), an unchanged view is the same list.
        """
        if self._view is None:
            self._view, self._view_hays = self._filtered(self._sorted())
        return self._view

    def _drop_order(self) -> None:
        if self._order is not None and self._order_hays is not None:
            self._spare = (self._order, self._order_hays)
        self._order = None
        self._order_hays = None
        self._view = None
        self._view_hays = None
        self._memo.clear()

    def _sorted(self) -> list[Key]:
        """Every key in sort order (by unique values, so the order is total and repeatable)."""
        sig = (self.sort_key, self.sort_reverse)
        if self._order is None or self._order_sig != sig:
            # The haystacks of the order before, to be lined up again rather than rebuilt.
            self._drop_order()
            hay = dict(zip(*self._spare, strict=True)) if self._spare is not None else {}
            self._spare = None
            order = sorted_keys(self.batches, self.sort_key, sig[1])
            self._order, self._order_sig = order, sig
            # Lined up now: the first filter keystroke then costs a pass over strings.
            self._order_hays = haystacks(self.batches, order, hay)
        return self._order

    def _filter_sig(self) -> tuple[str | None, str, bool]:
        return (self.provider_filter, self.text_filter, self.hide_ended)

    def _filtered(self, order: list[Key]) -> tuple[list[Key], list[str] | None]:
        """``order`` through the filter settings (the order itself when nothing is filtered),
        with the haystacks of the result when they are at hand."""
        sig = self._filter_sig()
        provider, text, hide = sig
        if provider is None and not text and not hide:
            return order, None
        memo = self._memo.get(sig)
        if memo is not None:
            return memo
        needle = text.lower()
        keys, hays = order, self._order_hays
        # Typing more of the text can only narrow the result: start from the narrowest result
        # already computed for a text that this one contains.
        for (p, t, h), (memo_keys, memo_hays) in self._memo.items():
            narrower = p == provider and h == hide and t and t.lower() in needle
            if narrower and len(memo_keys) < len(keys):
                keys, hays = memo_keys, memo_hays
        if keys is order:
            if provider is not None:
                keys, hays = kept(keys, hays, [k[0] == provider for k in keys])
            if hide:
                active = self._active
                keys, hays = kept(keys, hays, [k in active for k in keys])
        if needle:
            if SEP in needle:
                batches = self.batches
                keys = [k for k in keys if text_matches(batches[k], text)]
                hays = None
            else:
                if hays is None:
                    hays = haystacks(self.batches, keys)
                keys, hays = kept(keys, hays, [needle in h for h in hays])
        return keys, hays

    def _update_view(
        self,
        olds: dict[Key, Batch | None],
        fresh: dict[Key, SortValue | None],
        reread: list[Key],
    ) -> None:
        """Re-place the keys whose sort value moved (``fresh``: the new values, ``None`` for a
        key that is gone) in the sorted order, and the keys that moved, joined or left in the
        filtered view if there is one (``olds`` as for ``_commit``; ``reread``: the keys whose
        haystack changed)."""
        batches = self.batches
        order = self._order
        if order is None or self._order_sig != (self.sort_key, self.sort_reverse):
            self._drop_order()
            return
        if 2 * len(fresh) > _BISECT_LIMIT:
            # Many moves (a first deep listing): sort once, when the view is next asked for,
            # rather than after each provider's listing.
            self._drop_order()
            return
        reverse = self.sort_reverse
        # Where a key sits before the change (its batch then) and after it (its batch now).
        then, now_ = value_at(batches, self.sort_key, olds), value_at(batches, self.sort_key)
        view = self._view
        filtered = view is not None and view is not order
        view_outs: list[Key] = []
        view_ins: list[Key] = []
        if filtered:
            for key, old in olds.items():
                new = batches.get(key)
                was = old is not None and self.matches(old)
                now = new is not None and self.matches(new)
                if was and (not now or key in fresh):
                    view_outs.append(key)
                if now and (not was or key in fresh):
                    view_ins.append(key)
        small_view = len(view_outs) + len(view_ins) <= _BISECT_LIMIT
        hays = self._order_hays
        # Out with the old values first (they say where the keys are)...
        new_order = order
        if fresh:
            new_order = order.copy()
            hays = hays.copy() if hays is not None else None
            outs = [k for k in fresh if olds[k] is not None]
            remove_sorted(new_order, outs, then, reverse, hays)
        new_view = view
        if filtered and view is not None and (view_outs or view_ins) and small_view:
            new_view = view.copy()
            remove_sorted(new_view, view_outs, then, reverse)
        # ...then in with the new ones.
        if fresh:
            ins = [k for k, v in fresh.items() if v is not None]
            hay = dict(zip(ins, haystacks(batches, ins), strict=True)) if hays is not None else None
            insert_sorted(new_order, ins, now_, reverse, hays, hay)
            self._order = new_order
        if hays is not None:
            # Batches that changed without moving may read differently to the text filter.
            for key in reread:
                if key not in fresh:
                    at = position(new_order, now_(key), now_, reverse)
                    hays[at] = haystacks(batches, (key,))[0]
        self._order_hays = hays
        self._view_hays = None
        if not filtered:
            if view is not None:
                self._view = new_order
        elif view_outs or view_ins:
            if small_view and new_view is not None:
                insert_sorted(new_view, view_ins, now_, reverse)
                self._view = new_view
            else:
                self._view = None


#: Changes logged for ``changed_since`` (a table syncs after every poll; this is plenty).
_LOG_SIZE = 64
#: A listing that adds more batches than this is folded in with bulk operations.
_BULK = 256
#: Filtered views remembered per filter settings between changes (typing and backspacing).
_MEMO_SIZE = 16
#: Up to this many sort moves per change are bisected into a copy of the order; more re-sort it
#: (at that point no slower than bisecting).
_BISECT_LIMIT = 256


def _uncount(tally: Counter[str], group: str) -> None:
    left = tally[group] - 1
    if left > 0:
        tally[group] = left
    else:
        del tally[group]


__all__ = ["STATE_GROUPS", "BatchStore", "Diff", "Key", "ProviderStatus", "Transition"]
