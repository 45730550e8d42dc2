"""The ``!`` view: only stuck or suspicious batches, each with the rule that flagged it."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Static

from bifrost_tui.formatting import STATE_LABELS
from bifrost_tui.textsafe import safe_text
from bifrost_tui.ui.screens.console_screen import ConsoleScreen


class FlaggedScreen(ConsoleScreen[None]):
    """Rules judge only what the provider's fields can support: silence is never a false alarm."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("exclamation_mark", "app.pop_screen", "All batches"),
    ]
    DEFAULT_CSS = """
    FlaggedScreen #flagged-head { padding: 0 1; height: auto; }
    FlaggedScreen DataTable { height: 1fr; }
    """

    def compose(self) -> ComposeResult:
        yield Static("", id="flagged-head", markup=False)
        yield DataTable(id="flagged-table", cursor_type="row", zebra_stripes=True)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for label in ("PROVIDER", "ID", "STATUS", "WHY"):
            table.add_column(Text(label), key=label.lower())
        self.reload()
        table.focus()

    def reload(self) -> None:
        app = self.bapp
        session = app.session
        store = app.store
        table = self.query_one(DataTable)
        table.clear()
        flags = session.flags if session is not None else {}
        for key in sorted(flags):
            batch = store.batches.get(key)
            if batch is None:
                continue
            why = "; ".join(f.message for f in flags[key])
            # Cells are rich Text: gateway strings are never read as markup.
            table.add_row(
                Text(safe_text(batch.provider, 20)),
                Text(safe_text(batch.id, 80)),
                Text(f"{safe_text(batch.processing_status, 20)} {STATE_LABELS[batch.state]}"),
                Text(safe_text(why, 200)),
                key=f"{key[0]}\x00{key[1]}",
            )
        self._show_head()

    def store_changed(self) -> None:
        # A first listing finished: the head stops saying "still listing".
        self._show_head()

    def _show_head(self) -> None:
        count = self.query_one(DataTable).row_count
        pending = self.bapp.listing_pending
        head = Text()
        if pending is not None:
            # An empty list here is not "nothing stuck": the listing has not come back yet.
            still = ", ".join(pending) if pending else "the gateway's providers are not known yet"
            head.append(
                f"still listing: {still}; their stuck batches are not judged yet.\n",
                style="bold yellow",
            )
        if count:
            head.append(
                f"{count} stuck or suspicious batch(es). Rules: canceling or finalizing longer "
                "than the profile's thresholds, still active past expires_at, ended with nothing "
                "succeeded, results near Anthropic's 29-day archive. A rule that a provider's "
                "fields cannot support stays silent.",
                style="dim",
            )
        elif pending is not None:
            head.append("Nothing stuck or suspicious among the batches listed so far.", "dim")
        else:
            head.append("Nothing stuck or suspicious right now.", style="green")
        self.query_one("#flagged-head", Static).update(head)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """``enter`` on a row: the batch's detail screen."""
        provider, _, batch_id = (event.row_key.value or "").partition("\x00")
        self.bapp.open_detail((provider, batch_id))
