"""`bifrost-tui --demo`, headless, exiting as soon as the batch table is first painted.

Runs the real command line (``bifrost_tui.cli.main(["--demo"])``). The only changes: the app runs
headless at 120x40, and the first time the table renders a batch row, the end of that screen
update is written (as ``time.time()``) to the file named by ``BENCH_PAINT_FILE`` and the app exits.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

from textual.strip import Strip

from bifrost_tui.ui import app as app_module
from bifrost_tui.ui.widgets.batch_table.table import BatchTable

_render_line = BatchTable.render_line
_armed: list[bool] = []


def render_line(self: BatchTable, y: int) -> Strip:
    strip = _render_line(self, y)
    if y > 0 and not _armed and self.scroll_offset.y + y - 1 < self.row_count:
        _armed.append(True)  # a batch row is being painted: done when this update ends
        self.call_after_refresh(_painted, self.app)
    return strip


def _painted(app: Any) -> None:
    Path(os.environ["BENCH_PAINT_FILE"]).write_text(repr(time.time()))
    app.exit(0)


class HeadlessApp(app_module.BifrostApp):
    CSS_PATH = str(Path(app_module.__file__).with_name("app.tcss"))

    def run(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.update(headless=True, size=(120, 40))
        return super().run(*args, **kwargs)


# The benchmark swaps in a timed paint and a headless app; mypy rightly forbids assigning to a
# method and to a class name, which is exactly what instrumenting the real command takes.
BatchTable.render_line = render_line  # type: ignore[method-assign]
app_module.BifrostApp = HeadlessApp  # type: ignore[misc]

from bifrost_tui.cli import main  # noqa: E402 - after the classes are patched

sys.exit(main(["--demo"]))
