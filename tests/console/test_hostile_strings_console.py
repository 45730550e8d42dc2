"""The console with a listing whose id holds a lone surrogate (and one with a zero-width space):
every screen paints them as visible escapes, cancelling that row says why it cannot be sent (and
sends nothing), a bulk cancel sends the rest, ``ctrl+s`` saves the export, and the audit screen
reads the line back."""

from __future__ import annotations

import csv
import json

from bifrost_tui.config import paths
from bifrost_tui.core.bulk import ItemOutcome
from bifrost_tui.ui.screens.audit import AuditScreen
from bifrost_tui.ui.screens.confirm import ConfirmScreen
from bifrost_tui.ui.screens.detail import DetailScreen
from bifrost_tui.ui.widgets.batch_table.table import BatchTable
from bifrost_tui.ui.widgets.flash import FlashBar
from tests.cli.test_hostile_strings import (
    CANNOT_SEND,
    SHOWN_SURROGATE,
    SHOWN_ZERO_WIDTH,
    SURROGATE_ID,
    ZERO_WIDTH_ID,
    invisible_in,
    listing_only,
    serve_hostile_listing,
)
from tests.support.reliability import rig, screen_segments_text
from tests.support.ui_fixtures import cancel_requests, main_screen

BAD = ("anthropic", SURROGATE_ID)
ZW = ("anthropic", ZERO_WIDTH_ID)


def painted(app, where: str) -> str:
    """What the terminal would receive: no raw invisible or unencodable character, ever."""
    text = screen_segments_text(app)
    assert not invisible_in(text), (where, invisible_in(text))
    text.encode("utf-8")
    assert app.is_running, where
    return text


def flash(app) -> str:
    return main_screen(app).query_one("#flash", FlashBar).message


async def test_a_surrogate_id_is_shown_refused_in_words_exported_and_audited():
    r, _ = rig()
    serve_hostile_listing(r.world, times=1000)
    listing_only(r.world)
    async with r.app.run_test(size=(200, 50)) as pilot:
        app = r.app
        await app.do_poll(deep=True)
        await pilot.pause()
        assert BAD in app.store.batches and ZW in app.store.batches
        shown = painted(app, "main screen")
        assert SHOWN_SURROGATE in shown and SHOWN_ZERO_WIDTH in shown

        table = main_screen(app).query_one(BatchTable)
        table.move_cursor_to_key(BAD)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, DetailScreen)
        assert SHOWN_SURROGATE in painted(app, "detail")
        await pilot.press("escape")
        await pilot.pause()

        # Cancelling that row: confirmed, then refused before sending, in words.
        r.world.clear_request_log()
        table.move_cursor_to_key(BAD)
        await pilot.press("c")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        assert SHOWN_SURROGATE in painted(app, "confirm")
        await pilot.press("y")
        await app.workers.wait_for_complete()
        await pilot.pause()
        said = flash(app)
        assert "cancel NOT sent" in said and CANNOT_SEND in said, said
        assert "the batch id is empty" not in said
        assert cancel_requests(r.world) == []
        painted(app, "after the refused cancel")

        # ctrl+s: the export is saved; JSON keeps the exact id, CSV and the screenshot escape it.
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "saved" in flash(app), flash(app)
        (folder,) = list(paths.export_dir().iterdir())
        data = json.loads((folder / "batches.json").read_text(encoding="ascii"))
        assert {SURROGATE_ID, ZERO_WIDTH_ID} <= {b["id"] for b in data["batches"]}
        with (folder / "batches.csv").open(newline="", encoding="utf-8") as fh:
            ids = {row["id"] for row in csv.DictReader(fh)}
        assert {SHOWN_SURROGATE, SHOWN_ZERO_WIDTH} <= ids
        assert SHOWN_SURROGATE in (folder / "screenshot.svg").read_text(encoding="utf-8")

        # The audit screen reads back the not_sent line (the surrogate is a JSON escape there).
        await pilot.press("A")
        await pilot.pause()
        assert isinstance(app.screen, AuditScreen)
        shown = painted(app, "audit screen")
        assert SHOWN_SURROGATE in shown and "not_sent" in shown
        await pilot.press("escape")
        await pilot.pause()


async def test_a_bulk_cancel_sends_the_rest_and_gives_the_surrogate_id_not_sent():
    r, _ = rig()
    serve_hostile_listing(r.world, times=1000)
    listing_only(r.world)
    async with r.app.run_test(size=(200, 50)) as pilot:
        app = r.app
        await app.do_poll(deep=True)
        await pilot.pause()
        r.world.clear_request_log()
        summary = await app.do_bulk_cancel([BAD, ZW])
        await pilot.pause()
        outcomes = {item.key: item for item in summary.items}
        assert outcomes[ZW].outcome == ItemOutcome.ACCEPTED
        assert outcomes[BAD].outcome == ItemOutcome.NOT_SENT  # it never left: not "unknown"
        assert CANNOT_SEND in (outcomes[BAD].message or "")
        assert len(cancel_requests(r.world)) == 1
        shown = painted(app, "bulk summary")
        assert SHOWN_SURROGATE in shown
