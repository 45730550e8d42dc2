"""The session's event log (``e``): every state change seen, every cancel sent, every toast.

No Textual. The store reports each batch's state transitions in its diffs (only the keys that
changed); the console feeds them here, attributed to the gateway, and its own cancels, attributed
to the operator ("you"). Toasts and flash messages vanish from the screen: they are kept here too.
The log is bounded: the newest ``EVENT_LOG_SIZE`` events are kept, and the older ones counted.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bifrost_tui.core.bulk import ItemOutcome, ItemResult
from bifrost_tui.core.store import Diff, Key
from bifrost_tui.formatting import STATE_LABELS
from bifrost_tui.gateway.models import State

EVENT_LOG_SIZE = 1000


class Actor(StrEnum):
    """Who made the change: a cancel sent from this console, the gateway, or the console's words."""

    YOU = "you"
    GATEWAY = "gateway"
    CONSOLE = "console"


@dataclass(frozen=True, slots=True)
class Event:
    """One thing that happened. ``before``/``after`` ``None``: the batch was not known yet / is no
    longer listed. A toast or flash has no batch, only its ``message``."""

    at: datetime
    actor: Actor
    provider: str = ""
    batch_id: str = ""
    before: State | None = None
    after: State | None = None
    message: str = ""
    severity: str = "info"

    @property
    def change(self) -> str:
        """``ACTIVE → CANCELING`` (``—`` for a side that is not known); empty without a batch."""
        if not self.batch_id:
            return ""
        before = STATE_LABELS[self.before] if self.before is not None else "—"
        after = STATE_LABELS[self.after] if self.after is not None else "—"
        return f"{before} → {after}"

    @property
    def what(self) -> str:
        """The event in words (gateway text inside is raw: the screen escapes it)."""
        if self.actor is Actor.GATEWAY:
            if self.before is None:
                return "the gateway reported it: appeared"
            if self.after is None:
                return "the gateway reported it: no longer listed"
            return "the gateway reported"
        return self.message


class EventLog:
    """The last ``size`` events, oldest first; ``dropped`` counts the ones pushed out."""

    def __init__(self, now: Callable[[], datetime], size: int = EVENT_LOG_SIZE) -> None:
        self._now = now
        self._events: deque[Event] = deque(maxlen=size)
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._events)

    def newest_first(self) -> Iterator[Event]:
        return reversed(self._events)

    def add(self, event: Event) -> None:
        if len(self._events) == self._events.maxlen:
            self.dropped += 1
        self._events.append(event)

    def gateway_reported(self, diff: Diff | None, *, skip: Collection[Key] = ()) -> None:
        """The state changes of one update, as the gateway reported them; ``skip``: batches whose
        cancel is in flight here (the operator's own change, logged once its outcome is known)."""
        if diff is None or not diff.transitions:
            return
        now = self._now()
        for (provider, batch_id), before, after in diff.transitions:
            if (provider, batch_id) not in skip:
                self.add(Event(now, Actor.GATEWAY, provider, batch_id, before, after))

    def cancelled(self, item: ItemResult, states: Mapping[Key, State]) -> None:
        """A cancel from this console and its outcome: the state before it, the state now."""
        provider, batch_id = item.key
        outcome = item.outcome
        words = {
            ItemOutcome.ACCEPTED: "you cancelled: accepted",
            ItemOutcome.REFUSED: "you cancelled: refused",
            ItemOutcome.UNKNOWN: "you cancelled: no answer (outcome unknown, not retried)",
            ItemOutcome.SKIPPED: "cancel skipped, nothing sent",
            ItemOutcome.NOT_SENT: "cancel not sent",
        }.get(outcome, f"you cancelled: {outcome}")
        why = item.message
        severity = "success" if outcome == ItemOutcome.ACCEPTED else "warning"
        self.add(
            Event(
                self._now(),
                Actor.YOU,
                provider,
                batch_id,
                item.state_before,
                states.get(item.key),
                f"{words} ({why})" if why else words,
                severity,
            )
        )

    def said(self, message: str, severity: str = "info", title: str = "") -> None:
        """A toast or flash message, kept after it has left the screen."""
        text = f"{title}: {message}" if title else message
        self.add(Event(self._now(), Actor.CONSOLE, message=text, severity=severity))
