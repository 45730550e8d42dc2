"""Start-up loads only what the first frame needs.

Each check runs in a fresh interpreter, so ``sys.modules`` holds exactly what that start loaded.
The gateway is a loopback port that is bound but never listens: every request is refused at once,
so nothing leaves the machine and nothing waits on a network.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.imports import NOT_IN_THE_FIRST_FRAME  # the one list: its report names it too

pytestmark = pytest.mark.slow

#: A one-shot command without ``--demo`` loads none of these.
NOT_IN_THE_CLI = ("textual", "rich", "bifrost_tui.sim")

#: The console as ``bifrost-tui --url URL`` opens it, headless: the first frame is painted, the
#: first poll (refused) has ended, then the loaded modules are printed.
CONSOLE_START = """
import asyncio, json, os, sys

from bifrost_tui.config.connection import open_connection
from bifrost_tui.ui.app import BifrostApp


async def main() -> None:
    connection = open_connection(
        profile=None, url=sys.argv[1], demo=False, read_only=False, refresh=None,
        env=os.environ,
    )
    app = BifrostApp(connection)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.main_screen is not None and app.main_screen.is_mounted
        print(json.dumps(sorted(sys.modules)))


asyncio.run(main())
"""

#: What ``python -m bifrost_tui ARGS`` loaded, printed when the command ends.
CLI_RUN = """
import atexit, json, runpy, sys

atexit.register(lambda: sys.__stderr__.write("MODULES " + json.dumps(sorted(sys.modules)) + "\\n"))
sys.argv = ["bifrost-tui", *sys.argv[1:]]
runpy.run_module("bifrost_tui", run_name="__main__", alter_sys=True)
"""


@pytest.fixture
def refused_url() -> Iterator[str]:
    """A loopback URL whose port is taken but never listens: connections are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


def clean_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BIFROST", "XDG_"))}
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    env["XDG_STATE_HOME"] = str(tmp_path / "state")
    return env


def loaded(modules: list[str], packages: tuple[str, ...]) -> list[str]:
    """The modules of ``packages`` (each a module or a package) among ``modules``."""
    return sorted(m for m in modules if any(m == p or m.startswith(p + ".") for p in packages))


def test_the_console_against_a_url_loads_no_secondary_module(
    tmp_path: Path, refused_url: str
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", CONSOLE_START, refused_url],
        env=clean_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    modules = json.loads(done.stdout.strip().splitlines()[-1])
    assert "bifrost_tui.ui.screens.main" in modules, "the batches screen was shown"
    assert "textual" in modules
    assert loaded(modules, NOT_IN_THE_FIRST_FRAME) == []


@pytest.mark.parametrize("args", [("batches", "list", "--json"), ("--help",), ("batches", "-h")])
def test_the_cli_without_demo_loads_no_textual_rich_or_simulator(
    tmp_path: Path, refused_url: str, args: tuple[str, ...]
) -> None:
    command = [*args, "--url", refused_url] if args[-1] == "--json" else list(args)
    done = subprocess.run(
        [sys.executable, "-c", CLI_RUN, *command],
        env=clean_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    lines = [line for line in done.stderr.splitlines() if line.startswith("MODULES ")]
    assert lines, done.stderr[-3000:]
    modules = json.loads(lines[-1].removeprefix("MODULES "))
    if args[0] == "batches" and args[-1] == "--json":
        assert done.returncode != 0, "the gateway refused: the command says so"
        assert "bifrost_tui.gateway.client" in modules, "the command really tried the gateway"
    else:
        assert done.returncode == 0, done.stderr[-3000:]
    assert loaded(modules, NOT_IN_THE_CLI) == []
