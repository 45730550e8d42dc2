"""Helpers for the console's Pilot and snapshot tests: the console on a seeded simulator at T0."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bifrost_tui.clock import ManualClock
from bifrost_tui.config.connection import DEMO_URL, Connection
from bifrost_tui.config.resolve import ResolvedConnection
from bifrost_tui.core.live import LiveSession
from bifrost_tui.gateway.client import ClientConfig
from bifrost_tui.gateway.models import Batch
from bifrost_tui.sim import SimTransport, SimWorld
from bifrost_tui.ui.app import BifrostApp
from bifrost_tui.ui.screens.main import MainScreen
from bifrost_tui.ui.screens.profiles import ProfileForm
from tests.support.clocks import T0, no_sleep


@dataclass
class Rig:
    app: BifrostApp
    world: SimWorld
    clock: ManualClock


def make_rig(
    *,
    read_only: bool = False,
    profile: str | None = "staging",
    seed: int = 7,
    world: SimWorld | None = None,
    sleep: Any = None,
    **world_opts: Any,
) -> Rig:
    clock = ManualClock(T0)
    world_opts.setdefault("arrival_interval", None)  # no batches appear between polls
    world = world or SimWorld.demo(clock, seed=seed, **world_opts)
    connection = Connection(
        settings=ResolvedConnection(
            profile=profile,
            base_url=DEMO_URL,
            read_only=read_only,
            read_only_reasons=("profile",) if read_only else (),
        ),
        client_config=ClientConfig(base_url=DEMO_URL, retries=0),
        clock=clock,
        transport=SimTransport(world, sleep=sleep or no_sleep),
        world=world,
    )
    return Rig(BifrostApp(connection, clock=clock, live_updates=False), world, clock)


def main_screen(app: BifrostApp) -> MainScreen:
    """The batches screen of a console that has started its session."""
    assert app.main_screen is not None, "the console has not started a session"
    return app.main_screen


def live_session(app: BifrostApp) -> LiveSession:
    """The live session of a console that has started one."""
    assert app.session is not None, "the console has not started a session"
    return app.session


def save_profile_form(app: BifrostApp) -> None:
    """Press the profile form's Save (the form must be the screen on top)."""
    form = app.screen
    assert isinstance(form, ProfileForm)
    form.save()


def first_with(app: BifrostApp, predicate: Any) -> Batch:
    """The first batch in the current view that matches."""
    for key in app.store.view():
        batch = app.store.batches[key]
        if predicate(batch):
            return batch
    raise AssertionError("no batch matches")


def cancel_requests(world: SimWorld) -> list[Any]:
    return [r for r in world.request_log if r.method == "POST" and r.path.endswith("/cancel")]
