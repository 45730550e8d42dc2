"""Scenes of the console, shared by the snapshot tests and the README screenshot script."""

from __future__ import annotations

import shutil
from collections.abc import Awaitable, Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input

from bifrost_tui.audit.hook import AuditTrail
from bifrost_tui.audit.log import AuditLog
from bifrost_tui.clock import ManualClock
from bifrost_tui.config.store import ProfileStore
from bifrost_tui.core.bulk import ItemResult
from bifrost_tui.sim.faults import Faults
from bifrost_tui.ui.app import BifrostApp
from bifrost_tui.ui.cancelling import EXITED_BEFORE_SENDING
from bifrost_tui.ui.screens.audit import AuditScreen
from bifrost_tui.ui.widgets.batch_table.table import BatchTable
from tests.support.ui_fixtures import first_with, main_screen, make_rig

#: A fixed directory for profiles in scenes: the profiles screen shows the file's path.
PROFILES_DIR = Path("/tmp/bifrost-tui-scenes/config")


@pytest.fixture
def profiles_dir(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    yield from use_profiles_dir(monkeypatch.setenv)


def use_profiles_dir(setenv: Callable[[str, str], None]) -> Generator[Path, None, None]:
    shutil.rmtree(PROFILES_DIR.parent, ignore_errors=True)
    PROFILES_DIR.mkdir(parents=True, mode=0o700)
    setenv("BIFROST_TUI_CONFIG_DIR", str(PROFILES_DIR))
    store = ProfileStore(PROFILES_DIR / "profiles.toml")
    store.add(
        "staging", {"url": "https://bifrost.staging.example.com", "virtual_key_env": "STAGING_VK"}
    )
    store.add(
        "prod-eu",
        {
            "url": "https://gw.example.com/bifrost",
            "virtual_key_env": "PROD_EU_VK",
            "read_only": True,
            "accent": "red",
            "note": "Frankfurt; on call #ops-gw",
        },
    )
    yield PROFILES_DIR
    shutil.rmtree(PROFILES_DIR.parent, ignore_errors=True)


Pilot = Any
RunBefore = Callable[[Pilot], Awaitable[None]]


@dataclass(frozen=True)
class Scene:
    name: str
    size: tuple[int, int]
    prepare: Callable[[Pilot], Awaitable[None]] | None = None
    read_only: bool = False

    def build(self) -> BifrostApp:
        return make_rig(read_only=self.read_only).app

    async def run_before(self, pilot: Pilot) -> None:
        await pilot.app.do_poll(deep=True)
        await pilot.pause()
        if self.prepare is not None:
            await self.prepare(pilot)
        # Not wait_for_complete(): a confirm dialog's worker waits for an answer by design.
        await pilot.pause()


@dataclass(frozen=True)
class FirstFrameScene(Scene):
    """The console before the gateway has answered anything: the frame painted at start."""

    async def run_before(self, pilot: Pilot) -> None:
        await pilot.pause()


def _cursor_on(predicate: Callable[[Any], bool]) -> Callable[[Pilot], Awaitable[None]]:
    async def move(pilot: Pilot) -> None:
        app = pilot.app
        batch = first_with(app, predicate)
        main_screen(app).query_one(BatchTable).move_cursor_to_key(batch.key)
        await pilot.pause()

    return move


def _then(*steps: Callable[[Pilot], Awaitable[None]]) -> Callable[[Pilot], Awaitable[None]]:
    async def run(pilot: Pilot) -> None:
        for step in steps:
            await step(pilot)

    return run


def _press(*keys: str) -> Callable[[Pilot], Awaitable[None]]:
    async def press(pilot: Pilot) -> None:
        await pilot.press(*keys)
        await pilot.pause()

    return press


async def _gateway_dies(pilot: Pilot) -> None:
    app = pilot.app
    app.connection.world.faults.down = True
    app.clock.advance(90)
    await app.do_poll(deep=False)
    await pilot.pause()


async def _azure_fails(pilot: Pilot) -> None:
    """One provider's listing fails (a 503 on azure) while the others refresh."""
    app = pilot.app
    app.connection.world.provider("azure").faults = Faults(error_rate=1.0, error_statuses=(503,))
    app.clock.advance(5)
    await app.do_poll(deep=False)
    await pilot.pause()
    app.clock.advance(12)
    app.update_crumbs()  # the age moved on; the azure rows keep saying they are stale
    await pilot.pause()


_anthropic_active = _cursor_on(lambda b: b.provider == "anthropic" and b.cancellable)
_bedrock_active = _cursor_on(lambda b: b.provider == "bedrock" and b.cancellable)


def _resize(width: int, height: int) -> Callable[[Pilot], Awaitable[None]]:
    """The terminal is resized (the scene's ``size`` is where it starts)."""

    async def resize(pilot: Pilot) -> None:
        await pilot.resize_terminal(width, height)
        await pilot.pause()

    return resize


async def _cancel_then_events(pilot: Pilot) -> None:
    """A cancel sent (``you``), then its end as the gateway reported it, then the event log."""
    app = pilot.app
    await _anthropic_active(pilot)
    await pilot.press("c", "y")
    await app.workers.wait_for_complete()
    app.clock.advance(app.connection.world.cancel_delay + 1)
    await app.do_watch(force=True)
    await pilot.pause()
    app.clear_notifications()  # the toast is in the log; the scene shows the log alone
    await pilot.press("e")
    await pilot.pause()


async def _jump_matches(pilot: Pilot) -> None:
    """``g``, then a query several ids start with: the matches to pick from."""
    await pilot.press("g")
    await pilot.pause()
    pilot.app.screen.query_one("#jump-input", Input).value = "batch_"
    await pilot.press("enter")
    await pilot.pause()


#: The audit log of the audit scene: a fixed path, since the audit screen shows it.
SCENE_AUDIT = PROFILES_DIR.parent / "state" / "audit.jsonl"


async def write_audit_attempts(app: BifrostApp, log: AuditLog) -> list[Any]:
    """Real cancels on the simulator, audited with ``log``: one per provider (anthropic, openai,
    azure, bedrock; real-length ids), one refused (an ended batch) and one never sent. The first
    is sent 30 s before the others, so one cancel has ended once the clock moves on by the
    simulator's cancel delay and the watch re-reads. The batches cancelled, in that order."""
    session = app.session
    assert session is not None
    trail = AuditTrail(app.connection, source="console", bulk=False, on_failure=print, log=log)
    targets = [
        first_with(app, lambda b, p=provider: b.provider == p and b.cancellable)
        for provider in ("anthropic", "openai", "azure", "bedrock")
    ]
    ended = first_with(app, lambda b: b.provider == "openai" and b.state.terminal)
    for batch in [*targets, ended]:
        attempt = trail.intent(batch.key, batch.state)
        result = await session.cancel(batch.key)
        trail.outcome(ItemResult(batch.key, result.outcome.value, batch.state, result), attempt)
        if batch is targets[0]:
            clock = app.clock
            assert isinstance(clock, ManualClock)
            clock.advance(30)
    unsent = first_with(app, lambda b: b.provider == "gemini" and b.cancellable)
    trail.outcome(ItemResult(unsent.key, "not_sent", unsent.state, reason=EXITED_BEFORE_SENDING))
    return [*targets, ended, unsent]


async def _audit_screen(pilot: Pilot) -> None:
    """Cancels audited, the first one seen ending by the watch, then the audit screen."""
    app = pilot.app
    log = AuditLog(SCENE_AUDIT, clock=app.clock, user="oncall", host="ops-1")
    await write_audit_attempts(app, log)
    app.clock.advance(app.connection.world.cancel_delay - 29)
    await app.do_watch(force=True)
    await pilot.pause()
    app.clear_notifications()  # the toast of its end is in the event log; the scene shows the audit
    await pilot.pause()
    app.push_screen(AuditScreen(AuditLog(SCENE_AUDIT)))
    await app.workers.wait_for_complete()
    await pilot.pause()


async def _bulk_typed(pilot: Pilot) -> None:
    """Every cancellable batch tagged (more than 10: a word to type), a wrong word submitted."""
    await pilot.press("a", "C")
    await pilot.pause()
    await pilot.press(*"stag", "enter")
    await pilot.pause()


async def _results_screen(pilot: Pilot) -> None:
    """R on a cancelled OpenAI batch: its output and error files read, errors grouped by code."""
    app = pilot.app
    batch = first_with(
        app,
        lambda b: (
            b.provider == "openai"
            and b.state.terminal
            and b.request_counts is not None
            and bool(b.request_counts.errored)
            and bool(b.request_counts.canceled)
        ),
    )
    main_screen(app).query_one(BatchTable).move_cursor_to_key(batch.key)
    await pilot.pause()
    await pilot.press("R")
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


SCENES: list[Scene] = [
    Scene("main_120x40", (120, 40), _anthropic_active),
    Scene("main_80x24", (80, 24), _anthropic_active),
    Scene("main_160x45", (160, 45), _anthropic_active),
    Scene(
        "detail", (120, 40), _then(_cursor_on(lambda b: b.provider == "openai"), _press("enter"))
    ),
    Scene("confirm_cancel", (120, 40), _then(_anthropic_active, _press("c"))),
    Scene("stale_gateway_down", (120, 40), _gateway_dies),
    Scene("stale_one_provider_120x40", (120, 40), _azure_fails),
    Scene("stale_one_provider_80x24", (80, 24), _azure_fails),
    Scene("read_only", (120, 40), _anthropic_active, read_only=True),
    Scene("profiles", (120, 40), _press("p")),
    Scene("help", (120, 40), _press("question_mark")),
    # Started at 120x40, then resized: the footer shows whole keys only, nothing stray.
    Scene("resized_120x40_to_80x24", (120, 40), _then(_anthropic_active, _resize(80, 24))),
    # Below 100 columns the summary strip stands in for the provider list (azure failing).
    Scene("summary_strip_90x30", (90, 30), _azure_fails),
    # Real-length ids (anthropic 33, openai 38, azure 42 characters; Bedrock by its job id)
    # whole beside the provider list; at exactly 100 columns cut in the middle, REQUESTS kept.
    Scene("real_ids_120x40", (120, 40), _bedrock_active),
    Scene("real_ids_100x30", (100, 30), _bedrock_active),
    # The event log: the cancel sent here, its end reported by the gateway, the toast and flashes.
    Scene("event_log", (120, 40), _cancel_then_events),
    # The jump prompt (g) with the ids a query starts, to pick from.
    Scene("jump_matches", (120, 40), _jump_matches),
    # The audit screen at 120 columns: OUTCOME, HTTP and the reason on screen, a cancel's end as
    # the watch saw it (ENDED (SEEN)), ids cut in the middle.
    Scene("audit_120x40", (120, 40), _audit_screen),
    # The typed bulk confirmation after a wrong word: kept, with the error under it.
    Scene("bulk_typed_confirm", (120, 40), _bulk_typed),
    # R on an ended OpenAI batch: counts against the batch's, errors by code with their messages.
    Scene("results_120x40", (120, 40), _results_screen),
    # The first frame, before any answer: crumbs, the provider list to come, "listing…".
    FirstFrameScene("first_frame_listing", (120, 40)),
]
