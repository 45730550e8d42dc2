"""The baseline for console start: a bare Textual app showing a 20-row DataTable, headless,
exiting as soon as it is first painted (the time goes to ``BENCH_PAINT_FILE``)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from textual.app import App, ComposeResult
from textual.widgets import DataTable


class BareTable(App[None]):
    def compose(self) -> ComposeResult:
        yield DataTable()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("id", "provider", "status", "requests", "created", "expires")
        for i in range(20):
            table.add_row(f"batch_{i:04d}", "openai", "in_progress", "10 proc", "5m ago", "in 23h")
        self.call_after_refresh(self._painted)

    def _painted(self) -> None:
        Path(os.environ["BENCH_PAINT_FILE"]).write_text(repr(time.time()))
        self.exit()


BareTable().run(headless=True, size=(120, 40))
