"""In-process console harness: an app that counts what it would write, and a paint timer.

``MeteredApp`` is the real ``BifrostApp``; run headless it renders every compositor update to the
bytes a real terminal would get (Textual skips only that last step when headless) and counts them,
and which screen lines they touched. ``PaintTimer`` times the screen's update passes (layout and
compositor render: where ``render_line`` runs) — the main-thread cost of painting a change.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

from rich.console import Console
from textual._compositor import ChopsUpdate, CompositorUpdate, LayoutUpdate
from textual.screen import Screen

from bench.data import T0, world
from bifrost_tui.clock import Clock, ManualClock
from bifrost_tui.config.connection import DEMO_URL, Connection
from bifrost_tui.config.resolve import ResolvedConnection
from bifrost_tui.core.store import Key
from bifrost_tui.gateway.client import ClientConfig
from bifrost_tui.gateway.models import Batch, ProviderInfo
from bifrost_tui.gateway.outcomes import ListingStatus, ProviderListing
from bifrost_tui.sim import SimTransport, SimWorld
from bifrost_tui.ui import app as app_module
from bifrost_tui.ui.app import BifrostApp
from bifrost_tui.ui.widgets.batch_table.table import BatchTable

#: What the pty figures use too: xterm-256color without COLORTERM (an SSH session's usual lot).
COLOR_SYSTEM: Final = "256"
SIZE = (120, 40)


async def no_sleep(_seconds: float) -> None:
    """The simulator's latency knob without waiting."""


class MeteredApp(BifrostApp):
    """``BifrostApp`` that, headless, renders each update to terminal bytes and counts them."""

    # A relative CSS_PATH is resolved next to the subclass's module: point at the app's own.
    CSS_PATH = str(Path(app_module.__file__).with_name("app.tcss"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.bytes_out = 0
        self.lines_out: list[tuple[int, int, int]] = []  # (y, x1, x2) spans written
        self._meter_console = Console(
            color_system=COLOR_SYSTEM, force_terminal=True, width=SIZE[0], legacy_windows=False
        )

    def reset_meter(self) -> None:
        self.bytes_out = 0
        self.lines_out = []

    def _display(self, screen: Screen[Any], renderable: Any) -> None:
        if renderable is not None and not self._batch_count and self.is_headless:
            if isinstance(renderable, CompositorUpdate):
                self.bytes_out += len(renderable.render_segments(self._meter_console).encode())
            if isinstance(renderable, ChopsUpdate):
                self.lines_out.extend(renderable.spans)
            elif isinstance(renderable, LayoutUpdate):
                region = renderable.region
                self.lines_out.extend(
                    (y, region.x, region.right) for y in range(region.y, region.bottom)
                )
        super()._display(screen, renderable)

    def table_lines_written(self, *, rows_only: bool = True) -> int:
        """Screen lines of the batch table written since ``reset_meter``: the rows' cells only, or
        (``rows_only=False``) anything in the table's region, its scrollbar included."""
        table = self.main_screen.query_one(BatchTable) if self.main_screen else None
        if table is None:
            return 0
        region = table.scrollable_content_region if rows_only else table.region
        return len(
            {
                y
                for y, x1, x2 in self.lines_out
                if region.y <= y < region.bottom and x1 < region.right and x2 > region.x
            }
        )


class PaintTimer:
    """Accumulates the time of every screen update pass while installed (``with`` it)."""

    def __init__(self) -> None:
        self.total = 0.0
        self.passes = 0
        #: ``perf_counter()`` at the end of each pass.
        self.ends: list[float] = []
        self._original: Any = None

    def reset(self) -> float:
        total, self.total, self.passes = self.total, 0.0, 0
        return total

    def __enter__(self) -> PaintTimer:
        original = self._original = Screen._on_timer_update
        timer = self

        def timed(screen: Screen[Any]) -> None:
            start = time.perf_counter()
            try:
                original(screen)
            finally:
                end = time.perf_counter()
                timer.total += end - start
                timer.passes += 1
                timer.ends.append(end)

        # Patching Textual's paint step is how the time of each paint is measured.
        Screen._on_timer_update = timed  # type: ignore[method-assign, assignment]
        return self

    def __exit__(self, *exc: object) -> None:
        Screen._on_timer_update = self._original  # type: ignore[method-assign]  # undo the patch


def make_app(
    *,
    sim: SimWorld | None = None,
    clock: Clock | None = None,
    sleep: Any = no_sleep,
    refresh: float = 5.0,
) -> MeteredApp:
    """The console as the tests build it: a connection to an in-process simulator, no timers."""
    clock = clock or ManualClock(T0)
    sim = sim or world(0)
    connection = Connection(
        settings=ResolvedConnection(profile="bench", base_url=DEMO_URL, refresh=refresh),
        client_config=ClientConfig(base_url=DEMO_URL, retries=0),
        clock=clock,
        transport=SimTransport(sim, sleep=sleep),
        world=sim,
    )
    return MeteredApp(connection, clock=clock, live_updates=False)


class StubClient:
    """Stands in for the gateway client in a poll: answers instantly, so a poll costs only the
    console's own work (store, diff, re-reads), which is what the refresh figures measure."""

    def __init__(self, listings: Sequence[ProviderListing], batches: dict[Key, Batch]) -> None:
        self.listings = list(listings)
        self.batches = batches

    async def list_all(
        self, providers: Sequence[ProviderInfo], *, deep: bool = True
    ) -> list[ProviderListing]:
        return list(self.listings)

    async def list_batches(self, provider: str, **_: Any) -> ProviderListing:
        for listing in self.listings:
            if listing.provider == provider:
                return listing
        # Nothing prepared for it: a first page that changed nothing.
        return ProviderListing(provider, ListingStatus.PARTIAL, first_page_only=True)

    async def get_batch(self, provider: str, batch_id: str, **_: Any) -> Batch:
        return self.batches[(provider, batch_id)]


@contextmanager
def timed(acc: list[float]) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        acc.append(time.perf_counter() - start)


class DeepStubClient(StubClient):
    """A stub that also answers a deep poll's health, version and discovery."""

    async def health(self) -> dict[str, Any]:
        return {"status": "ok"}

    async def version(self) -> str:
        return "bench"

    async def key_reason(self, name: str) -> str | None:
        return None

    async def batch_keys(self, name: str) -> Any:
        from bifrost_tui.gateway.discovery import KeysRead

        return KeysRead(None, None)  # not read: the batch routes, as the stub's listings are

    async def discover_providers(self, fallback: Sequence[str] | None = None, **_: Any) -> Any:
        from bifrost_tui.gateway.client import Discovery

        names = sorted({listing.provider for listing in self.listings})
        infos = [ProviderInfo(name=n, kind=n, batch_capable=True) for n in names]
        return Discovery(providers=infos, source="management")
