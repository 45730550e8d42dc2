"""How the batch view sorts: the sort keys, each batch's sort value, and sorted-list edits.

The store keeps every batch in sort order between changes; the edits here re-place a few keys by
bisection instead of sorting again. A sort value is ``(primary value, key)``: the key breaks ties,
so the order is total and repeatable.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Hashable, Mapping
from enum import StrEnum
from itertools import compress
from typing import TypeVar

from bifrost_tui.gateway.models import Batch, State

K = TypeVar("K", bound=Hashable)

#: A batch's place in the order: its primary value, then its key.
SortValue = tuple[object, ...]


class SortKey(StrEnum):
    #: Running batches first, the longest-running on top; then ended ones, the latest first.
    OLDEST_ACTIVE = "oldest active"
    CREATED = "created"
    PROVIDER = "provider"
    STATUS = "status"
    ID = "id"
    EXPIRES = "expires"
    PROGRESS = "progress"


SORT_CYCLE: tuple[SortKey, ...] = tuple(SortKey)

#: The order a fresh console shows: oldest active first. An operator opens the console to find
#: what is still running and should not be (a runaway or stuck job): that is the oldest batch
#: still active, so it is on the first line; what was just submitted is easy to find by its age.
DEFAULT_SORT_KEY = SortKey.OLDEST_ACTIVE
DEFAULT_SORT_REVERSE = False

#: Order of states when sorting by status: what needs attention first.
_STATE_ORDER = {
    State.ACTIVE: 0,
    State.CANCELING: 1,
    State.UNKNOWN: 2,
    State.FAILED: 3,
    State.EXPIRED: 4,
    State.ENDED_CANCELED: 5,
    State.ENDED_UNSURE: 6,
    State.ENDED_OK: 7,
}


def _progress(batch: Batch) -> float:
    counts = batch.request_counts
    done, total = (counts.done, counts.total) if counts else (None, None)
    return (done / total) if done is not None and total else -1.0


def _created(batch: Batch) -> float:
    return batch.created_at.timestamp() if batch.created_at else 0.0


def _oldest_active(batch: Batch, state: State) -> tuple[int, float]:
    """Not-ended batches first, oldest created first; then ended ones, newest created first."""
    if state.terminal:
        return (1, -_created(batch))
    return (0, _created(batch))


#: The primary sort value per sort key (the key itself breaks ties, so the order is total).
VALUE_OF: dict[SortKey, Callable[[Batch, State], object]] = {
    SortKey.OLDEST_ACTIVE: _oldest_active,
    SortKey.CREATED: lambda b, s: _created(b),
    SortKey.PROVIDER: lambda b, s: b.provider,
    SortKey.STATUS: lambda b, s: _STATE_ORDER[s],
    SortKey.ID: lambda b, s: b.id,
    SortKey.EXPIRES: lambda b, s: b.expires_at.timestamp() if b.expires_at else 0.0,
    SortKey.PROGRESS: lambda b, s: _progress(b),
}


def value_at(
    batches: Mapping[K, Batch], sort_key: SortKey, before: Mapping[K, Batch | None] | None = None
) -> Callable[[K], SortValue]:
    """Each key's sort value, computed from its batch when asked (the store keeps none: bisection
    reads only log n of them). ``before``: the batches as they were, for keys that changed (a
    ``None`` there is a new key, read from ``batches``), so that an order not yet brought along
    can still be bisected."""
    value_of = VALUE_OF[sort_key]
    if before is None:

        def value(key: K) -> SortValue:
            batch = batches[key]
            return (value_of(batch, batch.state), key)

        return value

    def value_then(key: K) -> SortValue:
        batch = before.get(key) or batches[key]
        return (value_of(batch, batch.state), key)

    return value_then


def sorted_keys(batches: Mapping[K, Batch], sort_key: SortKey, rev: bool) -> list[K]:
    """Every key of ``batches`` in sort order (the values live only for the sort's duration)."""
    value_of = VALUE_OF[sort_key]
    decorated = [(value_of(b, b.state), k) for k, b in batches.items()]
    decorated.sort(reverse=rev)
    return [k for _, k in decorated]


def position(keys: list[K], value: SortValue, value_of: Callable[[K], SortValue], rev: bool) -> int:
    """Where ``value`` goes in ``keys`` (sorted by ``value_of``, descending when ``rev``)."""
    if not rev:
        return bisect_left(keys, value, key=value_of)
    lo, hi = 0, len(keys)
    while lo < hi:
        mid = (lo + hi) // 2
        if value_of(keys[mid]) > value:
            lo = mid + 1
        else:
            hi = mid
    return lo


def remove_sorted(
    keys: list[K],
    outs: list[K],
    value_of: Callable[[K], SortValue],
    rev: bool,
    hays: list[str] | None = None,
) -> None:
    """Remove ``outs`` from ``keys`` (sorted by ``value_of``, which must still give every key the
    value it is placed by), and the same positions from ``hays`` (lined up with ``keys``)."""
    for key in outs:
        i = position(keys, value_of(key), value_of, rev)
        if not (i < len(keys) and keys[i] == key):
            i = keys.index(key)  # cannot happen while the caches agree, but be safe
        del keys[i]
        if hays is not None:
            del hays[i]


def insert_sorted(
    keys: list[K],
    ins: list[K],
    value_of: Callable[[K], SortValue],
    rev: bool,
    hays: list[str] | None = None,
    hay: dict[K, str] | None = None,
) -> None:
    """Insert ``ins`` into ``keys`` in order, and their haystacks at the same places in ``hays``."""
    for key in ins:
        i = position(keys, value_of(key), value_of, rev)
        keys.insert(i, key)
        if hays is not None and hay is not None:
            hays.insert(i, hay[key])


def kept(
    keys: list[K], hays: list[str] | None, mask: list[bool]
) -> tuple[list[K], list[str] | None]:
    """The keys (and haystacks) where ``mask`` is true."""
    return list(compress(keys, mask)), list(compress(hays, mask)) if hays is not None else None
