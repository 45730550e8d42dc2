"""The simulated Bifrost gateway: a seeded world of batches, served in process or on loopback.

It reproduces Bifrost v1.5.1's documented batch behaviour, quirks included (first-page-only
Anthropic list, pass-through statuses, lossy counts, partial cancel replies, 500 ``api_error`` for
config problems). Used by ``--demo``, ``bifrost-tui sim``, the tests and the benchmarks.
No Textual here.
"""

from bifrost_tui.sim.exchange import SimRequest, SimResponse
from bifrost_tui.sim.faults import Faults, ScriptedFault
from bifrost_tui.sim.model import (
    DashboardAuth,
    KeyConfig,
    Phase,
    ProviderConfig,
    SimBatch,
    VirtualKey,
)
from bifrost_tui.sim.server import SimServer, serve
from bifrost_tui.sim.transport import SimTransport
from bifrost_tui.sim.world import SIM_VERSION, RequestRecord, SimWorld, standard_providers

__all__ = [
    "SIM_VERSION",
    "DashboardAuth",
    "Faults",
    "KeyConfig",
    "Phase",
    "ProviderConfig",
    "RequestRecord",
    "ScriptedFault",
    "SimBatch",
    "SimRequest",
    "SimResponse",
    "SimServer",
    "SimTransport",
    "SimWorld",
    "VirtualKey",
    "serve",
    "standard_providers",
]
