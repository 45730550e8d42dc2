"""Benchmark data: the seeded simulator's batches, parsed the way a deep listing parses them."""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import cache

from bifrost_tui.clock import ManualClock
from bifrost_tui.gateway.counts import RequestCounts, Source
from bifrost_tui.gateway.models import Batch
from bifrost_tui.gateway.outcomes import ListingStatus, ProviderListing
from bifrost_tui.sim import SimWorld, emit

#: The fixed "now" of every in-process benchmark (the simulated world is built around it).
T0 = datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC)
PROVIDERS = ("anthropic", "azure", "bedrock", "gemini", "openai")


@dataclass(frozen=True)
class Dataset:
    """``n`` batches across the five simulated batch providers, newest first per provider."""

    n: int
    per_provider: dict[str, list[Batch]]

    def listings(self) -> list[ProviderListing]:
        """What a deep poll hands the store: one complete listing per provider."""
        return [
            ProviderListing(p, ListingStatus.COMPLETE, list(batches), deep=True)
            for p, batches in self.per_provider.items()
        ]

    def all(self) -> list[Batch]:
        return [b for batches in self.per_provider.values() for b in batches]


def world(n: int, seed: int = 7) -> SimWorld:
    """A demo world with ``n`` batches split evenly over the five providers, no arrivals."""
    per = max(1, n // len(PROVIDERS))
    return SimWorld.demo(
        ManualClock(T0), seed=seed, batches_per_provider=per, arrival_interval=None
    )


@cache
def dataset(n: int, seed: int = 7) -> Dataset:
    """The simulator's batches as the console parses an OpenAI-format deep listing of them."""
    sim = world(n, seed)
    now = sim.now()
    out: dict[str, list[Batch]] = {}
    for name in sim.batch_providers():
        kind = sim.providers[name].base
        batches = []
        for b in sim.batches(name):
            view = emit.bifrost_view(b, "list", now)
            emit.rewrite_ids(view, kind)
            item = emit.openai_item(view, None)
            batches.append(
                Batch.from_openai(item, provider=name, provider_kind=kind, source=Source.OPENAI)
            )
        out[name] = batches
    return Dataset(n, out)


def changed_copies(batches: list[Batch], fraction: float, step: int, seed: int = 1) -> list[Batch]:
    """The same ``fraction`` of ``batches`` (same seed), as poll number ``step`` shows them: one
    more request errored each time, so every poll really changes every one of them."""
    rng = random.Random(seed)
    k = max(1, round(len(batches) * fraction))
    out = []
    for b in rng.sample(batches, k):
        counts = b.request_counts or RequestCounts(known_total=100)
        out.append(replace(b, request_counts=replace(counts, errored=(counts.errored or 0) + step)))
    return out
