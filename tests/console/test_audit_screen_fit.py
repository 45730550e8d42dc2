"""The audit screen at 120 columns: OUTCOME, HTTP and the reason on screen, ``/`` filters the rows,
``enter`` opens the batch (or says it is not listed now), and a cancel's end, once the watch saw
it, is shown beside the recorded outcome, from the store, never written to the audit file."""

from __future__ import annotations

from textual.widgets import DataTable, Static

from bifrost_tui.audit.hook import AuditTrail
from bifrost_tui.audit.log import AuditLog
from bifrost_tui.core.bulk import ItemResult
from bifrost_tui.gateway.models import State
from bifrost_tui.ui.screens.audit import AuditScreen, fit_widths
from bifrost_tui.ui.screens.detail import DetailScreen
from tests.support.scenes import write_audit_attempts
from tests.support.ui_fixtures import Rig, make_rig


def table_lines(screen: AuditScreen) -> list[str]:
    """What the table paints, line by line (the header first)."""
    table = screen.query_one(DataTable)
    return [table.render_line(y).text for y in range(table.row_count + 1)]


def head(screen: AuditScreen) -> str:
    return str(screen.query_one("#audit-head", Static).render())


async def open_audit(rig: Rig, pilot) -> AuditScreen:
    await pilot.press("A")
    await rig.app.workers.wait_for_complete()
    await pilot.pause()
    screen = rig.app.screen
    assert isinstance(screen, AuditScreen)
    return screen


async def audited(rig: Rig, pilot) -> list:
    """The console's attempts written to its own audit log (the console's default path)."""
    await rig.app.do_poll(deep=True)
    await pilot.pause()
    return await write_audit_attempts(rig.app, AuditLog(clock=rig.clock))


async def test_at_120_columns_outcome_http_and_reason_are_on_screen():
    rig = make_rig()
    async with rig.app.run_test(size=(120, 40)) as pilot:
        batches = await audited(rig, pilot)
        screen = await open_audit(rig, pilot)
        lines = table_lines(screen)
        header = lines[0]
        for column in ("TIME (UTC)", "PROVIDER", "BATCH ID", "OUTCOME", "HTTP", "ERROR / REASON"):
            assert column in header, f"{column} is off screen: {header!r}"
        rows = lines[1:]
        assert len(rows) == 6
        accepted = [r for r in rows if "accepted" in r]
        assert len(accepted) == 4 and all(" 200 " in r for r in accepted)
        refused = next(r for r in rows if "refused" in r)
        assert " 409 " in refused and "conflict" in refused  # the gateway's words begin
        unsent = next(r for r in rows if "not_sent" in r)
        assert "interrupted" in unsent
        assert any(r.startswith(" 11-28 12:00:00") for r in rows)  # the year gave way first
        # Ids cut in the middle keep their start and end; a Bedrock ARN shows its job id.
        anthropic = batches[0].id
        assert any(anthropic[:8] in r and anthropic[-4:] in r for r in rows)
        bedrock = batches[3].id
        assert any(bedrock.rpartition("/")[2] in r for r in rows)


def test_wide_terminals_show_ids_whole_and_narrow_ones_give_the_id_way_first():
    cells = {
        "TIME (UTC)": "2026-11-28 12:00:00",
        "PROVIDER": "azure",
        "BATCH ID": "batch_" + "0" * 36,
        "BEFORE → AFTER": "active → canceling",
        "ENDED (SEEN)": "canceled 12:00",
        "OUTCOME": "accepted",
        "HTTP": "200",
        "ERROR / REASON": "x" * 60,
        "USER@HOST": "oncall@ops-1",
        "PROFILE": "staging",
        "SOURCE": "console",
        "REQUEST ID": "—",
    }
    wide = fit_widths([cells], 200)
    assert wide["BATCH ID"] == 42 and wide["TIME (UTC)"] == 19
    narrow = fit_widths([cells], 120)
    assert narrow["TIME (UTC)"] == 14 and 16 <= narrow["BATCH ID"] < 42
    leading = list(cells)[: list(cells).index("ERROR / REASON") + 1]
    assert sum(narrow[n] + 2 for n in leading) + 2 <= 120


async def test_slash_filters_by_text_and_escape_clears_then_goes_back():
    rig = make_rig()
    async with rig.app.run_test(size=(120, 40)) as pilot:
        await audited(rig, pilot)
        screen = await open_audit(rig, pilot)
        table = screen.query_one(DataTable)
        assert table.row_count == 6
        await pilot.press("slash", *"azure")
        await pilot.pause()
        assert table.row_count == 1 and "azure" in table_lines(screen)[1]
        assert "/azure: 1 shown" in head(screen)
        await pilot.press("enter")  # kept; the table has the keys again
        await pilot.pause()
        assert screen.focused is table and table.row_count == 1
        await pilot.press("slash", "backspace", "backspace", "backspace", "backspace")
        await pilot.press("backspace", *"refused")  # by outcome
        await pilot.pause()
        assert table.row_count == 1 and "refused" in table_lines(screen)[1]
        await pilot.press("enter", "escape")  # escape clears a kept filter first
        await pilot.pause()
        assert rig.app.screen is screen and table.row_count == 6
        assert "shown" not in head(screen)
        await pilot.press("slash", *"oncall@nowhere")  # by user: nothing matches
        await pilot.pause()
        assert table.row_count == 0
        await pilot.press("escape")  # while typing: clears
        await pilot.pause()
        assert table.row_count == 6 and rig.app.screen is screen
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(rig.app.screen, AuditScreen)


async def test_enter_opens_the_batch_or_says_it_is_not_listed_now():
    rig = make_rig()
    async with rig.app.run_test(size=(120, 40)) as pilot:
        await audited(rig, pilot)
        trail = AuditTrail(
            rig.app.connection, source="cli", bulk=False, on_failure=print, log=AuditLog()
        )
        gone = ("openai", "batch_gone0000000000000000000000000000")
        trail.outcome(ItemResult(gone, "not_sent", State.ACTIVE, reason="read-only"))
        screen = await open_audit(rig, pilot)
        table = screen.query_one(DataTable)
        assert "batch_gone" in table_lines(screen)[1]  # newest first
        await pilot.press("enter")
        await pilot.pause()
        assert rig.app.screen is screen
        note = str(screen.query_one("#audit-note", Static).render())
        assert "batch_gone0000000000000000000000000000 on openai is not listed now" in note
        table.move_cursor(row=table.row_count - 1)  # the oldest: the anthropic cancel
        await pilot.press("enter")
        await pilot.pause()
        detail = rig.app.screen
        assert isinstance(detail, DetailScreen) and detail.key[0] == "anthropic"
        await pilot.press("escape")
        await pilot.pause()
        assert rig.app.screen is screen


async def test_the_end_the_watch_saw_is_shown_beside_the_outcome_not_written_to_the_log():
    rig = make_rig()
    async with rig.app.run_test(size=(120, 40)) as pilot:
        batches = await audited(rig, pilot)
        log = AuditLog()
        screen = await open_audit(rig, pilot)
        anthropic = next(r for r in table_lines(screen) if "anthropic" in r)
        assert "canceled" not in anthropic  # still canceling: nothing seen yet
        written = log.path.read_bytes()
        rig.clock.advance(rig.world.cancel_delay - 29)  # the first cancel has landed
        await rig.app.do_watch(force=True)  # with the audit screen open
        await pilot.pause()
        assert rig.app.store.batches[batches[0].key].state is State.ENDED_CANCELED
        rows = table_lines(screen)
        assert "ENDED (SEEN)" in rows[0]
        anthropic = next(r for r in rows if "anthropic" in r)
        assert "active → canceling" in anthropic and "canceled 12:00" in anthropic
        assert "accepted" in anthropic  # the recorded outcome stays as it was
        others = [r for r in rows[1:] if "accepted" in r and "anthropic" not in r]
        assert others and not any("canceled 12" in r for r in others)  # not ended yet
        assert log.path.read_bytes() == written  # from the store, not written to the audit
