"""BatchTable: a virtual, line-API table of the store's view that paints only the rows on screen.

Modelled on toolong's ``LogLines``: a ``ScrollView`` whose ``render_line(y)`` builds one ``Strip``
on demand, so 50,000 batches cost no more to show than 50. Nothing here walks the whole view per
render or per key press; the only O(n) work (column widths, finding the cursor's key again) happens
once per change of the store's view, which already costs the store a sort.

Every string from the gateway is untrusted: cells are plain ``Segment`` text (never markup) that
went through ``safe_text``, so ids like ``[/]`` or ``\\x1b[31m`` show literally and cannot style or
break the terminal.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ...clock import Clock
from ...formatting import (
    STATE_LABELS,
    counts_text,
    progress_bar,
    progress_fraction,
    relative,
    time_column,
)
from ...gateway.models import Batch, State, derive_state
from ...store import BatchStore, Diff, Key, SortKey
from ...textsafe import ELLIPSIS, safe_text

# ---- columns -------------------------------------------------------------------------------------

#: Left to right. ``tag`` shows ``*`` for tagged rows.
COLUMNS: tuple[str, ...] = (
    "tag",
    "id",
    "provider",
    "status",
    "requests",
    "progress",
    "created",
    "expires",
)
LABELS: dict[str, str] = {
    "tag": "",
    "id": "ID",
    "provider": "PROVIDER",
    "status": "STATUS",
    "requests": "REQUESTS",
    "progress": "PROGRESS",
    "created": "CREATED",
    "expires": "EXPIRES/ENDED",
}
#: Header labels used where the full one does not fit.
SHORT_LABELS: dict[str, str] = {
    "provider": "PROV",
    "requests": "REQS",
    "progress": "PROG",
    "expires": "ENDS",
}
SORT_COLUMNS: dict[SortKey, str] = {
    SortKey.CREATED: "created",
    SortKey.PROVIDER: "provider",
    SortKey.STATUS: "status",
    SortKey.ID: "id",
    SortKey.EXPIRES: "expires",
    SortKey.PROGRESS: "progress",
}
ARROW_DOWN = "▼"  # descending (sort_reverse=True): newest / largest first
ARROW_UP = "▲"

#: Below these widths, columns go (the brief's breakpoints).
WIDE = 100  # < WIDE: no PROGRESS, no CREATED
NARROW = 70  # < NARROW: no REQUESTS either

#: Caps on what is measured and rendered per cell: a 10,000-character id must cost no more than a
#: normal one. Ids are shown whole up to ID_CAP cells.
ID_CAP = 100
#: Request counts in the table: single spaces, so "1234 proc 0 ok 3 err" fits a narrow column.
TABLE_COUNT_SEP = " "
PROVIDER_CAP = 24
STATUS_RAW_CAP = 24
REQUESTS_CAP = 40
#: Columns whose content is formatted by us have fixed widths (no O(n) measuring per minute).
PROGRESS_WIDTH = 15  # 10-cell bar, a space, "100%"
CREATED_WIDTH = 11  # "23h 59m ago", "12d 23h ago"; rarer longer ones get an ellipsis
EXPIRES_WIDTH = 14  # "in 23h 59m", "12d 23h ago", "overdue 2h 5m"
#: Which columns give up width, and down to how many cells, when the line is too narrow: the id
#: down to a still-telling prefix (the full id is on the detail screen), then the created time,
#: then the request counts, then the id further, the time column, status and provider.
#: Past that the line is cut at the right edge.
SHRINK_ORDER: tuple[tuple[str, int], ...] = (
    ("id", 20),
    ("created", 9),
    ("requests", 12),
    ("id", 16),
    ("expires", 12),
    ("id", 12),
    ("status", 10),
    ("provider", 6),
)
#: Shrinking that still leaves the id whole (tried before columns step aside at wide widths).
SOFT_SHRINK: tuple[tuple[str, int], ...] = (("requests", 12), ("created", 9), ("expires", 12))

#: Rendered rows kept per table (a few screens' worth: scrolling back and forth hits the cache).
ROW_CACHE_SIZE = 512

_STATE_CLASSES: dict[State, str] = {
    State.ACTIVE: "batch-table--state-active",
    State.CANCELING: "batch-table--state-canceling",
    State.ENDED_OK: "batch-table--state-ended",
    State.ENDED_CANCELED: "batch-table--state-canceled",
    State.FAILED: "batch-table--state-failed",
    State.EXPIRED: "batch-table--state-expired",
    State.UNKNOWN: "batch-table--state-unknown",
}


_ENDED_FAMILY = frozenset({State.ENDED_OK, State.ENDED_CANCELED})
#: Labels a batch whose raw status is in the ``ended`` family may get (see ``derive_state``).
_ENDED_LABELS = tuple(
    STATE_LABELS[s] for s in (State.ENDED_OK, State.ENDED_CANCELED, State.FAILED, State.EXPIRED)
)


def visible_columns(width: int) -> list[str]:
    """The columns the brief's breakpoints allow at ``width`` cells."""
    cols = list(COLUMNS)
    if width < WIDE:
        cols.remove("progress")
        cols.remove("created")
    if width < NARROW:
        cols.remove("requests")
    return cols


def _safe_cell(text: str, cap: int) -> str:
    """``text`` escaped and cut to ``cap`` characters; only the first ``cap + 1`` are looked at."""
    if len(text) <= cap and text.isascii() and text.isprintable():
        return text  # the common case, without a Python-level pass over each character
    return safe_text(text[: cap + 1], cap)


def _text_width(text: str, cap: int) -> int:
    """Cells ``_safe_cell(text, cap)`` takes, capped, without building it in the common case."""
    if text.isascii() and text.isprintable():
        return min(len(text), cap)
    return min(cell_len(_safe_cell(text, cap)), cap)


def _requests_width(batch: Batch) -> int:
    counts = batch.request_counts
    # counts_text is ASCII but for "·", which is one cell: len() is its width.
    return 1 if counts is None else min(len(counts_text(counts, TABLE_COUNT_SEP)), REQUESTS_CAP)


def fit(text: str, width: int) -> str:
    """``text`` padded or cut (with an ellipsis) to exactly ``width`` cells."""
    if width <= 0:
        return ""
    if text.isascii():
        n = len(text)
        if n <= width:
            return text + " " * (width - n)
        return text[: width - 1] + ELLIPSIS
    n = cell_len(text)
    if n <= width:
        return text + " " * (width - n)
    return set_cell_size(text, width - 1) + ELLIPSIS


@dataclass(frozen=True, slots=True)
class ContentWidths:
    """Widest content per measured column over the whole view (capped)."""

    id: int = 0
    provider: int = 0
    status: int = 0
    requests: int = 0


@dataclass(frozen=True, slots=True)
class Layout:
    """Which columns show at one width, how wide each is, and how the header reads."""

    width: int
    columns: tuple[str, ...]
    widths: tuple[int, ...]
    sort_column: str
    sort_reverse: bool

    def has(self, name: str) -> bool:
        return name in self.columns

    @property
    def arrow(self) -> str:
        return ARROW_DOWN if self.sort_reverse else ARROW_UP

    def header_cells(self) -> list[str]:
        """One label per column, each exactly its width; the sort arrow is never cut off."""
        return [self._header_cell(n, w) for n, w in zip(self.columns, self.widths, strict=True)]

    def _header_cell(self, name: str, width: int) -> str:
        label, short = LABELS[name], SHORT_LABELS.get(name, LABELS[name])
        sort = f"{LABELS[self.sort_column]} {self.arrow}"
        sort_short = f"{SHORT_LABELS.get(self.sort_column, LABELS[self.sort_column])} {self.arrow}"
        if name == self.sort_column:
            candidates = [f"{label} {self.arrow}", f"{short} {self.arrow}", self.arrow]
        elif name == "id" and self.sort_column not in self.columns:
            # The sort column is hidden at this width: the id's header says how rows are sorted.
            candidates = [f"{label}  sort: {sort}", f"{label} · {sort}", sort, sort_short, label]
        else:
            candidates = [label, short]
        for text in candidates:
            if cell_len(text) <= width:
                return fit(text, width)
        return fit(candidates[-1], width)


def plan_layout(width: int, content: ContentWidths, sort_column: str, sort_reverse: bool) -> Layout:
    """Choose columns and widths for ``width`` cells. Pure, so it is cheap to test.

    Below the breakpoints columns go as the brief says. At wide widths, PROGRESS and then CREATED
    step aside before anything (least of all the id) would be cut; where nothing fits whole,
    columns shrink in ``SHRINK_ORDER`` down to their minimum, then the line is cut at the edge.
    """
    width = max(0, width)

    def desired(name: str) -> int:
        label = len(LABELS[name]) + (2 if name == sort_column else 0)
        match name:
            case "tag":
                return 1
            case "id":
                return max(content.id, 2)
            case "provider":
                return max(content.provider, len(SHORT_LABELS["provider"]), 1)
            case "status":
                return max(content.status, label)
            case "requests":
                return max(content.requests, label)
            case "progress":
                return max(PROGRESS_WIDTH, label)
            case "created":
                return max(CREATED_WIDTH, label)
            case _:
                return EXPIRES_WIDTH

    def shrink(cols: list[str], order: tuple[tuple[str, int], ...]) -> tuple[dict[str, int], int]:
        widths = {name: desired(name) for name in cols}
        excess = sum(widths.values()) + len(cols) - 1 - width
        for name, floor in order:
            if excess <= 0:
                break
            if name in widths and widths[name] > floor:
                cut = min(excess, widths[name] - floor)
                widths[name] -= cut
                excess -= cut
        return widths, excess

    cols = visible_columns(width)
    options = [cols]
    if width >= WIDE:
        options += [
            [c for c in cols if c != "progress"],
            [c for c in cols if c not in ("progress", "created")],
        ]
    order = SHRINK_ORDER
    chosen = next((o for o in options if shrink(o, ())[1] <= 0), None)
    if chosen is None and width >= WIDE:
        chosen = next((o for o in options if shrink(o, SOFT_SHRINK)[1] <= 0), None)
        if chosen is not None:
            order = SOFT_SHRINK
    if chosen is None:
        chosen = options[-1]
    widths, _ = shrink(chosen, order)
    return Layout(
        width=width,
        columns=tuple(chosen),
        widths=tuple(widths[name] for name in chosen),
        sort_column=sort_column,
        sort_reverse=sort_reverse,
    )


# ---- per-frame and per-row caches ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Styles:
    base: Style
    header: Style
    cursor: Style
    tagged: Style
    states: tuple[tuple[State, Style], ...]

    def state(self, state: State) -> Style:
        for candidate, style in self.states:
            if candidate is state:
                return style
        return Style()


@dataclass(slots=True)
class _Frame:
    """What every line of one paint shares: computed once per ``render_lines``."""

    now: datetime
    styles: _Styles
    layout: Layout
    scroll_y: int


@dataclass(slots=True)
class _Row:
    """One rendered row and everything its look depends on."""

    batch: Batch
    layout: Layout
    cursor: bool
    tagged: bool
    times: tuple[str, str]
    strip: Strip


# ---- the widget ----------------------------------------------------------------------------------


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
        *_STATE_CLASSES.values(),
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
        #: Tagged rows (for bulk actions). After changing it directly, call ``refresh_keys``.
        self.tags: set[Key] = set()
        self._view: list[Key] = []
        self._cursor_row = 0
        self._cursor_key: Key | None = None
        self._content = ContentWidths()
        # Per batch: (batch, id, provider, status, requests) widths; reused while the batch object
        # is the same, so re-measuring the view after a poll only formats the batches that changed.
        self._measured: dict[Key, tuple[Batch, int, int, int, int]] = {}
        self._provider_widths: dict[str, int] = {}
        self._status_texts: dict[str, str] = {}
        self._status_widths: dict[str, int] = {}
        self._layout: Layout | None = None
        self._layout_sig: tuple[object, ...] | None = None
        self._rows: OrderedDict[Key, _Row] = OrderedDict()
        self._styles: _Styles | None = None
        self._frame: _Frame | None = None
        self._header: tuple[Layout, _Styles, Strip] | None = None
        self._painted_layout: Layout | None = None

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

    @property
    def header_text(self) -> str:
        """The header line as plain text; the sort column carries an arrow (``CREATED ▼``)."""
        return " ".join(self._ensure_layout().header_cells()).rstrip()

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
        if structural:
            self._measure_view()
        elif diff is not None and diff.changed:
            # Same rows in the same order: only the changed ones can widen a column. (A column
            # that could now be narrower stays as it is until the rows next change.)
            self._measure_more(diff.changed)

        # Where is the cursor's batch now?
        if not new_view:
            new_row, new_key = 0, None
        elif structural and old_key is not None:
            try:
                new_row = old_row if old_view is new_view else new_view.index(old_key)
            except ValueError:
                new_row = min(old_row, len(new_view) - 1)
            new_key = new_view[new_row]
        else:
            new_row = min(old_row, len(new_view) - 1)
            new_key = new_view[new_row]
        self._cursor_row, self._cursor_key = new_row, new_key

        size = Size(0, len(new_view) + 1)  # + the header line
        if self.virtual_size != size:
            self.virtual_size = size

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
            self._refresh_keys_on_screen(diff.changed)

        if new_key != old_key:
            self.post_message(self.CursorMoved(self, new_key))

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
        """Relative times moved on: repaint the visible rows whose time text changed."""
        if not self.is_mounted:
            return
        now = self.clock.now()
        layout = self._ensure_layout()
        stale: list[int] = []
        for index in self._visible_range():
            key = self._view[index]
            entry = self._rows.get(key)
            batch = self.store.batches.get(key)
            if entry is None or batch is None:
                continue
            if entry.layout is not layout or self._times(batch, now, layout) != entry.times:
                stale.append(index)
        self._refresh_rows(stale)

    def refresh_keys(self, keys: set[Key] | frozenset[Key]) -> None:
        """Repaint the visible rows of ``keys`` (after changing ``tags`` directly, say)."""
        self._refresh_keys_on_screen(keys)

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

    def clear_tags(self) -> None:
        keys = set(self.tags)
        self.tags.clear()
        self._refresh_keys_on_screen(keys)

    def visible_keys(self) -> list[Key]:
        """Keys of the rows currently on screen, top to bottom."""
        return [self._view[i] for i in self._visible_range()]

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

    def _on_click(self, event: events.Click) -> None:
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

    def _refresh_rows(self, indexes: list[int]) -> None:
        """Repaint the screen lines of these view indexes (those off screen are skipped)."""
        top = self._scroll_top
        body = self._body_height
        lines = sorted({i - top + 1 for i in indexes if top <= i < top + body})
        if not lines:
            return
        width = max(self.size.width, 1)
        regions = [Region(0, y, width, 1) for y in lines]
        if len(regions) == 1:
            self.refresh(regions[0])
        else:
            with self.app.batch_update():
                for region in regions:
                    self.refresh(region)

    def _refresh_keys_on_screen(self, keys: set[Key] | frozenset[Key]) -> None:
        if not keys or not self.is_mounted:
            return
        self._refresh_rows([i for i in self._visible_range() if self._view[i] in keys])

    # ---- measuring and layout -------------------------------------------------------------------

    def _measure_view(self) -> None:
        """Widest content per column over the whole view: O(n), once per view change.

        Per batch only a dict look-up while the batch object is unchanged; a new batch costs an
        ``isprintable`` check on its id and one ``counts_text``.
        """
        batches = self.store.batches
        measured = self._measured
        if len(measured) > 2 * len(batches) + 1024:
            self._measured = measured = {k: v for k, v in measured.items() if k in batches}
        # Local look-ups first: this loop is the one place that touches every row.
        providers, provider_width = self._provider_widths, self._provider_width
        statuses, status_width = self._status_widths, self._status_width
        id_w = provider_w = status_w = requests_w = 0
        for key in self._view:
            batch = batches[key]
            entry = measured.get(key)
            if entry is None or entry[0] is not batch:
                entry = measured[key] = (
                    batch,
                    _text_width(batch.id, ID_CAP),
                    providers.get(batch.provider) or provider_width(batch.provider),
                    statuses.get(batch.processing_status) or status_width(batch.processing_status),
                    _requests_width(batch),
                )
            _, i, p, s, r = entry
            if i > id_w:
                id_w = i
            if p > provider_w:
                provider_w = p
            if s > status_w:
                status_w = s
            if r > requests_w:
                requests_w = r
        self._content = ContentWidths(id_w, provider_w, status_w, requests_w)

    def _measure_more(self, keys: frozenset[Key]) -> None:
        """Widen columns for these batches (those in the view): O(len(keys))."""
        content = self._content
        id_w, provider_w = content.id, content.provider
        status_w, requests_w = content.status, content.requests
        for key in keys:
            batch = self.store.batches.get(key)
            if batch is None or not self.store.matches(batch):
                continue
            entry = self._measured[key] = (
                batch,
                _text_width(batch.id, ID_CAP),
                self._provider_width(batch.provider),
                self._status_width(batch.processing_status),
                _requests_width(batch),
            )
            id_w = max(id_w, entry[1])
            provider_w = max(provider_w, entry[2])
            status_w = max(status_w, entry[3])
            requests_w = max(requests_w, entry[4])
        self._content = ContentWidths(id_w, provider_w, status_w, requests_w)

    def _provider_width(self, provider: str) -> int:
        width = self._provider_widths.get(provider)
        if width is None:
            if len(self._provider_widths) > 1024:
                self._provider_widths.clear()
            width = self._provider_widths[provider] = _text_width(provider, PROVIDER_CAP)
        return width

    def _status_width(self, raw: str) -> int:
        """Widest ``STATUS`` cell a batch with this raw status can have.

        Measured per distinct raw status, not per batch: the state also hangs on counts and
        timestamps, but only within the ``ended`` family, so that family is given its widest label.
        """
        width = self._status_widths.get(raw)
        if width is None:
            if len(self._status_widths) > 256:
                self._status_widths.clear()
            state = derive_state(raw, None, None)
            labels = _ENDED_LABELS if state in _ENDED_FAMILY else (STATE_LABELS[state],)
            safe = self._safe_status(raw)
            width = max(cell_len(f"{safe} {label}" if safe else label) for label in labels)
            self._status_widths[raw] = width
        return width

    def _safe_status(self, raw: str) -> str:
        safe = self._status_texts.get(raw)
        if safe is None:
            if len(self._status_texts) > 256:
                self._status_texts.clear()
            safe = self._status_texts[raw] = _safe_cell(raw, STATUS_RAW_CAP)
        return safe

    def _status_text(self, batch: Batch, state: State) -> str:
        """``in_progress ACTIVE``: the raw status (escaped, capped) and the state's text label."""
        label = STATE_LABELS[state]
        safe = self._safe_status(batch.processing_status)
        return f"{safe} {label}" if safe else label

    def _ensure_layout(self) -> Layout:
        width = self.scrollable_content_region.width if self.is_mounted else 0
        sort_column = SORT_COLUMNS.get(self.store.sort_key, "created")
        sig = (width, self._content, sort_column, self.store.sort_reverse)
        if self._layout is None or sig != self._layout_sig:
            self._layout = plan_layout(width, self._content, sort_column, self.store.sort_reverse)
            self._layout_sig = sig
        return self._layout

    # ---- rendering -----------------------------------------------------------------------------

    def _make_styles(self) -> _Styles:
        get = self.get_component_rich_style
        styles = _Styles(
            base=self.rich_style,
            header=get("batch-table--header"),
            cursor=get("batch-table--cursor"),
            tagged=get("batch-table--tagged", partial=True),
            states=tuple(
                (state, get(name, partial=True)) for state, name in _STATE_CLASSES.items()
            ),
        )
        if styles != self._styles:
            # Theme or focus changed: every cached row is the wrong colour.
            self._styles = styles
            self._rows.clear()
            self._header = None
        return self._styles

    def _make_frame(self) -> _Frame:
        return _Frame(
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
        times = self._times(batch, frame.now, layout)
        entry = self._rows.get(key)
        if (
            entry is not None
            and entry.layout is layout
            and entry.cursor == cursor
            and entry.tagged == tagged
            and entry.times == times
            and (entry.batch is batch or entry.batch == batch)
        ):
            self._rows.move_to_end(key)
            return entry.strip
        strip = self._render_row(batch, layout, frame.styles, cursor, tagged, times)
        self._rows[key] = _Row(batch, layout, cursor, tagged, times, strip)
        self._rows.move_to_end(key)
        if len(self._rows) > ROW_CACHE_SIZE:
            self._rows.popitem(last=False)
        return strip

    @staticmethod
    def _times(batch: Batch, now: datetime, layout: Layout) -> tuple[str, str]:
        created = relative(batch.created_at, now) if layout.has("created") else ""
        expires = time_column(batch, now) if layout.has("expires") else ""
        return created, expires

    def _header_strip(self, frame: _Frame) -> Strip:
        cached = self._header
        if cached is not None and cached[0] is frame.layout and cached[1] is frame.styles:
            return cached[2]
        layout = frame.layout
        style = frame.styles.base + frame.styles.header
        text = " ".join(layout.header_cells())
        strip = self._finish([Segment(text, style)], cell_len(text), layout.width, style)
        self._header = (layout, frame.styles, strip)
        return strip

    def _render_row(
        self,
        batch: Batch,
        layout: Layout,
        styles: _Styles,
        cursor: bool,
        tagged: bool,
        times: tuple[str, str],
    ) -> Strip:
        row_style = styles.base
        if tagged:
            row_style += styles.tagged
        state = batch.state
        status_style = row_style + styles.state(state)
        if cursor:
            row_style += styles.cursor
            status_style += styles.cursor
        segments: list[Segment] = []
        used = 0
        for name, width in zip(layout.columns, layout.widths, strict=True):
            if segments:
                segments.append(Segment(" ", row_style))
                used += 1
            style = row_style
            match name:
                case "tag":
                    text = "*" if tagged else " "
                case "id":
                    text = _safe_cell(batch.id, ID_CAP)
                case "provider":
                    text = _safe_cell(batch.provider, PROVIDER_CAP)
                case "status":
                    text = self._status_text(batch, state)
                    style = status_style
                case "requests":
                    text = counts_text(batch.request_counts, TABLE_COUNT_SEP)
                case "progress":
                    fraction = progress_fraction(batch.request_counts)
                    text = (
                        ""
                        if fraction is None
                        else f"{progress_bar(fraction, 10)} {round(fraction * 100):>3d}%"
                    )
                case "created":
                    text = times[0]
                case _:
                    text = times[1]
            segments.append(Segment(fit(text, width), style))
            used += width
        return self._finish(segments, used, layout.width, row_style)

    @staticmethod
    def _finish(segments: list[Segment], used: int, width: int, style: Style) -> Strip:
        """Pad (in the row's style, so the cursor spans the line) or cut to ``width`` cells."""
        if used < width:
            segments.append(Segment(" " * (width - used), style))
            used = width
        strip = Strip(segments, used)
        return strip.crop(0, width) if used > width else strip
