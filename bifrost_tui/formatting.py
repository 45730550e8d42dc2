"""Plain-text formatting for the CLI and the console: times, durations, counts, state labels."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from bifrost_tui.gateway.counts import RequestCounts
from bifrost_tui.gateway.models import Batch, State
from bifrost_tui.textsafe import safe_text

#: Text label per state, so the state reads without colour (NO_COLOR, 16 colours, screen readers).
STATE_LABELS: dict[State, str] = {
    State.ACTIVE: "ACTIVE",
    State.CANCELING: "CANCELING",
    State.ENDED_OK: "ENDED",
    State.ENDED_CANCELED: "CANCELED",
    State.ENDED_UNSURE: "ENDED?",
    State.FAILED: "FAILED",
    State.EXPIRED: "EXPIRED",
    State.UNKNOWN: "UNKNOWN",
}

#: A state's long form where its label alone would say too little (detail screen, ``batches show``).
STATE_WORDS: dict[State, str] = {
    State.ENDED_UNSURE: "ended (completed or canceled: the gateway does not say)",
}
#: Why a Gemini ``errored`` count is shown as ``?`` (``Batch.not_run_or_failed``).
NOT_RUN_OR_FAILED_WORDS = (
    "gemini: once a batch is canceled or expired (or it is not known that it completed), the "
    "gateway counts every request that did not succeed as errored: requests left unrun are "
    "counted with the real failures, so errored, canceled and expired are unknown (shown as ?)."
)


def state_words(state: State) -> str:
    """The state's long form (``STATE_WORDS``), else its label."""
    return STATE_WORDS.get(state) or STATE_LABELS[state]


def status_with_state(shown_status: str, state: State, gap: str = " ") -> str:
    """The gateway's status (as shown), then the state: ``in_progress (ACTIVE)``. A long form that
    starts with that very status stands alone: ``ended (completed or canceled: ...)``."""
    words = state_words(state)
    if shown_status.strip().lower() == words.split(" ", 1)[0]:
        return words
    return f"{shown_status}{gap}({words})"


#: Raw status words that only repeat what a state's label already says (``ended ENDED``).
_SAID_BY_LABEL: dict[State, frozenset[str]] = {
    State.ACTIVE: frozenset({"in_progress"}),
    State.CANCELING: frozenset({"canceling", "cancelling"}),
    State.ENDED_OK: frozenset({"ended", "completed"}),
    State.ENDED_CANCELED: frozenset({"ended", "canceled", "cancelled"}),
    State.ENDED_UNSURE: frozenset({"ended"}),
    State.FAILED: frozenset({"ended", "failed"}),
    State.EXPIRED: frozenset({"ended", "expired"}),
    State.UNKNOWN: frozenset(),
}


def status_extras(state: State, *raw: str | None) -> list[str]:
    """The raw status words (the gateway's, then the provider's own) that add something to the
    state's label: ``finalizing`` beside ``ACTIVE``, ``failed`` beside ``ENDED``; never ``ended``
    beside ``ENDED``. Each distinct word once, as given (not escaped)."""
    said = _SAID_BY_LABEL[state]
    extras: list[str] = []
    seen: set[str] = set()
    for word in raw:
        if not word:
            continue
        folded = word.strip().lower()
        if folded and folded not in said and folded not in seen:
            seen.add(folded)
            extras.append(word)
    return extras


def age_text(when: datetime | None, now: datetime) -> str:
    """How long ago ``when`` was, in one unit: ``12m``, ``3h``, ``2d``; ``?`` when unknown.

    Minute granularity (an idle screen changes once a minute); a moment that reads ahead of
    ``now`` (a skewed clock) is ``0m``.
    """
    if when is None:
        return "?"
    minutes = max(0, int((now - when).total_seconds()) // 60)
    if minutes < 60:
        return f"{minutes}m"
    if minutes < 1440:
        return f"{minutes // 60}h"
    return f"{minutes // 1440}d"


def relative(when: datetime | None, now: datetime) -> str:
    """``5m ago`` / ``in 3h 10m`` at minute granularity, so an idle screen changes once a minute."""
    if when is None:
        return "—"
    seconds = int((when - now).total_seconds())
    future = seconds > 0
    minutes = abs(seconds) // 60
    if minutes == 0:
        return "now"
    text = duration_text(minutes * 60)
    return f"in {text}" if future else f"{text} ago"


#: A moment that has already happened (created, ended...) yet reads further ahead than this came
#: from a clock ahead of this machine's: it is shown as ``just now``, never ``in 19m``.
FUTURE_TOLERANCE = timedelta(seconds=60)
#: The times of a batch that lie ahead by nature; every other one has already happened.
FUTURE_TIME_FIELDS = frozenset({"expires_at"})


def ahead_of_now(when: datetime | None, now: datetime) -> bool:
    """``when`` lies more than ``FUTURE_TOLERANCE`` ahead of ``now`` (a skewed clock, if it is a
    moment that has already happened)."""
    return when is not None and when - now > FUTURE_TOLERANCE


def ago(when: datetime | None, now: datetime) -> str:
    """``relative`` for a moment that has already happened: ``just now`` when it reads ahead."""
    return "just now" if ahead_of_now(when, now) else relative(when, now)


def field_relative(name: str, when: datetime | None, now: datetime) -> str:
    """A batch time field relative to ``now``: ``ago`` unless it lies ahead by nature."""
    return relative(when, now) if name in FUTURE_TIME_FIELDS else ago(when, now)


def duration_text(seconds: float) -> str:
    """``45m``, ``3h 10m``, ``2d 4h``: the two largest units."""
    minutes = int(seconds) // 60
    days, rem = divmod(minutes, 1440)
    hours, mins = divmod(rem, 60)
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h {mins}m" if mins else f"{hours}h"
    return f"{mins}m"


def absolute_utc(when: datetime | None) -> str:
    if when is None:
        return "—"
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def absolute_local(when: datetime | None) -> str:
    if when is None:
        return "—"
    return when.astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")


def _n(value: int | None) -> str:
    return "?" if value is None else str(value)


def counts_text(counts: RequestCounts | None, sep: str = " · ") -> str:
    """``1234 proc · 0 ok · 3 err`` with ``?`` where the gateway cannot be trusted.

    The table passes ``sep=" "`` to keep the column narrow.
    """
    if counts is None:
        return "—"
    parts = [
        f"{_n(counts.processing)} proc",
        f"{_n(counts.succeeded)} ok",
        f"{_n(counts.errored)} err",
    ]
    if counts.canceled:
        parts.append(f"{counts.canceled} canc")
    if counts.expired:
        parts.append(f"{counts.expired} exp")
    return sep.join(parts)


def progress_fraction(counts: RequestCounts | None) -> float | None:
    """Share of requests done, only where every number behind it is trustworthy."""
    if counts is None:
        return None
    total = counts.total
    done = counts.done
    if not total or done is None:
        return None
    return min(1.0, done / total)


def progress_bar(fraction: float | None, width: int = 10) -> str:
    """A text bar (``█████░░░░░``); blank when progress cannot be known."""
    if fraction is None:
        return " " * width
    filled = round(fraction * width)
    return "█" * filled + "░" * (width - filled)


def time_column(batch: Batch, now: datetime) -> str:
    """``in 3h 10m`` (expires) for a running batch, ``2h ago`` (ended) once it ended.

    The column header says EXPIRES/ENDED, so the words stay short; a running batch past its
    ``expires_at`` says so explicitly.
    """
    if batch.state.terminal:
        return ago(batch.ended_at, now) if batch.ended_at is not None else "ended"
    if batch.expires_at is not None:
        if batch.expires_at <= now:
            return f"overdue {duration_text((now - batch.expires_at).total_seconds())}"
        return relative(batch.expires_at, now)
    return "—"


_DURATION_UNITS: dict[str, int] = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
_DURATION_PART = re.compile(r"\s*(\d+)\s*([a-z])")
MAX_DURATION = timedelta(days=3650)
_DURATION_HELP = "use a number and a unit, e.g. 90s, 30m, 2h, 1d, 1w or 1h30m"


def parse_duration(text: str) -> timedelta:
    """``"30m"``, ``"2h"``, ``"1d"``, ``"90s"``, ``"1h30m"`` (units w d h m s, largest first).

    ``ValueError`` with a message that says what is accepted for anything else, zero included.
    """
    shown = safe_text(str(text), 40)
    raw = str(text).strip().lower()
    if not raw:
        raise ValueError(f"empty duration: {_DURATION_HELP}")
    pos = 0
    total = 0
    seen: list[str] = []
    while pos < len(raw):
        match = _DURATION_PART.match(raw, pos)
        if match is None:
            if raw[pos:].strip().isdigit():
                raise ValueError(
                    f"invalid duration '{shown}': a number without a unit; {_DURATION_HELP}"
                )
            raise ValueError(f"invalid duration '{shown}': {_DURATION_HELP}")
        number, unit = match.groups()
        if unit not in _DURATION_UNITS:
            raise ValueError(f"invalid duration '{shown}': unknown unit '{unit}'; {_DURATION_HELP}")
        if seen and (unit in seen or _DURATION_UNITS[unit] > _DURATION_UNITS[seen[-1]]):
            raise ValueError(
                f"invalid duration '{shown}': give each unit once, largest first ({_DURATION_HELP})"
            )
        if len(number) > 12:
            raise ValueError(f"duration '{shown}' is too long (at most {MAX_DURATION.days} days)")
        seen.append(unit)
        total += int(number) * _DURATION_UNITS[unit]
        pos = match.end()
    if total == 0:
        raise ValueError(f"duration '{shown}' is zero: {_DURATION_HELP}")
    if total > MAX_DURATION.total_seconds():
        raise ValueError(f"duration '{shown}' is too long (at most {MAX_DURATION.days} days)")
    return timedelta(seconds=total)
