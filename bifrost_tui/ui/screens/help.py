"""Help: every binding of the console, grouped by where it works."""

from __future__ import annotations

from typing import NamedTuple

from rich.cells import cell_len
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


class KeyHelp(NamedTuple):
    """One line of help: its keys, what they do, and the command palette's entries for it."""

    keys: str
    what: str
    #: ``(title, action)`` per palette entry; an action without ``app.`` is the batches
    #: screen's. Empty for keys with no one action (moving the cursor, tab, closing a screen).
    commands: tuple[tuple[str, str], ...] = ()


#: The one list of keys: help shows it, the command palette is built from it, and a test holds
#: the README's key table to it.
HELP: list[tuple[str, list[KeyHelp]]] = [
    (
        "Batches",
        [
            KeyHelp("↑ ↓ PgUp PgDn Home End", "move the cursor"),
            KeyHelp(
                "enter",
                "details of the batch under the cursor",
                (("Details of the batch under the cursor", "open_detail"),),
            ),
            KeyHelp(
                "c",
                "cancel the batch under the cursor (asks first)",
                (("Cancel the batch under the cursor", "cancel"),),
            ),
            KeyHelp(
                "space",
                "tag / untag the batch under the cursor",
                (("Tag / untag the batch under the cursor", "tag"),),
            ),
            KeyHelp(
                "a",
                "tag every cancellable batch matching the filter",
                (("Tag every cancellable match", "tag_all"),),
            ),
            KeyHelp(
                "C",
                "cancel the tagged batches (asks first; escape stops a running one)",
                (("Cancel the tagged batches", "bulk_cancel"),),
            ),
            KeyHelp(
                "g",
                "jump to a batch by its id or part of it",
                (("Jump to a batch", "jump"),),
            ),
            KeyHelp(
                "y",
                "copy the id under the cursor (OSC 52 terminals)",
                (("Copy the id under the cursor", "copy_id"),),
            ),
            KeyHelp(
                "R",
                "results of the ended batch under the cursor: counts, errors by code, what is "
                "missing; ctrl+s there exports what to resubmit",
                (("Results of the batch under the cursor", "results"),),
            ),
            KeyHelp(
                "!",
                "only stuck or suspicious batches, with the rule that flagged each",
                (("Stuck batches", "app.flagged"),),
            ),
            KeyHelp(
                "/",
                "filter by id, status or provider (enter keeps it, escape clears)",
                (("Filter", "filter"),),
            ),
            KeyHelp(
                "escape",
                "stop a running bulk cancel, else clear the filter",
                (("Clear the filter (or stop a bulk cancel)", "escape"),),
            ),
            KeyHelp(
                "s / S",
                "cycle the sort column / reverse the order",
                (("Cycle sort column", "sort"), ("Reverse the sort order", "reverse")),
            ),
            KeyHelp(
                "h", "hide or show ended batches", (("Hide / show ended batches", "hide_ended"),)
            ),
            KeyHelp(
                "[ ]",
                "previous / next provider",
                (("Previous provider", "provider(-1)"), ("Next provider", "provider(1)")),
            ),
            KeyHelp("tab", "switch between the provider list and the table"),
        ],
    ),
    (
        "Live",
        [
            KeyHelp("r", "refresh now (deep listing)", (("Refresh now", "app.refresh_now"),)),
            KeyHelp(
                "z",
                "pause or resume auto-refresh",
                (("Pause / resume auto-refresh", "app.toggle_pause"),),
            ),
            KeyHelp(
                "+ / -",
                "refresh less / more often",
                (("Refresh less often", "app.slower"), ("Refresh more often", "app.faster")),
            ),
        ],
    ),
    (
        "Console",
        [
            KeyHelp("p", "profiles: switch, add, edit, delete", (("Profiles", "app.profiles"),)),
            KeyHelp("A", "audit log: every cancel attempt", (("Audit log", "app.audit"),)),
            KeyHelp(
                "e",
                "event log: every state change seen this session, newest first",
                (("Event log", "app.events"),),
            ),
            KeyHelp(
                "ctrl+s",
                "save the visible rows (JSON, CSV) and a screenshot",
                (("Export", "app.export"),),
            ),
            KeyHelp("?", "this help", (("Help", "app.help"),)),
            KeyHelp("ctrl+p", "command palette: every action by name"),
            KeyHelp(
                "q / ctrl+c",
                "quit (asks first while a cancel is in flight)",
                (("Quit", "app.request_quit"),),
            ),
            KeyHelp("escape", "close a dialog or screen"),
        ],
    ),
]


#: The keys column: the longest keys, indented by two, and one space before the descriptions.
KEYS_WIDTH = 2 + max(24, *(cell_len(row.keys) for _, rows in HELP for row in rows))


def render_help() -> Group:
    """Each group's keys in a column and their descriptions in another: a description too long
    for the line wraps under its own column, never back under the keys."""
    parts: list[RenderableType] = []
    for title, rows in HELP:
        parts.append(Text(title, style="bold underline"))
        grid = Table.grid(padding=(0, 1, 0, 0))
        grid.add_column(width=KEYS_WIDTH - 1, no_wrap=True, style="bold")
        grid.add_column(ratio=1, overflow="fold")
        for row in rows:
            grid.add_row(Text(f"  {row.keys}"), Text(row.what))
        parts += [grid, Text("")]
    parts.append(
        Text(
            "States read without colour: ACTIVE, CANCELING, ENDED, CANCELED, FAILED, EXPIRED, "
            "UNKNOWN. '?' in request counts means the gateway does not report that number "
            "faithfully for that provider.",
            style="dim",
        )
    )
    return Group(*parts)


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 84; max-width: 95%; height: auto; max-height: 90%;
        border: thick $accent; background: $surface; padding: 1 2;
    }
    """
    BINDINGS = [
        Binding("escape", "dismiss", "Close"),
        Binding("q", "dismiss", "Close", show=False),
        Binding("question_mark", "dismiss", "Close", show=False),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(render_help(), markup=False)

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(None)
