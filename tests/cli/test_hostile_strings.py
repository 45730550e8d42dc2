"""Strings no terminal, file or URL can carry: a listing whose id holds a lone surrogate (valid
JSON: ``"msgbatch_\\ud800sur"``), and ids or fields with invisible characters. Every command
prints them as visible escapes, stores them, sends what can be sent, and refuses only that one
batch, in words.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import unicodedata
from pathlib import Path
from typing import Any

import pytest

from bifrost_tui.cli.watch import run_watch
from bifrost_tui.sim import SimWorld
from tests.core.test_watch import Sleeper, connection, watch_args
from tests.support.cli_runner import CliRun
from tests.support.sim_fixtures import call
from tests.support.ui_fixtures import cancel_requests

LIST = "/anthropic/v1/messages/batches"
SURROGATE_ID = "msgbatch_\ud800sur"
ZERO_WIDTH_ID = "msgbatch_zw\u200bsp"
SHOWN_SURROGATE = "msgbatch_\\ud800sur"
SHOWN_ZERO_WIDTH = "msgbatch_zw\\u200bsp"
CANNOT_SEND = "the batch id is not valid text (lone surrogate U+D800 at position 9)"


#: These tests script the batch routes' answers.
pytestmark = pytest.mark.usefixtures("batch_routes_only")


@pytest.fixture
def sim_seed() -> int:
    return 9


@pytest.fixture(autouse=True)
def _config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No profile of the real user's is read."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


def invisible_in(text: str) -> list[str]:
    """Characters that must never be printed raw: controls (but newline), format characters,
    surrogates, line/paragraph separators, variation selectors and tags."""
    found = set()
    for ch in text:
        code = ord(ch)
        hidden = 0xFE00 <= code <= 0xFE0F or 0xE0000 <= code <= 0xE01EF
        if (unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp") and ch != "\n") or hidden:
            found.add(f"U+{code:04X}")
    return sorted(found)


@pytest.fixture
def cli(run_cli: CliRun) -> CliRun:
    """``run_cli`` that also fails the test when any output carries a raw invisible character or
    cannot be encoded as UTF-8."""

    def checked(*args: str) -> tuple[int, str, str]:
        code, out, err = run_cli(*args)
        if "--csv" in args:
            out = out.replace("\r\n", "\n")
        for name, text in (("stdout", out), ("stderr", err)):
            assert not invisible_in(text), (args, name, invisible_in(text))
            text.encode("utf-8")
            assert "Traceback" not in text, (args, name)
        return code, out, err

    return checked


def hostile_listing(world: SimWorld, *extra: dict[str, Any]) -> bytes:
    """The world's own anthropic listing (every page in one), plus ``extra`` items, encoded the
    way any JSON encoder writes a lone surrogate: ``\\ud800``."""
    world.provider("anthropic").default_page_size = 1000  # one page holds every batch
    answer = call(world, "GET", LIST, headers={"x-model-provider": "anthropic"})
    page = json.loads(answer.body)
    assert page["has_more"] is False
    template = next(b for b in page["data"] if b["processing_status"] == "in_progress")
    page["data"] += [{**template, **item} for item in extra]
    world.clear_request_log()
    return json.dumps(page).encode()


def serve_hostile_listing(world: SimWorld, *, times: int = 1) -> None:
    """The next ``times`` anthropic listings carry the surrogate id and the zero-width id (both
    in progress; the second one a real batch of the world); reads and cancels of the other batches
    still reach the world."""
    world.add_batch("anthropic", id=ZERO_WIDTH_ID, status="in_progress", total=4)
    body = hostile_listing(world, {"id": SURROGATE_ID})
    for _ in range(times):
        world.faults.fail_next(200, body, method="GET", path=LIST, provider="anthropic")


def listing_only(world: SimWorld) -> None:
    """The scripted listing answers the listing itself, never a read of one batch; the batch
    routes list (the passthrough prefix refused, as by an older gateway)."""
    world.faults.refuse_passthrough = 404
    for fault in world.faults.scripted:
        fault.path = LIST
    original = world.faults.take_scripted

    def take(method: str, path: str, provider: str | None):  # type: ignore[no-untyped-def]
        return original(method, path, provider) if path == LIST else None

    world.faults.take_scripted = take  # type: ignore[method-assign]


# --------------------------------------------------------------------------- batches list


@pytest.mark.parametrize("fmt", ["human", "--csv", "--json"])
def test_list_prints_a_lone_surrogate_and_a_zero_width_id_as_escapes(cli, world, sim_url, fmt):
    serve_hostile_listing(world)
    extra = [] if fmt == "human" else [fmt]
    code, out, _ = cli("batches", "list", "--url", sim_url, "--provider", "anthropic", *extra)
    assert code == 0
    if fmt == "--json":
        ids = {b["id"] for b in json.loads(out)["batches"]}
        assert {SURROGATE_ID, ZERO_WIDTH_ID} <= ids  # exact: the JSON escape round-trips
        assert "\\ud800" in out
    elif fmt == "--csv":
        ids = {row["id"] for row in csv.DictReader(io.StringIO(out))}
        # CSV keeps every id that can be written as is; the invisible and the unencodable are
        # the screen's escapes.
        assert {SHOWN_SURROGATE, SHOWN_ZERO_WIDTH} <= ids
        assert len(ids) == len(world.batches("anthropic")) + 1
    else:
        assert SHOWN_SURROGATE in out and SHOWN_ZERO_WIDTH in out
        assert (
            len([line for line in out.splitlines() if "msgbatch_" in line])
            == len(world.batches("anthropic")) + 1
        )


def test_show_of_a_batch_whose_fields_hold_a_surrogate_prints_them_escaped(cli, world, sim_url):
    target = next(b for b in world.batches("anthropic") if b.phase.value == "running")
    answer = call(world, "GET", f"{LIST}/{target.id}", headers={"x-model-provider": "anthropic"})
    item = json.loads(answer.body) | {
        "processing_status": "in_\ud800progress\u2060",
        "results_url": "https://x.example/\udfff\ufe0f",
    }
    world.faults.fail_next(200, json.dumps(item), method="GET", path=f"/{target.id}")
    code, out, _ = cli("batches", "show", target.id, "--provider", "anthropic", "--url", sim_url)
    assert code == 0
    assert "in_\\ud800progress\\u2060" in out and "https://x.example/\\udfff\\ufe0f" in out


def test_show_of_an_id_that_cannot_be_sent_says_why_and_sends_nothing(cli, world, sim_url):
    code, _, err = cli("batches", "show", SURROGATE_ID, "--provider", "anthropic", "--url", sim_url)
    assert code == 1
    assert CANNOT_SEND in err and "it cannot be sent" in err
    assert world.request_log == []


# --------------------------------------------------------------------------- cancel


def test_all_active_dry_run_lists_the_surrogate_id_escaped(cli, world, sim_url):
    serve_hostile_listing(world)
    args = ["batches", "cancel", "--all-active", "--provider", "anthropic", "--dry-run"]
    code, out, _ = cli(*args, "--url", sim_url)
    assert code == 0
    assert f"anthropic  {SHOWN_SURROGATE}  in_progress" in out
    assert f"anthropic  {SHOWN_ZERO_WIDTH}  in_progress" in out
    assert cancel_requests(world) == []


def test_all_active_cancels_the_rest_and_refuses_only_the_unsendable_id(cli, world, sim_url):
    active = [b.id for b in world.batches("anthropic") if b.phase.value == "running"]
    serve_hostile_listing(world)
    listing_only(world)
    args = ["batches", "cancel", "--all-active", "--provider", "anthropic", "--yes"]
    code, out, _ = cli(*args, "--url", sim_url)
    assert code == 4  # a per-batch trouble among accepted cancels
    sent = [r.path for r in cancel_requests(world)]
    assert len(sent) == len(active) + 1  # every listed active batch but the unsendable one
    assert f"not_sent anthropic {SHOWN_SURROGATE}: refused: {CANNOT_SEND}; it cannot be sent" in out
    assert f"accepted anthropic {SHOWN_ZERO_WIDTH}" in out
    assert f"{len(active) + 2}/{len(active) + 2}: {len(active) + 1} accepted" in out


def test_ids_from_sends_the_40_good_ids_and_gives_the_bad_one_its_own_line(
    cli, world, sim_url, tmp_path
):
    good = [
        world.add_batch("anthropic", id=f"msgbatch_good{n:02d}", status="in_progress", total=4).id
        for n in range(40)
    ]
    body = hostile_listing(world, {"id": SURROGATE_ID})
    selection = tmp_path / "selection.jsonl"
    world.faults.fail_next(200, body, method="GET", path=LIST, provider="anthropic")
    dry = ["batches", "cancel", "--all-active", "--provider", "anthropic", "--dry-run", "--json"]
    code, out, _ = cli(*dry, "--filter", "msgbatch_", "--url", sim_url)
    assert code == 0
    selection.write_text(out, encoding="utf-8")  # ASCII: the surrogate is a JSON escape
    keys = [
        json.loads(line)["cancel"]["batch_id"] for line in out.splitlines() if '"cancel"' in line
    ]
    assert SURROGATE_ID in keys and set(good) <= set(keys)

    world.clear_request_log()
    code, out, _ = cli("batches", "cancel", "--ids-from", str(selection), "--yes", "--url", sim_url)
    assert code == 4
    cancelled = {r.path.split("/")[-2] for r in cancel_requests(world)}
    assert set(good) <= cancelled  # all 40 sent
    assert not any("%ED%A0%80" in r.path or "\ud800" in r.path for r in world.request_log)
    troubled = [line for line in out.splitlines() if line.startswith("  not_sent:")]
    assert troubled == [
        f"  not_sent: anthropic {SHOWN_SURROGATE}: refused: {CANNOT_SEND}; it cannot be sent"
    ]


def test_json_cancel_lines_keep_the_exact_id_and_say_why(cli, world, sim_url):
    args = ["batches", "cancel", SURROGATE_ID, "--provider", "anthropic", "--yes", "--json"]
    code, out, _ = cli(*args, "--url", sim_url)
    assert code == 1
    line = json.loads(out.splitlines()[0])["cancel"]
    assert line["batch_id"] == SURROGATE_ID and line["outcome"] == "not_sent"
    assert CANNOT_SEND in line["error"]
    assert cancel_requests(world) == []


def test_single_cancel_of_the_unsendable_id_then_audit_reads_it_back(cli, world, sim_url):
    args = ["batches", "cancel", SURROGATE_ID, "--provider", "anthropic", "--yes"]
    code, _, err = cli(*args, "--url", sim_url)
    assert code == 1
    assert CANNOT_SEND in err and "the batch id is empty" not in err
    assert cancel_requests(world) == []
    # The audit line is JSON with ensure_ascii: the surrogate reads back as U+D800.
    code, out, _ = cli("audit")
    assert code == 0
    assert SHOWN_SURROGATE in out and "not_sent" in out
    code, out, _ = cli("audit", "--json")
    assert code == 0
    assert "\\ud800" in out
    assert all(json.loads(line) for line in out.splitlines())


def test_audit_renders_lines_full_of_surrogates_and_invisible_characters(cli, world, sim_url):
    """Whatever wrote them, such lines are printed escaped and never stop the reader."""
    from bifrost_tui.config.paths import audit_file

    cli("batches", "cancel", SURROGATE_ID, "--provider", "anthropic", "--yes", "--url", sim_url)
    path = audit_file()
    lines = path.read_text(encoding="ascii").splitlines()
    hostile = {
        "user": "op\u200b\udc80",
        "host": "h\u2028ost",
        "provider": "anthropic\ufe0f",
        "request_id": "req\udfff",
        "error": "no\ufeff \U000e0041way\ud800",
        "state_after": "x\ud800",
    }
    with path.open("a", encoding="ascii") as out:
        for line in lines:
            record = json.loads(line)
            for name, value in hostile.items():
                if name in record:
                    record[name] = value
            out.write(json.dumps(record) + "\n")
    code, out, err = cli("audit")
    assert code == 0, err
    assert SHOWN_SURROGATE in out and "op\\u200b\\udc80" in out
    code, out, err = cli("audit", "--json")
    assert code == 0, err
    assert "\\udc80" in out


# --------------------------------------------------------------------------- watch


async def test_watch_all_active_watches_the_rest_and_says_which_id_it_cannot(world, clock, capsys):
    world.add_batch("anthropic", id="msgbatch_ends", status="ended", succeeded=3)
    body = {"data": [], "has_more": False, "first_id": None, "last_id": None}
    ended = call(world, "GET", f"{LIST}/msgbatch_ends", headers={"x-model-provider": "anthropic"})
    item = json.loads(ended.body) | {"processing_status": "in_progress"}
    body["data"] = [
        item,
        item | {"id": SURROGATE_ID},
        json.loads(ended.body) | {"id": ZERO_WIDTH_ID},
    ]
    world.faults.fail_next(200, json.dumps(body), method="GET", path=LIST, provider="anthropic")
    listing_only(world)
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", write_through=True)  # strict
    code = await run_watch(
        watch_args(provider="anthropic", all_active=True),
        connection(world, clock),
        stdout=out,
        sleep=Sleeper(clock),
    )
    err = capsys.readouterr().err
    assert f"not watching {SHOWN_SURROGATE}: {CANNOT_SEND}" in err
    text = out.buffer.getvalue().decode("utf-8")  # type: ignore[attr-defined]
    assert code == 0, text
    assert "anthropic msgbatch_ends ended (ENDED)" in text
    assert text.splitlines()[-1] == "summary: 1 batch watched: 1 ENDED"


# --------------------------------------------------------------------------- a non-UTF-8 terminal


@pytest.mark.slow
@pytest.mark.parametrize(
    "locale", [{"LANG": "C", "LC_ALL": "C"}, {"PYTHONIOENCODING": "ascii", "LC_ALL": "C"}]
)
def test_list_under_an_ascii_or_c_locale_never_dies_on_encoding(world, sim_url, tmp_path, locale):
    body = hostile_listing(world, {"id": SURROGATE_ID}, {"id": "msgbatch_caf\u00e9_\u6771"})
    world.faults.fail_next(200, body, method="GET", path=LIST, provider="anthropic", times=2)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BIFROST", "XDG_", "LC_"))}
    env |= {"XDG_CONFIG_HOME": str(tmp_path / "c"), "XDG_STATE_HOME": str(tmp_path / "s")}
    env |= locale
    for fmt in ([], ["--csv"]):
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "bifrost_tui",
                "batches",
                "list",
                "--url",
                sim_url,
                "--provider",
                "anthropic",
                *fmt,
            ],  # the one provider whose listing is scripted
            env=env,
            capture_output=True,
            timeout=60,
            check=False,
        )
        out, err = done.stdout.decode("utf-8"), done.stderr.decode("utf-8")
        assert done.returncode == 0, err
        assert "Traceback" not in err
        assert SHOWN_SURROGATE in out
        assert "msgbatch_caf" in out  # é shown as itself or as an escape, never a crash
