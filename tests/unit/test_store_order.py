"""The store's kept order and the table's width histograms stay what a fresh computation gives,
through any sequence of listings, re-reads and view changes; and neither keeps per-batch copies
of what each batch already knows (its sort value, its state)."""

from __future__ import annotations

import gc
import tracemalloc
from datetime import timedelta
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from bifrost_tui.core import sorting
from bifrost_tui.core import store as store_module
from bifrost_tui.core.sorting import VALUE_OF, SortKey
from bifrost_tui.core.store import BatchStore
from bifrost_tui.gateway.counts import RequestCounts
from bifrost_tui.gateway.models import TERMINAL_STATES, Batch
from bifrost_tui.gateway.outcomes import ListingStatus, ProviderListing
from bifrost_tui.ui.widgets.batch_table import measure as measure_module
from bifrost_tui.ui.widgets.batch_table.measure import ContentMeasure
from tests.support.clocks import T0

PROVIDERS = ("anthropic", "openai")
IDS = ("b0", "b1", "b2", "b3", "b4", "b5", "batch_long_identifier_6", "b7")

batches = st.builds(
    lambda bid, provider, status, native, created, counts: Batch(
        id=bid,
        provider=provider,
        provider_kind=provider,
        processing_status=status,
        native_status=native,
        # Few distinct times: ties, broken by the key.
        created_at=None if created is None else T0 - timedelta(minutes=created),
        expires_at=None if created is None else T0 + timedelta(minutes=created),
        request_counts=counts,
    ),
    st.sampled_from(IDS),
    st.sampled_from(PROVIDERS),
    st.sampled_from(("in_progress", "canceling", "ended", "validating")),
    st.sampled_from((None, "completed", "failed", "expired", "cancelled")),
    st.one_of(st.none(), st.integers(0, 3)),
    st.one_of(
        st.none(),
        st.builds(
            lambda done, left: RequestCounts(processing=left, succeeded=done, errored=0),
            st.integers(0, 120),
            st.integers(0, 3),
        ),
    ),
)
listings = st.tuples(
    st.just("listing"), st.sampled_from(PROVIDERS), st.booleans(), st.lists(batches, max_size=6)
)
rereads = st.tuples(st.just("reread"), batches)
views = st.tuples(
    st.just("view"),
    st.one_of(st.none(), st.sampled_from(PROVIDERS)),
    st.sampled_from(("", "b", "b1", "ended", "anth", "zz")),
    st.booleans(),
    st.sampled_from(tuple(SortKey)),
    st.booleans(),
)
steps = st.lists(st.tuples(st.one_of(listings, rereads, views), st.booleans()), max_size=25)


def expected_view(store: BatchStore) -> list[tuple[str, str]]:
    value_of = VALUE_OF[store.sort_key]
    shown = [(k, b) for k, b in store.batches.items() if store.matches(b)]
    shown.sort(key=lambda kb: (value_of(kb[1], kb[1].state), kb[0]), reverse=store.sort_reverse)
    return [k for k, _ in shown]


@given(steps)
def test_kept_order_and_widths_match_a_fresh_computation(script: list) -> None:
    store = BatchStore()
    widths = ContentMeasure()
    for step, look in script:
        if step[0] == "listing":
            _, provider, complete, found = step
            mine = [b for b in found if b.provider == provider]
            status = ListingStatus.COMPLETE if complete else ListingStatus.PARTIAL
            store.apply_listing(ProviderListing(provider, status, mine, deep=True), T0)
        elif step[0] == "reread":
            store.apply_batch(step[1])
        else:
            _, provider, text, hide, key, reverse = step
            store.set_view(
                provider=provider, text=text, hide_ended=hide, sort_key=key, sort_reverse=reverse
            )
        if not look:
            continue  # changes folded in while no view is kept take the other paths
        view = store.view()
        assert view == expected_view(store)
        assert dict(store.states) == {k: b.state for k, b in store.batches.items()}
        assert set(store.active_keys()) == {
            k for k, b in store.batches.items() if b.state not in TERMINAL_STATES
        }
        assert widths.view_widths(store, view) == ContentMeasure().view_widths(store, view)


def test_store_and_measure_keep_no_per_batch_copies() -> None:
    """Per batch the store keeps its entry in the batches, the per-provider and (while active)
    the active dicts, and the filter's haystack; the table its widths index. Sort values are
    computed when bisecting, states read off the batches, and the table re-measures every
    batch when most changed rather than keep each one it measured: ~240 bytes more, kept."""
    n = 5000
    found = [
        Batch(
            id=f"batch_{i:06d}",
            provider="openai",
            provider_kind="openai",
            processing_status="ended" if i % 2 else "in_progress",
            created_at=T0 - timedelta(seconds=i),
        )
        for i in range(n)
    ]
    store = BatchStore()
    widths = ContentMeasure()
    widths.view_widths(store, store.view())  # both built over an empty store, as the app starts
    tracemalloc.start()
    try:
        store.apply_listing(ProviderListing("openai", ListingStatus.COMPLETE, found), T0)
        widths.view_widths(store, store.view())
        gc.collect()
        snapshot = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    files = {
        name: snapshot.filter_traces(
            [tracemalloc.Filter(True, str(Path(module.__file__ or "")))]
        ).statistics("filename")
        for name, module in (
            ("store", store_module),
            ("sorting", sorting),
            ("measure", measure_module),
        )
    }
    per_batch = {name: sum(s.size for s in stats) / n for name, stats in files.items()}
    # The dicts of the store (~30-50 bytes per entry each: batches, per provider, half of them
    # active) and the change log's tuple of keys; the table's dict of widths indexes.
    assert per_batch["store"] + per_batch["sorting"] < 160, per_batch
    assert per_batch["measure"] < 45, per_batch


def test_a_new_batch_twice_in_one_listing_is_added_once() -> None:
    """Overlapping pages can list a batch twice: the later copy wins, and it is news once."""
    first = Batch(
        id="b1", provider="openai", provider_kind="openai", processing_status="validating"
    )
    again = Batch(
        id="b1", provider="openai", provider_kind="openai", processing_status="in_progress"
    )
    store = BatchStore()
    store.view()
    diff = store.apply_listing(
        ProviderListing("openai", ListingStatus.COMPLETE, [first, again]), T0
    )
    assert diff.added == {("openai", "b1")} and not diff.changed
    assert store.batches[("openai", "b1")].processing_status == "in_progress"
    assert store.view() == [("openai", "b1")]
