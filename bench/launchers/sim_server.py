"""The simulator on loopback in its own process (so the console under test does not share a GIL
with it): a frozen world of 12 batches per provider, each batch provider answering after
``argv[1]`` seconds. Prints its URL, serves until stdin closes."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

from bifrost_tui.clock import ManualClock
from bifrost_tui.sim import Faults, SimWorld, serve

latency = float(sys.argv[1])
world = SimWorld.demo(
    ManualClock(datetime(2026, 11, 28, 12, 0, tzinfo=UTC)),
    seed=7,
    batches_per_provider=12,
    arrival_interval=None,
)
for name in world.batch_providers():
    world.providers[name].faults = Faults(latency=latency)
with serve(world) as server:
    print(server.url, flush=True)
    sys.stdin.read()
