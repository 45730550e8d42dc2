"""The console as an operator leaves it open: real clock, 5 s refresh, a simulated gateway whose
data never changes (its world clock is frozen and no batches arrive). Run in a pty by bench.idle.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime

from bifrost_tui.clock import ManualClock, SystemClock
from bifrost_tui.config.connection import DEMO_URL, Connection
from bifrost_tui.config.resolve import ResolvedConnection
from bifrost_tui.gateway.client import ClientConfig
from bifrost_tui.sim import SimTransport, SimWorld
from bifrost_tui.ui.app import BifrostApp

refresh = float(sys.argv[1]) if len(sys.argv) > 1 else 5.0
world = SimWorld.demo(ManualClock(datetime.now(UTC)), seed=7, arrival_interval=None)
connection = Connection(
    settings=ResolvedConnection(profile=None, base_url=DEMO_URL, refresh=refresh),
    client_config=ClientConfig(base_url=DEMO_URL),
    clock=SystemClock(),
    transport=SimTransport(world),
    demo=True,
    world=world,
)
sys.exit(BifrostApp(connection).run() or 0)
