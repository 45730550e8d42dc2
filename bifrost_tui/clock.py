"""Injectable clocks: the console, the simulator and the tests read time only through these."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """Aware UTC now."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to: tests and snapshots."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            start = start.replace(tzinfo=UTC)
        self._now = start

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float = 0.0, **kw: float) -> datetime:
        self._now += timedelta(seconds=seconds, **kw)
        return self._now

    def set(self, when: datetime) -> None:
        self._now = when


class OffsetClock:
    """Another clock read ``offset`` ahead (negative: behind): a gateway whose clock is skewed."""

    def __init__(self, base: Clock, offset: timedelta) -> None:
        self._base = base
        self._offset = offset

    def now(self) -> datetime:
        return self._base.now() + self._offset


class ScaledClock:
    """Real time sped up by ``scale`` from ``start``: the loopback simulator's ``--time-scale``."""

    def __init__(self, start: datetime | None = None, scale: float = 1.0) -> None:
        self._start = start or datetime.now(UTC)
        self._t0 = time.monotonic()
        self.scale = scale

    def now(self) -> datetime:
        return self._start + timedelta(seconds=(time.monotonic() - self._t0) * self.scale)
