"""Pilot tests of bulk cancel in the console: tag, tag all, confirm, progress, stop, summary."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from textual.widgets import Button, Checkbox, Input

from bifrost_tui.gateway.models import State
from bifrost_tui.ui.screens.bulk import BulkConfirmScreen, BulkSummaryScreen
from bifrost_tui.ui.widgets.batch_table.table import BatchTable
from tests.support.ui_fixtures import cancel_requests, main_screen, make_rig


async def start(pilot) -> None:
    await pilot.app.do_poll(deep=True)
    await pilot.pause()


def table(app) -> BatchTable:
    return main_screen(app).query_one(BatchTable)


async def test_space_tags_and_a_tags_every_cancellable_match(console):
    async with console.app.run_test(size=(120, 40)) as pilot:
        await start(pilot)
        app = console.app
        first = table(app).cursor_key
        await pilot.press("space")
        assert first in table(app).tags
        await pilot.press("slash", *"gemini", "enter")
        await pilot.press("a")
        await pilot.pause()
        gemini_active = {
            k for k, b in app.store.batches.items() if k[0] == "gemini" and b.cancellable
        }
        assert gemini_active <= table(app).tags
        assert not any(
            not app.store.batches[k].cancellable for k in table(app).tags if k[0] == "gemini"
        )


async def test_small_bulk_cancel_confirms_with_y_and_lands_on_each_row(console):
    async with console.app.run_test(size=(120, 40)) as pilot:
        await start(pilot)
        app = console.app
        keys = [k for k, b in app.store.batches.items() if k[0] == "anthropic" and b.cancellable]
        keys = keys[:3]
        table(app).tags |= set(keys)
        await pilot.press("C")
        await pilot.pause()
        assert isinstance(app.screen, BulkConfirmScreen)
        assert app.screen.focused is not None and app.screen.focused.id == "no"
        await pilot.press("escape")
        await pilot.pause()
        assert cancel_requests(console.world) == []
        await pilot.press("C")
        await pilot.pause()
        await pilot.click("#yes")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, BulkSummaryScreen)
        assert "3 accepted" in str(app.screen.query_one("#summary").render())
        assert len(cancel_requests(console.world)) == 3
        for key in keys:
            assert app.store.batches[key].state is State.CANCELING
        assert not table(app).tags & set(keys)  # sent ones are untagged


async def test_large_bulk_needs_the_profile_name_typed():
    rig = make_rig(profile="prod-eu")
    async with rig.app.run_test(size=(120, 40)) as pilot:
        await start(pilot)
        app = rig.app
        keys = {k for k, b in app.store.batches.items() if b.cancellable}
        assert len(keys) > 10
        table(app).tags |= keys
        await pilot.press("C")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, BulkConfirmScreen)
        yes = screen.query_one("#yes", Button)
        assert yes.disabled
        screen.query_one("#typed", Input).value = "prod"
        await pilot.pause()
        assert yes.disabled
        screen.query_one("#typed", Input).value = "prod-eu"
        await pilot.pause()
        assert not yes.disabled
        await pilot.press("escape")
        await pilot.pause()
        assert cancel_requests(rig.world) == []


async def test_partial_listing_must_be_acknowledged(console):
    async with console.app.run_test(size=(120, 40)) as pilot:
        await start(pilot)
        app = console.app
        status = app.store.providers["openai"]
        from bifrost_tui.gateway.outcomes import ListingStatus

        status.listing = ListingStatus.PARTIAL
        status.missing = "at most 100 batches shown"
        keys = [k for k, b in app.store.batches.items() if b.cancellable][:2]
        table(app).tags |= set(keys)
        await pilot.press("C")
        await pilot.pause()
        screen = app.screen
        assert "at most 100 batches shown" in str(screen.query_one("#bulk-body Static").render())
        assert screen.query_one("#yes", Button).disabled
        screen.query_one("#ack", Checkbox).value = True
        await pilot.pause()
        assert not screen.query_one("#yes", Button).disabled


async def test_bulk_can_be_stopped_and_nothing_is_lost():
    gate = asyncio.Event()

    async def slow(_seconds: float) -> None:
        await gate.wait()

    rig = make_rig(sleep=slow)
    async with rig.app.run_test(size=(120, 40)) as pilot:
        gate.set()
        await start(pilot)
        gate.clear()
        app = rig.app
        rig.world.faults.latency = 1.0  # every request now waits for the gate
        keys = [k for k, b in app.store.batches.items() if b.cancellable][:12]
        rig.app.connection.settings = replace(rig.app.connection.settings, bulk_concurrency=2)
        worker = app.run_bulk_worker(keys)
        await pilot.pause()
        assert app.bulk_running
        await pilot.press("escape")  # stop: no new sends; the two in flight finish
        gate.set()
        await worker.wait()
        await pilot.pause()
        assert isinstance(app.screen, BulkSummaryScreen)
        summary = app.screen.summary
        assert summary.interrupted
        assert summary.done == len(keys)  # every batch has an outcome
        sent = summary.counts["accepted"] + summary.counts["unknown"] + summary.counts["refused"]
        assert sent == len(cancel_requests(rig.world)) <= 4
        assert summary.counts["not_sent"] >= len(keys) - 4
        assert not app.in_flight


async def test_read_only_blocks_tagging_and_bulk():
    rig = make_rig(read_only=True)
    async with rig.app.run_test(size=(120, 40)) as pilot:
        await start(pilot)
        app = rig.app
        await pilot.press("space", "a", "C")
        await pilot.pause()
        assert not table(app).tags
        app.request_bulk_cancel([k for k, b in app.store.batches.items() if b.cancellable])
        await pilot.pause()
        assert not isinstance(app.screen, BulkConfirmScreen)
        assert cancel_requests(rig.world) == []
