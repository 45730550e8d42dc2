"""Confirmation dialogs: a destructive action needs a deliberate yes (focus starts on No)."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from bifrost_tui.formatting import STATE_LABELS, ago, counts_text
from bifrost_tui.gateway.models import Batch
from bifrost_tui.textsafe import safe_text

#: Terminal rows below which dialogs go compact.
SHORT_ROWS = 24


class ConfirmScreen(ModalScreen[bool]):
    """Yes/No dialog: ``y`` confirms, ``n``/``escape`` aborts, focus starts on No."""

    # Below 24 rows the dialog goes compact (no padding, one-line buttons) and its body scrolls,
    # so the title, the batch's provider and id, and the buttons stay on screen even at 40x10.
    VERTICAL_BREAKPOINTS = [(0, "-short"), (SHORT_ROWS, "-tall")]
    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen > Vertical {
        width: 72; max-width: 95%; height: auto; border: thick $error; background: $surface;
        padding: 1 2;
    }
    ConfirmScreen .title { text-style: bold; margin-bottom: 1; }
    ConfirmScreen #confirm-scroll { height: auto; }
    ConfirmScreen Horizontal { height: auto; margin-top: 1; align-horizontal: right; }
    ConfirmScreen Button { margin-left: 2; }
    ConfirmScreen.-short > Vertical { max-width: 100%; height: 100%; padding: 0 1; }
    ConfirmScreen.-short .title { margin-bottom: 0; }
    ConfirmScreen.-short #confirm-scroll { height: 1fr; }
    ConfirmScreen.-short Horizontal { margin-top: 0; }
    ConfirmScreen.-short Button { min-width: 0; margin-left: 1; }
    """
    BINDINGS = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n", "answer(False)", "No"),
        Binding("escape", "answer(False)", "No"),
    ]

    def __init__(self, title: str, body: Text, yes_label: str = "Yes, cancel it") -> None:
        super().__init__()
        self._title = title
        self._body = body
        self._yes = yes_label

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(self._title), classes="title")
            with VerticalScroll(id="confirm-scroll"):
                yield Static(self._body, id="confirm-body")
            with Horizontal():
                yield Button("No (n)", id="no", variant="primary")
                yield Button(f"{self._yes} (y)", id="yes", variant="error")

    def on_mount(self) -> None:
        self._fit(self.app.size.height)
        self.query_one("#no", Button).focus()

    def on_resize(self, event: events.Resize) -> None:
        self._fit(event.size.height)

    def _fit(self, height: int) -> None:
        for button in self.query(Button):
            button.compact = height < SHORT_ROWS  # one-line buttons on a short terminal

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)


def cancel_body(batch: Batch, now: datetime, gateway: str) -> Text:
    """What the operator must see before cancelling: provider, id, status, counts and age."""
    rows = [
        ("gateway", safe_text(gateway, 60)),
        ("provider", safe_text(batch.provider, 40)),
        ("id", safe_text(batch.id, 200)),
        ("status", f"{safe_text(batch.processing_status, 40)} ({STATE_LABELS[batch.state]})"),
        ("requests", counts_text(batch.request_counts)),
        ("created", ago(batch.created_at, now)),
    ]
    text = Text()
    for name, value in rows:
        text.append(f"{name:>9}  ", style="dim")
        text.append(value + "\n", style="bold" if name == "id" else "")
    text.append("\nThe gateway will be asked to cancel this batch. This cannot be undone.")
    return text
