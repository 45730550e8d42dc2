"""The key footer: Textual's compact ``Footer``, showing only the keys that fit whole.

Textual 8.2.8's ``Footer`` lays its keys out in one row that scrolls sideways and docks the
command palette key (``^p palette``) over its right end: on a narrow terminal the keys that do not
fit are cut under it (``r Re▏^p palette``), and the margin right of the docked key lets one cell
of a hidden key show through (``…▏^p palettes``). Here the keys that would not fit whole are not
shown at all (the first ones in order stay), the help key (``?``, which lists every key) is
kept before any other, and the
palette key sits flush with the right edge. Widening the terminal brings the keys back.

Textual's ``Footer`` rebuilds its keys whenever its screen says its bindings were updated, which
it says on every focus change and when a dialog over it closes, even when the keys are the same
ones: each rebuild is two whole-screen layout passes. Here the keys are rebuilt only when what the
footer would show changed.
"""

from __future__ import annotations

from collections.abc import Hashable

from textual import events
from textual.geometry import Size
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

#: The action whose key is kept when space runs out: help lists every other key.
KEEP_ACTIONS = frozenset({"app.help"})


class KeyFooter(Footer):
    DEFAULT_CSS = """
    KeyFooter.-compact FooterKey.-command-palette { margin-right: 0; }
    """

    def __init__(self) -> None:
        super().__init__(compact=True)
        #: What the keys shown were built from (``None``: not built yet).
        self._shown_from: Hashable | None = None

    async def recompose(self) -> None:
        shown_from = self.keys_source()
        if shown_from == self._shown_from:
            return  # the same keys: nothing to rebuild, no layout pass
        self._shown_from = shown_from
        await super().recompose()
        self.fit_keys()

    def keys_source(self) -> Hashable:
        """Everything ``Footer.compose`` builds the keys from: equal values, equal keys."""
        if not self._bindings_ready or not self.is_attached:
            return (False,)
        active = tuple(
            (key, binding, enabled, tooltip)
            for key, (_node, binding, enabled, tooltip) in self.screen.active_bindings.items()
        )
        return (True, self.show_command_palette, self.app.ENABLE_COMMAND_PALETTE, active)

    def on_resize(self, event: events.Resize) -> None:
        self.fit_keys()

    def fit_keys(self) -> None:
        """Show the keys, in their order, that fit beside the palette key; hide the others."""
        width = self.size.width
        if not width:
            return
        keys = list(self.query_children(FooterKey))
        room = width
        for key in keys:
            if key.has_class("-command-palette"):
                room -= _outer_width(key)
        rest = [k for k in keys if not k.has_class("-command-palette")]
        shown = {k for k in rest if k.action in KEEP_ACTIONS}
        room -= sum(_outer_width(k) for k in shown)
        for key in rest:
            if key in shown:
                continue
            need = _outer_width(key)
            if need > room:
                break  # the first N keys, never a gap in the row
            shown.add(key)
            room -= need
        for key in rest:
            key.display = key in shown


def _outer_width(key: FooterKey) -> int:
    """Cells the key takes in the row: its text, padding, border and margins."""
    styles = key.styles
    content = key.get_content_width(Size(0, 0), Size(0, 0))
    return content + styles.gutter.width + styles.margin.width
