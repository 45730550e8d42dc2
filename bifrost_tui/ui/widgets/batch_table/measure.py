"""The batch table's width histograms: each column's widest cell over a view, kept up to date.

Per key: its widths as an index into ``_signatures`` (id, provider, status, requests widths,
ended). Distinct signatures are few, and ``_histograms`` counts them per provider, so the widest
content of a view that only filters by provider and hide-ended is read off the counts without a
pass over its rows. Kept in step with the store through ``store.changed_since``: a poll measures
only the batches it changed; when that is not known (or is most of them) every batch is measured
again, in bulk.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from itertools import islice

from rich.cells import cell_len

from bifrost_tui.core.store import BatchStore, Key
from bifrost_tui.formatting import STATE_LABELS, counts_text, status_extras
from bifrost_tui.gateway.counts import RequestCounts
from bifrost_tui.gateway.models import TERMINAL_STATES, Batch, State, derive_state
from bifrost_tui.ui.widgets.batch_table.cells import (
    ID_CAP,
    PROVIDER_CAP,
    REQUESTS_CAP,
    STATUS_RAW_CAP,
    TABLE_COUNT_SEP,
    safe_cell,
    table_id,
    text_width,
)
from bifrost_tui.ui.widgets.batch_table.layout import ContentWidths

#: A text-filtered view of up to this many rows has its columns measured row by row (exact); a
#: larger one keeps the widths of the rows before the text filter (a pass over 50,000 rows costs
#: more than a keystroke may).
EXACT_TEXT_ROWS = 5_000

#: Batches measured per bulk pass when every batch is measured again.
_SLICE = 4096

_ENDED_FAMILY = frozenset({State.ENDED_OK, State.ENDED_CANCELED, State.ENDED_UNSURE})
#: States a batch whose raw status is in the ``ended`` family may get (see ``derive_state``).
_ENDED_STATES = (
    State.ENDED_OK,
    State.ENDED_CANCELED,
    State.ENDED_UNSURE,
    State.FAILED,
    State.EXPIRED,
)

#: Width of the REQUESTS cell by the digit lengths of its numbers (all its length depends on):
#: ``counts_text`` runs once per distinct shape, not once per batch.
_REQUESTS_WIDTHS: dict[tuple[int, int, int, int, int], int] = {}

#: Widths of (id, provider, status, requests) and whether the batch ended.
_Signature = tuple[int, int, int, int, bool]


def _uncount(counter: Counter[int], index: int) -> None:
    left = counter[index] - 1
    if left > 0:
        counter[index] = left
    else:
        del counter[index]


def _digits(value: int | None) -> int:
    return 0 if value is None else len(str(value))


def _count_shape(counts: RequestCounts) -> tuple[int, int, int, int, int]:
    """What the length of ``counts_text(counts)`` depends on: which numbers show, their digits."""
    return (
        _digits(counts.processing),
        _digits(counts.succeeded),
        _digits(counts.errored),
        _digits(counts.canceled or None),
        _digits(counts.expired or None),
    )


def _requests_width(batch: Batch) -> int:
    counts = batch.request_counts
    if counts is None:
        return 1  # "—"
    shape = _count_shape(counts)
    width = _REQUESTS_WIDTHS.get(shape)
    if width is None:
        if len(_REQUESTS_WIDTHS) > 4096:
            _REQUESTS_WIDTHS.clear()
        # counts_text is ASCII but for "·", which is one cell: len() is its width.
        width = min(len(counts_text(counts, TABLE_COUNT_SEP)), REQUESTS_CAP)
        _REQUESTS_WIDTHS[shape] = width
    return width


class ContentMeasure:
    """Widths of every batch in a store, counted per provider; and the status cells' text."""

    def __init__(self) -> None:
        self._width_ids: dict[Key, int] = {}
        self._signatures: list[_Signature] = []
        self._signature_ids: dict[_Signature, int] = {}
        self._histograms: dict[str, Counter[int]] = {}
        self._measured_version: int | None = None
        self._measured_store: BatchStore | None = None
        self._provider_widths: dict[str, int] = {}
        self._status_texts: dict[str, str] = {}
        self._status_widths: dict[tuple[str, str | None], int] = {}

    def view_widths(self, store: BatchStore, view: list[Key]) -> ContentWidths:
        """Widest content per column over ``view`` (the store's), once per view change.

        Exact for a view filtered by provider and hide-ended (read off ``_histograms``) and for a
        text-filtered view of up to ``EXACT_TEXT_ROWS`` rows; a larger text-filtered view gets
        the widths of the rows the text filters (so columns stay put while a filter is typed).
        """
        self._sync(store)
        ids: set[int] = set()
        if not view:
            pass
        elif store.text_filter and len(view) <= EXACT_TEXT_ROWS:
            ids = set(map(self._width_ids.__getitem__, view))
        else:
            provider = store.provider_filter
            for name, histogram in self._histograms.items():
                if provider is None or name == provider:
                    ids.update(histogram)
            if store.hide_ended:
                ids = {i for i in ids if not self._signatures[i][4]}
        return self._widest(ids, ContentWidths())

    def widen(self, store: BatchStore, keys: frozenset[Key], start: ContentWidths) -> ContentWidths:
        """``start`` widened for these batches (those in the view): O(len(keys))."""
        self._sync(store)
        batches = store.batches
        ids = {
            self._width_ids[key]
            for key in keys
            if (batch := batches.get(key)) is not None and store.matches(batch)
        }
        return self._widest(ids, start)

    def status_text(self, batch: Batch, state: State) -> str:
        """``ACTIVE``, ``ACTIVE finalizing``: the state's label, then the raw status words
        (escaped, capped) that add something to it (``status_extras``)."""
        return self._status_cell(state, batch.processing_status, batch.native_status)

    def _status_cell(self, state: State, raw: str, native: str | None) -> str:
        label = STATE_LABELS[state]
        extras = status_extras(state, raw, native)
        if not extras:
            return label
        return " ".join([label, *map(self._safe_status, extras)])

    def _widest(self, ids: set[int], start: ContentWidths) -> ContentWidths:
        id_w, provider_w, status_w, requests_w = (
            start.id,
            start.provider,
            start.status,
            start.requests,
        )
        signatures = self._signatures
        for index in ids:
            i, p, s, r, _ = signatures[index]
            if i > id_w:
                id_w = i
            if p > provider_w:
                provider_w = p
            if s > status_w:
                status_w = s
            if r > requests_w:
                requests_w = r
        return ContentWidths(id_w, provider_w, status_w, requests_w)

    def _sync(self, store: BatchStore) -> None:
        """Measure the batches the store changed since the last sync (all of them at first)."""
        batches = store.batches
        changed = None
        if self._measured_store is store and self._measured_version is not None:
            changed = store.changed_since(self._measured_version)
        if changed is None:
            # Everything may have changed: measure every batch again, a slice at a time (the
            # bulk pass keeps lists per slice; whole, at 250,000 batches, they would be 50 MB).
            self._width_ids.clear()
            self._histograms.clear()
            items = iter(batches.items())
            while chunk := list(islice(items, _SLICE)):
                keys, values = zip(*chunk, strict=True)
                self._measure_new(list(keys), list(values))
        else:
            fresh: list[tuple[Key, Batch]] = []
            for key in changed:
                batch = batches.get(key)
                if batch is None:
                    self._forget(key)
                else:
                    fresh.append((key, batch))
            self._measure(fresh)
        self._measured_store = store
        self._measured_version = store.version

    def _measure_new(self, keys: list[Key], batches: list[Batch]) -> None:
        """Measure batches never measured before (the first listing: every row) column by
        column, with comprehensions and C-level passes rather than a statement-heavy loop."""
        if not keys:
            return
        providers = [k[0] for k in keys]
        statuses = [(b.processing_status, b.native_status) for b in batches]
        for provider in set(providers):
            self._provider_width(provider)
        for status in set(statuses):
            self._status_width(status)
        provider_widths, status_widths = self._provider_widths, self._status_widths
        requests_widths = _REQUESTS_WIDTHS
        ids = [b.id if b.id[:4] != "arn:" else table_id(b.id) for b in batches]
        if all(map(str.isascii, ids)) and all(map(str.isprintable, ids)):
            id_widths = list(map(len, ids))  # in C: the common case, every id plain ASCII
            if max(id_widths) > ID_CAP:
                id_widths = [min(w, ID_CAP) for w in id_widths]
        else:
            id_widths = [text_width(i, ID_CAP) for i in ids]
        signatures = list(
            zip(
                id_widths,
                [provider_widths[p] for p in providers],
                [status_widths[s] for s in statuses],
                [
                    1
                    if (c := b.request_counts) is None
                    else requests_widths.get(_count_shape(c)) or _requests_width(b)
                    for b in batches
                ],
                [b.state in TERMINAL_STATES for b in batches],
                strict=True,
            )
        )
        signature_ids = self._signature_ids
        for signature in set(signatures):
            if signature not in signature_ids:
                signature_ids[signature] = len(self._signatures)
                self._signatures.append(signature)
        indexes = list(map(signature_ids.__getitem__, signatures))
        self._width_ids.update(zip(keys, indexes, strict=True))
        for (provider, index), count in Counter(zip(providers, indexes, strict=True)).items():
            histogram = self._histograms.get(provider)
            if histogram is None:
                histogram = self._histograms[provider] = Counter()
            histogram[index] += count

    def _measure(self, items: Iterable[tuple[Key, Batch]]) -> None:
        """Measure these batches (the one loop that can see every row: kept lean)."""
        width_ids = self._width_ids
        signatures = self._signatures
        signature_ids = self._signature_ids
        histograms = self._histograms
        provider_widths = self._provider_widths
        status_widths = self._status_widths
        requests_widths = _REQUESTS_WIDTHS
        for key, batch in items:
            old = width_ids.get(key)
            if old is not None:
                # The id and the provider are the key: only status, counts and state can change.
                id_width, provider_width = signatures[old][:2]
            else:
                bid = table_id(batch.id)
                if bid.isascii() and bid.isprintable():
                    id_width = len(bid) if len(bid) < ID_CAP else ID_CAP
                else:
                    id_width = text_width(bid, ID_CAP)
                provider_width = provider_widths.get(key[0]) or self._provider_width(key[0])
            status = (batch.processing_status, batch.native_status)
            counts = batch.request_counts
            if counts is None:
                requests_width = 1
            else:
                requests_width = requests_widths.get(_count_shape(counts)) or _requests_width(batch)
            signature = (
                id_width,
                provider_width,
                status_widths.get(status) or self._status_width(status),
                requests_width,
                batch.state in TERMINAL_STATES,
            )
            index = signature_ids.get(signature)
            if index is None:
                index = signature_ids[signature] = len(signatures)
                signatures.append(signature)
            if old != index:
                histogram = histograms.get(key[0])
                if histogram is None:
                    histogram = histograms[key[0]] = Counter()
                if old is not None:
                    _uncount(histogram, old)
                histogram[index] += 1
                width_ids[key] = index

    def _forget(self, key: Key) -> None:
        index = self._width_ids.pop(key, None)
        if index is None:
            return
        histogram = self._histograms.get(key[0])
        if histogram is not None:
            _uncount(histogram, index)

    def _provider_width(self, provider: str) -> int:
        width = self._provider_widths.get(provider)
        if width is None:
            if len(self._provider_widths) > 1024:
                self._provider_widths.clear()
            width = self._provider_widths[provider] = text_width(provider, PROVIDER_CAP)
        return width

    def _status_width(self, status: tuple[str, str | None]) -> int:
        """Widest ``STATUS`` cell a batch with this raw (and native) status can have.

        Measured per distinct status, not per batch: the state also hangs on counts and
        timestamps, but only within the ``ended`` family, so that family is given its widest cell.
        """
        width = self._status_widths.get(status)
        if width is None:
            if len(self._status_widths) > 256:
                self._status_widths.clear()
            raw, native = status
            state = derive_state(raw, None, None, native)
            states = _ENDED_STATES if state in _ENDED_FAMILY else (state,)
            width = max(cell_len(self._status_cell(s, raw, native)) for s in states)
            self._status_widths[status] = width
        return width

    def _safe_status(self, raw: str) -> str:
        safe = self._status_texts.get(raw)
        if safe is None:
            if len(self._status_texts) > 256:
                self._status_texts.clear()
            safe = self._status_texts[raw] = safe_cell(raw, STATUS_RAW_CAP)
        return safe
