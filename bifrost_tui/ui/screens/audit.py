"""Audit screen (``A``): who cancelled what, when, and how it ended, newest first.

One row per attempt (intent and outcome lines paired, see ``audit.attempts``). The log is read in
a worker thread: audit I/O never runs on the console's event loop, so a slow disk or a FIFO
planted at the path cannot freeze the keys.
"""

from __future__ import annotations

import asyncio

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from bifrost_tui.audit.log import AttemptScan, AuditLog
from bifrost_tui.audit.render import AUDIT_COLUMNS, render_attempts
from bifrost_tui.textsafe import safe_text

#: Entries shown at most (the CLI's `bifrost-tui audit` prints them all).
SHOW_LAST = 2000


class AuditScreen(Screen[None]):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("q", "app.pop_screen", "Back", show=False),
        Binding("r", "reload", "Reload"),
    ]
    DEFAULT_CSS = """
    AuditScreen #audit-head { padding: 0 1; height: auto; }
    AuditScreen DataTable { height: 1fr; }
    """

    def __init__(self, log: AuditLog | None = None) -> None:
        super().__init__()
        # Not ``self.log``: that is Textual's logger property on every widget and screen.
        self.audit_log = log or AuditLog()

    def compose(self) -> ComposeResult:
        yield Static("", id="audit-head", markup=False)
        yield DataTable(id="audit-table", cursor_type="row", zebra_stripes=True)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for column in AUDIT_COLUMNS:
            table.add_column(Text(column), key=column)
        self.action_reload()
        table.focus()

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
        self._show(found)

    def _show(self, found: AttemptScan) -> None:
        table = self.query_one(DataTable)
        head = self.query_one("#audit-head", Static)
        table.clear()
        rows = found.rows
        shown = rows[-SHOW_LAST:][::-1]
        # Cells are rich Text: audit lines hold gateway text, which must never be read as markup.
        for cells in render_attempts(shown):
            table.add_row(*(Text(cell) for cell in cells))
        where = safe_text(str(self.audit_log.path))
        words = (
            f"{len(rows)} cancel attempt(s) in {where} "
            f"(newest first; `bifrost-tui audit --since 1h` prints them)"
        )
        problems = [
            f"cannot read {safe_text(str(p))}: {safe_text(why)}" for p, why in found.scan.unreadable
        ]
        if problems:
            head.update(Text("; ".join([*problems, words]), style="bold red"))
        else:
            head.update(Text(words, style="dim"))
