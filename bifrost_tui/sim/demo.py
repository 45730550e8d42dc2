"""The demo world's history: a seeded, plausible mix of batches per provider, and new arrivals.

Every demo batch is a *planned* batch created in the past (queued, then running, then ending,
failing, expiring or being cancelled at planned times); the world then plays the plans forward to
the clock's now. So what the operator sees is exactly what the lifecycle rules produce, and the same
seed and clock start always give the same world.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from bifrost_tui.sim.model import EXPIRY_HOURS, Phase, native_status

if TYPE_CHECKING:
    from bifrost_tui.sim.world import SimWorld

HOUR = 3600
DAY = 86400

#: Scenarios every provider gets first (in this order, so a small world keeps the variety).
_BASE = (
    "running",
    "completed",
    "finalizing",
    "failed",
    "cancelled",
    "running_large",
    "expired",
    "completed",
    "queued",
    "cancelling",
    "archived",
    "running",
    "completed",
)
#: The rest are drawn with these weights.
_WEIGHTS = {
    "completed": 40,
    "running": 22,
    "failed": 8,
    "expired": 7,
    "cancelled": 10,
    "queued": 5,
    "finalizing": 5,
    "archived": 3,
}
_JOBS = (
    "nightly-eval",
    "support-triage",
    "embeddings-backfill",
    "summaries-q3",
    "ab-test-prompts",
    "catalog-tagging",
    "translation-fr",
)
_TEAMS = ("data-platform", "ml-research", "search", "growth")
_ENDPOINTS = ("/v1/chat/completions",) * 6 + ("/v1/embeddings", "/v1/responses")
_MODELS = {
    "openai": ("gpt-4o-mini", "gpt-4.1-mini", "text-embedding-3-small"),
    "azure": ("gpt-4o", "gpt-4o-mini"),
    "anthropic": ("claude-3-5-haiku-20241022", "claude-sonnet-4-20250514"),
    "bedrock": ("anthropic.claude-3-5-haiku-20241022-v1:0", "amazon.nova-lite-v1:0"),
    "gemini": ("gemini-2.0-flash", "gemini-2.5-flash"),
}


def populate_demo(world: SimWorld, per_provider: int | None = None) -> None:
    """Fill ``world`` with each batch provider's history up to the clock's now."""
    t0 = world.now()
    for name in world.batch_providers():
        config = world.providers[name]
        kind = config.base
        plans: list[dict[str, Any]] = []
        rng = random.Random(f"{world.seed}:demo:{name}")
        for account in range(config.accounts()):
            # Account 0 draws from the provider's own stream: a one-key world is unchanged.
            if account:
                rng = random.Random(f"{world.seed}:demo:{name}:{account}")
            count = per_provider if per_provider is not None else rng.randint(8, 25)
            scenarios = [s for s in _BASE if _fits(s, kind)][:count]
            pool = [s for s in _WEIGHTS if _fits(s, kind)]
            weights = [_WEIGHTS[s] for s in pool]
            if count > len(scenarios):
                scenarios += rng.choices(pool, weights, k=count - len(scenarios))
            # A large world spreads over more history so the day's view stays readable.
            window = min(28 * DAY, max(3 * DAY, count * 600))
            for scenario in scenarios:
                plan = _plan(scenario, kind, t0, window, rng)
                plan["key_index"] = account
                plans.append(plan)
        plans.sort(key=lambda p: p["created_at"])
        for plan in plans:
            _add(world, name, kind, plan, rng)
    world.advance(t0)


def arrival_batch(world: SimWorld, provider: str, created: int, rng: random.Random) -> None:
    """A batch a client submits at ``created`` while the simulator runs."""
    kind = world.providers[provider].base
    total = _total(rng)
    start = created + int(rng.uniform(20, 180))
    plan: dict[str, Any] = {
        "created_at": created,
        "start_at": start,
        "finish_at": start + _duration(total, rng),
        "total": total,
        "error_ratio": _error_ratio(rng),
    }
    if rng.random() < 0.05:
        plan["outcome"] = "fail"
        plan["fail_at"] = start if kind in ("openai", "azure") else start + 600
    # Ids from the arrival stream itself, so arrivals never shift other batches' ids.
    plan["id"] = world.new_id(world.providers[provider], rng)
    accounts = world.providers[provider].accounts()
    if accounts > 1:
        plan["key_index"] = rng.randrange(accounts)
    _add(world, provider, kind, plan, rng)


def _fits(scenario: str, kind: str) -> bool:
    if scenario == "finalizing":
        return kind in ("openai", "azure")
    if scenario == "archived":
        return kind == "anthropic"
    return True


def _total(rng: random.Random) -> int:
    roll = rng.random()
    if roll < 0.6:
        return rng.randint(20, 2000)
    if roll < 0.9:
        return rng.randint(2000, 20000)
    return rng.randint(20000, 50000)


def _duration(total: int, rng: random.Random) -> int:
    return int(min(20 * HOUR, max(600, total * rng.uniform(0.5, 3.0))))


def _error_ratio(rng: random.Random) -> float:
    roll = rng.random()
    if roll < 0.7:
        return rng.uniform(0.0, 0.01)
    if roll < 0.95:
        return rng.uniform(0.01, 0.06)
    return rng.uniform(0.2, 0.5)


def _plan(scenario: str, kind: str, t0: int, window: int, rng: random.Random) -> dict[str, Any]:
    """Times and sizes for one scenario, chosen so that at ``t0`` it is in the intended state."""
    expiry = EXPIRY_HOURS[kind] * HOUR
    total = rng.randint(20000, 48000) if scenario == "running_large" else _total(rng)
    plan: dict[str, Any] = {"total": total, "error_ratio": _error_ratio(rng)}
    if scenario in ("running", "running_large"):
        created = t0 - int(rng.uniform(300, 5 * HOUR))
        start = created + int(rng.uniform(30, 300))
        finish = min(t0 + int(rng.uniform(900, 10 * HOUR)), created + expiry - HOUR)
    elif scenario == "queued":
        created = t0 - int(rng.uniform(20, 240))
        start = t0 + int(rng.uniform(60, 600))
        finish = start + _duration(total, rng)
    elif scenario == "finalizing":
        created = t0 - int(rng.uniform(2 * HOUR, 8 * HOUR))
        start = created + 60
        finish = t0 - int(rng.uniform(60, 600))
        plan["done_at"] = t0 + int(rng.uniform(600, 3600))
    elif scenario == "completed":
        duration = _duration(total, rng)
        created = t0 - int(rng.uniform(duration + 2 * HOUR, max(duration + 3 * HOUR, window)))
        start = created + int(rng.uniform(30, 600))
        finish = start + duration
        plan["done_at"] = finish + int(rng.uniform(60, 900))
    elif scenario == "failed":
        created = t0 - int(rng.uniform(HOUR, min(window, 48 * HOUR)))
        start = created + int(rng.uniform(30, 300))
        finish = start + _duration(total, rng) + DAY  # never reached: the failure comes first
        if kind in ("openai", "azure"):
            # Input validation fails before the batch ever starts.
            plan.update(outcome="fail", fail_at=created + int(rng.uniform(20, 120)))
            start = plan["fail_at"] + 60
        elif kind == "bedrock" and rng.random() < 0.5:
            finish = start + int(rng.uniform(600, 3 * HOUR))
            plan.update(outcome="partial", error_ratio=rng.uniform(0.15, 0.6))
        else:
            plan.update(outcome="fail", fail_at=start + int(rng.uniform(300, 2 * HOUR)))
    elif scenario == "expired":
        created = t0 - expiry - int(rng.uniform(HOUR, 20 * HOUR))
        start = created + int(rng.uniform(60, 3600))
        if kind == "bedrock":
            start = created + expiry + 60  # Bedrock: scheduled but never started in time
        finish = created + expiry + int(rng.uniform(HOUR, 10 * HOUR))
    elif scenario in ("cancelled", "cancelling"):
        if scenario == "cancelled":
            created = t0 - int(rng.uniform(2 * HOUR, min(window, 20 * HOUR)))
        else:
            created = t0 - int(rng.uniform(1800, 3 * HOUR))
        start = created + 60
        finish = created + expiry - 600
        if scenario == "cancelled":
            plan["cancel_at"] = start + int((min(finish, t0) - start) * rng.uniform(0.1, 0.6))
        else:
            plan["cancel_at"] = t0 - int(rng.uniform(2, 8))
    elif scenario == "archived":
        created = t0 - 30 * DAY - int(rng.uniform(0, 5 * DAY))
        start = created + 120
        finish = start + _duration(total, rng)
    else:  # pragma: no cover - scenarios are a closed set
        raise ValueError(scenario)
    plan.update(created_at=created, start_at=start, finish_at=finish)
    if kind in ("openai", "azure") and "done_at" not in plan:
        plan["done_at"] = finish + int(rng.uniform(60, 900))
    if kind not in ("openai", "azure"):
        plan.pop("done_at", None)
    return plan


def _add(
    world: SimWorld, provider: str, kind: str, plan: dict[str, Any], rng: random.Random
) -> None:
    extra: dict[str, Any] = {}
    if kind in ("openai", "azure"):
        extra["endpoint"] = rng.choice(_ENDPOINTS)
        if rng.random() < 0.7:
            extra["metadata"] = {"job": rng.choice(_JOBS), "team": rng.choice(_TEAMS)}
    extra["model"] = rng.choice(_MODELS[kind])
    world.add_batch(
        provider,
        status=native_status(kind, Phase.QUEUED),
        **plan,
        **extra,
    )
