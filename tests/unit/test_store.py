"""BatchStore: listings fold in by diff, never erase good data, and the view filters and sorts."""

from __future__ import annotations

from datetime import timedelta

from bifrost_tui.core.sorting import SortKey
from bifrost_tui.core.store import BatchStore
from bifrost_tui.gateway.counts import RequestCounts, Source
from bifrost_tui.gateway.errors import Unreachable
from bifrost_tui.gateway.models import Batch, ProviderInfo, State
from bifrost_tui.gateway.outcomes import ListingStatus, ProviderListing
from tests.support.clocks import T0


def batch(bid: str, provider: str = "anthropic", status: str = "in_progress", **kw) -> Batch:
    kw.setdefault("created_at", T0 - timedelta(minutes=len(bid)))
    return Batch(id=bid, provider=provider, provider_kind=provider, processing_status=status, **kw)


def listing(provider: str, *batches: Batch, status=ListingStatus.COMPLETE, **kw) -> ProviderListing:
    return ProviderListing(provider=provider, status=status, batches=list(batches), **kw)


def store_with(*providers: str) -> BatchStore:
    store = BatchStore()
    store.set_providers(ProviderInfo(name=p, kind=p, batch_capable=True) for p in providers)
    return store


def test_first_listing_adds_and_unchanged_listing_yields_empty_diff():
    store = store_with("anthropic")
    a, b = batch("a"), batch("bb")
    diff = store.apply_listing(listing("anthropic", a, b), T0)
    assert diff.added == {("anthropic", "a"), ("anthropic", "bb")}
    again = store.apply_listing(listing("anthropic", batch("a"), batch("bb")), T0)
    assert not again  # nothing changed: nothing to repaint


def test_changed_batch_is_reported_and_complete_listing_removes_vanished():
    store = store_with("anthropic")
    store.apply_listing(listing("anthropic", batch("a"), batch("bb")), T0)
    diff = store.apply_listing(listing("anthropic", batch("a", status="canceling")), T0)
    assert diff.changed == {("anthropic", "a")}
    assert diff.removed == {("anthropic", "bb")}
    assert store.batches[("anthropic", "a")].state is State.CANCELING


def test_partial_listing_never_removes_batches_it_did_not_cover():
    store = store_with("anthropic")
    store.apply_listing(listing("anthropic", batch("a"), batch("bb")), T0)
    diff = store.apply_listing(
        listing("anthropic", batch("a"), status=ListingStatus.PARTIAL, missing="older batches"),
        T0,
    )
    assert not diff.removed
    assert ("anthropic", "bb") in store.batches
    assert store.providers["anthropic"].missing == "older batches"


def test_error_listing_keeps_last_good_data_and_records_error():
    store = store_with("openai")
    store.apply_listing(listing("openai", batch("x", "openai")), T0)
    error = Unreachable("down")
    diff = store.apply_listing(listing("openai", status=ListingStatus.ERROR, error=error), T0)
    assert not diff
    assert ("openai", "x") in store.batches
    assert store.providers["openai"].listing is ListingStatus.ERROR
    assert store.providers["openai"].last_ok == T0


def test_light_first_page_does_not_downgrade_a_complete_deep_listing():
    store = store_with("openai")
    store.apply_listing(listing("openai", batch("x", "openai"), deep=True), T0)
    store.apply_listing(
        listing(
            "openai",
            batch("x", "openai"),
            status=ListingStatus.PARTIAL,
            missing="first page only",
            first_page_only=True,
        ),
        T0,
    )
    assert store.providers["openai"].listing is ListingStatus.COMPLETE


def test_cancel_reply_never_overwrites_known_fields():
    store = store_with("anthropic")
    counts = RequestCounts(processing=10, succeeded=0, errored=0, canceled=0, expired=0)
    full = batch("a", request_counts=counts, expires_at=T0 + timedelta(hours=20))
    store.apply_listing(listing("anthropic", full), T0)
    reply = Batch.from_anthropic(
        {
            "id": "a",
            "type": "message_batch",
            "processing_status": "canceling",
            "request_counts": {"processing": 0, "succeeded": 0, "errored": 0},
            "created_at": "",
            "expires_at": "",
            "cancel_initiated_at": "2026-11-28T12:00:05Z",
        },
        provider="anthropic",
        source=Source.CANCEL,
    )
    store.apply_batch(reply)
    now = store.batches[("anthropic", "a")]
    assert now.state is State.CANCELING
    assert now.created_at == full.created_at and now.expires_at == full.expires_at
    assert now.request_counts == counts  # the lossy reply's zeros did not replace real counts


def test_counts_by_state_group_per_provider():
    store = store_with("anthropic", "openai")
    store.apply_listing(
        listing(
            "anthropic",
            batch("a"),
            batch("bb", status="canceling"),
            batch("ccc", status="ended"),
            batch("dddd", status="failed"),
            batch("eeeee", status="expired"),
        ),
        T0,
    )
    counts = store.providers["anthropic"].counts
    assert counts == {"active": 1, "canceling": 1, "ended": 1, "failed": 2}
    assert store.totals() == counts


def test_view_filters_by_provider_text_and_hide_ended():
    store = store_with("anthropic", "openai")
    store.apply_listing(listing("anthropic", batch("msg_1"), batch("msg_2", status="ended")), T0)
    store.apply_listing(listing("openai", batch("batch_9", "openai")), T0)
    assert len(store.view()) == 3
    store.set_view(provider="openai")
    assert store.view() == [("openai", "batch_9")]
    store.set_view(provider=None, hide_ended=True)
    assert ("anthropic", "msg_2") not in store.view()
    store.set_view(hide_ended=False, text="ENDED")  # case-insensitive, matches the state too
    assert store.view() == [("anthropic", "msg_2")]
    store.set_view(text="msg_")
    assert set(store.view()) == {("anthropic", "msg_1"), ("anthropic", "msg_2")}


def test_sort_by_created_newest_first_and_reverse():
    store = store_with("anthropic")
    old = batch("old", created_at=T0 - timedelta(hours=3))
    new = batch("new", created_at=T0 - timedelta(minutes=1))
    store.apply_listing(listing("anthropic", old, new), T0)
    store.set_view(sort_key=SortKey.CREATED, sort_reverse=True)
    assert store.view() == [("anthropic", "new"), ("anthropic", "old")]
    store.set_view(sort_reverse=False)
    assert store.view() == [("anthropic", "old"), ("anthropic", "new")]
    store.set_view(sort_key=SortKey.STATUS, sort_reverse=False)
    assert len(store.view()) == 2


def test_removed_provider_drops_its_batches():
    store = store_with("anthropic", "openai")
    store.apply_listing(listing("openai", batch("x", "openai")), T0)
    store.set_providers([ProviderInfo(name="anthropic", kind="anthropic", batch_capable=True)])
    assert ("openai", "x") not in store.batches
