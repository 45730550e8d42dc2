"""The batch table's column planner: which columns show at a width, how wide, and the header.

Pure functions of the width, the widest content and the sort: no widget, cheap to test.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.cells import cell_len

from bifrost_tui.core.sorting import SortKey
from bifrost_tui.ui.widgets.batch_table.cells import fit

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

#: The width breakpoints: below each, columns go.
WIDE = 100  # < WIDE: no PROGRESS, no CREATED
NARROW = 70  # < NARROW: no REQUESTS either

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


def visible_columns(width: int) -> list[str]:
    """The columns the width breakpoints (``WIDE``, ``NARROW``) allow at ``width`` cells."""
    cols = list(COLUMNS)
    if width < WIDE:
        cols.remove("progress")
        cols.remove("created")
    if width < NARROW:
        cols.remove("requests")
    return cols


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


def time_span(layout: Layout) -> tuple[int, int]:
    """(x, width) of the time columns (CREATED, EXPIRES/ENDED: the last ones) in ``layout``."""
    x = 0
    start = end = 0
    for name, width in zip(layout.columns, layout.widths, strict=True):
        if name in ("created", "expires"):
            start = start or x
            end = x + width
        x += width + 1
    return start, max(0, end - start)


def plan_layout(width: int, content: ContentWidths, sort_column: str, sort_reverse: bool) -> Layout:
    """Choose columns and widths for ``width`` cells. Pure, so it is cheap to test.

    Below the width breakpoints columns go (``visible_columns``). At wide widths, PROGRESS and
    then CREATED step aside before anything (least of all the id) would be cut; where nothing fits
    whole, columns shrink in ``SHRINK_ORDER`` down to their minimum, then the line is cut at the
    edge.
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
