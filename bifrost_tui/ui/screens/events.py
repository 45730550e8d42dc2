"""Event log screen (``e``): state changes seen this session, cancels and toasts, newest first."""

from __future__ import annotations

from datetime import UTC

from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from bifrost_tui.core.events import Actor, Event, EventLog
from bifrost_tui.textsafe import safe_text

EVENT_COLUMNS = ("TIME", "WHO", "PROVIDER", "BATCH", "FROM → TO", "WHAT")
#: Cells are cut here (the detail screen shows a whole id).
ID_WIDTH = 80
WHAT_WIDTH = 300
SEVERITY_STYLES = {"success": "green", "warning": "yellow", "error": "bold red"}
#: How often an open log looks for new events (a repaint happens only when there are some).
RECHECK_SECONDS = 1.0
#: WHAT takes the width the other columns leave, at least this much; it wraps, never hides.
MIN_WHAT_WIDTH = 24
#: Each cell's padding (one column each side) and the vertical scrollbar.
CELL_PADDING = 2
SCROLLBAR = 2


def event_row(event: Event) -> tuple[Text, ...]:
    """One row; every string through ``safe_text`` and into rich ``Text``: never markup."""
    style = SEVERITY_STYLES.get(event.severity, "")
    who = "you" if event.actor is Actor.YOU else event.actor.value
    return (
        Text(event.at.astimezone(UTC).strftime("%H:%M:%S")),
        Text(who, style="bold" if event.actor is Actor.YOU else ""),
        Text(safe_text(event.provider, 20)),
        Text(safe_text(event.batch_id, ID_WIDTH)),
        Text(event.change),
        Text(safe_text(event.what, WHAT_WIDTH), style=style),
    )


def column_widths(rows: list[tuple[Text, ...]], width: int) -> list[int]:
    """Every column as wide as its widest cell, but WHAT: the rest of ``width`` (it wraps)."""
    widths = [
        max([cell_len(label), *(row[n].cell_len for row in rows)])
        for n, label in enumerate(EVENT_COLUMNS[:-1])
    ]
    used = sum(widths) + CELL_PADDING * len(EVENT_COLUMNS) + SCROLLBAR
    return [*widths, max(MIN_WHAT_WIDTH, width - used)]


def head_text(log: EventLog) -> str:
    dropped = f" ({log.dropped} older dropped)" if log.dropped else ""
    return (
        f"{len(log)} event(s){dropped} this session, newest first; times in UTC. "
        "'you' is a cancel sent from this console, 'gateway' a change a refresh saw."
    )


class EventsScreen(Screen[None]):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("q", "app.pop_screen", "Back", show=False),
        Binding("r", "reload", "Reload"),
    ]
    DEFAULT_CSS = """
    EventsScreen #events-head { padding: 0 1; height: auto; }
    EventsScreen DataTable { height: 1fr; }
    """

    def __init__(self, log: EventLog) -> None:
        super().__init__()
        # Not ``self.log``: that is Textual's logger property on every widget and screen.
        self.event_log = log
        self._shown: tuple[int, int] | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="events-head", markup=False)
        yield DataTable(id="events-table", cursor_type="row", zebra_stripes=True)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.action_reload()
        self.query_one(DataTable).focus()
        self.set_interval(RECHECK_SECONDS, self._recheck)

    def on_resize(self, event: events.Resize) -> None:
        self.action_reload()  # WHAT takes the new width

    def _recheck(self) -> None:
        if self._shown != (len(self.event_log), self.event_log.dropped):
            self.action_reload()

    def action_reload(self) -> None:
        log = self.event_log
        table = self.query_one(DataTable)
        table.clear(columns=True)
        rows = [event_row(event) for event in log.newest_first()]
        for label, width in zip(EVENT_COLUMNS, column_widths(rows, self.size.width), strict=True):
            table.add_column(Text(label), key=label, width=width)
        for row in rows:
            table.add_row(*row, height=None)
        self._shown = (len(log), log.dropped)
        self.query_one("#events-head", Static).update(Text(head_text(log), style="dim"))
