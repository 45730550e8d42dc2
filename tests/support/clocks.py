"""Time in tests: the fixed instants they run at, and the sleep that never waits."""

from __future__ import annotations

from datetime import UTC, datetime

#: The console's fixed "now": every test and snapshot runs at it, unless it needs an instant below.
T0 = datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC)

#: The docs/gateway.md §10 examples are dated 2026-05-13: at 11:00 every batch of them has been
#: created and none has expired yet, so the golden bodies come out as the document shows them.
GOLDEN_T0 = datetime(2026, 5, 13, 11, 0, 0, tzinfo=UTC)

#: Noon on the day of the §10 examples: the simulator's client tests and `profiles test` build their
#: seeded demo worlds at this instant, and what they assert was written against those worlds.
GOLDEN_NOON = datetime(2026, 5, 13, 12, 0, 0, tzinfo=UTC)

#: The audit tests' expected lines and tables spell this instant ("2025-06-01T12:00:00...").
AUDIT_T0 = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)


async def no_sleep(_seconds: float) -> None:
    """The simulator's latency knob (or a client's backoff) without waiting: tests never sleep."""
