"""Scenes of the console, shared by the snapshot tests and the README screenshot script."""

from __future__ import annotations

import shutil
from collections.abc import Awaitable, Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bifrost_tui.config.store import ProfileStore
from bifrost_tui.sim.faults import Faults
from bifrost_tui.ui.app import BifrostApp
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
]
