"""Rendering at scale, in process: first paint, refresh, key latency and growth (10k-50k rows).

The batches come from the seeded simulator (five providers) parsed as a deep listing; a poll is
``LiveSession.poll`` with a client that answers instantly, so what is timed is the console's own
main-thread work: folding the listings into the store, ``BifrostApp.data_changed`` (the table,
provider list and crumbs) and the screen update pass that paints the change.

Each timed step starts after a full garbage collection, so that the garbage of the setup (the
simulated world, the previous step) is not billed to it; what the step's own allocations cost,
collections included, counts.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.core import Row, kib, median, ms, spread
from bench.data import T0, Dataset, changed_copies, dataset
from bench.harness import SIZE, DeepStubClient, MeteredApp, PaintTimer, StubClient, make_app
from bifrost_tui.clock import ManualClock
from bifrost_tui.core.store import Diff
from bifrost_tui.gateway.models import Batch
from bifrost_tui.gateway.outcomes import ListingStatus, ProviderListing
from bifrost_tui.ui.widgets.batch_table.table import BatchTable

LIGHT_PAGE = 20  # the first page a light poll reads per provider (the gateway's default)


# ---- building blocks -----------------------------------------------------------------------------


async def _loaded(app: MeteredApp, pilot: Any, ds: Dataset) -> None:
    """Put ``ds`` in the console (as a deep poll would) and let it paint."""
    diff = Diff()
    for listing in ds.listings():
        diff = diff | app.store.apply_listing(listing, T0)
    app.data_changed(diff)
    await pilot.pause()


def _collect(n: int) -> None:
    """A full collection before a timed step, where it matters (small runs: the smoke test)."""
    if n >= 5_000:
        gc.collect()


async def _painted(app: MeteredApp) -> float:
    """Wait for the next screen update to finish; return the time it finished."""
    done: asyncio.Future[float] = asyncio.get_running_loop().create_future()

    def finish() -> None:
        if not done.done():
            done.set_result(time.perf_counter())

    app.screen.call_after_refresh(finish)
    return await done


@dataclass
class PaintSample:
    wall: float  # data in hand -> table painted (includes Textual's frame scheduling)
    main: float  # main-thread work: store + data_changed + update passes
    rows: int


async def first_paint_once(ds: Dataset) -> PaintSample:
    app = make_app()
    with PaintTimer() as paints:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            listings = ds.listings()
            _collect(ds.n)  # the setup's garbage is not this run's
            paints.reset()
            start = time.perf_counter()
            diff = Diff()
            for listing in listings:
                diff = diff | app.store.apply_listing(listing, T0)
            app.data_changed(diff)
            handler = time.perf_counter() - start
            end = await _painted(app)
            await pilot.pause()
            table = app.main_screen.query_one(BatchTable) if app.main_screen else None
            rows = table.row_count if table else 0
            return PaintSample(end - start, handler + paints.total, rows)


def light_listings(ds: Dataset, batches: dict[Any, Batch] | None = None) -> list[ProviderListing]:
    """A light poll's answer when nothing changed: each provider's first page, cut on purpose."""
    out = []
    for provider, items in ds.per_provider.items():
        page = items[:LIGHT_PAGE]
        if batches is not None:
            page = [batches.get(b.key, b) for b in page]
        out.append(
            ProviderListing(provider, ListingStatus.PARTIAL, page, first_page_only=len(items) > 20)
        )
    return out


@dataclass
class RefreshSample:
    main: list[float] = field(default_factory=list)
    store: list[float] = field(default_factory=list)
    bytes: list[int] = field(default_factory=list)
    table_lines: list[int] = field(default_factory=list)
    region_lines: list[int] = field(default_factory=list)
    changed: list[int] = field(default_factory=list)


#: The kinds of poll measured, in the order they run in one console.
REFRESH_KINDS = ("light", "deep", "changed")


async def refresh_runs(ds: Dataset, runs: int) -> dict[str, RefreshSample]:
    """In one console holding ``ds``: ``runs`` polls of each kind, after a warm-up poll of it.
    "light": the first pages, nothing changed; "deep": every deep listing again (half as many
    runs), nothing changed; "changed": 1% of the rows come back with new counts."""
    app = make_app()
    out = {kind: RefreshSample() for kind in REFRESH_KINDS}
    with PaintTimer() as paints:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await _loaded(app, pilot, ds)
            session = app.session
            assert session is not None
            clock = app.clock
            assert isinstance(clock, ManualClock)  # make_app's default: time moves only on demand
            for kind in REFRESH_KINDS:
                sample = out[kind]
                for i in range(1 + (max(1, runs // 2) if kind == "deep" else runs)):
                    stub: StubClient
                    if kind == "light":
                        stub = StubClient(light_listings(ds, app.store.batches), app.store.batches)
                    elif kind == "deep":
                        stub = DeepStubClient(ds.listings(), app.store.batches)
                    else:
                        # The same 1% of the rows every time, each time with new counts.
                        per: dict[str, list[Batch]] = {}
                        for b in changed_copies(ds.all(), 0.01, step=i + 1):
                            per.setdefault(b.provider, []).append(b)
                        listings = [
                            ProviderListing(p, ListingStatus.PARTIAL, bs) for p, bs in per.items()
                        ]
                        stub = StubClient(listings, app.store.batches)
                    session.client = stub  # type: ignore[assignment]  # answers prepared listings
                    session.discovered = True
                    clock.advance(5)
                    await pilot.pause()
                    _collect(ds.n)
                    paints.reset()
                    app.reset_meter()
                    start = time.perf_counter()
                    result = await session.poll(deep=kind == "deep")
                    poll_time = time.perf_counter() - start
                    app.data_changed(result.diff)
                    handler = time.perf_counter() - start
                    await pilot.pause()
                    if i == 0:
                        continue  # warm-up: caches, the crumbs' first new time
                    sample.main.append(handler + paints.total)
                    sample.store.append(poll_time)
                    sample.bytes.append(app.bytes_out)
                    sample.table_lines.append(app.table_lines_written())
                    sample.region_lines.append(app.table_lines_written(rows_only=False))
                    sample.changed.append(len(result.diff.changed) + len(result.diff.added))
    return out


@dataclass
class KeySample:
    down: list[float] = field(default_factory=list)
    page: list[float] = field(default_factory=list)
    filter: list[float] = field(default_factory=list)


def _wrap(obj: Any, name: str, acc: list[float]) -> None:
    """Time every call of ``obj.name`` (an instance attribute shadows the method)."""
    original: Callable[..., Any] = getattr(obj, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            acc.append(time.perf_counter() - start)

    setattr(obj, name, wrapper)


FILTER_TEXT = "openai"


async def key_runs(ds: Dataset, runs: int) -> KeySample:
    """Cursor down, page down and filter keystrokes through Pilot; only the handlers' and the
    paints' main-thread time is counted (not Pilot's own work)."""
    app = make_app()
    out = KeySample()
    with PaintTimer() as paints:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await _loaded(app, pilot, ds)
            screen = app.main_screen
            assert screen is not None
            table = screen.query_one(BatchTable)
            calls: list[float] = []
            for name in ("action_cursor_down", "action_cursor_page_down", "refresh_view"):
                _wrap(table, name, calls)
            _wrap(screen, "update_crumbs", calls)

            async def press(key: str, into: list[float]) -> None:
                await pilot.pause()
                _collect(ds.n)
                calls.clear()
                paints.reset()
                await pilot.press(key)
                await pilot.pause()
                into.append(sum(calls) + paints.total)

            for _ in range(runs):
                await press("down", out.down)
            for _ in range(runs):
                await press("pagedown", out.page)
            await pilot.press("slash")
            await pilot.pause()
            text = (FILTER_TEXT * (1 + runs // len(FILTER_TEXT)))[: max(runs, 1)]
            for ch in text:
                await press(ch, out.filter)
            for _ in text:
                await press("backspace", out.filter)
    return out


# ---- the figures ---------------------------------------------------------------------------------


_PAINTS: dict[tuple[int, int], list[PaintSample]] = {}
_REFRESHES: dict[tuple[int, int], dict[str, RefreshSample]] = {}


def paint_samples(n: int, runs: int) -> list[PaintSample]:
    """``runs`` first paints of ``n`` rows, each in a fresh console (kept for the growth table)."""
    key = (n, runs)
    if key not in _PAINTS:
        ds = dataset(n)
        _PAINTS[key] = [asyncio.run(first_paint_once(ds)) for _ in range(runs)]
    return _PAINTS[key]


def refresh_sample(n: int, kind: str, runs: int) -> RefreshSample:
    key = (n, runs)
    if key not in _REFRESHES:
        _REFRESHES[key] = asyncio.run(refresh_runs(dataset(n), runs))
    return _REFRESHES[key][kind]


def first_paint(sizes: Sequence[int] = (10_000, 50_000), runs: int = 3) -> list[Row]:
    targets = {10_000: 0.5, 50_000: 1.0}
    rows = []
    for n in sizes:
        samples = paint_samples(n, runs)
        wall = median([s.wall for s in samples])
        main = median([s.main for s in samples])
        limit = targets.get(n)
        rows.append(
            Row(
                f"First paint at scale, {n:,} rows",
                ms(wall),
                f"<= {ms(limit)}" if limit else "",
                wall <= limit if limit else None,
                runs,
                f"data in hand (5 deep listings) to table painted; main thread {ms(main)}; "
                f"{spread([s.wall for s in samples])}",
                {"wall": wall, "main": main, "rows": samples[-1].rows},
            )
        )
    return rows


def refresh(n: int = 50_000, runs: int = 7) -> list[Row]:
    light = refresh_sample(n, "light", runs)
    changed = refresh_sample(n, "changed", runs)
    deep = refresh_sample(n, "deep", runs)
    light_main = median(light.main)
    changed_main = median(changed.main)
    deep_main = median(deep.main)
    table_lines = max(light.table_lines) if light.table_lines else 0
    region_lines = max(light.region_lines) if light.region_lines else 0
    return [
        Row(
            f"Refresh, nothing changed ({n:,} rows)",
            ms(light_main),
            "<= 10 ms",
            light_main <= 0.010,
            len(light.main),
            f"light poll (first page per provider, re-reads of active batches); of which "
            f"`LiveSession.poll` {ms(median(light.store))}; {spread(light.main)}",
            {"main": light_main, "poll": median(light.store)},
        ),
        Row(
            "Refresh, nothing changed: bytes to the terminal",
            f"{kib(median(light.bytes))}/poll; {table_lines} table rows rewritten",
            "no bytes for unchanged rows",
            table_lines == 0,
            len(light.bytes),
            f"the table's region, scrollbar included: {region_lines} lines rewritten"
            + (
                " (its scrollbar column, repainted by the crumb bar's whole-screen layout "
                "pass: `CrumbBar.show` should `update(..., layout=False)`)"
                if region_lines > table_lines
                else ""
            ),
            {"bytes": median(light.bytes), "table_lines": table_lines, "region": region_lines},
        ),
        Row(
            f"Refresh, 1% changed ({n:,} rows)",
            ms(changed_main),
            "<= 30 ms",
            changed_main <= 0.030,
            len(changed.main),
            f"{int(median(changed.changed))} rows changed per poll; of which `LiveSession.poll` "
            f"{ms(median(changed.store))}; {kib(median(changed.bytes))} written; "
            f"{spread(changed.main)}",
            {"main": changed_main, "poll": median(changed.store)},
        ),
        Row(
            f"Refresh, deep poll, nothing changed ({n:,} rows)",
            ms(deep_main),
            "",
            None,
            len(deep.main),
            f"every 6th poll and on `r`: every batch compared again; of which `LiveSession.poll` "
            f"{ms(median(deep.store))}",
            {"main": deep_main, "poll": median(deep.store)},
        ),
    ]


def key_latency(n: int = 50_000, runs: int = 7) -> list[Row]:
    ds = dataset(n)
    sample = asyncio.run(key_runs(ds, runs))
    rows = []
    for label, values in (
        ("cursor down", sample.down),
        ("page down", sample.page),
        ("filter keystroke", sample.filter),
    ):
        value = median(values)
        rows.append(
            Row(
                f"Key latency, {label} ({n:,} rows)",
                ms(value),
                "<= 16 ms",
                value <= 0.016,
                len(values),
                f"worst {ms(max(values))}" if values else "",
                {"main": value, "worst": max(values) if values else 0.0},
            )
        )
    return rows


#: Allowance for noise when judging "no faster than linear" between two sizes.
GROWTH_SLACK = 1.3


def growth(sizes: Sequence[int] = (100, 1_000, 10_000, 50_000), runs: int = 3) -> list[Row]:
    """First paint and refresh per size; one summary row, the per-size figures in ``values``."""
    table = []
    for n in sizes:
        paint = median([s.wall for s in paint_samples(n, runs)])
        light = median(refresh_sample(n, "light", runs).main)
        changed = median(refresh_sample(n, "changed", runs).main)
        table.append({"n": n, "paint": paint, "refresh": light, "refresh_changed": changed})
    worst = 0.0
    for small, large in itertools.pairwise(table):
        rows_ratio = large["n"] / small["n"]
        for name in ("paint", "refresh", "refresh_changed"):
            worst = max(worst, (large[name] / small[name]) / rows_ratio)
    return [
        Row(
            "Growth: first paint and refresh, " + " / ".join(f"{n:,}" for n in sizes) + " rows",
            f"worst step {worst:.2f}x linear",
            f"<= linear ({GROWTH_SLACK:.1f}x allowed for noise)",
            worst <= GROWTH_SLACK,
            runs,
            "cost ratio between consecutive sizes over their row ratio; table in RESULTS.md",
            {"worst": worst, "table": table},
        )
    ]
