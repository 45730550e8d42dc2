"""``bifrost-tui audit``: table and JSON Lines, --since, a missing log; rows."""

from __future__ import annotations

import argparse
import io
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bifrost_tui.audit.attempts import pair_attempts
from bifrost_tui.audit.log import AuditLog
from bifrost_tui.audit.record import AuditEntry
from bifrost_tui.audit.render import AUDIT_COLUMNS, render_attempts
from bifrost_tui.cli.audit import add_audit_commands, run_audit
from bifrost_tui.clock import ManualClock
from tests.support.clocks import AUDIT_T0

LONG_ID = "msgbatch_" + "0123456789" * 30  # 309 characters: never cut in the table


def entry(batch_id: str, when: datetime, **kw: object) -> AuditEntry:
    base: dict[str, Any] = {
        "time": when,
        "user": "alice",
        "host": "ops-1",
        "profile": "prod",
        "gateway": "https://gw.example.com",
        "provider": "anthropic",
        "batch_id": batch_id,
        "state_before": "active",
        "outcome": "accepted",
    }
    base.update(kw)
    return AuditEntry(**base)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(AUDIT_T0 + timedelta(hours=3))


@pytest.fixture
def log(tmp_path: Path, clock: ManualClock) -> AuditLog:
    log = AuditLog(tmp_path / "state" / "audit.jsonl", clock=clock)
    log.record(entry("old_batch", AUDIT_T0, http_status=200, state_after="canceling"))
    log.record(
        entry(
            LONG_ID,
            AUDIT_T0 + timedelta(hours=2, minutes=30),
            outcome="refused",
            http_status=404,
            error="not found: \x1b[31mno such batch\u202e",
            request_id="req_42",
            source="console",
            bulk_id="bk1",
        )
    )
    log.record(
        entry(
            "ro_batch",
            AUDIT_T0 + timedelta(hours=2, minutes=45),
            outcome="not_sent",
            reason="read-only",
            profile="[red]prod[/]",
        )
    )
    return log


def run(log: AuditLog, *argv: str) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="bifrost-tui")
    add_audit_commands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["audit", *argv])
    out, err = io.StringIO(), io.StringIO()
    code = run_audit(args, stdout=out, stderr=err, log=log)
    return code, out.getvalue(), err.getvalue()


# --------------------------------------------------------------------------- the command


def test_parser_registers_audit_with_since_and_json() -> None:
    parser = argparse.ArgumentParser()
    add_audit_commands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["audit", "--since", "1h", "--json"])
    assert (args.command, args.since, args.json) == ("audit", "1h", True)
    args = parser.parse_args(["audit"])
    assert (args.since, args.json) == (None, False)


def test_table_shows_every_entry_with_full_batch_ids_and_safe_text(log: AuditLog) -> None:
    code, out, err = run(log)
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].startswith("TIME (UTC)") and "BATCH ID" in lines[0] and "OUTCOME" in lines[0]
    body = [line for line in lines[1:] if line.startswith("2025-")]
    assert len(body) == 3
    assert body[0].startswith("2025-06-01 12:00:00")
    assert "old_batch" in body[0] and "active → canceling" in body[0] and " 200 " in body[0]
    assert LONG_ID in body[1]  # never truncated
    assert "console bulk" in body[1] and "refused" in body[1] and "req_42" in body[1]
    assert "alice@ops-1" in body[1]
    # Hostile text is escaped, never sent raw to the terminal.
    assert "\x1b" not in out and "\u202e" not in out
    assert "\\x1b[31mno such batch\\u202e" in body[1]
    assert "not_sent" in body[2] and "read-only" in body[2] and "[red]prod[/]" in body[2]
    assert "3 attempts" in out


def test_json_prints_one_versioned_object_per_line(log: AuditLog) -> None:
    code, out, err = run(log, "--json")
    assert code == 0 and err == ""
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["batch_id"] for r in rows] == ["old_batch", LONG_ID, "ro_batch"]
    assert all(r["version"] == 2 for r in rows)
    assert rows[1]["error"] == "not found: \x1b[31mno such batch\u202e"  # exact, in escaped JSON
    assert out.isascii()
    assert rows[2]["outcome"] == "not_sent" and rows[2]["reason"] == "read-only"
    assert rows[0]["time"] == "2025-06-01T12:00:00.000000Z"


def test_since_filters_relative_to_the_log_clock(log: AuditLog) -> None:
    code, out, _ = run(log, "--since", "1h", "--json")
    assert code == 0
    assert [json.loads(line)["batch_id"] for line in out.splitlines()] == [LONG_ID, "ro_batch"]
    code, out, _ = run(log, "--since", "20m", "--json")
    assert [json.loads(line)["batch_id"] for line in out.splitlines()] == ["ro_batch"]


def test_since_with_nothing_in_the_window_says_so(log: AuditLog) -> None:
    code, out, _ = run(log, "--since", "5m")
    assert code == 0
    assert out.startswith("no audit entries in the last 5m (file: ")


def test_bad_since_exits_2_with_a_clear_message(log: AuditLog) -> None:
    code, out, err = run(log, "--since", "yesterday")
    assert code == 2 and out == ""
    assert "--since" in err and "invalid duration 'yesterday'" in err and "1h30m" in err


def test_missing_log_prints_no_entries_yet_and_exits_0(tmp_path: Path) -> None:
    missing = AuditLog(tmp_path / "nowhere" / "audit.jsonl")
    code, out, err = run(missing)
    assert code == 0 and err == ""
    assert out.strip() == f"no audit entries yet (file: {missing.path})"
    # With --json stdout stays empty (valid JSON Lines); the note goes to stderr.
    code, out, err = run(missing, "--json")
    assert code == 0 and out == ""
    assert "no audit entries yet" in err
    assert not (tmp_path / "nowhere").exists()


def test_unreadable_lines_are_reported_on_stderr(log: AuditLog) -> None:
    with log.path.open("ab") as f:
        f.write(b"garbage\n")
    code, out, err = run(log, "--json")
    assert code == 0 and len(out.splitlines()) == 3
    assert "1 unreadable line(s) skipped" in err


def test_default_log_lives_in_the_state_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    parser = argparse.ArgumentParser()
    add_audit_commands(parser.add_subparsers(dest="command"))
    out = io.StringIO()
    assert run_audit(parser.parse_args(["audit"]), stdout=out, stderr=io.StringIO()) == 0
    assert str(tmp_path / "xdg") in out.getvalue()


# --------------------------------------------------------------------------- rows for the console


def test_render_attempts_gives_one_safe_row_per_attempt_matching_the_columns(log: AuditLog) -> None:
    rows = render_attempts(pair_attempts(log.read()))
    assert len(rows) == 3 and all(len(r) == len(AUDIT_COLUMNS) for r in rows)
    by_column = dict(zip(AUDIT_COLUMNS, rows[1], strict=True))
    assert by_column["BATCH ID"] == LONG_ID
    assert by_column["OUTCOME"] == "refused" and by_column["HTTP"] == "404"
    assert by_column["BEFORE → AFTER"] == "active → —"
    assert by_column["ERROR / REASON"] == "not found: \\x1b[31mno such batch\\u202e"
    assert all("\x1b" not in cell for row in rows for cell in row)


def test_render_marks_truncated_fields(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")
    log.record(entry("x" * 10_000, AUDIT_T0))
    (row,) = render_attempts(pair_attempts(log.read()))
    assert "truncated: batch_id" in row[-1]
