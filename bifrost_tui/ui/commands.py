"""The console's entries in the command palette (ctrl+p): its actions, found by name."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from textual.app import SystemCommand
from textual.screen import Screen

from bifrost_tui.ui.screens.main import MainScreen

if TYPE_CHECKING:
    from bifrost_tui.ui.app import BifrostApp


def console_commands(app: BifrostApp, screen: Screen[Any]) -> Iterator[SystemCommand]:
    """What the palette offers on ``screen``, after Textual's own commands."""
    yield SystemCommand("Refresh now", "Deep listing of every provider", app.action_refresh_now)
    yield SystemCommand("Pause / resume refresh", "Like htop's Z", app.action_toggle_pause)
    yield SystemCommand("Profiles", "Switch, add, edit or delete profiles", app.action_profiles)
    yield SystemCommand("Help", "Every key binding", app.action_help)
    yield SystemCommand("Audit log", "Every cancel attempt, newest first", app.action_audit)
    yield SystemCommand("Stuck batches", "Only stuck or suspicious batches", app.action_flagged)
    yield SystemCommand(
        "Export", "Visible rows as JSON and CSV, and a screenshot", app.action_export
    )
    if isinstance(screen, MainScreen) and not app.read_only:
        yield SystemCommand(
            "Cancel batch under cursor", "Asks for confirmation first", screen.action_cancel
        )
    if isinstance(screen, MainScreen):
        yield SystemCommand("Hide / show ended batches", "", screen.action_hide_ended)
        yield SystemCommand("Cycle sort column", "", screen.action_sort)
    yield SystemCommand("Quit", "Quit bifrost-tui", app.action_request_quit)
