"""The batch table's lines: one row or the header as a ``Strip``, and what their look hangs on.

Cells are plain ``Segment`` text (never markup) that went through ``safe_cell``, so gateway ids
like ``[/]`` or ``\\x1b[31m`` show literally and cannot style or break the terminal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from bifrost_tui.formatting import (
    age_text,
    progress_bar,
    progress_fraction,
    time_column,
)
from bifrost_tui.gateway.models import Batch, State
from bifrost_tui.ui.widgets.batch_table.cells import (
    ID_CAP,
    PROVIDER_CAP,
    counts_cell,
    fit,
    fit_middle,
    safe_cell,
    table_id,
)
from bifrost_tui.ui.widgets.batch_table.layout import Layout
from bifrost_tui.ui.widgets.batch_table.measure import ContentMeasure

#: The component class that colours the STATUS cell, per state.
STATE_CLASSES: dict[State, str] = {
    State.ACTIVE: "batch-table--state-active",
    State.CANCELING: "batch-table--state-canceling",
    State.ENDED_OK: "batch-table--state-ended",
    State.ENDED_CANCELED: "batch-table--state-canceled",
    State.ENDED_UNSURE: "batch-table--state-ended",
    State.FAILED: "batch-table--state-failed",
    State.EXPIRED: "batch-table--state-expired",
    State.UNKNOWN: "batch-table--state-unknown",
}


#: Written after the provider of a row whose provider's listing is failing: words, not a colour,
#: so it reads the same with NO_COLOR.
STALE_MARK = " STALE"


@dataclass(frozen=True, slots=True)
class Styles:
    """The table's component styles, read once per paint."""

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
class Frame:
    """What every line of one paint shares: computed once per ``render_lines``."""

    now: datetime
    styles: Styles
    layout: Layout
    scroll_y: int


@dataclass(slots=True)
class Row:
    """One rendered row and everything its look depends on."""

    batch: Batch
    layout: Layout
    cursor: bool
    tagged: bool
    times: tuple[str, str]
    strip: Strip


def row_times(batch: Batch, now: datetime, layout: Layout) -> tuple[str, str]:
    """The AGE and EXPIRES/ENDED cells' text (empty where the column is not shown)."""
    created = age_text(batch.created_at, now) if layout.has("age") else ""
    expires = time_column(batch, now) if layout.has("expires") else ""
    return created, expires


def header_strip(layout: Layout, styles: Styles, shown: tuple[int, int] | None = None) -> Strip:
    """The header line: column labels, the sort column's with an arrow; with ``shown`` (rows in
    the view, batches in all) the ID label carries the count, so a filter never hides how much
    it hides."""
    style = styles.base + styles.header
    cells = layout.header_cells()
    if shown is not None and "id" in layout.columns:
        index = layout.columns.index("id")
        cells[index] = with_count(cells[index], layout.widths[index], *shown)
    text = " ".join(cells)
    return _finish([Segment(text, style)], cell_len(text), layout.width, style)


def with_count(cell: str, width: int, shown: int, total: int) -> str:
    """``ID  37 of 250 shown`` in ``width`` cells, else ``ID  37/250``, else the label alone."""
    label = cell.rstrip()
    for count in (f"{shown} of {total} shown", f"{shown}/{total}"):
        text = f"{label}  {count}"
        if cell_len(text) <= width:
            return fit(text, width)
    return cell


def render_row(
    batch: Batch,
    layout: Layout,
    styles: Styles,
    cursor: bool,
    tagged: bool,
    times: tuple[str, str],
    measure: ContentMeasure,
    stale: bool = False,
) -> Strip:
    """One batch's line, exactly ``layout.width`` cells; a ``stale`` one (its provider's listing
    is failing: this is the last good read) says so in words beside its provider."""
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
                add(fit_middle(safe_cell(table_id(batch.id), ID_CAP), width), style)
                used += width
                continue
            case "provider":
                text = safe_cell(batch.provider, PROVIDER_CAP)
                if stale:
                    text += STALE_MARK
            case "status":
                text = measure.status_text(batch, state)
                style = status_style
            case "requests":
                text = counts_cell(batch.request_counts, batch.provider_kind, width)
            case "progress":
                fraction = progress_fraction(batch.request_counts)
                text = (
                    ""
                    if fraction is None
                    else f"{progress_bar(fraction, 10)} {round(fraction * 100):>3d}%"
                )
            case "age":
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


def _finish(segments: list[Segment], used: int, width: int, style: Style) -> Strip:
    """Pad (in the row's style, so the cursor spans the line) or cut to ``width`` cells."""
    if used < width:
        segments.append(Segment(" " * (width - used), style))
        used = width
    strip = Strip(segments, used)
    return strip.crop(0, width) if used > width else strip
