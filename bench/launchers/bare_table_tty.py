"""The baseline for the console's start in a pty: a bare Textual app showing a 20-row DataTable
on the real terminal (not headless). The benchmark times it from the spawn until the first row's
id (``MARKER``) appears in the bytes written to the terminal, then ends the process."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import DataTable

#: The first row's id: what the benchmark looks for in the terminal's bytes.
MARKER = "batch_bare_0000"


class BareTable(App[None]):
    def compose(self) -> ComposeResult:
        yield DataTable()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("id", "provider", "status", "requests", "created", "expires")
        for i in range(20):
            table.add_row(f"batch_bare_{i:04d}", "openai", "in_progress", "10 proc", "5m", "23h")


if __name__ == "__main__":
    BareTable().run()
