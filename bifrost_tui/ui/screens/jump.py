"""The jump prompt (``g``): type an id or part of one; one match jumps, several are offered."""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from bifrost_tui.core.jump import find_batch, not_found_words
from bifrost_tui.core.store import BatchStore, Key
from bifrost_tui.formatting import STATE_LABELS
from bifrost_tui.textsafe import safe_text


class JumpScreen(ModalScreen[Key | None]):
    """Dismissed with the batch to jump to, or ``None`` (escape)."""

    DEFAULT_CSS = """
    JumpScreen { align: center top; }
    JumpScreen > Vertical {
        width: 90; max-width: 95%; height: auto; max-height: 80%; margin-top: 3;
        border: thick $accent; background: $surface; padding: 0 1;
    }
    JumpScreen #jump-input { border: round $accent; }
    JumpScreen #jump-input:focus { border: heavy $accent; }
    JumpScreen #jump-matches { height: auto; max-height: 16; }
    JumpScreen #jump-message { height: auto; }
    """
    BINDINGS = [Binding("escape", "close", "Close")]

    def __init__(
        self, store: BatchStore, pending: Callable[[], list[str] | None] | None = None
    ) -> None:
        super().__init__()
        self.store = store
        #: The providers whose first listing is still running (see ``not_found_words``).
        self._pending = pending or (lambda: None)
        self._keys: list[Key] = []

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text("Jump to a batch (exact id, or its start, or any part)", "bold"))
            yield Input(placeholder="batch id…", id="jump-input")
            yield Static("", id="jump-message", markup=False)
            yield OptionList(id="jump-matches")

    def on_mount(self) -> None:
        self.query_one("#jump-matches", OptionList).display = False
        self.query_one("#jump-input", Input).focus()

    def _say(self, words: str) -> None:
        self.query_one("#jump-message", Static).update(Text(safe_text(words, 400)))

    @on(Input.Submitted, "#jump-input")
    def _submitted(self, event: Input.Submitted) -> None:
        query = event.value.strip()
        matches = self.query_one("#jump-matches", OptionList)
        matches.display = False
        if not query:
            self._say("type an id, its start, or any part of it")
            return
        result = find_batch(self.store.batches.keys(), query)
        if result.found is not None:
            self.dismiss(result.found)
            return
        if not result.matches:
            self._say(not_found_words(self.store, query, self._pending()))
            return
        more = result.total - len(result.matches)
        self._say(
            f"{result.total} batches match {query!r}: pick one (enter)"
            + (f"; {more} more not shown, type more of the id" if more else "")
        )
        self._keys = list(result.matches)
        matches.clear_options()
        matches.add_options(self._option(key) for key in self._keys)
        matches.display = True
        matches.highlighted = 0
        matches.focus()

    def _option(self, key: Key) -> Option:
        batch = self.store.batches[key]
        line = Text()
        line.append(f"{safe_text(key[0], 20):<10} ")
        line.append(f"{STATE_LABELS[batch.state]:<10} ")
        line.append(safe_text(key[1], 200))
        return Option(line)

    @on(OptionList.OptionSelected, "#jump-matches")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self._keys[event.option_index])

    def action_close(self) -> None:
        self.dismiss(None)
