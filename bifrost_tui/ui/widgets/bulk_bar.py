"""The bulk-cancel progress line: done / refused / unknown as they arrive; escape stops it."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from bifrost_tui.core.bulk import BulkSummary, ItemOutcome
from bifrost_tui.formatting import progress_bar


class BulkBar(Static):
    DEFAULT_CSS = """
    BulkBar { height: 1; padding: 0 1; background: $warning 20%; display: none; }
    BulkBar.-running { display: block; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)

    def show_progress(self, summary: BulkSummary, stopping: bool = False) -> None:
        counts = summary.counts
        fraction = summary.done / summary.total if summary.total else 1.0
        tail = "stopping: waiting for requests already sent" if stopping else "escape stops"
        self.update(
            Text.assemble(
                ("bulk cancel ", "bold"),
                progress_bar(fraction, 20),
                f" {summary.done}/{summary.total} · ",
                (f"{counts[ItemOutcome.ACCEPTED]} accepted", "green"),
                " · ",
                (f"{counts[ItemOutcome.REFUSED]} refused", "red"),
                " · ",
                (f"{counts[ItemOutcome.UNKNOWN]} unknown", "yellow"),
                f" · {counts[ItemOutcome.SKIPPED]} skipped — ",
                (tail, "dim"),
                no_wrap=True,
                overflow="ellipsis",
            )
        )
        self.add_class("-running")

    def hide(self) -> None:
        self.remove_class("-running")
