"""Shared helpers for the simulator's tests: clocks on the §10 day, the worlds of docs/gateway.md
§10 and the golden files."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bifrost_tui.clock import ManualClock
from bifrost_tui.sim import SimRequest, SimResponse, SimWorld
from tests.support.clocks import GOLDEN_T0

DATA = Path(__file__).parent.parent / "data"
GOLDEN = DATA / "golden"


def clock_at(when: datetime = GOLDEN_T0) -> ManualClock:
    return ManualClock(when)


def golden(name: str) -> Any:
    return json.loads((GOLDEN / name).read_text(encoding="utf-8"))


def same_json(actual: Any, expected: Any) -> bool:
    """Equal values *and* the same key order everywhere (Go's struct order is in the contract)."""
    return json.dumps(actual) == json.dumps(expected)


def call(
    world: SimWorld,
    method: str,
    path: str,
    *,
    query: str = "",
    headers: Mapping[str, str] | None = None,
    body: bytes = b"",
) -> SimResponse:
    """One request straight into the handler (no transport)."""
    lowered = {k.lower(): v for k, v in (headers or {}).items()}
    return world.handle(SimRequest(method, path, query, lowered, body))


def native_status(world: SimWorld, provider: str, batch_id: str) -> str:
    """The upstream's own status word for a batch that must exist in ``world``."""
    batch = world.get(provider, batch_id)
    assert batch is not None, f"{provider} has no batch {batch_id!r}"
    return batch.native


def provider_header(name: str) -> dict[str, str]:
    return {"x-model-provider": name}


def openai_world_10_1(clock: ManualClock | None = None, **opts: Any) -> SimWorld:
    """The five OpenAI batches of docs/gateway.md §10.1 (added oldest-listed last, so the list
    shows them in the document's order), with the in-progress one carrying the §10.5 extras."""
    world = SimWorld(clock or clock_at(), seed=1, **opts)
    world.add_batch(
        "openai",
        id="batch_681ffeed",
        status="finalizing",
        total=10,
        completed=10,
        failed=0,
        created_at=1778660000,
        input_file_id="file-fin",
    )
    world.add_batch(
        "openai",
        id="batch_6820f00d",
        status="failed",
        total=0,
        created_at=datetime(2026, 5, 10, 8, 0, tzinfo=UTC),
        failed_at=datetime(2026, 5, 10, 8, 1, tzinfo=UTC),
        input_file_id="file-bad",
    )
    world.add_batch(
        "openai",
        id="batch_6821b9c4",
        status="cancelled",
        total=20,
        completed=5,
        failed=0,
        created_at=1778500000,
        cancelling_at=1778510000,
        cancelled_at=1778510100,
        input_file_id="file-can",
    )
    world.add_batch(
        "openai",
        id="batch_6822c2aa",
        status="completed",
        total=50,
        completed=50,
        failed=0,
        created_at=datetime(2026, 5, 12, 10, 0, tzinfo=UTC),
        completed_at=1778620000,
        input_file_id="file-done",
    )
    world.add_batch(
        "openai",
        id="batch_6823a1f0",
        status="in_progress",
        total=1000,
        completed=420,
        failed=3,
        created_at=1778668200,
        in_progress_at=1778668260,
        input_file_id="file-abc",
    )
    return world


def anthropic_world_10_2(clock: ManualClock | None = None) -> SimWorld:
    world = SimWorld(clock or clock_at(), seed=1)
    world.add_batch(
        "anthropic",
        id="msgbatch_01HkcTjaV5uDC8jWR4ZsDV8d",
        status="ended",
        succeeded=95,
        errored=3,
        expired=2,
        created_at=datetime(2026, 5, 12, 10, 0, tzinfo=UTC),
        ended_at=datetime(2026, 5, 12, 18, 12, 33, 512_000, tzinfo=UTC),
    )
    return world
