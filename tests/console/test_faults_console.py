"""The console while the gateway fails: it stays responsive, says what is wrong in words, keeps the
last good data marked STALE, and recovers by itself (Pilot, on the simulator's fault injection)."""

from __future__ import annotations

import sys

import pytest

from bifrost_tui.gateway.models import State
from bifrost_tui.gateway.outcomes import ListingStatus
from bifrost_tui.sim import Faults
from bifrost_tui.ui.screens.confirm import ConfirmScreen
from bifrost_tui.ui.widgets.batch_table.table import BatchTable
from bifrost_tui.ui.widgets.crumbs import CrumbState, render_crumbs
from bifrost_tui.ui.widgets.flash import FlashBar
from tests.support.reliability import dns_failure, refused, rig, screen_text, tls_failure
from tests.support.ui_fixtures import cancel_requests, first_with, live_session, main_screen


def crumbs(app) -> str:
    return render_crumbs(app.crumb_state()).plain


def flash_text(app) -> str:
    return main_screen(app).query_one("#flash", FlashBar).message


async def test_unreachable_at_start_says_so_then_recovers_on_the_next_poll():
    r, _ = rig()
    r.world.faults.down = True  # before the very first poll
    async with r.app.run_test(size=(120, 40)) as pilot:
        app = r.app
        result = await app.do_poll(deep=True)
        await pilot.pause()
        assert result.error is not None
        line = crumbs(app)
        assert "STALE" in line and "gateway unreachable" in line and "refreshed never" in line
        assert "health unreachable" in line
        assert not app.store.batches
        await pilot.press("r", "h", "s")  # still answers keys
        await pilot.pause()
        assert app.is_running
        r.world.faults.down = False
        r.clock.advance(5)
        await app.do_poll(deep=False)  # a light poll still discovers first: nothing was known
        await pilot.pause()
        line = crumbs(app)
        assert "STALE" not in line and "health ok" in line and "refreshed just now" in line
        assert app.store.batches


async def test_a_failed_poll_still_arms_the_next_one():
    """Recovering by itself: the next poll is armed even when this one failed."""
    r, _ = rig()
    r.world.faults.down = True
    async with r.app.run_test(size=(120, 40)) as pilot:
        app = r.app
        app.live_updates = True  # arm timers from here on (the refresh is 5 s: none fires here)
        app.run_poll(deep=True)
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert live_session(app).stale
        assert app._poll_timer is not None  # the next refresh is scheduled despite the failure
        app.live_updates = False
        app._poll_timer.stop()


@pytest.mark.parametrize(
    ("failure", "words"),
    [
        (refused, "gateway unreachable: cannot connect to bifrost-sim.demo"),
        (dns_failure, "gateway unreachable: cannot resolve host bifrost-sim.demo"),
        (tls_failure, "certificate not trusted (self-signed certificate)"),
    ],
    ids=["refused", "dns", "tls"],
)
async def test_network_failures_are_said_in_words_and_keep_the_data(failure, words):
    r, network = rig()
    async with r.app.run_test(size=(160, 40)) as pilot:
        app = r.app
        await app.do_poll(deep=True)
        known = dict(app.store.batches)
        network.fail_with = failure
        r.clock.advance(10)
        await app.do_poll(deep=False)
        await pilot.pause()
        line = crumbs(app)
        assert "STALE" in line and words in line, line
        assert "refreshed 10s ago" in line  # the age of the last good refresh
        assert app.store.batches == known
        if failure is tls_failure:
            assert "never turned off silently" in describe_stale(app)
        network.fail_with = None
        r.clock.advance(5)
        await app.do_poll(deep=False)
        await pilot.pause()
        assert "STALE" not in crumbs(app)


def describe_stale(app) -> str:
    state = app.crumb_state()
    return state.stale or ""


@pytest.mark.parametrize(
    "slow",
    [Faults(latency=60.0), Faults(slow_body=30.0, slow_body_chunk=16)],
    ids=["late-answer", "slowloris-body"],
)
async def test_one_slow_provider_times_out_while_the_others_refresh(slow):
    r, _ = rig(read_timeout=10.0)
    # Gemini answers after 60 s of (simulated) time, or trickles its body 16 bytes every 30 s:
    # either way longer than the client's read timeout.
    r.world.provider("gemini").faults = slow
    async with r.app.run_test(size=(120, 40)) as pilot:
        app = r.app
        await app.do_poll(deep=True)
        await pilot.pause()
        status = app.store.providers
        assert status["gemini"].listing is ListingStatus.ERROR
        error = status["gemini"].error
        assert error is not None and error.kind == "timed out"
        assert all(
            status[p].listing in (ListingStatus.COMPLETE, ListingStatus.PARTIAL)
            for p in ("openai", "anthropic", "azure")
        )
        # Something changes on a fast provider: the next refresh shows it at once.
        target = first_with(app, lambda b: b.provider == "openai" and b.cancellable)
        sim = r.world.get("openai", target.id)
        assert sim is not None
        r.world.cancel(sim)
        r.clock.advance(5)
        await app.do_poll(deep=False)
        await pilot.pause()
        assert app.store.batches[target.key].state is State.CANCELING
        # The slow one is named, not hidden, and the others stay fresh.
        assert "4/5 providers fresh" in crumbs(app) and "stale: gemini (timed out)" in crumbs(app)
        # Gemini gets fast again: it recovers by itself.
        r.world.provider("gemini").faults = None
        r.clock.advance(5)
        await app.do_poll(deep=False)
        await pilot.pause()
        assert app.store.providers["gemini"].listing in (
            ListingStatus.COMPLETE,
            ListingStatus.PARTIAL,
        )
        assert "STALE" not in crumbs(app)


async def test_a_batch_that_ended_between_confirmation_and_request_shows_the_conflict():
    r, _ = rig()
    async with r.app.run_test(size=(120, 40)) as pilot:
        app = r.app
        await app.do_poll(deep=True)
        target = first_with(app, lambda b: b.provider == "openai" and b.cancellable)
        main_screen(app).query_one(BatchTable).move_cursor_to_key(target.key)
        await pilot.press("c")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        # Meanwhile, someone else cancels it and it ends on the gateway.
        sim = r.world.get("openai", target.id)
        assert sim is not None
        r.world.cancel(sim)
        r.clock.advance(r.world.cancel_delay + 5)
        await pilot.press("y")
        await app.workers.wait_for_complete()
        await pilot.pause()
        message = flash_text(app)
        assert "cancel refused" in message and "conflict" in message
        assert "Cannot cancel a batch with status 'cancelled'" in message
        assert "(CANCELED)" in message  # the real state, re-read after the refusal
        assert app.store.batches[target.key].state is State.ENDED_CANCELED
        assert "accepted" not in message


async def test_cancelling_the_same_batch_twice_sends_one_request():
    r, _ = rig()
    async with r.app.run_test(size=(120, 40)) as pilot:
        app = r.app
        await app.do_poll(deep=True)
        target = first_with(app, lambda b: b.provider == "anthropic" and b.cancellable)
        main_screen(app).query_one(BatchTable).move_cursor_to_key(target.key)
        # While the first is in flight, a second one is refused locally.
        app.in_flight.add(target.key)
        app.request_cancel(target.key)
        assert "already in flight" in flash_text(app)
        assert not isinstance(app.screen, ConfirmScreen)
        app.in_flight.discard(target.key)
        await pilot.press("c", "y")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.store.batches[target.key].state is State.CANCELING
        await pilot.press("c")  # the second time: the batch is canceling, nothing to confirm
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)
        assert "not cancellable" in flash_text(app) and "CANCELING" in flash_text(app)
        assert len(cancel_requests(r.world)) == 1


async def test_resize_to_40x10_and_back_keeps_working_and_keeps_saying_stale():
    r, _ = rig()
    async with r.app.run_test(size=(120, 40)) as pilot:
        app = r.app
        await app.do_poll(deep=True)
        table = main_screen(app).query_one(BatchTable)
        target = first_with(app, lambda b: b.provider == "azure")
        table.move_cursor_to_key(target.key)
        r.world.faults.down = True
        r.clock.advance(5)
        await app.do_poll(deep=False)
        await pilot.resize_terminal(40, 10)
        await pilot.pause()
        tiny = screen_text(app)
        assert len(tiny.splitlines()) == 10
        assert "STALE" in tiny.splitlines()[0]  # the first thing on a tiny screen is the truth
        await pilot.press("down", "up", "slash", "escape", "question_mark", "escape")
        await pilot.pause()
        assert app.is_running and table.cursor_key == target.key
        # A destructive dialog on a tiny terminal still asks, and still defaults to "no".
        r.world.faults.down = False
        active = first_with(app, lambda b: b.cancellable)
        table.move_cursor_to_key(active.key)
        await pilot.press("c")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        dialog = screen_text(app)
        # Title, provider and both buttons fit on ten rows (the body scrolls).
        assert "Cancel this batch?" in dialog and active.provider in dialog
        assert "No (n)" in dialog and "Yes, cancel it (y)" in dialog
        await pilot.press("enter")  # focus starts on No
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert cancel_requests(r.world) == []
        r.world.faults.down = True
        await pilot.resize_terminal(120, 40)
        await pilot.pause()
        wide = screen_text(app)
        assert "STALE" in wide and main_screen(app).query_one("#providers").region.width > 0
        assert table.cursor_key == active.key  # where the dialog left it


async def test_a_lost_terminal_exits_instead_of_spinning(monkeypatch):
    r, _ = rig()
    async with r.app.run_test(size=(80, 24)) as pilot:
        app = r.app
        monkeypatch.setattr(sys.stdin, "isatty", lambda: True, raising=False)
        app._check_terminal()
        await pilot.pause()
        assert app.is_running  # a live terminal keeps the console
        monkeypatch.setattr(sys.stdin, "isatty", lambda: False, raising=False)
        app._check_terminal()
        await pilot.pause()
    assert app.return_value == 1  # run_console returns it: the process exits 1


async def test_a_closed_stdin_exits_too(monkeypatch):
    r, _ = rig()

    def closed() -> bool:
        raise ValueError("I/O operation on closed file")

    async with r.app.run_test(size=(80, 24)) as pilot:
        monkeypatch.setattr(sys.stdin, "isatty", closed, raising=False)
        r.app._check_terminal()
        await pilot.pause()
    assert r.app.return_value == 1


async def test_export_to_an_unwritable_place_is_said_and_the_console_goes_on(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the data directory should be")
    monkeypatch.setenv("XDG_DATA_HOME", str(blocker))
    r, _ = rig()
    async with r.app.run_test(size=(120, 40)) as pilot:
        app = r.app
        await app.do_poll(deep=True)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "export failed" in flash_text(app)
        await pilot.press("r")
        await app.workers.wait_for_complete()
        assert app.is_running


async def test_a_cancel_while_the_gateway_is_down_says_it_was_not_sent():
    r, _ = rig()
    async with r.app.run_test(size=(120, 40)) as pilot:
        app = r.app
        await app.do_poll(deep=True)
        target = first_with(app, lambda b: b.provider == "azure" and b.cancellable)
        r.world.faults.down = True
        main_screen(app).query_one(BatchTable).move_cursor_to_key(target.key)
        await pilot.press("c", "y")
        await app.workers.wait_for_complete()
        await pilot.pause()
        message = flash_text(app)
        assert "cancel NOT sent" in message and "gateway unreachable" in message
        assert app.store.batches[target.key].state is State.ACTIVE
        assert target.key not in app.in_flight and target.key not in live_session(app).watches
        assert not [rec for rec in r.world.request_log if rec.handled and rec.method == "POST"]


async def test_the_bulk_dialog_on_a_40x10_terminal_keeps_its_buttons_and_typed_word():
    r, _ = rig()
    async with r.app.run_test(size=(40, 10)) as pilot:
        app = r.app
        await app.do_poll(deep=True)
        await pilot.press("a", "C")  # tag every cancellable batch; more than 10: typed word
        await pilot.pause()
        dialog = screen_text(app)
        assert "Cancel the tagged batches?" in dialog and "Type 'staging'" in dialog
        assert "No (esc)" in dialog and "batch(es)" in dialog
        await pilot.press("escape")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert cancel_requests(r.world) == []


def test_narrow_crumbs_put_read_only_and_stale_first_and_wide_ones_keep_their_order():
    state = CrumbState(
        profile="prod-eu",
        url="https://gw.example.com/bifrost",
        health="unreachable",
        read_only=True,
        stale="gateway unreachable: cannot connect to gw.example.com",
        refreshed="35s ago",
    )
    wide = render_crumbs(state, 200).plain
    assert wide.startswith("prod-eu https://gw.example.com/bifrost  health unreachable")
    assert wide == render_crumbs(state).plain  # no width: the usual order
    narrow = render_crumbs(state, 40).plain
    assert narrow.startswith(" RO    STALE  gateway unreachable")
    calm = CrumbState(profile="prod-eu", url="https://gw.example.com/bifrost", health="ok")
    assert render_crumbs(calm, 40).plain == "prod-eu  health ok  refreshed never"  # URL cut first
