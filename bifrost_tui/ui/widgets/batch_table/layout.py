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
    "age",
    "expires",
)
LABELS: dict[str, str] = {
    "tag": "",
    "id": "ID",
    "provider": "PROVIDER",
    "status": "STATUS",
    "requests": "REQUESTS",
    "progress": "PROGRESS",
    "age": "AGE",
    "expires": "EXPIRES/ENDED",
}
#: Header labels used where the full one does not fit.
SHORT_LABELS: dict[str, str] = {
    "provider": "PROV",
    "requests": "REQS",
    "progress": "PROG",
    "expires": "ENDS",
}
#: The column each sort key sorts by: it is always on screen, its header with the arrow.
SORT_COLUMNS: dict[SortKey, str] = {
    SortKey.OLDEST_ACTIVE: "age",
    SortKey.CREATED: "age",
    SortKey.PROVIDER: "provider",
    SortKey.STATUS: "status",
    SortKey.ID: "id",
    SortKey.EXPIRES: "expires",
    SortKey.PROGRESS: "progress",
}
ARROW_DOWN = "▼"  # descending: the largest value (the oldest age, the last id) first
ARROW_UP = "▲"

#: Columns whose content is formatted by us have fixed widths (no O(n) measuring per minute).
PROGRESS_WIDTH = 15  # 10-cell bar, a space, "100%"
AGE_WIDTH = 4  # "59m", "23h", "364d"
EXPIRES_WIDTH = 14  # "in 23h 59m", "12d 23h ago", "overdue 2h 5m"
#: Narrowest the id gets while other columns can still give way, and at all: cut in the middle
#: it keeps its distinctive start and end (``msgbatch_01Hk…DV8d``).
ID_FLOOR = 18
ID_MIN = 12
#: Narrowest the STATUS column gets: the longest state label (``CANCELING``) fits, and enough of
#: a raw status word beside it to read (``ACTIVE fina…``, ``ENDED failed``).
STATUS_FLOOR = 12
#: Narrowest the REQUESTS column gets: the cell then shows the counts real for the provider.
REQUESTS_FLOOR = 9
#: What gives way, in order, when the line is too narrow: columns shrink (to a floor) or step
#: aside (``None``) until the rest fits. The id stays whole while anything else can give;
#: STATUS, AGE and the sorted column never go. Past the last step the line is cut at the edge.
GIVE_WAY: tuple[tuple[str, int | None], ...] = (
    ("progress", None),
    ("expires", 10),
    ("requests", 16),
    ("expires", None),
    ("requests", REQUESTS_FLOOR),
    ("status", STATUS_FLOOR),
    ("provider", 6),
    ("id", ID_FLOOR),
    ("requests", None),
    ("provider", None),
    ("id", ID_MIN),
)
#: Columns that never step aside.
KEPT: frozenset[str] = frozenset({"tag", "id", "status", "age"})


def arrow_down(sort_column: str, sort_reverse: bool) -> bool:
    """Whether the sorted column reads largest first. Sorting by creation time ascending (the
    store's ``sort_reverse=False``) puts the oldest, the largest AGE, first."""
    return not sort_reverse if sort_column == "age" else sort_reverse


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
    #: The sorted column reads largest first (``▼``).
    sort_descending: bool

    def has(self, name: str) -> bool:
        return name in self.columns

    @property
    def arrow(self) -> str:
        return ARROW_DOWN if self.sort_descending else ARROW_UP

    def header_cells(self) -> list[str]:
        """One label per column, each exactly its width; the sort arrow is never cut off."""
        return [self._header_cell(n, w) for n, w in zip(self.columns, self.widths, strict=True)]

    def _header_cell(self, name: str, width: int) -> str:
        label, short = LABELS[name], SHORT_LABELS.get(name, LABELS[name])
        if name == self.sort_column:
            candidates = [f"{label} {self.arrow}", f"{short} {self.arrow}", self.arrow]
        else:
            candidates = [label, short]
        for text in candidates:
            if cell_len(text) <= width:
                return fit(text, width)
        return fit(candidates[-1], width)


def time_span(layout: Layout) -> tuple[int, int]:
    """(x, width) of the time columns (AGE, EXPIRES/ENDED: the last ones) in ``layout``."""
    x = 0
    start = end = 0
    for name, width in zip(layout.columns, layout.widths, strict=True):
        if name in ("age", "expires"):
            start = start or x
            end = x + width
        x += width + 1
    return start, max(0, end - start)


def plan_layout(
    width: int, content: ContentWidths, sort_column: str, sort_descending: bool
) -> Layout:
    """Choose columns and widths for ``width`` cells. Pure, so it is cheap to test.

    Every column starts at its content's width; while the line is too wide, columns give way in
    ``GIVE_WAY`` order (the sorted column and those in ``KEPT`` shrink but never step aside), so
    the id is the last thing cut, and then in the middle. Past that the line is cut at the edge.
    """
    width = max(0, width)

    def desired(name: str) -> int:
        label = len(LABELS[name]) + (2 if name == sort_column else 0)
        match name:
            case "tag":
                return 1
            case "id":
                return max(content.id, label, 2)
            case "provider":
                return max(content.provider, label - len(LABELS[name]) + len("PROV"), 1)
            case "status":
                return max(content.status, label)
            case "requests":
                return max(content.requests, label)
            case "progress":
                return max(PROGRESS_WIDTH, label)
            case "age":
                return max(AGE_WIDTH, label)
            case _:
                return max(EXPIRES_WIDTH, label)

    widths = {name: desired(name) for name in COLUMNS}
    for name, floor in GIVE_WAY:
        excess = sum(widths.values()) + len(widths) - 1 - width
        if excess <= 0:
            break
        if name not in widths:
            continue
        if floor is None:
            if name not in KEPT and name != sort_column:
                del widths[name]
            elif name == sort_column:
                # The sorted column stays: as narrow as its header with the arrow allows.
                keep = len(SHORT_LABELS.get(name, LABELS[name])) + 2
                widths[name] -= min(excess, max(0, widths[name] - keep))
        elif widths[name] > floor:
            widths[name] -= min(excess, widths[name] - floor)
    # A column that stepped aside may have freed more than was needed: the columns that shrank
    # before it get it back, the last to shrink first.
    slack = width - (sum(widths.values()) + len(widths) - 1)
    for name, _ in reversed(GIVE_WAY):
        if slack <= 0:
            break
        if name in widths and widths[name] < desired(name):
            grow = min(slack, desired(name) - widths[name])
            widths[name] += grow
            slack -= grow
    columns = tuple(name for name in COLUMNS if name in widths)
    return Layout(
        width=width,
        columns=columns,
        widths=tuple(widths[name] for name in columns),
        sort_column=sort_column,
        sort_descending=sort_descending,
    )
