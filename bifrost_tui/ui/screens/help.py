"""Help: every binding of the console, grouped by where it works."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

HELP: list[tuple[str, list[tuple[str, str]]]] = [
    (
        "Batches",
        [
            ("↑ ↓ PgUp PgDn Home End", "move the cursor"),
            ("enter", "details of the batch under the cursor"),
            ("c", "cancel the batch under the cursor (asks first)"),
            ("space", "tag / untag the batch under the cursor"),
            ("a", "tag every cancellable batch matching the filter"),
            ("C", "cancel the tagged batches (asks first; escape stops a running one)"),
            ("!", "only stuck or suspicious batches, with the rule that flagged each"),
            ("/", "filter by id, status or provider (enter keeps it, escape clears)"),
            ("s / S", "cycle the sort column / reverse the order"),
            ("h", "hide or show ended batches"),
            ("[ ]", "previous / next provider"),
            ("tab", "switch between the provider list and the table"),
        ],
    ),
    (
        "Live",
        [
            ("r", "refresh now (deep listing)"),
            ("z", "pause or resume auto-refresh"),
            ("+ / -", "refresh less / more often"),
        ],
    ),
    (
        "Console",
        [
            ("p", "profiles: switch, add, edit, delete"),
            ("A", "audit log: every cancel attempt"),
            ("ctrl+s", "save the visible rows (JSON, CSV) and a screenshot"),
            ("?", "this help"),
            ("ctrl+p", "command palette: every action by name"),
            ("q / ctrl+c", "quit (asks first while a cancel is in flight)"),
            ("escape", "close a dialog or screen"),
        ],
    ),
]


def render_help() -> Text:
    text = Text()
    for title, rows in HELP:
        text.append(f"{title}\n", style="bold underline")
        for keys, what in rows:
            text.append(f"  {keys:<24}", style="bold")
            text.append(f"{what}\n")
        text.append("\n")
    text.append(
        "States read without colour: ACTIVE, CANCELING, ENDED, CANCELED, FAILED, EXPIRED, "
        "UNKNOWN. '?' in request counts means the gateway does not report that number "
        "faithfully for that provider.",
        style="dim",
    )
    return text


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
