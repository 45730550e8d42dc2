"""Benchmark data: batches from the seeded simulator, converted the way a deep listing parses them."""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import cache

from bifrost_tui.clock import ManualClock
from bifrost_tui.gateway.models import Batch, RequestCounts, Source
from bifrost_tui.gateway.results import ListingStatus, ProviderListing
from bifrost_tui.sim import SimWorld
from bifrost_tui.sim import emit

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


def changed_copies(batches: list[Batch], fraction: float, seed: int = 1) -> list[Batch]:
    """A ``fraction`` of ``batches`` as a later listing shows them: progress moved on."""
    rng = random.Random(seed)
    k = max(1, round(len(batches) * fraction))
    out = []
    for b in rng.sample(batches, k):
        counts = b.request_counts or RequestCounts(known_total=100, succeeded=0, errored=0)
        out.append(replace(b, request_counts=_progressed(counts), created_at=b.created_at))
    return out


def _progressed(counts: RequestCounts) -> RequestCounts:
    return replace(counts, succeeded=(counts.succeeded or 0) + 1)


def later(t: datetime, seconds: float) -> datetime:
    return t + timedelta(seconds=seconds)
