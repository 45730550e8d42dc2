"""ConsoleScreen: a screen of the console, which reaches its app through one typed property."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from textual.screen import Screen

if TYPE_CHECKING:
    from bifrost_tui.ui.app import BifrostApp

ResultT = TypeVar("ResultT")


class ConsoleScreen(Screen[ResultT]):
    """A screen that only the console pushes: ``bapp`` is its ``BifrostApp``, typed."""

    @property
    def bapp(self) -> BifrostApp:
        # Imported here: the app module imports the screens.
        from bifrost_tui.ui.app import BifrostApp

        app = self.app
        assert isinstance(app, BifrostApp), "console screens run in the console app"
        return app

    def store_changed(self) -> None:
        """The store took a poll's answer, with this screen on top: it repaints what it shows of
        the batches (nothing here). The app calls it without importing the screen's module."""

    def minute_passed(self) -> None:
        """A minute went by, with this screen on top: relative times repaint (nothing here)."""
