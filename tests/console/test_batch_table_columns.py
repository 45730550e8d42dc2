"""BatchTable: hostile ids shown literally, and the columns that fit each width."""

from __future__ import annotations

import pytest
from textual.geometry import Region

from bifrost_tui.clock import ManualClock
from bifrost_tui.core.sorting import SortKey
from bifrost_tui.core.store import BatchStore
from bifrost_tui.ui.widgets.batch_table.cells import ID_CAP
from bifrost_tui.ui.widgets.batch_table.layout import ContentWidths, plan_layout
from tests.console.table_rig import (
    TableApp,
    make_batch,
    make_store,
    screen_lines,
    table_of,
    width_of,
)

# ---- hostile strings ----------------------------------------------------------------------------


HOSTILE_IDS = [
    "[bold]x[/]",
    "[@click=app.quit]boom[/]",
    "\x1b[31mred\x1b[0m",
    "abc\u202edef",
    "[/]",
    "line\nbreak",
]


async def test_markup_and_escape_laden_ids_render_literally(clock: ManualClock) -> None:
    store = BatchStore()
    store.load(
        make_batch(i, batch_id=bid, status="[red]ended\x1b[2J") for i, bid in enumerate(HOSTILE_IDS)
    )
    app = TableApp(store, clock)
    async with app.run_test(size=(160, 12)) as pilot:
        table = table_of(app)
        await pilot.pause()
        strips = table.render_lines(Region(0, 0, table.size.width, table.size.height))
        text = "\n".join(strip.text for strip in strips)
        assert "[bold]x[/]" in text
        assert "[@click=app.quit]boom[/]" in text
        assert "\\x1b[31mred\\x1b[0m" in text
        assert "abc\\u202edef" in text
        assert "line\\x0abreak" in text
        assert "[red]ended\\x1b[2J" in text  # the raw status too
        for strip in strips:
            for segment in strip:
                assert "\x1b" not in segment.text
                assert "\u202e" not in segment.text
                assert "\n" not in segment.text
                # Not parsed as markup: no click actions, no links smuggled into styles.
                assert not (segment.style and segment.style.meta)
        assert app.is_running


async def test_a_10000_character_id_is_capped(clock: ManualClock) -> None:
    long_id = "x" * 10_000
    store = BatchStore()
    store.load([make_batch(0, batch_id=long_id), make_batch(1, batch_id="\x1b" * 10_000)])
    app = TableApp(store, clock)
    async with app.run_test(size=(200, 10)) as pilot:
        table = table_of(app)
        await pilot.pause()
        lines = screen_lines(table)
        assert all(len(line) == table.size.width for line in lines)
        cells = {line.split(" ")[2] for line in lines[1:3]}
        assert "x" * (ID_CAP - 1) + "…" in cells
        assert any(cell.startswith("\\x1b\\x1b") and cell.endswith("…") for cell in cells)


# ---- columns and header -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("width", "present", "absent"),
    [
        (160, ["REQUESTS", "PROGRESS", "AGE", "EXPIRES/ENDED"], []),
        (85, ["REQUESTS", "AGE", "EXPIRES/ENDED"], ["PROGRESS"]),
        (60, ["REQ", "AGE"], ["PROGRESS", "EXPIRES", "ENDS"]),
    ],
)
async def test_narrow_widths_drop_columns(
    width: int, present: list[str], absent: list[str], clock: ManualClock
) -> None:
    store = make_store(5)
    store.set_view(sort_key=SortKey.STATUS, sort_reverse=False)
    app = TableApp(store, clock)
    async with app.run_test(size=(width, 10)) as pilot:
        table = table_of(app)
        await pilot.pause()
        header = screen_lines(table)[0]
        assert "STATUS ▲" in header
        for label in present:
            assert label in header
        for label in absent:
            assert label not in header
        row = screen_lines(table)[2]  # created 1m 30s ago
        assert "ACTIVE" in row and " 1m " in row
        assert "1 err" in row  # the counts are never cut off
        assert ("5 proc 3 ok 1 err" in row) == (width >= 85)


async def test_resizing_narrower_drops_columns_and_keeps_the_sorted_one(clock: ManualClock) -> None:
    store = make_store(5)
    store.set_view(sort_key=SortKey.EXPIRES, sort_reverse=True)
    app = TableApp(store, clock)
    async with app.run_test(size=(160, 10)) as pilot:
        table = table_of(app)
        await pilot.pause()
        assert "EXPIRES/ENDED ▼" in screen_lines(table)[0]
        await pilot.resize_terminal(60, 10)
        await pilot.pause()
        header = screen_lines(table)[0]
        assert "PROGRESS" not in header
        # The sorted column stays on screen, with its arrow, where unsorted ones would go.
        assert "ENDS ▼" in header or "EXPIRES/ENDED ▼" in header
        assert "in 23h" in screen_lines(table)[1]


def test_layout_keeps_the_id_whole_at_wide_widths_and_cuts_it_when_narrow() -> None:
    content = ContentWidths(id=38, provider=9, status=17, requests=22)
    for width in (79, 89, 100, 120, 160, 200):
        layout = plan_layout(width, content, "age", True)
        assert width_of(layout, "id") == 38
        assert sum(layout.widths) + len(layout.columns) - 1 <= width
    narrow = plan_layout(60, content, "age", True)
    assert 18 <= width_of(narrow, "id") < 38
    assert narrow.has("requests")
    assert sum(narrow.widths) + len(narrow.columns) - 1 <= 60


async def test_narrow_ids_are_cut_in_the_middle(clock: ManualClock) -> None:
    store = BatchStore()
    store.load([make_batch(0, batch_id="msgbatch_013Zva2CMHLNnXjNJJKqJ2EF")])
    app = TableApp(store, clock)
    async with app.run_test(size=(60, 6)) as pilot:
        await pilot.pause()
        row = screen_lines(table_of(app))[1]
        assert "msgbatch_013Zva2CMHLNnXjNJJKqJ2EF" not in row
        cell = row.split()[0]
        assert cell.startswith("msgbatch_013") and cell.endswith("…J2EF")
