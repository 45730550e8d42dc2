"""Clock skew: how far the gateway's clock is from this machine's, from its answers' ``Date``.

Each answer's ``Date`` header minus this machine's clock at the moment it came back is one sample;
the skew is the median of the last ``SAMPLES`` (one slow answer or a proxy's stale header does not
swing it), and a skew under ``THRESHOLD`` is no skew: the header has one-second precision and a
slow answer adds its latency. A positive skew means the gateway's clock is ahead.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta

from bifrost_tui.clock import Clock
from bifrost_tui.formatting import duration_text

SAMPLES = 5
THRESHOLD = timedelta(seconds=60)


class SkewTracker:
    """The gateway's clock against ``clock``; ``on_known`` is called once, when a skew appears."""

    def __init__(
        self, clock: Clock, *, on_known: Callable[[timedelta], None] | None = None
    ) -> None:
        self._clock = clock
        self._samples: deque[timedelta] = deque(maxlen=SAMPLES)
        self._on_known = on_known

    def observe(self, gateway_date: datetime) -> None:
        """One answer's ``Date``, taken as it comes back."""
        self._samples.append(gateway_date - self._clock.now())
        if self._on_known is not None:
            skew = self.skew
            if skew is not None:
                said, self._on_known = self._on_known, None
                said(skew)

    @property
    def skew(self) -> timedelta | None:
        """Gateway minus local (positive: the gateway is ahead); ``None`` under ``THRESHOLD``."""
        if not self._samples:
            return None
        ordered = sorted(self._samples)
        middle = len(ordered) // 2
        median = ordered[middle]
        if len(ordered) % 2 == 0:
            median = (ordered[middle - 1] + median) / 2
        return median if abs(median) >= THRESHOLD else None


def skew_minutes(skew: timedelta) -> str:
    """``19m``, ``2h 5m``: the skew's size to the nearest minute (the header counts whole seconds,
    so a 19-minute skew may be measured as 18m 59s)."""
    return duration_text(round(abs(skew).total_seconds() / 60) * 60)


def skew_words(skew: timedelta) -> str:
    """``the gateway's clock is 19m ahead of this machine's`` (or behind)."""
    side = "ahead of" if skew > timedelta(0) else "behind"
    return f"the gateway's clock is {skew_minutes(skew)} {side} this machine's"
