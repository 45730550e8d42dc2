"""Audit screen (``A``): who cancelled what, when, and how it ended, newest first.

One row per attempt (intent and outcome lines paired, see ``audit.attempts``). The log is read in
a worker thread: audit I/O never runs on the console's event loop, so a slow disk or a FIFO
planted at the path cannot freeze the keys.

At 120 columns the columns that answer "did my cancel land" stay on screen: time, provider, the
batch id (cut in the middle when it must give way, a Bedrock ARN by its job id), the states before
and after, how the batch ended as this console saw it later, the outcome, the HTTP status and the
error or reason; who, the profile, the source and the request id follow to the right. The ended
state comes from the console's store (the watch of a cancelled batch, a refresh), never from the
audit file, which records only what the cancel itself answered. ``/`` filters the rows by their
text; ``enter`` opens the batch's detail when it is listed now.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from rich.cells import cell_len
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Input, Static

from bifrost_tui.audit.attempts import AttemptRow
from bifrost_tui.audit.log import AttemptScan, AuditLog
from bifrost_tui.audit.record import clean_gateway_url
from bifrost_tui.audit.render import (
    AUDIT_COLUMNS,
    AUDIT_ID_MIN,
    AUDIT_REASON_FIRST,
    AUDIT_TIME_SHORT,
    render_attempts,
)
from bifrost_tui.core.store import Key
from bifrost_tui.formatting import STATE_LABELS
from bifrost_tui.gateway.models import State
from bifrost_tui.textsafe import safe_text
from bifrost_tui.ui.screens.console_screen import ConsoleScreen
from bifrost_tui.ui.widgets.batch_table.cells import fit, fit_middle, table_id

#: Entries shown at most (the CLI's `bifrost-tui audit` prints them all).
SHOW_LAST = 2000
#: The column the console adds from its store: how the batch ended, and when it saw that.
ENDED = "ENDED (SEEN)"
TIME = "TIME (UTC)"
STATES = "BEFORE → AFTER"
ID = "BATCH ID"
REASON = "ERROR / REASON"
#: The screen's columns, left to right: what must be seen at 120 columns first.
SCREEN_COLUMNS: tuple[str, ...] = (
    TIME,
    "PROVIDER",
    ID,
    STATES,
    ENDED,
    "OUTCOME",
    "HTTP",
    REASON,
    "USER@HOST",
    "PROFILE",
    "SOURCE",
    "REQUEST ID",
)
#: The columns after the reason: on a narrow terminal they are to the right (scroll with →).
_TRAILING = SCREEN_COLUMNS[SCREEN_COLUMNS.index(REASON) + 1 :]
_INDEX = {name: i for i, name in enumerate(AUDIT_COLUMNS)}
#: Cells of padding each column takes (the table's cell padding, both sides).
_PADDING = 2
#: The vertical scrollbar, kept for even when there is nothing to scroll.
_SCROLLBAR = 2


@dataclass(frozen=True, slots=True)
class AuditLine:
    """One attempt as the screen shows it: its cells by column name, and the batch it names."""

    cells: dict[str, str]
    key: Key
    gateway: str
    #: Everything ``/`` matches: every cell, the whole batch id, the gateway.
    haystack: str


class AuditScreen(ConsoleScreen[None]):
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("q", "app.pop_screen", "Back", show=False),
        Binding("r", "reload", "Reload"),
        Binding("slash", "filter", "Filter"),
    ]
    DEFAULT_CSS = """
    AuditScreen #audit-head { padding: 0 1; height: auto; }
    AuditScreen #audit-note { padding: 0 1; height: auto; }
    AuditScreen #audit-filter { margin: 0 1; }
    AuditScreen DataTable { height: 1fr; }
    """

    def __init__(self, log: AuditLog | None = None) -> None:
        super().__init__()
        # Not ``self.log``: that is Textual's logger property on every widget and screen.
        self.audit_log = log or AuditLog()
        self._found: AttemptScan | None = None
        self._lines: list[AuditLine] = []
        self._shown: list[AuditLine] = []
        self.text_filter = ""

    def compose(self) -> ComposeResult:
        yield Static("", id="audit-head", markup=False)
        yield Input(
            placeholder="filter: id, provider, outcome, user…", id="audit-filter", compact=True
        )
        yield Static("", id="audit-note", markup=False)
        yield DataTable(id="audit-table", cursor_type="row", zebra_stripes=True)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#audit-filter", Input).display = False
        self.query_one("#audit-note", Static).display = False
        self.action_reload()
        self.query_one(DataTable).focus()

    @work(exclusive=True, group="audit-read")
    async def action_reload(self) -> None:
        head = self.query_one("#audit-head", Static)
        where = safe_text(str(self.audit_log.path))
        head.update(Text(f"reading {where} …", style="dim"))
        try:
            found = await asyncio.to_thread(self.audit_log.attempts)
        except OSError as exc:
            head.update(Text(f"cannot read {where}: {safe_text(str(exc))}", style="bold red"))
            return
        self._found = found
        self._build()

    def store_changed(self) -> None:
        """The console's store moved on (a watch saw a batch end): the ENDED column follows."""
        if self._found is not None:
            self._build()

    def on_resize(self) -> None:
        if self._found is not None:
            self._fill()

    # ---- rows ------------------------------------------------------------------------------

    def _build(self) -> None:
        assert self._found is not None
        gateway = clean_gateway_url(self.bapp.connection.display_url)
        shown = self._found.rows[-SHOW_LAST:][::-1]
        lines = []
        for row, cells in zip(shown, render_attempts(shown, detail_width=None), strict=True):
            named = {name: cells[_INDEX[name]] for name in AUDIT_COLUMNS}
            named[STATES] = f"{_state_word(row.entry.state_before)} → {after_word(row)}"
            named[ENDED] = self._seen_ended(row, gateway)
            entry = row.entry
            haystack = " ".join([*named.values(), entry.batch_id, entry.gateway or ""])
            key = (entry.provider, entry.batch_id)
            lines.append(AuditLine(named, key, entry.gateway or "", haystack.casefold()))
        self._lines = lines
        self._fill()

    def _seen_ended(self, row: AttemptRow, gateway: str) -> str:
        """``canceled 12:03`` when the store shows the batch ended after what the audit recorded
        (the time is when this console saw it end; the audit file is not written)."""
        entry = row.entry
        if entry.gateway and entry.gateway != gateway:
            return ""
        key = (entry.provider, entry.batch_id)
        batch = self.bapp.store.batches.get(key)
        if batch is None or not batch.state.terminal or entry.state_after == batch.state.value:
            return ""
        label = STATE_LABELS[batch.state].lower()
        for event in self.bapp.events.newest_first():
            if (event.provider, event.batch_id) == key and event.after is batch.state:
                return f"{label} {event.at.strftime('%H:%M')}"
        return label

    def _fill(self) -> None:
        """The rows that match the filter, their columns fitted to the screen's width."""
        assert self._found is not None
        needle = self.text_filter.casefold()
        self._shown = [line for line in self._lines if needle in line.haystack]
        table = self.query_one(DataTable)
        row = table.cursor_row
        widths = fit_widths([line.cells for line in self._shown], self.size.width)
        table.clear(columns=True)
        for name in SCREEN_COLUMNS:
            table.add_column(Text(name), key=name, width=widths[name])
        # Cells are rich Text: audit lines hold gateway text, which must never be read as markup.
        for line in self._shown:
            cells = (fit_cell(name, line.cells[name], widths[name]) for name in SCREEN_COLUMNS)
            table.add_row(*(Text(cell) for cell in cells))
        if self._shown:
            table.move_cursor(row=min(row, len(self._shown) - 1))
        self._update_head()

    def _update_head(self) -> None:
        assert self._found is not None
        head = self.query_one("#audit-head", Static)
        rows = self._found.rows
        where = safe_text(str(self.audit_log.path))
        words = (
            f"{len(rows)} cancel attempt(s) in {where} "
            f"(newest first; `bifrost-tui audit --since 1h` prints them)"
        )
        if self.text_filter:
            words += f" · /{safe_text(self.text_filter, 40)}: {len(self._shown)} shown"
        problems = [
            f"cannot read {safe_text(str(p))}: {safe_text(why)}"
            for p, why in self._found.scan.unreadable
        ]
        if problems:
            head.update(Text("; ".join([*problems, words]), style="bold red"))
        else:
            head.update(Text(words, style="dim"))

    # ---- keys ------------------------------------------------------------------------------

    def action_filter(self) -> None:
        field = self.query_one("#audit-filter", Input)
        field.display = True
        field.value = self.text_filter
        field.focus()

    @on(Input.Changed, "#audit-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.text_filter = event.value
        if self._found is not None:
            self._fill()

    @on(Input.Submitted, "#audit-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        event.input.display = False
        self.query_one(DataTable).focus()

    def action_back(self) -> None:
        """``escape``: clear the filter (kept or being typed), else back to the batches."""
        field = self.query_one("#audit-filter", Input)
        if not self.text_filter and not field.display:
            self.app.pop_screen()
            return
        field.value = ""
        field.display = False
        self.text_filter = ""
        if self._found is not None:
            self._fill()
        self.query_one(DataTable).focus()

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    def action_open(self) -> None:
        """``enter``: the batch's detail screen when it is listed now; else why not, in words."""
        table = self.query_one(DataTable)
        if not self._shown:
            return
        line = self._shown[table.cursor_row]
        note = self.query_one("#audit-note", Static)
        app = self.bapp
        gateway = clean_gateway_url(app.connection.display_url)
        provider, batch_id = line.key
        what = f"{safe_text(batch_id, 80)} on {safe_text(provider, 20)}"
        if line.gateway and line.gateway != gateway:
            words = f"{what} was cancelled through {safe_text(line.gateway, 60)}, not this gateway"
        elif line.key not in app.store.batches:
            words = f"{what} is not listed now (the gateway's listing does not hold it)"
        else:
            note.display = False
            app.open_detail(line.key)
            return
        note.update(Text(words, style="bold"))
        note.display = True


def _state_word(value: str | None) -> str:
    """A recorded state in the words the batches screen uses, lower case (``ended-canceled``
    reads ``canceled``); anything else as recorded."""
    if value is None:
        return "?"
    try:
        return STATE_LABELS[State(value)].lower()
    except ValueError:
        return safe_text(value, 20)


def after_word(row: AttemptRow) -> str:
    """The state after, as ``render_attempt`` has it: ``?`` when an answer may have moved it."""
    entry = row.entry
    if entry.state_after is None:
        return "?" if entry.outcome in ("accepted", "unknown") else "—"
    return _state_word(entry.state_after)


def fit_cell(name: str, text: str, width: int) -> str:
    """``text`` in a column ``width`` cells wide: an id cut in the middle (a Bedrock ARN by its
    job id), a time without its year when that is what fits, anything else cut at its end."""
    if name == "BATCH ID":
        return fit_middle(table_id(text), width)
    if name == TIME and cell_len(text) > width:
        text = text[len("2026-") :]  # 11-28 12:00:05
    return fit(text, width)


def fit_widths(rows: Sequence[dict[str, str]], width: int) -> dict[str, int]:
    """Each column's width: its content's, except that the time, the batch id and the reason
    give way so that every column up to the reason fits in ``width``: the time drops its year,
    the reason keeps up to AUDIT_REASON_FIRST cells, the id gives way down to AUDIT_ID_MIN (cut
    in the middle) and the reason takes what is left, at least its heading."""
    natural = {name: cell_len(name) for name in SCREEN_COLUMNS}
    for cells in rows:
        for name in SCREEN_COLUMNS:
            text = table_id(cells[name]) if name == "BATCH ID" else cells[name]
            natural[name] = max(natural[name], cell_len(text))
    leading = [n for n in SCREEN_COLUMNS if n not in _TRAILING]
    room = width - _SCROLLBAR - _PADDING * len(leading)
    widths = dict(natural)
    left = room - sum(natural[n] for n in leading if n not in (ID, REASON))
    if natural[ID] + natural[REASON] > left and natural[TIME] > AUDIT_TIME_SHORT:
        widths[TIME] = AUDIT_TIME_SHORT
        left += natural[TIME] - AUDIT_TIME_SHORT
    batch_id, reason = natural[ID], natural[REASON]
    if batch_id + reason > left:
        batch_id = max(AUDIT_ID_MIN, min(batch_id, left - min(reason, AUDIT_REASON_FIRST)))
        reason = max(cell_len(REASON), min(reason, left - batch_id))
    widths[ID] = batch_id
    widths[REASON] = reason
    return widths
