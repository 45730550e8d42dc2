"""Hostile gateway text in the CLI's output: human tables, details, cancel reports, error lines,
CSV and ``--json`` never carry a raw escape sequence, control or bidi character to the terminal
(or to a file a terminal will later print)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.console.test_hostile_console import HOSTILE, LONG_ID, hostile_item, hostile_page
from tests.support.cli_runner import CliRun
from tests.support.reliability import dangerous_in

LIST = "/anthropic/v1/messages/batches"


#: These tests script the batch routes' answers.
pytestmark = pytest.mark.usefixtures("batch_routes_only")


@pytest.fixture
def sim_seed() -> int:
    return 9


@pytest.fixture(autouse=True)
def _config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No profile of the real user's is read."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


@pytest.fixture
def cli(run_cli: CliRun) -> CliRun:
    """``run_cli`` that also fails the test when any output carries a dangerous character."""

    def checked(*args: str) -> tuple[int, str, str]:
        code, out, err = run_cli(*args)
        if "--csv" in args:
            out = out.replace("\r\n", "\n")  # CSV's own record ends (RFC 4180); a bare CR is not
        for name, text in (("stdout", out), ("stderr", err)):
            assert not dangerous_in(text), (args, name, dangerous_in(text))
        return code, out, err

    return checked


@pytest.mark.parametrize("fmt", ["human", "--json", "--csv"])
def test_list_output_escapes_every_hostile_string(cli, world, sim_url, fmt):
    world.faults.fail_next(200, hostile_page(), method="GET", path=LIST, provider="anthropic")
    extra = [] if fmt == "human" else [fmt]
    code, out, _ = cli("batches", "list", "--url", sim_url, "--provider", "anthropic", *extra)
    assert code == 0
    if fmt == "--json":
        ids = {b["id"] for b in json.loads(out)["batches"]}
        # JSON keeps the exact value (escaped by the JSON encoding, not altered).
        assert {f"msgbatch_{k}_{v}" for k, v in HOSTILE.items()} | {LONG_ID} <= ids
    else:
        assert "[@click=app.quit]quit[/]" in out  # markup means nothing here: printed as is
        assert "\\x1b]52;c;ZXZpbA==\\x07" in out
        assert LONG_ID in out  # never truncated


def test_show_escapes_every_field(cli, world, sim_url):
    value = HOSTILE["osc8"] + HOSTILE["bidi"]
    item = hostile_item("show", value, 1)
    world.faults.fail_next(
        200, json.dumps(item).encode(), method="GET", path=LIST + "/", provider="anthropic"
    )
    code, out, _ = cli("batches", "show", item["id"], "--provider", "anthropic", "--url", sim_url)
    assert code == 0
    assert "\\x1b]8;;https://evil.example" in out and "\\u202e" in out


def test_cancel_refusal_and_error_lines_escape_the_gateways_message(cli, world, sim_url):
    target = next(b.id for b in world.batches("openai") if b.phase.value == "running")
    message = "no \x1b]52;c;ZXZpbA==\x07 way \u202eevil\x9b2J"
    body = json.dumps({"type": "error", "error": {"type": "conflict_error", "message": message}})
    world.faults.fail_next(409, body, method="POST", path="/cancel")
    code, out, err = cli(
        "batches", "cancel", target, "--provider", "openai", "--yes", "--url", sim_url
    )
    assert code == 1
    assert "way" in out + err and "\\u202eevil" in out + err
    # Every listing fails with the same message: the error lines say it in words.
    world.faults.fail_next(500, body, method="GET", path=LIST, times=10)
    code, _, err = cli("batches", "list", "--url", sim_url, "--provider", "anthropic")
    assert code != 0 and "way" in err


def test_cancel_json_output_is_escaped_json(cli, world, sim_url):
    evil = world.add_batch("anthropic", id="evil\x1b[2J\u202e[/]", status="in_progress", total=4)
    args = ["batches", "cancel", evil.id, "--provider", "anthropic", "--yes", "--json"]
    code, out, _ = cli(*args, "--url", sim_url)
    assert code == 0
    assert "\\u001b[2J\\u202e[/]" in out  # escaped by the JSON encoding itself
    line = json.loads(out.splitlines()[0])["cancel"]
    assert line["batch"]["id"] == evil.id  # and the exact value round-trips
