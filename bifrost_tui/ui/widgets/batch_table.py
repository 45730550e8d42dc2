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

from collections import Counter, OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from bifrost_tui.clock import Clock
from bifrost_tui.core.store import BatchStore, Diff, Key, SortKey
from bifrost_tui.formatting import (
    STATE_LABELS,
    counts_text,
    progress_bar,
    progress_fraction,
    relative,
    time_column,
)
from bifrost_tui.gateway.models import TERMINAL_STATES, Batch, RequestCounts, State, derive_state
from bifrost_tui.textsafe import ELLIPSIS, safe_text

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

#: A text-filtered view of up to this many rows has its columns measured row by row (exact); a
#: larger one keeps the widths of the rows before the text filter (a pass over 50,000 rows costs
#: more than a keystroke may).
EXACT_TEXT_ROWS = 5_000

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


def _time_span(layout: Layout) -> tuple[int, int]:
    """(x, width) of the time columns (CREATED, EXPIRES/ENDED: the last ones) in ``layout``."""
    x = 0
    start = end = 0
    for name, width in zip(layout.columns, layout.widths, strict=True):
        if name in ("created", "expires"):
            start = start or x
            end = x + width
        x += width + 1
    return start, max(0, end - start)


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


#: Width of the REQUESTS cell by the digit lengths of its numbers (all its length depends on):
#: ``counts_text`` runs once per distinct shape, not once per batch.
_REQUESTS_WIDTHS: dict[tuple[int, int, int, int, int], int] = {}


#: Widths of (id, provider, status, requests) and whether the batch ended.
_Signature = tuple[int, int, int, int, bool]


def _uncount(counter: Counter[int], index: int) -> None:
    left = counter[index] - 1
    if left > 0:
        counter[index] = left
    else:
        del counter[index]


def _digits(value: int | None) -> int:
    return 0 if value is None else len(str(value))


def _count_shape(counts: RequestCounts) -> tuple[int, int, int, int, int]:
    """What the length of ``counts_text(counts)`` depends on: which numbers show, their digits."""
    return (
        _digits(counts.processing),
        _digits(counts.succeeded),
        _digits(counts.errored),
        _digits(counts.canceled or None),
        _digits(counts.expired or None),
    )


def _requests_width(batch: Batch) -> int:
    counts = batch.request_counts
    if counts is None:
        return 1  # "—"
    shape = _count_shape(counts)
    width = _REQUESTS_WIDTHS.get(shape)
    if width is None:
        if len(_REQUESTS_WIDTHS) > 4096:
            _REQUESTS_WIDTHS.clear()
        # counts_text is ASCII but for "·", which is one cell: len() is its width.
        width = min(len(counts_text(counts, TABLE_COUNT_SEP)), REQUESTS_CAP)
        _REQUESTS_WIDTHS[shape] = width
    return width


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
        # Per key: the batch object it was measured for, and its widths as an index into
        # ``_signatures``: (id, provider, status, requests widths, ended). Distinct signatures are
        # few, and ``_histograms`` counts them per provider, so the widest content of a view that
        # only filters by provider and hide-ended is read off the counts without a pass over its
        # rows. Kept in step with the store through ``store.changed_since``: a poll measures only
        # the batches it changed.
        self._measured: dict[Key, Batch] = {}
        self._width_ids: dict[Key, int] = {}
        self._signatures: list[_Signature] = []
        self._signature_ids: dict[_Signature, int] = {}
        self._histograms: dict[str, Counter[int]] = {}
        self._measured_version: int | None = None
        self._measured_store: BatchStore | None = None
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
            elif self._times(batch, now, layout) != entry.times:
                stale.append(index)
        self._refresh_rows(whole)
        self._refresh_rows(stale, _time_span(layout))

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
                times = self._times(batch, now, entry.layout)
                if (
                    entry.layout is layout
                    and entry.cursor == cursor
                    and entry.tagged == tagged
                    and entry.times == times
                    and self._render_row(batch, layout, styles, cursor, tagged, times)
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

    # ---- measuring and layout -------------------------------------------------------------------

    def _measure_view(self) -> None:
        """Widest content per column over the view, once per view change.

        Exact for a view filtered by provider and hide-ended (read off ``_histograms``) and for a
        text-filtered view of up to ``EXACT_TEXT_ROWS`` rows; a larger text-filtered view gets
        the widths of the rows the text filters (so columns stay put while a filter is typed).
        """
        self._sync_measures()
        store = self.store
        view = self._view
        ids: set[int] = set()
        if not view:
            pass
        elif store.text_filter and len(view) <= EXACT_TEXT_ROWS:
            ids = set(map(self._width_ids.__getitem__, view))
        else:
            provider = store.provider_filter
            for name, histogram in self._histograms.items():
                if provider is None or name == provider:
                    ids.update(histogram)
            if store.hide_ended:
                ids = {i for i in ids if not self._signatures[i][4]}
        self._content = self._widest(ids, ContentWidths())

    def _measure_more(self, keys: frozenset[Key]) -> None:
        """Widen columns for these batches (those in the view): O(len(keys))."""
        self._sync_measures()
        batches = self.store.batches
        ids = {
            self._width_ids[key]
            for key in keys
            if (batch := batches.get(key)) is not None and self.store.matches(batch)
        }
        self._content = self._widest(ids, self._content)

    def _widest(self, ids: set[int], start: ContentWidths) -> ContentWidths:
        id_w, provider_w, status_w, requests_w = (
            start.id,
            start.provider,
            start.status,
            start.requests,
        )
        signatures = self._signatures
        for index in ids:
            i, p, s, r, _ = signatures[index]
            if i > id_w:
                id_w = i
            if p > provider_w:
                provider_w = p
            if s > status_w:
                status_w = s
            if r > requests_w:
                requests_w = r
        return ContentWidths(id_w, provider_w, status_w, requests_w)

    def _sync_measures(self) -> None:
        """Measure the batches the store changed since the last sync (all of them at first)."""
        store = self.store
        batches = store.batches
        measured = self._measured
        changed = None
        if self._measured_store is store and self._measured_version is not None:
            changed = store.changed_since(self._measured_version)
        if changed is None:
            # Everything may have changed: a look-up per batch, a measure for the changed ones.
            if self._measured_store is not store:
                measured.clear()
                self._width_ids.clear()
                self._histograms.clear()
            for key in [k for k in measured if k not in batches]:
                self._forget(key)
            width_ids = self._width_ids
            new_keys = [k for k in batches if k not in width_ids]
            self._measure_new(new_keys, [batches[k] for k in new_keys])
            # A generator: a list of 50,000 pairs alive at once would wake the garbage collector.
            self._measure((k, b) for k, b in batches.items() if measured.get(k) is not b)
        else:
            fresh: list[tuple[Key, Batch]] = []
            for key in changed:
                batch = batches.get(key)
                if batch is None:
                    self._forget(key)
                elif measured.get(key) is not batch:
                    fresh.append((key, batch))
            self._measure(fresh)
        self._measured_store = store
        self._measured_version = store.version

    def _measure_new(self, keys: list[Key], batches: list[Batch]) -> None:
        """Measure batches never measured before (the first listing: every row) column by
        column, with comprehensions and C-level passes rather than a statement-heavy loop."""
        if not keys:
            return
        providers = [k[0] for k in keys]
        statuses = [b.processing_status for b in batches]
        for provider in set(providers):
            self._provider_width(provider)
        for status in set(statuses):
            self._status_width(status)
        provider_widths, status_widths = self._provider_widths, self._status_widths
        states = self.store._states  # (the store's derived states: both sides of one design)
        requests_widths = _REQUESTS_WIDTHS
        ids = [b.id for b in batches]
        if all(map(str.isascii, ids)) and all(map(str.isprintable, ids)):
            id_widths = list(map(len, ids))  # in C: the common case, every id plain ASCII
            if max(id_widths) > ID_CAP:
                id_widths = [min(w, ID_CAP) for w in id_widths]
        else:
            id_widths = [_text_width(i, ID_CAP) for i in ids]
        signatures = list(
            zip(
                id_widths,
                [provider_widths[p] for p in providers],
                [status_widths[s] for s in statuses],
                [
                    1
                    if (c := b.request_counts) is None
                    else requests_widths.get(_count_shape(c)) or _requests_width(b)
                    for b in batches
                ],
                [states[k] in TERMINAL_STATES for k in keys],
                strict=True,
            )
        )
        signature_ids = self._signature_ids
        for signature in set(signatures):
            if signature not in signature_ids:
                signature_ids[signature] = len(self._signatures)
                self._signatures.append(signature)
        indexes = list(map(signature_ids.__getitem__, signatures))
        self._width_ids.update(zip(keys, indexes, strict=True))
        self._measured.update(zip(keys, batches, strict=True))
        for (provider, index), count in Counter(zip(providers, indexes, strict=True)).items():
            histogram = self._histograms.get(provider)
            if histogram is None:
                histogram = self._histograms[provider] = Counter()
            histogram[index] += count

    def _measure(self, items: Iterable[tuple[Key, Batch]]) -> None:
        """Measure these batches (the one loop that can see every row: kept lean)."""
        width_ids = self._width_ids
        signatures = self._signatures
        signature_ids = self._signature_ids
        histograms = self._histograms
        measured = self._measured
        provider_widths = self._provider_widths
        status_widths = self._status_widths
        requests_widths = _REQUESTS_WIDTHS
        states = self.store._states  # (the store's derived states: both sides of one design)
        for key, batch in items:
            old = width_ids.get(key)
            if old is not None:
                # The id and the provider are the key: only status, counts and state can change.
                id_width, provider_width = signatures[old][:2]
            else:
                bid = batch.id
                if bid.isascii() and bid.isprintable():
                    id_width = len(bid) if len(bid) < ID_CAP else ID_CAP
                else:
                    id_width = _text_width(bid, ID_CAP)
                provider_width = provider_widths.get(key[0]) or self._provider_width(key[0])
            status = batch.processing_status
            counts = batch.request_counts
            if counts is None:
                requests_width = 1
            else:
                requests_width = requests_widths.get(_count_shape(counts)) or _requests_width(batch)
            signature = (
                id_width,
                provider_width,
                status_widths.get(status) or self._status_width(status),
                requests_width,
                states[key] in TERMINAL_STATES,
            )
            index = signature_ids.get(signature)
            if index is None:
                index = signature_ids[signature] = len(signatures)
                signatures.append(signature)
            if old != index:
                histogram = histograms.get(key[0])
                if histogram is None:
                    histogram = histograms[key[0]] = Counter()
                if old is not None:
                    _uncount(histogram, old)
                histogram[index] += 1
                width_ids[key] = index
            measured[key] = batch

    def _forget(self, key: Key) -> None:
        if self._measured.pop(key, None) is None:
            return
        index = self._width_ids.pop(key)
        histogram = self._histograms.get(key[0])
        if histogram is not None:
            _uncount(histogram, index)

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
        # Cells that share a style go out as one segment (most of a row is in the row's style):
        # Textual's compositor works per segment, so a row of 3 segments paints faster than 16.
        segments: list[Segment] = []
        run: list[str] = []
        run_style = row_style

        def add(text: str, style: Style) -> None:
            nonlocal run, run_style
            if style is not run_style:
                if run:
                    segments.append(Segment("".join(run), run_style))
                run, run_style = [], style
            run.append(text)

        used = 0
        for name, width in zip(layout.columns, layout.widths, strict=True):
            if used:
                add(" ", row_style)
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
            add(fit(text, width), style)
            used += width
        if used < layout.width:
            # Pad in the row's style, so the cursor spans the line.
            add(" " * (layout.width - used), row_style)
            used = layout.width
        if run:
            segments.append(Segment("".join(run), run_style))
        strip = Strip(segments, used)
        return strip.crop(0, layout.width) if used > layout.width else strip

    @staticmethod
    def _finish(segments: list[Segment], used: int, width: int, style: Style) -> Strip:
        """Pad (in the row's style, so the cursor spans the line) or cut to ``width`` cells."""
        if used < width:
            segments.append(Segment(" " * (width - used), style))
            used = width
        strip = Strip(segments, used)
        return strip.crop(0, width) if used > width else strip


# ---- Textual: partial updates written from where they start --------------------------------------


def _single_width(strip: Strip) -> bool:
    text = strip.text
    return cell_len(text) == len(text)


def _crop_partial_updates() -> None:
    """Make Textual write a partial repaint from the dirty region's left edge, not the widget's.

    Textual 8.2's ``ChopsUpdate.render_segments`` (note its "TODO: crop to x extents") writes a
    dirty span from the left edge of the widget it lies in: refreshing the time cells at the right
    end of a table row sends the whole row. Cropping to the span sends only the cells that changed
    (``tick_minute``: ~50 bytes a row instead of ~170, the bulk of an idle console's traffic over
    SSH). Lines with wide or zero-width characters keep Textual's behaviour, so a crop can never
    split a character. Applied only to the Textual version it was written against.
    """
    from importlib.metadata import version

    from rich.control import Control
    from textual._compositor import ChopsUpdate

    if version("textual") != "8.2.8" or getattr(ChopsUpdate, "_bifrost_cropped", False):
        return
    move_to = Control.move_to

    def render_segments(self: ChopsUpdate, console: Any) -> str:
        sequences: list[str] = []
        append = sequences.append
        chops = self.chops
        chop_ends = self.chop_ends
        last_y = self.spans[-1][0]
        for y, x1, x2 in self.spans:
            line = chops[y]
            ends = chop_ends[y]
            for end, (x, strip) in zip(ends, line.items(), strict=False):
                if strip is None or x > x2 or end <= x1:
                    continue
                if x2 > x >= x1 and end <= x2:
                    append(move_to(x, y).segment.text)
                    append(strip.render(console))
                    continue
                start = x1 if x < x1 and _single_width(strip) else x
                strip = strip.crop(start - x, min(end, x2) - x)
                append(move_to(start, y).segment.text)
                append(strip.render(console))
            if y != last_y:
                append("\n")
        return "".join(sequences)

    ChopsUpdate.render_segments = render_segments  # type: ignore[method-assign]
    ChopsUpdate._bifrost_cropped = True  # type: ignore[attr-defined]


_crop_partial_updates()
