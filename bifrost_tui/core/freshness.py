"""How current each provider's rows are: fresh, stale (its listing is failing), or still listing."""

from __future__ import annotations

from dataclasses import dataclass

from bifrost_tui.core.store import BatchStore
from bifrost_tui.gateway.outcomes import ListingStatus


@dataclass(frozen=True)
class Freshness:
    """The batch-capable providers by how current their rows are (``unsupported`` ones aside)."""

    fresh: tuple[str, ...] = ()
    stale: tuple[str, ...] = ()
    #: Providers whose first listing has not come back yet: neither fresh nor stale.
    listing: tuple[str, ...] = ()


def freshness(store: BatchStore) -> Freshness:
    """Which batch-capable providers are fresh, stale, or still on their first listing."""
    fresh: list[str] = []
    stale: list[str] = []
    listing: list[str] = []
    for name, status in store.providers.items():
        if not status.info.batch_capable or status.listing is ListingStatus.UNSUPPORTED:
            continue
        if status.stale_since is not None:
            stale.append(name)
        elif status.listing is None:
            listing.append(name)
        else:
            fresh.append(name)
    return Freshness(tuple(fresh), tuple(stale), tuple(listing))


def stale_providers(store: BatchStore) -> frozenset[str]:
    """Providers whose rows are the last good read of a listing that now fails."""
    return frozenset(n for n, s in store.providers.items() if s.stale_since is not None)


def stale_words(store: BatchStore, provider: str) -> str:
    """``gemini (timed out)``: a stale provider and, in a word or two, why."""
    error = store.providers[provider].error
    return f"{provider} ({error.kind})" if error is not None else provider
