"""A one-shot command never loads Textual: only launching the console does."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

COMMAND = ("batches", "list", "--demo", "--json")
IMPORT_LINE = re.compile(r"^import time:\s+\d+ \|\s+\d+ \|\s+(\S+)$", re.MULTILINE)


def imported_modules(importtime_report: str) -> set[str]:
    """Module names in ``python -X importtime``'s report (``import time: self | total | name``)."""
    return set(IMPORT_LINE.findall(importtime_report))


def test_batches_list_demo_json_loads_no_textual_module(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BIFROST", "XDG_"))}
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    env["XDG_STATE_HOME"] = str(tmp_path / "state")
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "bifrost_tui", *COMMAND],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    errors = [line for line in done.stderr.splitlines() if not IMPORT_LINE.match(line)]
    assert done.returncode == 0, "\n".join(errors[-30:])
    assert json.loads(done.stdout)["batches"], "the command really listed batches"
    loaded = imported_modules(done.stderr)
    assert "bifrost_tui.gateway.client" in loaded, "the report lists what the command imported"
    textual = sorted(m for m in loaded if m == "textual" or m.startswith("textual."))
    assert not textual, f"a one-shot command imported Textual: {textual[:5]}"


def test_the_report_parser_reads_module_names() -> None:
    report = (
        "import time: self [us] | cumulative | imported package\n"
        "import time:       277 |        277 |           textual._ansi\n"
        "import time:      3767 |      11126 | bifrost_tui.core.export\n"
    )
    assert imported_modules(report) == {"textual._ansi", "bifrost_tui.core.export"}
