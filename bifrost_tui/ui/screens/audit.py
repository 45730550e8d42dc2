"""Audit screen (``A``): who cancelled what, when, and how it ended, newest first."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from bifrost_tui.audit.log import AuditLog
from bifrost_tui.audit.render import AUDIT_COLUMNS, render_entries
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

    def action_reload(self) -> None:
        table = self.query_one(DataTable)
        head = self.query_one("#audit-head", Static)
        table.clear()
        try:
            entries = self.audit_log.read()
        except OSError as exc:
            where = safe_text(str(self.audit_log.path))
            head.update(Text(f"cannot read {where}: {exc.strerror}", style="bold red"))
            return
        shown = entries[-SHOW_LAST:][::-1]
        # Cells are rich Text: audit lines hold gateway text, which must never be read as markup.
        for row in render_entries(shown):
            table.add_row(*(Text(cell) for cell in row))
        head.update(
            Text(
                f"{len(entries)} cancel attempt(s) in {safe_text(str(self.audit_log.path))} "
                f"(newest first; `bifrost-tui audit --since 1h` prints them)",
                style="dim",
            )
        )
