"""What the store reports and keeps per provider: keys, diffs with their state transitions."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from bifrost_tui.gateway.errors import GatewayError
from bifrost_tui.gateway.models import Batch, ProviderInfo, State
from bifrost_tui.gateway.outcomes import ListingStatus

Key = tuple[str, str]  # (provider, normalised batch id)
#: (key, state before, state after) of one batch; ``None``: not known before / no longer listed.
Transition = tuple[Key, State | None, State | None]


#: State groups counted per provider in the provider list.
STATE_GROUPS: dict[State, str] = {
    State.ACTIVE: "active",
    State.CANCELING: "canceling",
    State.ENDED_OK: "ended",
    State.ENDED_CANCELED: "ended",
    State.ENDED_UNSURE: "ended",
    State.FAILED: "failed",
    State.EXPIRED: "failed",
    State.UNKNOWN: "active",
}


@dataclass
class ProviderStatus:
    """What the console knows about one provider's listing."""

    info: ProviderInfo
    listing: ListingStatus | None = None
    missing: str | None = None
    error: GatewayError | None = None
    last_ok: datetime | None = None
    counts: Counter[str] = field(default_factory=Counter)
    #: A listing that was not cut at the first page on purpose has been applied.
    deep_seen: bool = False
    #: When its listings started failing (``None``: its last listing answered): the rows kept
    #: from before are stale since then.
    stale_since: datetime | None = None
    #: The road its last deep listing took, in words ("passthrough, keys a, b"; "batch routes: …").
    via: str | None = None


@dataclass(frozen=True)
class Diff:
    """Keys that appeared, changed or disappeared in one update."""

    added: frozenset[Key] = frozenset()
    changed: frozenset[Key] = frozenset()
    removed: frozenset[Key] = frozenset()
    #: The batches whose state moved, in order (the event log's "the gateway reported").
    transitions: tuple[Transition, ...] = field(default=(), compare=False)

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.removed)

    def __or__(self, other: Diff) -> Diff:
        return Diff(
            self.added | other.added,
            self.changed | other.changed,
            self.removed | other.removed,
            self.transitions + other.transitions,
        )


class StatesView(Mapping[Key, State]):
    """``batches[key].state`` for every key: a view, not a copy (each batch caches its state)."""

    __slots__ = ("_batches",)

    def __init__(self, batches: Mapping[Key, Batch]) -> None:
        self._batches = batches

    def __getitem__(self, key: Key) -> State:
        return self._batches[key].state

    def __iter__(self) -> Iterator[Key]:
        return iter(self._batches)

    def __len__(self) -> int:
        return len(self._batches)
