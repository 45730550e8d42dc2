"""BatchTable: a virtual, line-API table of the store's view that paints only the rows on screen.

Modelled on toolong's ``LogLines``: a ``ScrollView`` whose ``render_line(y)`` builds one ``Strip``
on demand, so 50,000 batches cost no more to show than 50. Nothing here walks the whole view per
render or per key press; the only O(n) work (column widths, finding the cursor's key again) happens
once per change of the store's view, which already costs the store a sort.
"""

from __future__ import annotations

from dataclasses import replace
from typing import ClassVar

from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from bifrost_tui.clock import Clock
from bifrost_tui.core.freshness import stale_providers
from bifrost_tui.core.store import BatchStore, Diff, Key
from bifrost_tui.ui.widgets.batch_table.cells import PROVIDER_CAP, text_width
from bifrost_tui.ui.widgets.batch_table.layout import (
    SORT_COLUMNS,
    ContentWidths,
    Layout,
    arrow_down,
    plan_layout,
    time_span,
)
from bifrost_tui.ui.widgets.batch_table.measure import ContentMeasure
from bifrost_tui.ui.widgets.batch_table.rows import (
    STALE_MARK,
    STATE_CLASSES,
    Frame,
    Row,
    Styles,
    header_strip,
    render_row,
    row_times,
)

#: Rendered rows kept per table (a few screens' worth: scrolling back and forth hits the cache).
ROW_CACHE_SIZE = 512


class BatchTable(ScrollView, can_focus=True):
    """The batches in ``store.view()``, one per line, with a fixed header line and a row cursor."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor_up", "Up", show=False),
        Binding("down", "cursor_down", "Down", show=False),
        Binding("pageup", "cursor_page_up", "Page up", show=False),
        Binding("pagedown", "cursor_page_down", "Page down", show=False),
        Binding("home", "cursor_home", "First", show=False),
        Binding("end", "cursor_end", "Last", show=False),
        Binding("enter", "select", "Open", show=False),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "batch-table--header",
        "batch-table--cursor",
        "batch-table--tagged",
        *STATE_CLASSES.values(),
    }

    DEFAULT_CSS = """
    BatchTable {
        height: 1fr;
        width: 1fr;
        background: $surface;
        color: $foreground;
        overflow-x: hidden;
        overflow-y: auto;
        scrollbar-size-vertical: 1;

        & > .batch-table--header {
            background: $panel;
            color: $foreground;
            text-style: bold;
        }
        & > .batch-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        &:focus > .batch-table--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
            text-style: $block-cursor-text-style;
        }
        & > .batch-table--tagged {
            color: $text-accent;
            text-style: bold;
        }
        & > .batch-table--state-active { color: $text-success; }
        & > .batch-table--state-canceling { color: $text-warning; text-style: bold; }
        & > .batch-table--state-ended { color: $text-muted; }
        & > .batch-table--state-canceled { color: $text-secondary; }
        & > .batch-table--state-failed { color: $text-error; text-style: bold; }
        & > .batch-table--state-expired { color: $text-error; }
        & > .batch-table--state-unknown { color: $text-warning; text-style: italic; }
    }
    """

    class CursorMoved(Message):
        """The batch under the cursor changed (``key`` is ``None`` when the view is empty)."""

        def __init__(self, table: BatchTable, key: Key | None) -> None:
            super().__init__()
            self.table = table
            self.key = key

        @property
        def control(self) -> BatchTable:
            return self.table

    class Selected(Message):
        """Enter (or a click on the cursor row) on the batch ``key``."""

        def __init__(self, table: BatchTable, key: Key) -> None:
            super().__init__()
            self.table = table
            self.key = key

        @property
        def control(self) -> BatchTable:
            return self.table

    def __init__(
        self,
        store: BatchStore,
        clock: Clock,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.store = store
        self.clock = clock
        #: Tagged rows (for bulk actions). After changing it directly, call ``refresh_view``.
        self.tags: set[Key] = set()
        self._view: list[Key] = []
        self._cursor_row = 0
        self._cursor_key: Key | None = None
        #: While the first listings land (the screen sets it, and clears it once they all have),
        #: the cursor stays on the first row until the operator puts it somewhere (a key, a
        #: click, a jump): start-up ends with the cursor on the top batch, not on whichever batch
        #: happened to be painted first. Afterwards it always stays on its batch.
        self.follow_top = False
        self._cursor_placed = False
        self._content = ContentWidths()
        # Every batch's cell widths, counted per provider (see ``ContentMeasure``).
        self._measure = ContentMeasure()
        self._layout: Layout | None = None
        self._layout_sig: tuple[object, ...] | None = None
        self._rows: LRUCache[Key, Row] = LRUCache(ROW_CACHE_SIZE)
        self._styles: Styles | None = None
        self._frame: Frame | None = None
        self._header: tuple[Layout, Styles, tuple[int, int] | None, Strip] | None = None
        #: (rows in the view, batches in all) as the header last said, when some are hidden.
        self._shown: tuple[int, int] | None = None
        self._painted_layout: Layout | None = None
        #: Providers whose rows are stale (their listing is failing), as last shown.
        self._stale: frozenset[str] = frozenset()

    # ---- public API ------------------------------------------------------------------------------

    @property
    def cursor_key(self) -> Key | None:
        """The batch under the cursor, or ``None`` when the view is empty."""
        return self._cursor_key

    @property
    def cursor_row(self) -> int:
        """The cursor's index in ``store.view()``."""
        return self._cursor_row

    @property
    def row_count(self) -> int:
        return len(self._view)

    def refresh_view(self, diff: Diff | None = None) -> None:
        """Take in a change of the store or of its view settings.

        The cursor stays on its batch (or, if that batch left the view, on the nearest index). With
        a ``diff`` whose changes keep the rows and their order, only the visible lines of changed
        batches are repainted; an empty ``Diff()`` repaints nothing. Without a diff, or when rows
        came, went or moved, the whole table is repainted (cheap: only visible rows render).
        """
        old_view = self._view
        old_row = self._cursor_row
        old_key = self._cursor_key
        old_offset = old_row - self._scroll_top
        new_view = self.store.view()
        structural = diff is None
        if new_view is not old_view:
            # O(n) compare, but only after the store changed, which already cost it a sort.
            if new_view != old_view:
                structural = True
            self._view = new_view
        stale = stale_providers(self.store)
        if stale != self._stale:
            # A provider's rows turned stale or fresh again: they read differently.
            self._stale = stale
            self._rows.clear()
            structural = True
        if structural:
            self._content = self._with_stale(self._measure.view_widths(self.store, new_view))
        elif diff is not None and diff.changed:
            # Same rows in the same order: only the changed ones can widen a column. (A column
            # that could now be narrower stays as it is until the rows next change.)
            self._content = self._with_stale(
                self._measure.widen(self.store, diff.changed, self._content)
            )

        # Where is the cursor's batch now?
        if not new_view:
            new_row, new_key = 0, None
        elif structural and old_key is not None and (self._cursor_placed or not self.follow_top):
            try:
                new_row = old_row if old_view is new_view else new_view.index(old_key)
            except ValueError:
                new_row = min(old_row, len(new_view) - 1)
            new_key = new_view[new_row]
        else:
            new_row = min(old_row, len(new_view) - 1)
            new_key = new_view[new_row]
        self._cursor_row, self._cursor_key = new_row, new_key

        self._set_virtual_size(Size(0, len(new_view) + 1))  # + the header line

        old_layout = self._layout
        layout = self._ensure_layout()
        if structural or layout is not old_layout:
            if self.is_mounted:
                body = self._body_height
                if new_row != old_row and self._scroll_top > 0 and 0 <= old_offset < body:
                    # Scrolled down: keep the cursor on the same screen line while rows move
                    # around it. (At the top, stay at the top, so new batches show up.)
                    self.scroll_to(y=max(0, new_row - old_offset), animate=False, force=True)
                self._scroll_cursor_into_view()
            self.refresh()
        elif diff is not None and diff.changed:
            self._refresh_changed_on_screen(diff.changed)

        total = len(self.store.batches)
        shown = (len(new_view), total) if len(new_view) < total else None
        if shown != self._shown:
            self._shown = shown
            if not structural and self.is_mounted:
                self.refresh(Region(0, 0, max(self.size.width, 1), 1))  # the header line

        if new_key != old_key:
            self.post_message(self.CursorMoved(self, new_key))

    def _with_stale(self, content: ContentWidths) -> ContentWidths:
        """Room in the PROVIDER column for the stale marker of the stale providers on show."""
        names = self._stale
        if not names:
            return content
        view_provider = self.store.provider_filter
        shown = [n for n in names if view_provider is None or n == view_provider]
        if not shown:
            return content
        wide = max(text_width(n, PROVIDER_CAP) for n in shown) + len(STALE_MARK)
        return replace(content, provider=max(content.provider, wide))

    def move_cursor_to_key(self, key: Key) -> bool:
        """Put the cursor on ``key``; ``False`` (cursor unchanged) if it is not in the view."""
        try:
            row = self._view.index(key)  # O(n) in C; called on demand, not per key press
        except ValueError:
            return False
        self._move_cursor(row)
        return True

    def move_cursor(self, row: int) -> None:
        """Put the cursor on view index ``row`` (clamped)."""
        self._move_cursor(row)

    def tick_minute(self) -> None:
        """Relative times moved on: repaint the time cells of the visible rows whose time text
        changed (only those cells: an idle console over SSH writes a few bytes a row, not the
        whole row, once a minute)."""
        if not self.is_mounted:
            return
        now = self.clock.now()
        layout = self._ensure_layout()
        stale: list[int] = []
        whole: list[int] = []
        for index in self._visible_range():
            key = self._view[index]
            entry = self._rows.get(key)
            batch = self.store.batches.get(key)
            if entry is None or batch is None:
                continue
            if entry.layout is not layout:
                whole.append(index)
            elif row_times(batch, now, layout) != entry.times:
                stale.append(index)
        self._refresh_rows(whole)
        self._refresh_rows(stale, time_span(layout))

    def toggle_tag(self, key: Key | None = None) -> bool:
        """Tag or untag ``key`` (default: the cursor's batch); returns whether it is now tagged."""
        key = key if key is not None else self._cursor_key
        if key is None:
            return False
        if key in self.tags:
            self.tags.discard(key)
            tagged = False
        else:
            self.tags.add(key)
            tagged = True
        self._refresh_keys_on_screen({key})
        return tagged

    # ---- actions -------------------------------------------------------------------------------

    def action_cursor_up(self) -> None:
        self._move_cursor(self._cursor_row - 1)

    def action_cursor_down(self) -> None:
        self._move_cursor(self._cursor_row + 1)

    def action_cursor_page_up(self) -> None:
        self._move_cursor(self._cursor_row - max(1, self._body_height))

    def action_cursor_page_down(self) -> None:
        self._move_cursor(self._cursor_row + max(1, self._body_height))

    def action_cursor_home(self) -> None:
        self._move_cursor(0)

    def action_cursor_end(self) -> None:
        self._move_cursor(len(self._view) - 1)

    def action_select(self) -> None:
        if self._cursor_key is not None:
            self.post_message(self.Selected(self, self._cursor_key))

    def action_toggle_tag(self) -> None:
        self.toggle_tag()

    # ---- events --------------------------------------------------------------------------------

    def _on_mount(self, _: events.Mount) -> None:
        self.refresh_view()

    def _on_resize(self, _: events.Resize) -> None:
        self._scroll_cursor_into_view()

    async def _on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y < 1:
            return  # the header line
        row = self._scroll_top + offset.y - 1
        if row >= len(self._view):
            return
        if row == self._cursor_row:
            self.action_select()
        else:
            self._move_cursor(row)

    # ---- cursor and scrolling ------------------------------------------------------------------

    @property
    def _scroll_top(self) -> int:
        """View index of the first row on screen."""
        return self.scroll_offset.y

    @property
    def _body_height(self) -> int:
        """Rows that fit under the header."""
        return max(0, self.scrollable_content_region.height - 1)

    def _visible_range(self) -> range:
        top = self._scroll_top
        return range(top, min(len(self._view), top + self._body_height))

    def _move_cursor(self, row: int) -> None:
        self._cursor_placed = True
        if not self._view:
            return
        row = max(0, min(row, len(self._view) - 1))
        old_row, old_key = self._cursor_row, self._cursor_key
        self._cursor_row = row
        self._cursor_key = self._view[row]
        if row != old_row:
            top = self._scroll_top
            self._scroll_cursor_into_view()
            if self._scroll_top == top:
                # No scroll, so only the two lines whose highlight changed are repainted.
                self._refresh_rows([old_row, row])
        if self._cursor_key != old_key:
            self.post_message(self.CursorMoved(self, self._cursor_key))

    def _set_virtual_size(self, size: Size) -> None:
        """Textual's ``virtual_size`` is a layout reactive: assigning it reflows the whole screen.
        The table's own size does not depend on it, so set it without the reflow and update the
        scrollbar (which reflows by itself if it has to appear or go). A filter keystroke at
        50,000 rows then repaints the table, not the screen."""
        if self.virtual_size == size:
            return
        if not self.is_mounted or not self.container_size:
            self.virtual_size = size
            return
        self.set_reactive(BatchTable.virtual_size, size)
        self._scroll_update(size)  # Textual 8.2 (pinned): scrollbars, scroll offset clamped
        self.refresh()

    def _scroll_cursor_into_view(self) -> None:
        body = self._body_height
        if body <= 0 or not self._view:
            return
        top = self._scroll_top
        row = self._cursor_row
        if row < top:
            target = row
        elif row >= top + body:
            target = row - body + 1
        else:
            return
        self.scroll_to(y=target, animate=False, force=True)

    def _refresh_rows(self, indexes: list[int], span: tuple[int, int] | None = None) -> None:
        """Repaint the screen lines of these view indexes (those off screen are skipped); only
        the cells ``span`` (x, width) of them when given."""
        top = self._scroll_top
        body = self._body_height
        lines = sorted({i - top + 1 for i in indexes if top <= i < top + body})
        if not lines:
            return
        x, width = span if span is not None else (0, max(self.size.width, 1))
        if width <= 0:
            return
        regions = [Region(x, y, width, 1) for y in lines]
        if len(regions) == 1:
            self.refresh(regions[0])
        else:
            with self.app.batch_update():
                for region in regions:
                    self.refresh(region)

    def _refresh_changed_on_screen(self, keys: set[Key] | frozenset[Key]) -> None:
        """Repaint the visible rows of batches that changed, except those that would look the
        same (a poll often brings a batch that differs only in fields the table does not show:
        repainting it would send the same bytes to the terminal again)."""
        if not keys or not self.is_mounted:
            return
        layout, styles = self._layout, self._styles
        now = self.clock.now()
        rows: list[int] = []
        for index in self._visible_range():
            key = self._view[index]
            if key not in keys:
                continue
            entry = self._rows.get(key)
            batch = self.store.batches.get(key)
            if entry is not None and batch is not None and styles is not None:
                cursor = index == self._cursor_row
                tagged = key in self.tags
                times = row_times(batch, now, entry.layout)
                if (
                    entry.layout is layout
                    and entry.cursor == cursor
                    and entry.tagged == tagged
                    and entry.times == times
                    and render_row(
                        batch,
                        layout,
                        styles,
                        cursor,
                        tagged,
                        times,
                        self._measure,
                        key[0] in self._stale,
                    )
                    == entry.strip
                ):
                    entry.batch = batch  # same look: the cached line stays right
                    continue
            rows.append(index)
        self._refresh_rows(rows)

    def _refresh_keys_on_screen(self, keys: set[Key] | frozenset[Key]) -> None:
        if not keys or not self.is_mounted:
            return
        self._refresh_rows([i for i in self._visible_range() if self._view[i] in keys])

    # ---- layout --------------------------------------------------------------------------------

    def _ensure_layout(self) -> Layout:
        width = self.scrollable_content_region.width if self.is_mounted else 0
        sort_column = SORT_COLUMNS.get(self.store.sort_key, "age")
        descending = arrow_down(sort_column, self.store.sort_reverse)
        sig = (width, self._content, sort_column, descending)
        if self._layout is None or sig != self._layout_sig:
            self._layout = plan_layout(width, self._content, sort_column, descending)
            self._layout_sig = sig
        return self._layout

    # ---- rendering -----------------------------------------------------------------------------

    def _make_styles(self) -> Styles:
        get = self.get_component_rich_style
        styles = Styles(
            base=self.rich_style,
            header=get("batch-table--header"),
            cursor=get("batch-table--cursor"),
            tagged=get("batch-table--tagged", partial=True),
            states=tuple((state, get(name, partial=True)) for state, name in STATE_CLASSES.items()),
        )
        if styles != self._styles:
            # Theme or focus changed: every cached row is the wrong colour.
            self._styles = styles
            self._rows.clear()
            self._header = None
        return self._styles

    def _make_frame(self) -> Frame:
        return Frame(
            now=self.clock.now(),
            styles=self._make_styles(),
            layout=self._ensure_layout(),
            scroll_y=self._scroll_top,
        )

    def render_lines(self, crop: Region) -> list[Strip]:
        frame = self._frame = self._make_frame()
        if self._painted_layout is not None and frame.layout is not self._painted_layout:
            # The width changed under us (a scrollbar came or went) while only part of the table
            # was dirty: lines outside this crop still have the old columns, so repaint them all.
            self.refresh()
        self._painted_layout = frame.layout
        try:
            return super().render_lines(crop)
        finally:
            self._frame = None

    def render_line(self, y: int) -> Strip:
        frame = self._frame or self._make_frame()
        layout = frame.layout
        if y == 0:
            return self._header_strip(frame)
        index = frame.scroll_y + y - 1
        if index >= len(self._view):
            return Strip.blank(layout.width, frame.styles.base)
        key = self._view[index]
        batch = self.store.batches.get(key)
        if batch is None:  # the store changed and refresh_view has not been called yet
            return Strip.blank(layout.width, frame.styles.base)
        cursor = index == self._cursor_row
        tagged = key in self.tags
        times = row_times(batch, frame.now, layout)
        entry = self._rows.get(key)
        if (
            entry is not None
            and entry.layout is layout
            and entry.cursor == cursor
            and entry.tagged == tagged
            and entry.times == times
            and (entry.batch is batch or entry.batch == batch)
        ):
            return entry.strip
        strip = render_row(
            batch, layout, frame.styles, cursor, tagged, times, self._measure, key[0] in self._stale
        )
        # LRUCache.set keeps an entry already there: the stale one goes first.
        self._rows.discard(key)
        self._rows.set(key, Row(batch, layout, cursor, tagged, times, strip))
        return strip

    def _header_strip(self, frame: Frame) -> Strip:
        cached = self._header
        shown = self._shown
        if (
            cached is not None
            and cached[0] is frame.layout
            and cached[1] is frame.styles
            and cached[2] == shown
        ):
            return cached[3]
        strip = header_strip(frame.layout, frame.styles, shown)
        self._header = (frame.layout, frame.styles, shown, strip)
        return strip
