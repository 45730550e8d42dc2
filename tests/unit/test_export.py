"""Exports: CSV cells neutralised against formula injection, the JSON envelope, private folders."""

from __future__ import annotations

import csv
import io
import json
import os
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bifrost_tui.core.export import (
    CSV_COLUMNS,
    batches_json,
    export_dir_for,
    neutralise_cell,
    save_export,
    write_csv,
)
from bifrost_tui.gateway.counts import Source
from bifrost_tui.gateway.models import Batch
from tests.support.clocks import T0

FORMULA_STARTS = "=+-@\t\r"


def anthropic(batch_id: str, status: str = "in_progress", **fields: Any) -> Batch:
    data = {"id": batch_id, "processing_status": status, "created_at": "2026-11-28T10:00:00Z"}
    data.update(fields)
    return Batch.from_anthropic(data, provider="anthropic", source=Source.RETRIEVE)


def openai_retrieved(batch_id: str) -> Batch:
    """An OpenAI batch read through the Anthropic route: only ``errored`` can be trusted."""
    counts = {"processing": 0, "succeeded": 0, "errored": 3, "canceled": 0, "expired": 0}
    return Batch.from_anthropic(
        {"id": batch_id, "processing_status": "in_progress", "request_counts": counts},
        provider="openai",
        source=Source.RETRIEVE,
    )


def read_back(batches: list[Batch]) -> list[dict[str, str]]:
    out = io.StringIO()
    write_csv(batches, out)
    return list(csv.DictReader(io.StringIO(out.getvalue(), newline="")))


# --------------------------------------------------------------------------- neutralise_cell


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\t=1", "'\\x09=1"),
        ("\r=1", "'\\x0d=1"),
        ("\tplain", "'\\x09plain"),  # OWASP: a leading TAB alone is enough
        (" =cmd|' /C calc'!A0", "' =cmd|' /C calc'!A0"),
        ("\n@x", "'\\x0a@x"),
        ("\uff1dHYPERLINK(1)", "'\uff1dHYPERLINK(1)"),  # full-width "=" some locales fold
    ],
)
def test_formula_prefixes_get_an_apostrophe(raw, expected):
    assert neutralise_cell(raw) == expected


@pytest.mark.parametrize(
    "safe",
    ["batch_6823a1f0", "in_progress", "ended-ok", "2026-11-28T12:00:00Z", "", "a=b", "12", "x-1"],
)
def test_ordinary_cells_are_unchanged(safe):
    assert neutralise_cell(safe) == safe


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a\x1b[31mred", "a\\x1b[31mred"),
        ("line1\nline2\r\n", "line1\\x0aline2\\x0d\\x0a"),
        ("del\x7f c1\x85\x9b", "del\\x7f c1\\x85\\x9b"),
        ("bidi\u202eevil\u2066", "bidi\\u202eevil\\u2066"),
        ("nul\x00", "nul\\x00"),
        ("emoji 👩‍🚀 é", "emoji 👩\\u200d🚀 é"),  # the joiner is shown too
    ],
)
def test_control_ansi_and_bidi_characters_become_visible_escapes(raw, expected):
    assert neutralise_cell(raw) == expected


@given(st.text())
def test_no_cell_can_start_a_formula_or_carry_a_control_character(raw):
    cell = neutralise_cell(raw)
    assert not any(ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F for ch in cell)
    assert "\u202e" not in cell and "\u2028" not in cell
    if cell[:1] != "'":
        assert cell.lstrip()[:1] not in set(FORMULA_STARTS) | set("\uff1d\uff0b\uff0d\uff20")


# --------------------------------------------------------------------------- write_csv


def test_header_then_one_row_per_batch():
    out = io.StringIO()
    write_csv([anthropic("msgbatch_1"), anthropic("msgbatch_2")], out)
    lines = out.getvalue().split("\r\n")
    assert lines[0] == ",".join(CSV_COLUMNS)
    assert len([line for line in lines if line]) == 3
    assert CSV_COLUMNS[:5] == ("provider", "id", "processing_status", "state", "cancellable")
    assert CSV_COLUMNS[-1] == "results_url" and "total" in CSV_COLUMNS


def test_unknown_counts_are_empty_cells_and_known_zero_stays_zero():
    (row,) = read_back([openai_retrieved("batch_o")])
    # The gateway's fake zeros for OpenAI (processing, succeeded) must not become real zeros.
    assert row["processing"] == "" and row["succeeded"] == "" and row["total"] == ""
    assert row["errored"] == "3"
    full = {"processing": 0, "succeeded": 5, "errored": 0, "canceled": 0, "expired": 0}
    (done,) = read_back([anthropic("msgbatch_d", "ended", request_counts=full)])
    assert done["processing"] == "0" and done["succeeded"] == "5" and done["total"] == "5"
    (none,) = read_back([anthropic("msgbatch_n")])
    assert [none[c] for c in ("processing", "errored", "total")] == ["", "", ""]


def test_round_trip_reads_the_same_ids_statuses_and_times_back():
    batches = [
        anthropic(
            "msgbatch_01HkcTjaV5uDC8jWR4ZsDV8d",
            "ended",
            ended_at="2026-11-28T11:00:00Z",
            results_url="https://api.anthropic.com/v1/messages/batches/x/results",
        ),
        anthropic('msgbatch_with,comma and "quotes"', "canceling"),
        openai_retrieved("batch_6823a1f0"),
    ]
    rows = read_back(batches)
    assert [r["id"] for r in rows] == [b.id for b in batches]
    assert [r["processing_status"] for r in rows] == ["ended", "canceling", "in_progress"]
    assert [r["state"] for r in rows] == ["ended-ok", "canceling", "active"]
    assert [r["cancellable"] for r in rows] == ["false", "false", "true"]
    assert [r["provider"] for r in rows] == ["anthropic", "anthropic", "openai"]
    assert rows[0]["ended_at"] == "2026-11-28T11:00:00Z"
    assert rows[0]["created_at"] == "2026-11-28T10:00:00Z"
    assert rows[1]["ended_at"] == "" and rows[0]["results_url"].startswith("https://")


def test_hostile_gateway_strings_are_neutralised_in_every_cell():
    hostile = anthropic(
        '=HYPERLINK("http://evil","x")',
        "@cmd\n=1",
        results_url="-2+3\x1b[2J",
    )
    (row,) = read_back([hostile])
    assert row["id"] == '\'=HYPERLINK("http://evil","x")'
    assert row["processing_status"] == "'@cmd\\x0a=1"
    assert row["results_url"] == "'-2+3\\x1b[2J"
    for value in row.values():
        assert value[:1] not in set(FORMULA_STARTS)


# --------------------------------------------------------------------------- JSON


def test_json_envelope_matches_batches_list_and_round_trips():
    batches = [anthropic("msgbatch_1", "ended"), openai_retrieved("batch_2")]
    providers = [{"name": "anthropic", "listing": "complete", "missing": None, "error": None}]
    payload = batches_json(batches, gateway="https://gw.example", providers=providers)
    assert list(payload) == ["version", "gateway", "providers", "batches"]
    assert payload["version"] == 1 and payload["gateway"] == "https://gw.example"
    assert payload["providers"] == providers
    again = json.loads(json.dumps(payload))
    assert again["batches"] == [b.to_json() for b in batches]
    assert again["batches"][1]["request_counts"]["succeeded"] is None
    assert batches_json([])["providers"] == [] and batches_json([])["gateway"] is None


# --------------------------------------------------------------------------- folders and files


def test_folder_is_named_by_utc_time_without_colons_and_private(tmp_path):
    folder = export_dir_for(datetime(2026, 11, 28, 13, 0, 0, tzinfo=UTC), tmp_path / "exports")
    assert folder.name == "2026-11-28T130000Z" and ":" not in folder.name
    assert folder.parent == tmp_path / "exports" and folder.is_dir()
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert list(folder.iterdir()) == []


def test_a_second_export_in_the_same_second_gets_its_own_folder(tmp_path):
    first = export_dir_for(T0, tmp_path)
    second = export_dir_for(T0, tmp_path)
    third = export_dir_for(T0, tmp_path)
    assert first.name == "2026-11-28T120000Z"
    assert second.name == "2026-11-28T120000Z-2" and third.name == "2026-11-28T120000Z-3"


def test_local_times_are_named_in_utc(tmp_path):
    from datetime import timedelta, timezone

    local = datetime(2026, 11, 28, 14, 0, 0, tzinfo=timezone(timedelta(hours=2)))
    assert export_dir_for(local, tmp_path).name == "2026-11-28T120000Z"


def test_an_explicit_base_that_exists_is_not_chmodded(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    export_dir_for(T0, shared)
    assert stat.S_IMODE(shared.stat().st_mode) == 0o755


def test_default_base_is_the_private_export_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    folder = export_dir_for(T0)
    assert folder == tmp_path / "data" / "bifrost-tui" / "exports" / "2026-11-28T120000Z"
    assert stat.S_IMODE(folder.parent.stat().st_mode) == 0o700


def test_save_export_writes_private_json_and_csv_that_read_back(tmp_path):
    folder = export_dir_for(T0, tmp_path)
    batches = iter([anthropic("msgbatch_1", "ended"), openai_retrieved("batch_2")])  # one pass
    paths = save_export(batches, folder, gateway="http://127.0.0.1:8080", providers=None)
    assert paths == {"json": folder / "batches.json", "csv": folder / "batches.csv"}
    for path in paths.values():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    payload = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert payload["version"] == 1 and payload["gateway"] == "http://127.0.0.1:8080"
    assert [b["id"] for b in payload["batches"]] == ["msgbatch_1", "batch_2"]
    with paths["csv"].open(newline="", encoding="utf-8") as f:
        assert [r["id"] for r in csv.DictReader(f)] == ["msgbatch_1", "batch_2"]


def test_save_export_keeps_hostile_text_escaped_in_the_json_file(tmp_path):
    paths = save_export(
        [anthropic("msgbatch_\x1b[31m\u202e")], tmp_path, gateway=None, providers=[]
    )
    text = paths["json"].read_text(encoding="utf-8")
    assert "\x1b" not in text and "\u202e" not in text
    assert json.loads(text)["batches"][0]["id"] == "msgbatch_\x1b[31m\u202e"  # data kept exact


@pytest.mark.skipif(not hasattr(os, "O_NOFOLLOW"), reason="needs O_NOFOLLOW")
def test_save_export_never_writes_through_a_planted_symlink(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("keep me")
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "batches.json").symlink_to(victim)
    with pytest.raises(OSError):
        save_export([anthropic("msgbatch_1")], folder, gateway=None, providers=None)
    assert victim.read_text() == "keep me"


def test_save_export_tightens_a_file_left_with_a_loose_mode(tmp_path):
    loose = tmp_path / "batches.csv"
    loose.write_text("old")
    loose.chmod(0o644)
    save_export([anthropic("msgbatch_1")], tmp_path, gateway=None, providers=None)
    assert stat.S_IMODE(loose.stat().st_mode) == 0o600
    assert Path(loose).read_text(encoding="utf-8").startswith("provider,id,")
