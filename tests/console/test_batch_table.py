"""BatchTable: virtual rows, stable cursor, keys, minimal repaints, tags and styles."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from rich.style import Style
from textual.strip import Strip

from bifrost_tui.clock import ManualClock
from bifrost_tui.core.sorting import SortKey
from bifrost_tui.core.store import BatchStore, Diff
from bifrost_tui.gateway.counts import RequestCounts
from bifrost_tui.ui.widgets.batch_table.table import BatchTable
from tests.console.table_rig import (
    RefreshSpy,
    TableApp,
    line_of_key,
    make_batch,
    make_store,
    newest_first,
    screen_lines,
    table_of,
)
from tests.support.clocks import T0

# ---- virtual rendering ------------------------------------------------------------------------


async def test_50000_rows_render_only_the_visible_lines(clock: ManualClock) -> None:
    store = make_store(50_000)
    app = TableApp(store, clock)
    calls: list[int] = []
    async with app.run_test(size=(120, 30)) as pilot:
        table = table_of(app)
        original = table.render_line

        def counting(y: int) -> Strip:
            calls.append(y)
            return original(y)

        # A counter in place of the instance's method: mypy forbids assigning to a method.
        table.render_line = counting  # type: ignore[method-assign]
        table.refresh()
        await pilot.pause()
        first_paint = len(calls)
        assert 0 < first_paint <= 30  # one call per screen line, not per row
        assert max(calls) < 30
        await pilot.press("end")
        await pilot.pause()
        assert table.cursor_row == 49_999
        assert table.cursor_key == store.view()[-1]
        # Jumping to the end paints one screen, not 50,000 rows.
        assert len(calls) - first_paint <= 30
        assert screen_lines(table)[-1].strip().startswith(store.view()[-1][1])


async def test_first_row_and_header_are_painted(clock: ManualClock) -> None:
    store = make_store(3)
    app = TableApp(store, clock)
    async with app.run_test(size=(160, 10)) as pilot:
        await pilot.pause()
        lines = screen_lines(table_of(app))
        header = lines[0]
        for label in ("ID", "PROVIDER", "STATUS", "REQUESTS", "PROGRESS", "AGE ▲"):
            assert label in header
        assert "EXPIRES/ENDED" in header
        first = lines[1]
        assert "msgbatch_00000000" in first
        assert " ACTIVE " in first and "in_progress" not in first
        assert "5 proc 3 ok 1 err" in first
        assert " 0m " in first  # created 30 s before the clock
        assert "in 23h" in first
        assert "░" in first and "44%" in first  # 4 of 9 requests done
        assert lines[4].strip() == ""  # three rows, then blank lines


# ---- cursor stability ---------------------------------------------------------------------------


async def test_cursor_keeps_its_batch_when_rows_are_added_above(clock: ManualClock) -> None:
    store = make_store(200)
    app = TableApp(store, clock)
    async with app.run_test(size=(120, 20)) as pilot:
        table = table_of(app)
        await pilot.pause()
        table.move_cursor(60)
        await pilot.pause()
        key = table.cursor_key
        assert key is not None
        screen_line = line_of_key(table, key)
        diff = Diff()
        for j in range(3):  # newer batches sort above (created desc)
            newer = replace(make_batch(1000 + j), created_at=T0 + timedelta(minutes=j + 1))
            diff = diff | store.apply_batch(newer)
        table.refresh_view(diff)
        await pilot.pause()
        assert table.cursor_key == key
        assert table.cursor_row == 63
        # The highlighted row stays on the same screen line while rows arrive above it.
        assert line_of_key(table, key) == screen_line
        assert app.moved[-1] == key  # no spurious CursorMoved to another batch


async def test_cursor_keeps_its_batch_through_sorting_and_filtering(clock: ManualClock) -> None:
    store = make_store(50)
    app = TableApp(store, clock)
    async with app.run_test(size=(120, 20)) as pilot:
        table = table_of(app)
        await pilot.pause()
        table.move_cursor(7)
        key = table.cursor_key
        assert key == ("anthropic", "msgbatch_00000007")

        store.set_view(sort_key=SortKey.CREATED, sort_reverse=False)
        table.refresh_view()
        assert table.cursor_key == key
        assert table.cursor_row == 42

        store.set_view(sort_key=SortKey.ID, sort_reverse=True)
        table.refresh_view()
        assert table.cursor_key == key
        assert table.cursor_row == store.view().index(key)
        assert "ID ▼" in table.render_line(0).text

        store.set_view(text="msgbatch_0000000")  # ids 0..9 stay, 7 among them
        table.refresh_view()
        assert table.cursor_key == key
        assert store.view()[table.cursor_row] == key
        await pilot.pause()
        cursor_line = line_of_key(table, key)
        assert "msgbatch_00000007" in screen_lines(table)[cursor_line]


async def test_cursor_clamps_when_its_batch_leaves_the_view(clock: ManualClock) -> None:
    store = make_store(10)
    app = TableApp(store, clock)
    async with app.run_test(size=(120, 20)) as pilot:
        table = table_of(app)
        await pilot.pause()
        table.move_cursor(8)
        await pilot.pause()
        store.set_view(text="msgbatch_0000000[0-4]")  # matches nothing
        table.refresh_view()
        assert table.cursor_key is None
        assert table.cursor_row == 0
        store.set_view(text="msgbatch_0000000")
        table.refresh_view()
        # Back to 10 rows: the cursor is on a real row again and says so.
        assert table.cursor_key == store.view()[0]
        await pilot.pause()
        assert app.moved[-2:] == [None, store.view()[0]]

        table.move_cursor(9)
        store.set_view(text="msgbatch_0000000", hide_ended=True)
        store.apply_batch(replace(make_batch(0), processing_status="ended"))  # the last row ends
        table.refresh_view()
        assert table.cursor_row == 8  # clamped to the nearest index
        assert table.cursor_key == store.view()[8]


# ---- keys and messages ------------------------------------------------------------------------


async def test_keys_move_the_cursor_and_post_messages(clock: ManualClock) -> None:
    store = make_store(100)
    app = TableApp(store, clock)
    async with app.run_test(size=(120, 20)) as pilot:
        table = table_of(app)
        table.focus()
        await pilot.pause()
        view = store.view()
        assert app.moved == [view[0]]  # the first row under the cursor is announced on mount

        await pilot.press("down")
        assert table.cursor_row == 1
        await pilot.pause()
        assert app.moved[-1] == view[1]

        body = table.size.height - 1
        await pilot.press("pagedown")
        await pilot.pause()
        assert table.cursor_row == 1 + body
        assert app.moved[-1] == view[1 + body]

        await pilot.press("end")
        await pilot.pause()
        assert table.cursor_row == 99
        assert app.moved[-1] == view[99]
        assert table.scroll_offset.y == 100 + 1 - table.size.height  # last row on the last line

        await pilot.press("pageup")
        await pilot.pause()
        assert table.cursor_row == 99 - body

        await pilot.press("home", "up")
        await pilot.pause()
        assert table.cursor_row == 0
        assert table.scroll_offset.y == 0
        assert app.moved[-1] == view[0]

        await pilot.press("down", "down", "enter")
        await pilot.pause()
        assert app.selected == [view[2]]


async def test_click_moves_the_cursor_and_a_second_click_selects(clock: ManualClock) -> None:
    store = make_store(30)
    app = TableApp(store, clock)
    async with app.run_test(size=(120, 20)) as pilot:
        table = table_of(app)
        await pilot.pause()
        await pilot.click(BatchTable, offset=(5, 4))  # line 4 = the fourth row
        await pilot.pause()
        assert table.cursor_row == 3
        assert app.selected == []
        await pilot.click(BatchTable, offset=(5, 4))
        await pilot.pause()
        assert app.selected == [store.view()[3]]
        await pilot.click(BatchTable, offset=(5, 0))  # the header does nothing
        await pilot.pause()
        assert table.cursor_row == 3


async def test_move_cursor_to_key(clock: ManualClock) -> None:
    store = make_store(500)
    app = TableApp(store, clock)
    async with app.run_test(size=(120, 20)) as pilot:
        table = table_of(app)
        await pilot.pause()
        assert table.move_cursor_to_key(("anthropic", "msgbatch_00000321"))
        await pilot.pause()
        assert table.cursor_row == 321
        assert app.moved[-1] == ("anthropic", "msgbatch_00000321")
        assert 1 <= line_of_key(table, ("anthropic", "msgbatch_00000321")) < table.size.height
        assert not table.move_cursor_to_key(("anthropic", "nope"))
        assert table.cursor_row == 321


# ---- minimal repaints ---------------------------------------------------------------------------


async def test_unchanged_refresh_repaints_nothing_and_a_change_repaints_one_line(
    clock: ManualClock,
) -> None:
    store = make_store(100)
    app = TableApp(store, clock)
    async with app.run_test(size=(120, 20)) as pilot:
        table = table_of(app)
        await pilot.pause()
        spy = RefreshSpy(table)

        table.refresh_view(Diff())
        assert spy.calls == []
        await pilot.pause()
        assert spy.calls == []

        key = store.view()[4]
        diff = store.apply_batch(replace(store.batches[key], request_counts=RequestCounts(
            processing=2, succeeded=6, errored=1, canceled=0, expired=0
        )))  # fmt: skip
        assert diff.changed == {key}
        table.refresh_view(diff)
        assert len(spy.calls) == 1
        (region,) = spy.calls[0]
        assert region.y == line_of_key(table, key) == 5
        assert region.height == 1
        await pilot.pause()
        assert "2 proc 6 ok 1 err" in screen_lines(table)[5]

        # A change to a row that is off screen repaints nothing.
        spy.calls.clear()
        far = store.view()[90]
        diff = store.apply_batch(replace(store.batches[far], request_counts=RequestCounts(
            processing=1, succeeded=7, errored=1, canceled=0, expired=0
        )))  # fmt: skip
        table.refresh_view(diff)
        assert spy.calls == []

        # A change that widens a column repaints everything (every row's cells move).
        diff = store.apply_batch(replace(store.batches[key], processing_status="canceling"))
        table.refresh_view(diff)
        assert spy.calls == [()]
        await pilot.pause()
        assert " CANCELING " in screen_lines(table)[5]


async def test_rows_added_or_reordered_repaint_everything(clock: ManualClock) -> None:
    store = make_store(20)
    app = TableApp(store, clock)
    async with app.run_test(size=(120, 20)) as pilot:
        table = table_of(app)
        await pilot.pause()
        spy = RefreshSpy(table)
        diff = store.apply_batch(make_batch(99, created_minutes_ago=-5))
        table.refresh_view(diff)
        assert () in spy.calls  # a full refresh
        await pilot.pause()
        # At the top of the table, new batches show up above the cursor's batch.
        assert "msgbatch_00000099" in screen_lines(table)[1]
        assert table.cursor_key == store.view()[1]
        assert table.scroll_offset.y == 0


async def test_tick_minute_repaints_only_rows_whose_time_changed(clock: ManualClock) -> None:
    store = newest_first(BatchStore())
    timed = make_batch(0)
    untimed = replace(make_batch(1), created_at=None, expires_at=None)
    store.load([timed, untimed])
    app = TableApp(store, clock)
    async with app.run_test(size=(160, 10)) as pilot:
        table = table_of(app)
        await pilot.pause()
        spy = RefreshSpy(table)
        table.tick_minute()
        assert spy.calls == []  # same minute: nothing to repaint
        clock.advance(60)
        table.tick_minute()
        assert [r.y for (r,) in spy.calls] == [line_of_key(table, timed.key)]
        await pilot.pause()
        assert " 1m " in screen_lines(table)[line_of_key(table, timed.key)]


# ---- tags and styles ----------------------------------------------------------------------------


async def test_tagged_rows_show_a_star(clock: ManualClock) -> None:
    store = make_store(5)
    app = TableApp(store, clock)
    async with app.run_test(size=(120, 10)) as pilot:
        table = table_of(app)
        await pilot.pause()
        spy = RefreshSpy(table)
        key = store.view()[2]
        assert table.toggle_tag(key) is True
        assert table.tags == {key}
        assert [r.y for (r,) in spy.calls] == [3]  # only the tagged line repaints
        await pilot.pause()
        lines = screen_lines(table)
        assert lines[3].startswith("*")
        assert [line[0] for line in lines[1:6]] == [" ", " ", "*", " ", " "]
        tagged_style = table.render_line(3)._segments[0].style
        assert tagged_style is not None and tagged_style.bold


def segment_style_at(strip: Strip, text: str) -> Style:
    for segment in strip:
        if text in segment.text:
            assert segment.style is not None
            return segment.style
    raise AssertionError(f"{text!r} not in {strip.text!r}")


def style_of(strip: Strip, index: int) -> Style:
    """The style of the strip's ``index``-th segment (every segment of a table line has one)."""
    style = strip._segments[index].style
    assert style is not None
    return style


async def test_cursor_and_states_are_styled(clock: ManualClock) -> None:
    store = newest_first(BatchStore())
    store.load(
        [
            make_batch(0, status="in_progress"),
            make_batch(1, status="failed"),
            make_batch(2, status="canceling"),
        ]
    )
    app = TableApp(store, clock)
    async with app.run_test(size=(120, 10)) as pilot:
        table = table_of(app)
        table.focus()
        await pilot.pause()
        cursor_line, plain_line = table.render_line(1), table.render_line(2)
        assert style_of(cursor_line, 0).bgcolor != style_of(plain_line, 0).bgcolor
        # The cursor spans the whole width.
        assert style_of(cursor_line, -1).bgcolor == style_of(cursor_line, 0).bgcolor
        failed = segment_style_at(table.render_line(2), "FAILED")
        canceling = segment_style_at(table.render_line(3), "CANCELING")
        assert failed.color != canceling.color
        assert failed.color != style_of(plain_line, 0).color

        focused_cursor = style_of(table.render_line(1), 0).bgcolor
        app.set_focus(None)
        await pilot.pause()
        blurred_cursor = style_of(table.render_line(1), 0).bgcolor
        base = style_of(table.render_line(2), 0).bgcolor
        # Still highlighted when the table is not focused, but differently.
        assert blurred_cursor != focused_cursor
        assert blurred_cursor != base


async def test_empty_store_then_data(clock: ManualClock) -> None:
    store = newest_first(BatchStore())
    app = TableApp(store, clock)
    async with app.run_test(size=(120, 10)) as pilot:
        table = table_of(app)
        await pilot.pause()
        assert table.cursor_key is None
        await pilot.press("down", "end", "enter")
        assert app.selected == []
        assert "ID" in screen_lines(table)[0]
        store.load(make_batch(i) for i in range(3))
        table.refresh_view()
        await pilot.pause()
        assert table.cursor_key == store.view()[0]
        assert app.moved[-1] == store.view()[0]
        assert "msgbatch_00000000" in screen_lines(table)[1]
