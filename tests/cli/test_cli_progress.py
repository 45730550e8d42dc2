"""The counting line of bulk cancel and deep listing: on a terminal's stderr only, rewritten with
``\\r`` at most four times a second, cleared before the final output, never with --json."""

from __future__ import annotations

import functools
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bifrost_tui.cli import progress as progress_module
from bifrost_tui.cli.progress import Progress


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def _private_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


# --------------------------------------------------------------------------- the line


def test_rewrites_are_rate_limited_to_four_a_second_and_the_newest_text_wins() -> None:
    tty, clock = FakeTTY(), Clock()
    line = Progress(tty, clock=clock)
    for n in range(1, 11):  # ten updates within 0.09s: one drawing
        line.update(f"{n}/40")
        clock.now += 0.01
    assert tty.getvalue() == "\r1/40"
    clock.now = 0.25
    line.update("11/40")
    assert tty.getvalue() == "\r1/40\r11/40"
    # A whole second of updates every 10 ms: at most four rewrites.
    before = tty.getvalue().count("\r")
    for n in range(100):
        clock.now = 0.26 + n * 0.01
        line.update(f"{12 + n}/400")
    assert tty.getvalue().count("\r") - before <= 4


def test_a_shorter_text_blanks_the_rest_and_clear_leaves_an_empty_line() -> None:
    tty, clock = FakeTTY(), Clock()
    line = Progress(tty, clock=clock)
    line.update("listing: 10/10 providers")
    clock.now = 1.0
    line.update("done")
    assert tty.getvalue().endswith("\rdone" + " " * (len("listing: 10/10 providers") - 4))
    line.clear()
    assert tty.getvalue().endswith("\r" + " " * len("done") + "\r")
    line.clear()  # twice is harmless: nothing more written
    assert tty.getvalue().endswith("\r" + " " * len("done") + "\r")


def test_output_above_the_line_clears_it_first_and_it_comes_back_when_due() -> None:
    tty, clock = FakeTTY(), Clock()
    line = Progress(tty, clock=clock)
    line.update("1/3")
    clock.now = 0.1
    line.above(lambda: tty.write("accepted a\n"))
    line.update("2/3")  # not due yet: kept
    assert tty.getvalue() == "\r1/3\r   \raccepted a\n"
    clock.now = 0.3
    line.above(lambda: tty.write("accepted b\n"))
    assert tty.getvalue().endswith("accepted b\n\r2/3")


def test_nothing_is_written_to_a_stream_that_is_not_a_terminal_or_when_disabled() -> None:
    pipe, tty = io.StringIO(), FakeTTY()
    for stream, enabled in ((pipe, True), (tty, False)):
        line = Progress(stream, enabled=enabled, clock=Clock())
        line.update("1/2")
        line.above(functools.partial(stream.write, "x\n"))
        line.clear()
    assert pipe.getvalue() == "x\n" and tty.getvalue() == "x\n"


def test_the_progress_module_imports_neither_rich_nor_textual() -> None:
    code = (
        "import sys, bifrost_tui.cli.progress, bifrost_tui.cli.cancel_send;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('rich', 'textual')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"
    assert progress_module.MAX_RATE == 4.0


# --------------------------------------------------------------------------- in the commands


def tty_stderr(monkeypatch: pytest.MonkeyPatch) -> FakeTTY:
    """stderr is a terminal from now on (called in the test: capsys takes the streams when the
    test starts); stdout stays captured."""
    fake = FakeTTY()
    monkeypatch.setattr(sys, "stderr", fake)
    return fake


def test_bulk_cancel_on_a_terminal_counts_on_stderr_and_clears_before_the_summary(
    world, sim_url, monkeypatch, capsys
):
    from bifrost_tui.cli import main

    tty = tty_stderr(monkeypatch)

    code = main(
        ["batches", "cancel", "--provider", "openai", "--all-active", "--yes", "--url", sim_url]
    )
    assert code == 0
    err = tty.getvalue()
    assert "\rlisting: 0/1 providers done" in err
    assert "\rcancelling: 1/" in err and " accepted, 0 refused, 0 unknown, 0 skipped)" in err
    # The line is gone at the end: the last thing written to stderr clears it.
    assert err.endswith("\r")
    assert capsys.readouterr().out.splitlines()[-1].endswith("0 skipped (already ended)")


def test_deep_listing_on_a_terminal_counts_providers_done(world, sim_url, monkeypatch, capsys):
    from bifrost_tui.cli import main

    tty = tty_stderr(monkeypatch)

    assert main(["batches", "list", "--url", sim_url]) == 0
    err = tty.getvalue()
    assert "\rlisting: 0/5 providers done" in err
    # Cleared before anything else is said: the last drawing is followed by blanks and a \r.
    assert re.match(r"[^\r]*\r +\r", err[err.rindex("listing: ") :])
    assert "PROVIDER" in capsys.readouterr().out


def test_json_never_shows_progress_even_on_a_terminal(world, sim_url, monkeypatch, capsys):
    from bifrost_tui.cli import main

    tty = tty_stderr(monkeypatch)

    assert main(["batches", "list", "--url", sim_url, "--json"]) == 0
    code = main(
        [
            "batches",
            "cancel",
            "--provider",
            "gemini",
            "--all-active",
            "--yes",
            "--json",
            "--url",
            sim_url,
        ]
    )
    assert code == 0
    assert "\r" not in tty.getvalue()
    lines = capsys.readouterr().out
    assert json.loads(lines.splitlines()[-1])["summary"]["outcomes"]["accepted"] >= 1


def test_piped_output_never_shows_progress(run_cli, world, sim_url):
    code, _, err = run_cli(
        "batches", "cancel", "--provider", "openai", "--all-active", "--yes", "--url", sim_url
    )
    assert code == 0
    assert "\r" not in err
