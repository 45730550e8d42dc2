"""The console's entries in the command palette (ctrl+p): its actions, found by name.

They are built from help's key list (``HELP``), so help and the palette cannot drift apart: a key
added to help with an action is in the palette, under the same words.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import partial
from typing import TYPE_CHECKING, Any

from textual.actions import parse as parse_action
from textual.app import SystemCommand
from textual.screen import Screen

from bifrost_tui.ui.screens.main import MainScreen

if TYPE_CHECKING:
    from bifrost_tui.ui.app import BifrostApp

#: Textual's own entries that the console replaces: its Quit exits at once, even with a cancel
#: in flight, where the console's asks first.
REPLACED = frozenset({"Quit"})


def console_commands(
    app: BifrostApp, screen: Screen[Any], textual_commands: Iterable[SystemCommand]
) -> Iterator[SystemCommand]:
    """What the palette offers on ``screen``: Textual's own commands but those the console
    replaces, then every action help lists that can run here (the batches screen's only on it;
    an action its screen refuses now, such as cancel on a read-only console, is left out)."""
    from bifrost_tui.ui.screens.help import HELP  # the palette's first opening, not the first frame

    yield from (c for c in textual_commands if c.title not in REPLACED)
    for _, rows in HELP:
        for row in rows:
            for title, action in row.commands:
                namespace, name, params = parse_action(action)
                target: BifrostApp | MainScreen
                if namespace == "app":
                    target = app
                elif isinstance(screen, MainScreen):
                    target = screen
                else:
                    continue
                if target.check_action(name, params) is False:
                    continue
                yield SystemCommand(title, row.what, partial(app.run_action, action, target))
