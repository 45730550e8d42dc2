"""The Textual patch (ui/textual_patch.py): applied when the console starts on the pinned Textual,
and a partial repaint through it leaves the terminal showing what Textual's own code would.

Screens are compared cell by cell (character, colours, attributes) in a terminal emulator fed
both byte streams, not byte by byte: the patch exists to send fewer bytes for the same screen.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tomllib
from collections.abc import Callable
from datetime import timedelta
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pyte
import pytest
from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from textual._compositor import ChopsUpdate, CompositorUpdate
from textual.strip import Strip

from bifrost_tui.ui.textual_patch import PATCHED_VERSION, patch_applied, render_segments
from tests.support.ui_fixtures import make_rig

ROOT = Path(__file__).resolve().parents[2]
SIZE = (120, 40)


def _textual_render_segments() -> Callable[[ChopsUpdate, Console], str]:
    """Textual's own ``ChopsUpdate.render_segments``, from a fresh copy of its module (the class
    in ``textual._compositor`` may carry the patch already)."""
    path = importlib.import_module("textual._compositor").__file__
    spec = importlib.util.spec_from_file_location("textual_compositor_unpatched", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    method: Callable[[ChopsUpdate, Console], str] = module.ChopsUpdate.render_segments
    return method


TEXTUAL_RENDER_SEGMENTS = _textual_render_segments()


def _console(width: int) -> Console:
    return Console(color_system="truecolor", force_terminal=True, width=width, legacy_windows=False)


class Terminal:
    """A terminal emulator: bytes in, a grid of styled cells out."""

    def __init__(self, width: int, height: int) -> None:
        self.screen = pyte.Screen(width, height)
        self.stream = pyte.Stream(self.screen)

    def feed(self, data: str) -> None:
        self.stream.feed(data)

    def cells(self) -> list[list[pyte.screens.Char]]:
        screen = self.screen
        return [[screen.buffer[y][x] for x in range(screen.columns)] for y in range(screen.lines)]


class TwoTerminals:
    """The same updates into two terminals: partial repaints through Textual's own
    ``render_segments`` into one, through the patch into the other."""

    def __init__(self, width: int, height: int) -> None:
        self.console = _console(width)
        self.textual = Terminal(width, height)
        self.patched = Terminal(width, height)
        self.textual_bytes = 0
        self.patched_bytes = 0
        self.cropped = 0  # partial repaints the patch wrote shorter

    def show(self, update: CompositorUpdate) -> None:
        if isinstance(update, ChopsUpdate):
            theirs = TEXTUAL_RENDER_SEGMENTS(update, self.console)
            ours = render_segments(update, self.console)
            self.cropped += len(ours) < len(theirs)
        else:
            theirs = ours = update.render_segments(self.console)
        self.textual.feed(theirs)
        self.patched.feed(ours)
        self.textual_bytes += len(theirs)
        self.patched_bytes += len(ours)


# ---- (a) applied on the pinned version, when the console starts ----------------------------------


def test_textual_is_pinned_to_the_version_the_patch_was_written_for() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    pins = [d for d in project["project"]["dependencies"] if d.startswith("textual")]
    assert pins == [f"textual=={PATCHED_VERSION}"]
    assert version("textual") == PATCHED_VERSION


def test_the_console_applies_the_patch_when_it_starts() -> None:
    make_rig()
    assert patch_applied()
    assert ChopsUpdate.render_segments is render_segments


@pytest.mark.slow
def test_importing_the_console_does_not_patch_textual() -> None:
    code = (
        "import bifrost_tui.ui.app\n"
        "from bifrost_tui.ui.textual_patch import patch_applied\n"
        "print(patch_applied())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


# ---- (b) a partial repaint shows the same screen as Textual's own code ---------------------------


async def test_minute_tick_repaint_shows_what_textual_would_with_fewer_bytes(
    monkeypatch, console
) -> None:
    app = console.app
    terminals = TwoTerminals(*SIZE)
    display = app._display

    def record(screen: Any, renderable: Any) -> None:
        # As Textual does: nothing is written inside a batch update (the end of it repaints).
        if isinstance(renderable, CompositorUpdate) and not app._batch_count:
            terminals.show(renderable)
        display(screen, renderable)

    monkeypatch.setattr(app, "_display", record)
    async with app.run_test(size=SIZE) as pilot:
        await app.do_poll(deep=True)
        await pilot.pause()
        assert terminals.textual.cells() == terminals.patched.cells()
        before = terminals.cropped
        textual_bytes, patched_bytes = terminals.textual_bytes, terminals.patched_bytes
        console.clock.advance(timedelta(minutes=7).total_seconds())
        app.tick_minute()
        await pilot.pause()
    assert terminals.cropped > before  # the tick went through the patch's crop
    assert terminals.patched_bytes - patched_bytes < terminals.textual_bytes - textual_bytes
    assert terminals.textual.cells() == terminals.patched.cells()


RED = Style(color="#ff0000", bgcolor="#000080")
GREEN = Style(color="#00ff00", bold=True)


@pytest.mark.parametrize(
    ("before", "after", "span"),
    [
        # Each span is exactly the cells that changed, so a patch that skipped or shifted one
        # would leave a stale cell behind.
        # Plain ASCII, inside the second segment: the patch writes only the dirty cells.
        ("msgbatch_01 in_progress   in 23h 59m", "msgbatch_01 in_progress   in 23h 52m", (34, 35)),
        # Inside the first segment, and across the two segments' styles.
        ("abcdefgh", "aXYdefgh", (1, 3)),
        ("abcdefgh", "abXYZfgh", (2, 5)),
        # Wide characters, the span starting in the middle of one: Textual's behaviour is kept
        # (a crop must not split a character).
        ("日本語 batch", "日日日 batch", (3, 6)),
        # A combining accent before the span (two characters, one cell).
        ("e\u0301 abc 1m", "e\u0301 abc 2m", (6, 7)),
    ],
)
def test_partial_repaint_of_one_line_shows_what_textual_would(
    before: str, after: str, span: tuple[int, int]
) -> None:
    width = 40
    terminals = TwoTerminals(width, 2)

    def strip(text: str) -> Strip:
        head, tail = text[:4], text[4:]
        return Strip([Segment(head, RED), Segment(tail, GREEN)]).extend_cell_length(width)

    def update(text: str, x1: int, x2: int) -> ChopsUpdate:
        # One chop starting at x=0 that ends at the line's end: a widget spanning the line.
        return ChopsUpdate([{0: strip(text)}, {}], [(0, x1, x2)], [[width], []])

    def full(text: str) -> list[list[pyte.screens.Char]]:
        terminal = Terminal(width, 2)
        terminal.feed(TEXTUAL_RENDER_SEGMENTS(update(text, 0, width), terminals.console))
        return terminal.cells()

    old, new = full(before), full(after)
    # Every dirty cell changes (but the right halves of wide characters, which hold nothing).
    assert all(old[0][x] != new[0][x] or not old[0][x].data for x in range(*span))
    terminals.show(update(before, 0, width))
    assert terminals.textual.cells() == terminals.patched.cells() == old
    terminals.show(update(after, *span))
    assert terminals.textual.cells() == terminals.patched.cells() == new
