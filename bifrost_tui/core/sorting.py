"""How the batch view sorts: the sort keys, each batch's sort value, and sorted-list edits.

The store keeps every batch in sort order between changes; the edits here re-place a few keys by
bisection instead of sorting again. A sort value is ``(primary value, key)``: the key breaks ties,
so the order is total and repeatable.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Hashable
from enum import StrEnum
from itertools import compress
from typing import TypeVar

from bifrost_tui.gateway.models import Batch, State

K = TypeVar("K", bound=Hashable)

#: A batch's place in the order: its primary value, then its key.
SortValue = tuple[object, ...]


class SortKey(StrEnum):
    CREATED = "created"
    PROVIDER = "provider"
    STATUS = "status"
    ID = "id"
    EXPIRES = "expires"
    PROGRESS = "progress"


SORT_CYCLE: tuple[SortKey, ...] = tuple(SortKey)

#: Order of states when sorting by status: what needs attention first.
_STATE_ORDER = {
    State.ACTIVE: 0,
    State.CANCELING: 1,
    State.UNKNOWN: 2,
    State.FAILED: 3,
    State.EXPIRED: 4,
    State.ENDED_CANCELED: 5,
    State.ENDED_OK: 6,
}


def _progress(batch: Batch) -> float:
    counts = batch.request_counts
    done, total = (counts.done, counts.total) if counts else (None, None)
    return (done / total) if done is not None and total else -1.0


#: The primary sort value per sort key (the key itself breaks ties, so the order is total).
VALUE_OF: dict[SortKey, Callable[[Batch, State], object]] = {
    SortKey.CREATED: lambda b, s: b.created_at.timestamp() if b.created_at else 0.0,
    SortKey.PROVIDER: lambda b, s: b.provider,
    SortKey.STATUS: lambda b, s: _STATE_ORDER[s],
    SortKey.ID: lambda b, s: b.id,
    SortKey.EXPIRES: lambda b, s: b.expires_at.timestamp() if b.expires_at else 0.0,
    SortKey.PROGRESS: lambda b, s: _progress(b),
}


def position(keys: list[K], value: SortValue, values: dict[K, SortValue], rev: bool) -> int:
    """Where ``value`` goes in ``keys`` (sorted by ``values``, descending when ``rev``)."""
    if not rev:
        return bisect_left(keys, value, key=values.__getitem__)
    lo, hi = 0, len(keys)
    while lo < hi:
        mid = (lo + hi) // 2
        if values[keys[mid]] > value:
            lo = mid + 1
        else:
            hi = mid
    return lo


def store_values(values: dict[K, SortValue], fresh: dict[K, SortValue | None]) -> None:
    """Write ``fresh`` into ``values``; ``None`` drops the key."""
    for key, value in fresh.items():
        if value is None:
            values.pop(key, None)
        else:
            values[key] = value


def remove_sorted(
    keys: list[K],
    outs: list[K],
    values: dict[K, SortValue],
    rev: bool,
    hays: list[str] | None = None,
) -> None:
    """Remove ``outs`` from ``keys`` (sorted by ``values``, which still hold their positions),
    and the same positions from ``hays`` (lined up with ``keys``)."""
    for key in outs:
        i = position(keys, values[key], values, rev)
        if not (i < len(keys) and keys[i] == key):
            i = keys.index(key)  # cannot happen while the caches agree, but be safe
        del keys[i]
        if hays is not None:
            del hays[i]


def insert_sorted(
    keys: list[K],
    ins: list[K],
    values: dict[K, SortValue],
    rev: bool,
    hays: list[str] | None = None,
    hay: dict[K, str] | None = None,
) -> None:
    """Insert ``ins`` into ``keys`` in order, and their haystacks at the same places in ``hays``."""
    for key in ins:
        i = position(keys, values[key], values, rev)
        keys.insert(i, key)
        if hays is not None and hay is not None:
            hays.insert(i, hay[key])


def kept(
    keys: list[K], hays: list[str] | None, mask: list[bool]
) -> tuple[list[K], list[str] | None]:
    """The keys (and haystacks) where ``mask`` is true."""
    return list(compress(keys, mask)), list(compress(hays, mask)) if hays is not None else None
