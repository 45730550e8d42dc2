"""The command line run in process with its output captured: what the ``run_cli`` fixture gives."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bifrost_tui.cli import main

#: ``run(*argv)`` gives the exit code, then everything printed on stdout and on stderr.
CliRun = Callable[..., tuple[int, str, str]]


def cli_runner(capsys: pytest.CaptureFixture[str]) -> CliRun:
    """Each call runs ``bifrost-tui *argv`` in this process and takes what it printed."""

    def run(*argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return run
