"""The console against a gateway whose clock is 19 minutes ahead: a batch created a moment ago
reads "just now" in the table, the confirmation and the detail screen (with the gateway's UTC
time), never "in 19m"; the live session knows the skew."""

from __future__ import annotations

from datetime import timedelta

from textual.geometry import Region

from bifrost_tui.ui.screens.confirm import ConfirmScreen
from bifrost_tui.ui.screens.detail import DetailScreen
from bifrost_tui.ui.widgets.batch_table.table import BatchTable
from tests.support.ui_fixtures import live_session, main_screen, make_rig

SKEW = timedelta(minutes=19)
FRESH = ("anthropic", "msgbatch_fresh")


def painted(table: BatchTable) -> list[str]:
    strips = table.render_lines(Region(0, 0, table.size.width, table.size.height))
    return [strip.text for strip in strips]


async def test_a_batch_created_on_a_skewed_gateway_reads_just_now_everywhere():
    rig = make_rig(clock_skew=SKEW)
    rig.world.create_batch("anthropic", total=10, id=FRESH[1])
    # Wide enough for the CREATED column beside the provider list and the long azure ids.
    async with rig.app.run_test(size=(200, 40)) as pilot:
        await rig.app.do_poll(deep=True)
        await pilot.pause()
        app = rig.app
        assert live_session(app).clock_skew == SKEW
        # The gateway is 19m ahead: our clock is 19m behind, said once in the crumb.
        assert app.crumb_state().clock == "clock −19m"
        table = main_screen(app).query_one(BatchTable)
        table.move_cursor_to_key(FRESH)
        await pilot.pause()
        (line,) = [x for x in painted(table) if FRESH[1] in x]
        assert " 0m " in line and "in 19m" not in line  # its AGE: created just now

        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, DetailScreen)
        text = str(app.screen.query_one("#detail").render())
        (created,) = [x for x in text.splitlines() if x.strip().startswith("created_at")]
        assert "2026-11-28 12:19:00 UTC" in created  # the gateway's own time, as it sent it
        assert "just now (the gateway's time, 19m ahead of this machine's clock)" in created
        assert "in 19m" not in created

        await pilot.press("escape", "c")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        shown = str(app.screen.query_one("#confirm-body").render())
        assert "just now" in shown and "in 19m" not in shown
