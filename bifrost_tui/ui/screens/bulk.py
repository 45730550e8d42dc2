"""Bulk cancel dialogs: the confirmation (typed when large, explicit when listings are partial)
and the summary of what was refused and why."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Static

from bifrost_tui.core.bulk import BulkSummary
from bifrost_tui.gateway.models import Batch
from bifrost_tui.textsafe import safe_text
from bifrost_tui.ui.screens.confirm import SHORT_ROWS

SHOW_FIRST = 10


def bulk_body(batches: Sequence[Batch], partial: Sequence[str]) -> Text:
    per = Counter(b.provider for b in batches)
    text = Text()
    text.append(f"{len(batches)} batch(es) will be asked to cancel:\n", style="bold")
    for provider, n in sorted(per.items()):
        text.append(f"  {n:>5}  on {safe_text(provider, 30)}\n")
    text.append("\nFirst ids:\n", style="dim")
    for batch in batches[:SHOW_FIRST]:
        text.append(f"  {safe_text(batch.provider, 12):<12} {safe_text(batch.id, 80)}\n")
    if len(batches) > SHOW_FIRST:
        text.append(f"  … and {len(batches) - SHOW_FIRST} more\n", style="dim")
    if partial:
        text.append("\nThe selection may be incomplete:\n", style="bold yellow")
        for line in partial:
            text.append(f"  ⚠ {safe_text(line, 160)}\n", style="yellow")
    return text


#: The typed word's placeholder: words about the input, never something that reads as a value.
TYPED_PLACEHOLDER = "‹type the word above, then enter›"


class BulkConfirmScreen(ModalScreen[bool]):
    """Yes stays disabled until every required confirmation is given.

    Focus starts in the typed word's input when a word is required, else on No. ``escape`` always
    cancels; ``n`` cancels as in the single dialog wherever it is not a letter of the word, i.e.
    when the focus is not in the input (on the buttons or the checkbox). A word that does not
    match stays in the input, with an inline error under it.
    """

    # Short terminals: compact, and only the list scrolls, so the buttons stay on screen.
    VERTICAL_BREAKPOINTS = [(0, "-short"), (SHORT_ROWS, "-tall")]
    DEFAULT_CSS = """
    BulkConfirmScreen { align: center middle; }
    BulkConfirmScreen > Vertical {
        width: 90; max-width: 98%; height: auto; max-height: 95%;
        border: thick $error; background: $surface; padding: 1 2;
    }
    BulkConfirmScreen #bulk-body { height: auto; max-height: 24; }
    BulkConfirmScreen Horizontal { height: auto; margin-top: 1; align-horizontal: right; }
    BulkConfirmScreen Button { margin-left: 2; }
    BulkConfirmScreen #typed { border: round $border-blurred; background: $boost; }
    BulkConfirmScreen #typed:focus { border: heavy $accent; }
    BulkConfirmScreen #typed > .input--placeholder { color: $text; text-style: italic; }
    BulkConfirmScreen #typed-error { color: $text-error; text-style: bold; }
    BulkConfirmScreen.-short > Vertical { max-width: 100%; height: 100%; max-height: 100%;
        padding: 0 1; }
    BulkConfirmScreen.-short #bulk-body { height: 1fr; }
    BulkConfirmScreen.-short Horizontal { margin-top: 0; }
    BulkConfirmScreen.-short Button { min-width: 0; margin-left: 1; }
    """
    BINDINGS = [
        Binding("escape", "answer(False)", "No"),
        # In the input ``n`` is a letter of the word (the input takes it first); elsewhere: No.
        Binding("n", "answer(False)", "No"),
    ]

    def __init__(
        self, batches: Sequence[Batch], *, partial: Sequence[str], typed_word: str | None
    ) -> None:
        super().__init__()
        self.batches = list(batches)
        self.partial = list(partial)
        self.typed_word = typed_word

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text("Cancel the tagged batches?", style="bold"))
            with VerticalScroll(id="bulk-body"):
                yield Static(bulk_body(self.batches, self.partial), markup=False)
            if self.partial:
                yield Checkbox("I understand some matching batches may be missing", id="ack")
            if self.typed_word is not None:
                yield Static(
                    Text(f"Type {safe_text(self.typed_word, 60)!r} to confirm:"), id="typed-hint"
                )
                yield Input(id="typed", placeholder=TYPED_PLACEHOLDER)
                yield Static("", id="typed-error", markup=False)
            with Horizontal():
                yield Button("No (esc)", id="no", variant="primary")
                yield Button(f"Cancel {len(self.batches)} batch(es)", id="yes", variant="error")

    def on_mount(self) -> None:
        self._fit(self.app.size.height)
        if self.typed_word is not None:
            self.query_one("#typed", Input).focus()
            self.query_one("#typed-error", Static).display = False
        else:
            self.query_one("#no", Button).focus()
        self._update()

    def on_resize(self, event: events.Resize) -> None:
        self._fit(event.size.height)

    def _fit(self, height: int) -> None:
        for button in self.query(Button):
            button.compact = height < SHORT_ROWS

    def ready(self) -> bool:
        if self.partial and not self.query_one("#ack", Checkbox).value:
            return False
        if self.typed_word is not None:
            return self.query_one("#typed", Input).value.strip() == self.typed_word
        return True

    def _update(self) -> None:
        self.query_one("#yes", Button).disabled = not self.ready()

    @on(Checkbox.Changed)
    @on(Input.Changed)
    def _changed(self) -> None:
        self._update()
        if self.typed_word is not None:
            self.query_one("#typed-error", Static).display = False

    @on(Input.Submitted)
    def _submitted(self) -> None:
        if self.ready():
            self.dismiss(True)
            return
        # The word stays as typed, so a slip can be corrected rather than retyped.
        error = self.query_one("#typed-error", Static)
        error.update(Text(self._not_ready_words()))
        error.display = True

    def _not_ready_words(self) -> str:
        assert self.typed_word is not None
        typed = self.query_one("#typed", Input).value.strip()
        word = safe_text(self.typed_word, 60)
        if typed != self.typed_word:
            got = f"{safe_text(typed, 60)!r} is not {word!r}" if typed else "nothing typed"
            return f"✗ {got}: type {word!r} exactly, then enter (escape backs out)"
        return "✗ tick the box above first (shift+tab): some matching batches may be missing"

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes" and self.ready())

    def action_answer(self, value: bool) -> None:
        self.dismiss(value and self.ready())


def summary_text(summary: BulkSummary) -> Text:
    text = Text()
    text.append(summary.words() + "\n", style="bold")
    if summary.interrupted:
        text.append("Interrupted: batches not yet sent were left alone.\n", style="yellow")
    troubled = summary.troubled
    if troubled:
        text.append("\nNeeds a look:\n", style="bold")
        for item in troubled:
            text.append(f"  {item.outcome:<8} ", style="bold red")
            text.append(f"{safe_text(item.key[0], 12)} {safe_text(item.key[1], 80)}\n")
            if item.message:
                text.append(f"           {safe_text(item.message, 200)}\n", style="dim")
    else:
        text.append("\nNothing was refused.\n", style="green")
    return text


class BulkSummaryScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    BulkSummaryScreen { align: center middle; }
    BulkSummaryScreen > VerticalScroll {
        width: 100; max-width: 98%; height: auto; max-height: 90%;
        border: thick $accent; background: $surface; padding: 1 2;
    }
    """
    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("enter", "close", "Close", show=False),
    ]

    def __init__(self, summary: BulkSummary) -> None:
        super().__init__()
        self.summary = summary

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(Text("Bulk cancel finished", style="bold"))
            yield Static(summary_text(self.summary), id="summary", markup=False)

    def action_close(self) -> None:
        self.dismiss(None)
