"""A fix to Textual's partial repaints: a dirty span is written from where it starts.

Textual 8.2.8's ``ChopsUpdate.render_segments`` (note the "TODO: crop to x extents" in its
sibling ``__rich_console__``) writes a dirty span from the left edge of its widget: refreshing the
time cells at the right end of a table row sends the whole row. Cropping to the span sends only
the cells that changed (``BatchTable.tick_minute``: ~50 bytes a row instead of ~170, the bulk of
an idle console's traffic over SSH). Lines with wide or zero-width characters keep Textual's
behaviour, so a crop can never split a character.

The method replaced is private, so the fix is applied only to the Textual version it was written
against (the exact pin in pyproject.toml), and only when the console starts
(``apply_textual_patch`` from ``BifrostApp``), never as a side effect of an import.
"""

from __future__ import annotations

from importlib.metadata import version

from rich.cells import cell_len
from rich.console import Console
from rich.control import Control
from textual._compositor import ChopsUpdate
from textual.strip import Strip

#: The Textual release whose ``ChopsUpdate.render_segments`` this module replaces.
PATCHED_VERSION = "8.2.8"


def _single_width(strip: Strip) -> bool:
    text = strip.text
    return cell_len(text) == len(text)


def render_segments(self: ChopsUpdate, console: Console) -> str:
    """Textual's ``ChopsUpdate.render_segments``, with each chop cropped to the dirty span."""
    sequences: list[str] = []
    append = sequences.append
    move_to = Control.move_to
    chops = self.chops
    chop_ends = self.chop_ends
    last_y = self.spans[-1][0]
    for y, x1, x2 in self.spans:
        line = chops[y]
        ends = chop_ends[y]
        for end, (x, strip) in zip(ends, line.items(), strict=False):
            if strip is None or x > x2 or end <= x1:
                continue
            if x2 > x >= x1 and end <= x2:
                append(move_to(x, y).segment.text)
                append(strip.render(console))
                continue
            start = x1 if x < x1 and _single_width(strip) else x
            strip = strip.crop(start - x, min(end, x2) - x)
            append(move_to(start, y).segment.text)
            append(strip.render(console))
        if y != last_y:
            append("\n")
    return "".join(sequences)


def patch_applied() -> bool:
    """Whether Textual writes partial repaints through ``render_segments`` above."""
    return ChopsUpdate.render_segments is render_segments


def apply_textual_patch() -> bool:
    """Install ``render_segments`` if the installed Textual is ``PATCHED_VERSION``; idempotent.

    Returns whether the patch is in place.
    """
    if patch_applied():
        return True
    if version("textual") != PATCHED_VERSION:
        return False
    # Replacing a method of a class from a private module: mypy rightly objects to assigning
    # to a method, and the pinned version check above is what makes it safe.
    ChopsUpdate.render_segments = render_segments  # type: ignore[method-assign]
    return True
