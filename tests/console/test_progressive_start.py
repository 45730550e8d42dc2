"""Pilot tests: the console paints before the gateway answers, and rows before management calls.

Structural, never timed: a transport in front of the in-process simulator holds chosen requests
unanswered (one ``asyncio.Event`` per predicate, all released at the end of each test) and the
tests look at what is on the screen meanwhile.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
from textual.widgets import Static

from bifrost_tui.clock import ManualClock
from bifrost_tui.config.connection import DEMO_URL, Connection
from bifrost_tui.config.resolve import ResolvedConnection
from bifrost_tui.gateway.client import ClientConfig
from bifrost_tui.sim import SimTransport, SimWorld
from bifrost_tui.ui.app import BifrostApp
from bifrost_tui.ui.screens.bulk import BulkConfirmScreen
from bifrost_tui.ui.screens.flagged import FlaggedScreen
from bifrost_tui.ui.widgets.crumbs import CrumbBar
from bifrost_tui.ui.widgets.flash import FlashBar
from bifrost_tui.ui.widgets.providers import ProviderList
from tests.support.clocks import T0, no_sleep
from tests.support.ui_fixtures import main_screen

Held = Callable[[httpx.Request], bool]


class HoldingTransport(httpx.AsyncBaseTransport):
    """The simulator, except that a request matching a held predicate waits for its event."""

    def __init__(self, inner: httpx.AsyncBaseTransport, *held: Held) -> None:
        self.inner = inner
        self.holds = [(predicate, asyncio.Event()) for predicate in held]
        #: The paths of the requests held so far (the simulator has not seen them yet).
        self.waiting: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        for predicate, event in self.holds:
            if predicate(request) and not event.is_set():
                self.waiting.append(request.url.path)
                await event.wait()
        return await self.inner.handle_async_request(request)

    def release(self) -> None:
        for _, event in self.holds:
            event.set()


def everything(_request: httpx.Request) -> bool:
    return True


def health_and_version(request: httpx.Request) -> bool:
    return request.url.path in ("/health", "/api/version")


def provider_list(request: httpx.Request) -> bool:
    return request.url.path == "/api/providers"


def keys(request: httpx.Request) -> bool:
    path = request.url.path
    return path.startswith("/api/providers/") and path.endswith("/keys")


def later_pages(request: httpx.Request) -> bool:
    """A deep listing's pages after its first (they follow a cursor)."""
    return "after" in request.url.params


def console(
    *held: Held, providers: tuple[str, ...] | None = None, **world_opts: Any
) -> tuple[BifrostApp, SimWorld, HoldingTransport]:
    """A console that starts its own first poll (live updates on), against the simulator."""
    clock = ManualClock(T0)
    world_opts.setdefault("arrival_interval", None)
    world = SimWorld.demo(clock, seed=7, **world_opts)
    transport = HoldingTransport(SimTransport(world, sleep=no_sleep), *held)
    connection = Connection(
        settings=ResolvedConnection(profile="staging", base_url=DEMO_URL, providers=providers),
        client_config=ClientConfig(base_url=DEMO_URL, retries=0),
        clock=clock,
        transport=transport,
        world=world,
    )
    return BifrostApp(connection, clock=clock, live_updates=True), world, transport


async def until(pilot: Any, condition: Callable[[], bool], what: str) -> None:
    """Let the app run until ``condition`` holds (a bounded number of turns, no sleeping)."""
    for _ in range(200):
        if condition():
            return
        await pilot.pause()
    raise AssertionError(f"never saw {what}")


def crumbs(app: BifrostApp) -> str:
    return main_screen(app).query_one("#crumbs", CrumbBar).render().plain


def empty_words(app: BifrostApp) -> str:
    widget = main_screen(app).query_one("#table-empty", Static)
    return str(widget.render()) if widget.display else ""


def provider_badge(app: BifrostApp, name: str) -> str:
    option = main_screen(app).query_one("#providers", ProviderList).get_option(name)
    return option.prompt.plain  # type: ignore[union-attr]


async def finish(app: BifrostApp, pilot: Any, transport: HoldingTransport) -> None:
    transport.release()
    await app.workers.wait_for_complete()
    await pilot.pause()


async def test_the_first_frame_paints_before_the_gateway_answers():
    app, world, transport = console(everything)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: bool(transport.waiting), "the first request")
        screen = main_screen(app)
        assert app.screen is screen
        assert DEMO_URL.split("//")[1] in crumbs(app)
        assert screen.table.row_count == 0
        assert empty_words(app).startswith("listing…")
        assert "no batches" not in empty_words(app)
        assert world.request_log == []  # nothing answered: all of it is the first frame
        await finish(app, pilot, transport)
        assert screen.table.row_count > 0
        assert empty_words(app) == ""
        assert app.listing_pending is None


async def test_rows_paint_while_health_version_and_keys_are_unanswered():
    app, _world, transport = console(health_and_version, keys)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = main_screen(app)
        await until(pilot, lambda: screen.table.row_count > 0, "rows from the first pages")
        assert "/health" in transport.waiting
        assert "health ok" not in crumbs(app)  # /health has not answered: never claimed
        assert empty_words(app) == ""
        await finish(app, pilot, transport)


async def test_a_profiles_providers_list_pages_without_any_management_answer():
    app, world, transport = console(
        health_and_version, provider_list, keys, providers=("openai", "anthropic")
    )
    async with app.run_test(size=(120, 40)) as pilot:
        screen = main_screen(app)
        await until(pilot, lambda: screen.table.row_count > 0, "rows from the first pages")
        listed = {r.provider for r in world.request_log if r.op == "batch_list"}
        assert listed == {"openai", "anthropic"}
        # Every management call is still held: no listing waited on one.
        assert "/api/providers" in transport.waiting
        assert not [r for r in world.request_log if r.path.startswith(("/api/", "/health"))]
        await finish(app, pilot, transport)


async def test_a_deep_listing_still_running_is_partial_and_the_cursor_keeps_its_batch():
    app, _world, transport = console(later_pages, batches_per_provider=150)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = main_screen(app)
        table = screen.table
        await until(
            pilot,
            lambda: (
                app.listing_pending == ["azure", "openai"]
                or app.listing_pending == ["openai", "azure"]
            ),
            "only the paged providers still listing",
        )
        assert any(key[0] == "openai" for key in app.store.batches)  # its first page is painted
        assert "listing…" in provider_badge(app, "openai")
        assert "listing…" not in provider_badge(app, "anthropic")
        # a: tagging all says more may match.
        await pilot.press("a")
        await pilot.pause()
        flash = screen.query_one("#flash", FlashBar).message
        assert "2 provider(s) still listing" in flash and "more may match" in flash
        # C on the tagged rows: the partial acknowledgement names the provider still listing.
        await pilot.press("C")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, BulkConfirmScreen)
        assert any(line.startswith("openai: still listing") for line in dialog.partial)
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen
        await pilot.press("down")  # the operator puts the cursor on a batch
        await pilot.pause()
        kept = table.cursor_key
        assert kept is not None
        await finish(app, pilot, transport)
        assert app.listing_pending is None
        assert len(app.store.batches) > 500  # the later pages landed
        assert table.cursor_key == kept


async def test_an_untouched_cursor_ends_the_start_on_the_top_batch():
    app, _world, transport = console(later_pages, batches_per_provider=150)
    async with app.run_test(size=(120, 40)) as pilot:
        table = main_screen(app).table
        await until(pilot, lambda: table.row_count > 0, "the first rows")
        await finish(app, pilot, transport)
        assert app.listing_pending is None
        # Not the batch that happened to be painted first: the top of the finished view.
        assert table.cursor_row == 0 and table.cursor_key == app.store.view()[0]


async def test_flagged_view_says_which_providers_are_still_listing():
    app, _world, transport = console(later_pages, batches_per_provider=150)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: "openai" in (app.listing_pending or []), "openai still listing")
        await until(pilot, lambda: main_screen(app).table.row_count > 0, "the first rows")
        await pilot.press("exclamation_mark")
        await pilot.pause()
        assert isinstance(app.screen, FlaggedScreen)
        head = str(app.screen.query_one("#flagged-head", Static).render())
        assert "still listing:" in head and "openai" in head
        assert "Nothing stuck or suspicious right now" not in head
        await pilot.press("escape", "g")
        await pilot.pause()
        app.screen.query_one("#jump-input").value = "no-such-batch"  # type: ignore[attr-defined]
        await pilot.press("enter")
        await pilot.pause()
        words = str(app.screen.query_one("#jump-message", Static).render())
        assert "still listing" in words and "openai" in words
        await pilot.press("escape")
        await pilot.press("exclamation_mark")
        await pilot.pause()
        assert isinstance(app.screen, FlaggedScreen)
        await finish(app, pilot, transport)
        head = str(app.screen.query_one("#flagged-head", Static).render())
        assert "still listing" not in head


async def test_before_the_providers_are_known_every_partial_word_says_so():
    app, _world, transport = console(everything)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: bool(transport.waiting), "the first request")
        assert app.listing_pending == []
        assert any("providers are not known yet" in line for line in app.partial_listings())
        await pilot.press("g")
        await pilot.pause()
        app.screen.query_one("#jump-input").value = "batch_"  # type: ignore[attr-defined]
        await pilot.press("enter")
        await pilot.pause()
        words = str(app.screen.query_one("#jump-message", Static).render())
        assert "providers are not known yet" in words
        assert "every provider listed completely" not in words
        await pilot.press("escape")
        await finish(app, pilot, transport)
