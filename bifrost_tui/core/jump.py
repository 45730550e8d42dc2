"""Jumping to a batch by id (``g``): what matches, what hides it, and how to show it.

A query finds, in order: the exact id (a Bedrock job ARN also by its job id, the part the table
shows), else the one id it starts, else the ids containing it; one batch is jumped to, several
are offered to pick from. The whole store is searched, not the view: the batch may be hidden by
the filter, by ``h`` or by the provider view, and revealing it clears only what hides it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bifrost_tui.core.store import BatchStore, Key
from bifrost_tui.core.text_filter import text_matches
from bifrost_tui.gateway.outcomes import ListingStatus

#: Matches offered to pick from at most (the count says how many more there were).
MAX_MATCHES = 50


@dataclass(frozen=True)
class JumpResult:
    """``matches``: the batches found (at most ``MAX_MATCHES``); ``total``: how many matched."""

    matches: tuple[Key, ...] = ()
    total: int = 0

    @property
    def found(self) -> Key | None:
        """The one batch to jump to, or ``None`` (nothing, or several to pick from)."""
        return self.matches[0] if self.total == 1 else None


def job_id(batch_id: str) -> str:
    """A job ARN's job id (what the table shows); any other id unchanged."""
    if batch_id.startswith("arn:"):
        return batch_id.rpartition("/")[2] or batch_id
    return batch_id


def find_batch(keys: Iterable[Key], query: str) -> JumpResult:
    """The batches ``query`` names: exact id, else a unique prefix, else the ids containing it.

    Case counts first (ids are case-sensitive, and a pasted one is exact); a query that matches
    nothing that way is tried again ignoring case, as a hand-typed one may be."""
    query = query.strip()
    if not query:
        return JumpResult()
    folded = query.casefold()
    # Tiers, best first: exact, exact ignoring case, prefix, prefix ignoring case, inside.
    tiers: list[list[Key]] = [[], [], [], [], []]
    for key in keys:
        batch_id = key[1]
        short = job_id(batch_id)
        low, low_short = batch_id.casefold(), short.casefold()
        if query in (batch_id, short):
            tiers[0].append(key)
        elif folded in (low, low_short):
            tiers[1].append(key)
        elif batch_id.startswith(query) or short.startswith(query):
            tiers[2].append(key)
        elif low.startswith(folded) or low_short.startswith(folded):
            tiers[3].append(key)
        elif folded in low:
            tiers[4].append(key)
    best = next((tier for tier in tiers if tier), [])
    best.sort()
    return JumpResult(tuple(best[:MAX_MATCHES]), len(best))


def incomplete_providers(store: BatchStore) -> list[str]:
    """Batch-capable providers whose rows may not be every batch: a partial or failed listing,
    a stale one (its listing now fails), or a first listing still running."""
    names = []
    for name, status in store.providers.items():
        if not status.info.batch_capable or status.listing is ListingStatus.UNSUPPORTED:
            continue
        if status.stale_since is not None or status.listing is not ListingStatus.COMPLETE:
            names.append(name)
    return names


def not_found_words(store: BatchStore, query: str, pending: list[str] | None = None) -> str:
    """Nothing matched ``query``: said with how complete the picture is. ``pending``: the
    providers whose first listing is still running (empty: not even the providers are known
    yet; ``None``: every first listing has finished)."""
    if pending is not None and not pending:
        return (
            f"no batch matches {query!r} yet: the gateway's providers are not known yet "
            "(the first listing is running)"
        )
    incomplete = incomplete_providers(store)
    capable = sum(
        1
        for s in store.providers.values()
        if s.info.batch_capable and s.listing is not ListingStatus.UNSUPPORTED
    )
    if not incomplete:
        return f"no batch matches {query!r} (every provider listed completely)"
    still = [name for name in incomplete if store.providers[name].listing is None]
    others = [name for name in incomplete if name not in still]
    if not still:
        return (
            f"no batch matches {query!r}, but {len(others)} of {capable} provider(s) are "
            f"partial or stale ({', '.join(others)}): it may be among what they did not list"
        )
    also = f"; {len(others)} partial or stale ({', '.join(others)})" if others else ""
    return (
        f"no batch matches {query!r} yet: {len(still)} of {capable} provider(s) still listing "
        f"({', '.join(still)}){also}: it may be among what they have not listed yet"
    )


def hidden_by(store: BatchStore, key: Key) -> list[str]:
    """What keeps ``key`` out of the view, in words (empty: it is shown)."""
    batch = store.batches.get(key)
    if batch is None:
        return []
    reasons = []
    if store.provider_filter is not None and store.provider_filter != batch.provider:
        reasons.append(f"the {store.provider_filter} view")
    if store.hide_ended and batch.state.terminal:
        reasons.append("ended batches hidden (h)")
    if not text_matches(batch, store.text_filter):
        reasons.append(f"the filter /{store.text_filter}")
    return reasons


def hidden_note(store: BatchStore, key: Key) -> str:
    """`` — hidden by the filter /active (g shows it)``, or nothing when ``key`` is in the view:
    a batch cancelled under a status filter leaves the view, and the operator is told so."""
    reasons = hidden_by(store, key)
    if not reasons:
        return ""
    return f" — hidden by {' and '.join(reasons)} (g {job_id(key[1])} shows it)"


def reveal(store: BatchStore, key: Key) -> list[str]:
    """Change the view so that ``key`` is in it, clearing only what hides it; what changed, in
    words (empty: it was shown already)."""
    batch = store.batches[key]
    changed = []
    if store.provider_filter is not None and store.provider_filter != batch.provider:
        changed.append(f"switched to {batch.provider}")
        store.set_view(provider=batch.provider)
    if store.hide_ended and batch.state.terminal:
        changed.append("showing ended batches")
        store.set_view(hide_ended=False)
    if not text_matches(batch, store.text_filter):
        changed.append(f"filter /{store.text_filter} cleared")
        store.set_view(text="")
    return changed
