"""Start-up: the CLI path (no Textual) and the console's first painted table, as child processes.

Each figure is timed from the moment the process is spawned, against a baseline measured in the
same run and interleaved with it (so both see the same machine noise); the table gives the ratio
of the medians.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.core import Row, median, ms

LAUNCHERS = Path(__file__).with_name("launchers")


#: Compiled bytecode for the child processes, outside the source tree. Start-up is measured the
#: way an installed console starts: from cached bytecode (a warm-up run writes it), never with
#: PYTHONDONTWRITEBYTECODE (which makes every start compile the package from source).
PYCACHE = Path(tempfile.gettempdir()) / "bifrost-tui-bench-pycache"

#: Config, state, data and cache dirs of the child processes: no user profile is ever read.
HOME = Path(tempfile.gettempdir()) / "bifrost-tui-bench-home"


def _env() -> dict[str, str]:
    env = dict(os.environ)
    for name in ("BIFROST_PROFILE", "BIFROST_URL", "BIFROST_VK", "PYTHONDONTWRITEBYTECODE"):
        env.pop(name, None)
    env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    for name in ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        env[name] = str(HOME / name.removeprefix("XDG_").removesuffix("_HOME").lower())
    return env


def _cli() -> list[str]:
    script = Path(sys.executable).with_name("bifrost-tui")
    return [str(script)] if script.exists() else [sys.executable, "-m", "bifrost_tui"]


def _wall(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=_env(), timeout=120)
    return time.perf_counter() - start


def _to_paint(script: str) -> float:
    """Spawn ``script``; seconds from the spawn to the paint time it reports."""
    with tempfile.TemporaryDirectory() as tmp:
        marker = Path(tmp) / "painted"
        env = _env() | {"BENCH_PAINT_FILE": str(marker)}
        start = time.time()
        subprocess.run(
            [sys.executable, str(LAUNCHERS / script)],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
            timeout=120,
        )
        return float(marker.read_text()) - start


def cli_imports_textual() -> bool:
    """Does ``batches list --demo --json`` import Textual? (It must not.)"""
    code = (
        "import sys\n"
        "from bifrost_tui.cli import main\n"
        "main(['batches', 'list', '--demo', '--json'])\n"
        "print(any(m == 'textual' or m.startswith('textual.') for m in sys.modules), "
        "file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
        timeout=120,
    )
    return done.stderr.strip().splitlines()[-1] == "True"


def cli_start(runs: int = 7, *, warm: bool = True) -> list[Row]:
    cli = [*_cli(), "batches", "list", "--demo", "--json"]
    base = [sys.executable, "-c", "import httpx, pydantic"]
    if warm:  # the file and bytecode caches; not counted
        _wall(cli)
        _wall(base)
    cli_times, base_times = [], []
    for _ in range(runs):
        cli_times.append(_wall(cli))
        base_times.append(_wall(base))
    ratio = median(cli_times) / median(base_times)
    textual = cli_imports_textual()
    return [
        Row(
            "CLI start (`batches list --demo --json`)",
            f"{ratio:.2f}x ({ms(median(cli_times))} vs {ms(median(base_times))})",
            "<= 1.5x",
            ratio <= 1.5 and not textual,
            runs,
            'baseline `python -c "import httpx, pydantic"`; '
            + ("imports Textual (it must not)" if textual else "Textual not imported"),
            {"ratio": ratio, "cli": median(cli_times), "base": median(base_times)},
        )
    ]


def console_start(runs: int = 5, *, warm: bool = True) -> list[Row]:
    if warm:  # the file and bytecode caches; not counted
        _to_paint("bare_table.py")
        _to_paint("console_start.py")
    app_times, base_times = [], []
    for _ in range(runs):
        app_times.append(_to_paint("console_start.py"))
        base_times.append(_to_paint("bare_table.py"))
    ratio = median(app_times) / median(base_times)
    return [
        Row(
            "Console start (`--demo`, headless, to first painted table)",
            f"{ratio:.2f}x ({ms(median(app_times))} vs {ms(median(base_times))})",
            "<= 1.5x",
            ratio <= 1.5,
            runs,
            "baseline: a bare Textual app with a 20-row DataTable, to its first paint",
            {"ratio": ratio, "app": median(app_times), "base": median(base_times)},
        )
    ]
