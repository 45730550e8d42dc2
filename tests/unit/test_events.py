"""The event log: bounded, counts what it drops, newest first; and the store's transitions."""

from __future__ import annotations

from datetime import timedelta

from bifrost_tui.clock import ManualClock
from bifrost_tui.core.bulk import ItemOutcome, ItemResult
from bifrost_tui.core.events import Actor, Event, EventLog
from bifrost_tui.core.store import Diff
from bifrost_tui.gateway.models import State
from bifrost_tui.gateway.outcomes import ListingStatus
from tests.support.clocks import T0
from tests.unit.test_store import batch, listing, store_with

A = ("anthropic", "a")
B = ("anthropic", "bb")


def test_the_log_keeps_the_newest_1000_newest_first_and_counts_the_dropped():
    clock = ManualClock(T0)
    log = EventLog(clock.now)
    for n in range(1005):
        log.said(f"message {n}")
        clock.advance(1)
    assert len(log) == 1000
    assert log.dropped == 5
    shown = list(log.newest_first())
    assert [e.message for e in shown[:2]] == ["message 1004", "message 1003"]
    assert shown[-1].message == "message 5"
    assert shown[0].at == T0 + timedelta(seconds=1004)  # the injected clock's time


def test_a_small_log_drops_nothing_until_full():
    log = EventLog(lambda: T0, size=3)
    for n in range(3):
        log.said(str(n))
    assert log.dropped == 0
    log.said("3")
    assert (len(log), log.dropped) == (3, 1)
    assert [e.message for e in log.newest_first()] == ["3", "2", "1"]


def test_a_state_change_is_a_transition_and_unchanged_state_is_not():
    store = store_with("anthropic")
    store.apply_listing(listing("anthropic", batch("a"), batch("bb")), T0)
    diff = store.apply_listing(
        listing("anthropic", batch("a", status="canceling"), batch("bb", request_counts=None)),
        T0,
    )
    assert diff.transitions == ((A, State.ACTIVE, State.CANCELING),)


def test_the_first_listing_is_no_news_but_later_arrivals_and_departures_are():
    store = store_with("anthropic")
    first = store.apply_listing(listing("anthropic", batch("a"), batch("bb")), T0)
    assert first.added and first.transitions == ()  # 50,000 batches must not be 50,000 events
    later = store.apply_listing(listing("anthropic", batch("a"), batch("ccc")), T0)
    assert set(later.transitions) == {
        (("anthropic", "ccc"), None, State.ACTIVE),
        (B, State.ACTIVE, None),  # a complete listing no longer shows it
    }


def test_a_partial_first_listing_after_an_error_is_still_the_first():
    store = store_with("openai")
    store.apply_listing(listing("openai", status=ListingStatus.ERROR, error=None), T0)
    diff = store.apply_listing(listing("openai", batch("x", "openai")), T0)
    assert diff.added and diff.transitions == ()


def test_a_reread_reports_its_transition_and_diffs_keep_them_in_order():
    store = store_with("anthropic")
    store.apply_listing(listing("anthropic", batch("a"), batch("bb")), T0)
    one = store.apply_batch(batch("a", status="canceling"))
    two = store.apply_batch(batch("a", status="ended", ended_at=T0))
    assert one.transitions == ((A, State.ACTIVE, State.CANCELING),)
    both = one | two | store.apply_batch(batch("bb", status="ended", ended_at=T0))
    assert [t[0] for t in both.transitions] == [A, A, B]
    assert both.transitions[1] == (A, State.CANCELING, State.ENDED_OK)
    # Equality of diffs is about keys, as before: the transitions ride along.
    assert Diff(changed=frozenset({A})) == one


def test_gateway_transitions_are_logged_except_the_ones_being_cancelled_here():
    store = store_with("anthropic")
    store.apply_listing(listing("anthropic", batch("a"), batch("bb")), T0)
    diff = store.apply_listing(
        listing("anthropic", batch("a", status="canceling"), batch("bb", status="canceling")), T0
    )
    log = EventLog(lambda: T0)
    log.gateway_reported(diff, skip={B})
    log.gateway_reported(None)
    (event,) = log.newest_first()
    assert (event.actor, event.batch_id, event.change) == (
        Actor.GATEWAY,
        "a",
        "ACTIVE → CANCELING",
    )
    assert event.what == "the gateway reported"


def test_a_cancel_outcome_is_yours_with_the_state_before_and_now():
    log = EventLog(lambda: T0)
    states = {A: State.CANCELING}
    log.cancelled(ItemResult(A, ItemOutcome.ACCEPTED, State.ACTIVE), states)
    log.cancelled(ItemResult(B, ItemOutcome.REFUSED, State.ACTIVE, reason="batch is busy"), states)
    refused, accepted = log.newest_first()
    assert accepted.actor is Actor.YOU and accepted.what == "you cancelled: accepted"
    assert accepted.change == "ACTIVE → CANCELING"
    assert refused.what == "you cancelled: refused (batch is busy)"
    assert refused.change == "ACTIVE → —"  # not known any more


def test_appeared_and_gone_read_in_words():
    appeared = Event(T0, Actor.GATEWAY, "openai", "x", None, State.ACTIVE)
    gone = Event(T0, Actor.GATEWAY, "openai", "x", State.ENDED_OK, None)
    assert (appeared.change, appeared.what) == (
        "— → ACTIVE",
        "the gateway reported it: appeared",
    )
    assert gone.what == "the gateway reported it: no longer listed"
    toast = Event(T0, Actor.CONSOLE, message="batch ended: x")
    assert (toast.change, toast.what) == ("", "batch ended: x")
