"""``R``: an ended batch's results screen on the simulator — the summary, a refusal on an active
batch, ``escape`` mid-stream, ``ctrl+s``'s export, and hostile ids and messages shown literally."""

from __future__ import annotations

import asyncio
import json
import stat
from typing import Any

from textual.widgets import Static

from bifrost_tui.config.paths import export_dir
from bifrost_tui.core.store import Key
from bifrost_tui.ui.app import BifrostApp
from bifrost_tui.ui.screens.detail import DetailScreen
from bifrost_tui.ui.screens.results import STOPPED, ResultsScreen
from bifrost_tui.ui.widgets.flash import FlashBar
from tests.support.ui_fixtures import first_with, main_screen, make_rig

BATCH = "msgbatch_01UagGwf3b7v8QdVG9uS2dUn"  # ended: 1424 ok, 27 errored, 3455 canceled
KEY: Key = ("anthropic", BATCH)


def results_requests(world: Any) -> list[Any]:
    return [r for r in world.request_log if r.path.endswith("/results")]


def shown(screen: ResultsScreen, which: str) -> str:
    return str(screen.query_one(f"#results-{which}", Static).render())


async def settle(pilot: Any, screen: ResultsScreen) -> None:
    """Let the screen's worker run to its end."""
    for _ in range(200):
        await pilot.pause()
        if screen.worker is not None and screen.worker.is_finished:
            return
    raise AssertionError("the results worker did not finish")


async def open_results(
    pilot: Any, app: BifrostApp, key: Key = KEY, *, then: Any = None
) -> ResultsScreen:
    await app.do_poll(deep=True)
    await pilot.pause()
    if then is not None:
        then()  # after the listing: faults meant for the results only
    main_screen(app).table.move_cursor_to_key(key)
    await pilot.press("R")
    await pilot.pause()
    screen = app.screen
    assert isinstance(screen, ResultsScreen)
    return screen


async def test_r_on_an_ended_batch_shows_its_summary(console):
    async with console.app.run_test(size=(120, 40)) as pilot:
        screen = await open_results(pilot, console.app)
        await settle(pilot, screen)
        summary = shown(screen, "summary")
        assert f"Results of '{BATCH}' ('anthropic'): complete" in summary
        assert "succeeded 1,424 · errored 27 · canceled 3,455 · expired 0" in summary
        assert "they match" in summary
        # The gateway loses Anthropic's errors: said in words, no invented breakdown.
        assert "does not pass errored requests' error type and message" in summary
        assert "errors by code" not in summary
        assert "4,906 items" in shown(screen, "progress")
        assert "ctrl+s" in shown(screen, "progress")
        await pilot.press("escape")  # the read is over: escape goes back
        await pilot.pause()
        assert not isinstance(console.app.screen, ResultsScreen)


async def test_r_in_the_detail_screen_of_an_ended_batch(console):
    async with console.app.run_test(size=(120, 40)) as pilot:
        app = console.app
        await app.do_poll(deep=True)
        await pilot.pause()
        app.open_detail(KEY)
        await pilot.pause()
        detail = app.screen
        assert isinstance(detail, DetailScreen)
        assert "available: R reads" in str(detail.query_one("#detail", Static).render())
        await pilot.press("R")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ResultsScreen)
        await settle(pilot, screen)
        assert "complete" in shown(screen, "summary")


async def test_r_on_an_active_batch_says_why_and_sends_nothing(console):
    async with console.app.run_test(size=(120, 40)) as pilot:
        app = console.app
        await app.do_poll(deep=True)
        await pilot.pause()
        active = first_with(app, lambda b: not b.state.terminal)
        main_screen(app).table.move_cursor_to_key(active.key)
        await pilot.press("R")
        await pilot.pause()
        flash = main_screen(app).query_one("#flash", FlashBar)
        assert "results exist once it has ended" in flash.message
        assert "nothing sent" in flash.message
        app.open_detail(active.key)
        await pilot.pause()
        assert "available: R" not in str(app.screen.query_one("#detail", Static).render())
        await pilot.press("R")
        await pilot.pause()
        assert isinstance(app.screen, DetailScreen)
        assert any("results exist once it has ended" in n.message for n in app._notifications)
        assert results_requests(console.world) == []


def slow(world: Any) -> None:
    """Every body trickles, a whole short answer or one 64 KiB results chunk per wait."""
    world.faults.slow_body = 0.5
    world.faults.slow_body_chunk = 1 << 20


class Gate:
    """The transport's sleep: the first ``open`` waits pass at once, the next one never ends
    (until the read is cancelled), so a test stops the stream mid-body without waiting."""

    def __init__(self, open_: int) -> None:
        self.open = open_
        self.calls = 0
        self.blocked = asyncio.Event()

    async def __call__(self, _seconds: float) -> None:
        self.calls += 1
        if self.calls > self.open:
            self.blocked.set()
            await asyncio.Event().wait()


async def test_escape_mid_stream_stops_and_shows_the_summary_so_far():
    # One wait for the batch's re-read (one chunk), then three 64 KiB chunks of results.
    gate = Gate(open_=4)
    rig = make_rig(sleep=gate)
    async with rig.app.run_test(size=(120, 40)) as pilot:
        screen = await open_results(pilot, rig.app, then=lambda: slow(rig.world))
        for _ in range(200):
            await pilot.pause()
            if gate.blocked.is_set():
                break
        assert gate.blocked.is_set()
        assert "reading results:" in shown(screen, "progress")
        assert "escape stops" in shown(screen, "progress")
        await pilot.press("escape")
        await settle(pilot, screen)
        assert isinstance(rig.app.screen, ResultsScreen)  # stopped, not closed
        summary = shown(screen, "summary")
        assert ": PARTIAL" in summary
        assert STOPPED in summary
        assert STOPPED in shown(screen, "progress")
        assert screen.summary is not None and 0 < screen.summary.items < 4906


async def test_ctrl_s_exports_what_to_resubmit_into_a_new_folder(console):
    async with console.app.run_test(size=(120, 40)) as pilot:
        screen = await open_results(pilot, console.app)
        await settle(pilot, screen)
        assert len(results_requests(console.world)) == 1
        await pilot.press("ctrl+s")
        await settle(pilot, screen)
        folders = list(export_dir().iterdir())
        assert len(folders) == 1
        folder = folders[0]
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        lines = (folder / "resubmit.jsonl").read_text().splitlines()
        assert len(lines) == 27 + 3455  # errored + canceled
        types = {json.loads(line)["type"] for line in lines}
        assert types == {"errored", "canceled"}
        summary = json.loads((folder / "summary.json").read_text())
        assert summary["version"] == 1 and summary["summary"]["complete"]
        assert summary["export"]["resubmit_lines"] == len(lines)
        for name in ("resubmit.jsonl", "summary.json"):
            assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600
        # The export read the results again, and says where it went.
        assert len(results_requests(console.world)) == 2
        progress = shown(screen, "progress")
        assert "exported (complete)" in progress and "3,482 lines" in progress
        assert "not the original requests" in shown(screen, "summary")


async def test_ctrl_s_while_reading_says_to_wait():
    gate = Gate(open_=2)
    rig = make_rig(sleep=gate)
    async with rig.app.run_test(size=(120, 40)) as pilot:
        screen = await open_results(pilot, rig.app, then=lambda: slow(rig.world))
        for _ in range(200):
            await pilot.pause()
            if gate.blocked.is_set():
                break
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert any("still being read" in n.message for n in rig.app._notifications)
        assert not export_dir().exists() or not any(export_dir().iterdir())
        await pilot.press("escape")
        await settle(pilot, screen)


async def test_hostile_ids_and_messages_render_literally(console):
    # The provider's own JSONL (errors intact), every 7th id and message hostile, ids repeated.
    console.world.set_results("anthropic", BATCH, raw_jsonl=True, hostile=True, duplicates=3)
    async with console.app.run_test(size=(120, 40)) as pilot:
        screen = await open_results(pilot, console.app)
        await settle(pilot, screen)
        summary = shown(screen, "summary")
        assert "duplicate custom_ids: 3" in summary
        assert "errors by code:" in summary
        for bad in ("\x1b", "\x07", "\r", "\u202e"):
            assert bad not in summary
        assert "\\x1b" in summary  # escaped, visible
        # Markup in an id or a message is text, never styling.
        assert "[red]markup[/red]" in summary or "[bold red]markup[/]" in summary
        # Secrets in messages are redacted before they are shown.
        assert "sk-proj-abcdefghijklmnopqrstuvwxyz012345" not in summary
