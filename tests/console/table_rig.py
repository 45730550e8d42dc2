"""A bare app around one BatchTable, and the batches and probes its tests share."""

from __future__ import annotations

from datetime import timedelta

from textual.app import App, ComposeResult
from textual.geometry import Region

from bifrost_tui.clock import ManualClock
from bifrost_tui.core.sorting import SortKey
from bifrost_tui.core.store import BatchStore, Key
from bifrost_tui.gateway.counts import RequestCounts
from bifrost_tui.gateway.models import Batch
from bifrost_tui.ui.widgets.batch_table.layout import Layout
from bifrost_tui.ui.widgets.batch_table.table import BatchTable
from tests.support.clocks import T0


def make_batch(
    i: int,
    *,
    provider: str = "anthropic",
    status: str = "in_progress",
    batch_id: str | None = None,
    processing: int = 5,
    created_minutes_ago: int | None = None,
) -> Batch:
    minutes = i if created_minutes_ago is None else created_minutes_ago
    return Batch(
        id=batch_id if batch_id is not None else f"msgbatch_{i:08d}",
        provider=provider,
        processing_status=status,
        provider_kind="anthropic",
        request_counts=RequestCounts(
            processing=processing, succeeded=3, errored=1, canceled=0, expired=0
        ),
        created_at=T0 - timedelta(minutes=minutes, seconds=30),
        expires_at=T0 + timedelta(hours=23, seconds=30),
    )


def newest_first(store: BatchStore) -> BatchStore:
    """``store`` sorted newest first (``make_batch(0)`` on top), as the tests of the table's
    mechanics expect; the default order is tested on its own."""
    store.set_view(sort_key=SortKey.CREATED, sort_reverse=True)
    return store


def make_store(n: int) -> BatchStore:
    store = newest_first(BatchStore())
    store.load(make_batch(i) for i in range(n))
    return store


class TableApp(App[None]):
    def __init__(self, store: BatchStore, clock: ManualClock) -> None:
        super().__init__()
        self.store = store
        self.clock = clock
        self.moved: list[Key | None] = []
        self.selected: list[Key] = []

    def compose(self) -> ComposeResult:
        yield BatchTable(self.store, self.clock, id="table")

    def on_batch_table_cursor_moved(self, message: BatchTable.CursorMoved) -> None:
        self.moved.append(message.key)

    def on_batch_table_selected(self, message: BatchTable.Selected) -> None:
        self.selected.append(message.key)


def table_of(app: TableApp) -> BatchTable:
    return app.query_one(BatchTable)


def screen_lines(table: BatchTable) -> list[str]:
    """The widget's lines as painted now (header first)."""
    strips = table.render_lines(Region(0, 0, table.size.width, table.size.height))
    return [strip.text for strip in strips]


def line_of_key(table: BatchTable, key: Key) -> int:
    """Screen line (0 = header) on which ``key`` is painted."""
    return table.store.view().index(key) - table.scroll_offset.y + 1


class RefreshSpy:
    """Wraps ``table.refresh`` to record the regions each call asked for."""

    def __init__(self, table: BatchTable) -> None:
        self.calls: list[tuple[Region, ...]] = []
        original = table.refresh

        def spy(*regions: Region, **kwargs: bool) -> BatchTable:
            self.calls.append(regions)
            return original(*regions, **kwargs)

        # A spy in place of the instance's method: mypy forbids assigning to a method.
        table.refresh = spy  # type: ignore[method-assign]


def width_of(layout: Layout, name: str) -> int:
    """The width of column ``name`` in ``layout`` (0 when it is not shown)."""
    return dict(zip(layout.columns, layout.widths, strict=True)).get(name, 0)
