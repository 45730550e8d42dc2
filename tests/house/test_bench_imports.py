"""The "What the first frame imports" section of bench/RESULTS.md is generated from a run."""

from __future__ import annotations

from bench.core import Row
from bench.imports import parse_importtime
from bench.machine import describe
from bench.report import markdown

IMPORTTIME = """\
import time: self [us] | cumulative | imported package
import time:        50 |         50 |     textual._on
import time:       100 |        150 |   textual.app
import time:        10 |        160 | textual
import time:        30 |         30 | json
"""


def test_importtime_is_read_as_a_tree() -> None:
    tree = parse_importtime(IMPORTTIME)
    assert [(n.name, n.cumulative) for n in tree] == [("textual", 160), ("json", 30)]
    (app,) = tree[0].children
    assert (app.name, app.own, [c.name for c in app.children]) == (
        "textual.app",
        100,
        ["textual._on"],
    )


def test_the_results_end_with_what_the_first_frame_imports() -> None:
    first_frame = {
        "third_party": ["httpx", "textual"],
        "ours": {"ui": ["app", "screens.main"], "": ["clock"]},
        "not_loaded": ["bifrost_tui.sim", "ijson"],
        "unwanted": ["ijson"],
        "top": [
            {"module": "textual", "seconds": 0.1, "child": "textual.app", "child_seconds": 0.08},
            {"module": "bifrost_tui.core.live", "seconds": 0.03},
        ],
    }
    row = Row(
        "First frame imports", "300.0 ms of imports", "no secondary module", False, 5,
        values={"imports": 0.3, "app": 0.25, "modules": 600, "first_frame": first_frame},
    )  # fmt: skip
    text = markdown([row], describe(), seconds=1.0, command="python -m bench")
    section = text[text.index("## What the first frame imports") :]
    assert "- Third-party: httpx, textual." in section
    assert "- bifrost_tui: `ui` (`app`, `screens.main`); `clock`." in section
    assert "**Loaded but must not be**: `ijson`" in section
    assert "- Not loaded: `sim`:" in section
    assert "`textual` 100.0 ms (of which `textual.app` 80.0 ms); `core.live` 30.0 ms." in section
    assert "What the first frame imports" not in markdown(
        [Row("Deep poll", "80 ms")], describe(), seconds=1.0, command="python -m bench"
    )
