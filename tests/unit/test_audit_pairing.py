"""Reading the write-ahead audit: intent and outcome lines paired into one row per attempt, across
rotated files; an intent alone reads unknown; a lost intent shows as a gap; version-1 lines still
read; --since after pairing; hostile text in any field rendered safe; the JSON shape."""

from __future__ import annotations

import argparse
import io
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bifrost_tui.audit.attempts import GAP_NOTE, NO_OUTCOME_NOTE, AttemptRow, pair_attempts
from bifrost_tui.audit.hook import AuditTrail
from bifrost_tui.audit.log import AuditLog, AuditWriteError
from bifrost_tui.audit.record import AuditEntry, encode_line
from bifrost_tui.audit.render import AUDIT_COLUMNS, render_attempts
from bifrost_tui.cli.audit import add_audit_commands, run_audit
from bifrost_tui.clock import ManualClock
from bifrost_tui.config.connection import Connection
from bifrost_tui.config.resolve import ResolvedConnection
from bifrost_tui.core.bulk import ItemResult
from bifrost_tui.gateway.client import ClientConfig, GatewayClient
from bifrost_tui.gateway.models import State
from bifrost_tui.sim import SimTransport, SimWorld
from tests.support.clocks import AUDIT_T0

BASE = "http://127.0.0.1:8080"
JSON_KEYS = {
    "version",
    "attempt_id",
    "time",
    "intent_time",
    "outcome_time",
    "lines",
    "note",
    "intent_written",
    "source",
    "user",
    "host",
    "profile",
    "gateway",
    "provider",
    "batch_id",
    "bulk_id",
    "state_before",
    "state_after",
    "outcome",
    "http_status",
    "error",
    "request_id",
    "reason",
}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(AUDIT_T0)


@pytest.fixture
def log(tmp_path: Path, clock: ManualClock) -> AuditLog:
    return AuditLog(tmp_path / "state" / "audit.jsonl", clock=clock)


def conn() -> Connection:
    return Connection(
        settings=ResolvedConnection(profile="prod", base_url="https://gw.example.com"),
        client_config=None,
    )


def trail_on(log: AuditLog, *, bulk: bool = False) -> tuple[AuditTrail, list[AuditWriteError]]:
    failures: list[AuditWriteError] = []
    return AuditTrail(
        conn(), source="cli", bulk=bulk, on_failure=failures.append, log=log
    ), failures


def audit_cli(log: AuditLog, *argv: str) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="bifrost-tui")
    add_audit_commands(parser.add_subparsers(dest="command"))
    out, err = io.StringIO(), io.StringIO()
    code = run_audit(parser.parse_args(["audit", *argv]), stdout=out, stderr=err, log=log)
    return code, out.getvalue(), err.getvalue()


def json_rows(log: AuditLog, *argv: str) -> list[dict[str, Any]]:
    code, out, _ = audit_cli(log, "--json", *argv)
    assert code == 0
    return [json.loads(line) for line in out.splitlines()]


def entry(batch_id: str = "msgbatch_01", **kw: object) -> AuditEntry:
    base: dict[str, Any] = {
        "time": AUDIT_T0,
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


# --------------------------------------------------------------------------- a real cancel


async def test_a_cancel_on_the_simulator_reads_as_one_attempt_timed_when_it_was_sent(
    log: AuditLog, clock: ManualClock
) -> None:
    world = SimWorld.demo(clock, seed=7, arrival_interval=None)
    batch = next(b for b in world.batches("anthropic") if b.phase.value == "running")
    key = ("anthropic", batch.id)
    trail, failures = trail_on(log)

    async def no_sleep(_: float) -> None:
        return None

    config = ClientConfig(base_url=BASE, retries=0)
    async with GatewayClient(config, transport=SimTransport(world, sleep=no_sleep)) as client:
        attempt = trail.intent(key, State.ACTIVE)
        # Write-ahead: the intent is on disk before the request leaves.
        assert [e.event for e in log.read()] == ["intent"]
        assert world.requests(op="batch_cancel") == []
        sent_at = clock.now()
        clock.advance(3)
        result = await client.cancel_batch(*key)
    clock.advance(2)
    trail.outcome(ItemResult(key, result.outcome.value, State.ACTIVE, result=result), attempt)

    assert failures == [] and len(world.requests(op="batch_cancel")) == 1
    assert [e.event for e in log.read()] == ["intent", "outcome"]
    (row,) = json_rows(log)
    assert set(row) == JSON_KEYS
    assert row["attempt_id"] == attempt.attempt_id and row["lines"] == "intent+outcome"
    assert row["outcome"] == "accepted" and row["state_after"] == "canceling"
    sent_text = sent_at.isoformat(timespec="microseconds").replace("+00:00", "Z")
    assert row["time"] == row["intent_time"] == sent_text
    assert row["outcome_time"] != row["intent_time"]
    assert row["note"] is None and row["intent_written"] is True
    code, out, _ = audit_cli(log)
    assert code == 0 and "1 attempt (" in out and out.count(batch.id) == 1


# --------------------------------------------------------------------------- pairing


def test_intent_then_outcome_pair_into_one_row_with_the_outcomes_data(
    log: AuditLog, clock: ManualClock
) -> None:
    trail, _ = trail_on(log, bulk=True)
    key = ("openai", "batch_1")
    attempt = trail.intent(key, State.ACTIVE)
    clock.advance(4)
    trail.outcome(ItemResult(key, "refused", State.ACTIVE, reason="conflict"), attempt)
    (row,) = log.attempts().rows
    assert row.entry.outcome == "refused" and row.entry.reason == "conflict"
    assert row.time == AUDIT_T0 == row.intent_time
    assert row.outcome_time == AUDIT_T0 + timedelta(seconds=4)
    assert row.entry.attempt_id == attempt.attempt_id and row.entry.bulk_id == trail.bulk_id
    assert row.lines == "intent+outcome" and row.note is None


def test_an_intent_without_an_outcome_reads_unknown_with_the_reason_in_words(
    log: AuditLog,
) -> None:
    trail, _ = trail_on(log)
    attempt = trail.intent(("openai", "batch_lost"), State.ACTIVE)
    (row,) = log.attempts().rows
    assert row.entry.outcome == "unknown" and row.entry.attempt_id == attempt.attempt_id
    assert row.lines == "intent" and row.outcome_time is None
    assert row.note == NO_OUTCOME_NOTE
    assert row.note.startswith("no outcome recorded: the run ended before the answer was written")
    (cells,) = render_attempts(log.attempts().rows)
    by_column = dict(zip(AUDIT_COLUMNS, cells, strict=True))
    assert by_column["OUTCOME"] == "unknown"
    assert "no outcome recorded" in by_column["ERROR / REASON"]
    (data,) = json_rows(log)
    assert data["outcome"] == "unknown" and data["note"] == NO_OUTCOME_NOTE


def test_pairs_are_found_across_a_rotation(tmp_path: Path, clock: ManualClock) -> None:
    # Each line rotates the file first: every intent and outcome lands in a different file.
    log = AuditLog(tmp_path / "audit.jsonl", max_bytes=1, backups=10, clock=clock)
    trail, _ = trail_on(log, bulk=True)
    keys = [("anthropic", f"msgbatch_{i}") for i in range(3)]
    attempts = [trail.intent(k, State.ACTIVE) for k in keys]
    for k, a in zip(keys, attempts, strict=True):
        clock.advance(1)
        trail.outcome(ItemResult(k, "accepted", State.ACTIVE), a)
    assert len(log.files()) == 6
    rows = log.attempts().rows
    assert [(r.entry.batch_id, r.entry.outcome, r.lines) for r in rows] == [
        (k[1], "accepted", "intent+outcome") for k in keys
    ]
    assert all(r.time == AUDIT_T0 for r in rows)


def test_an_outcome_whose_intent_rotated_away_shows_alone(
    tmp_path: Path, clock: ManualClock
) -> None:
    log = AuditLog(tmp_path / "audit.jsonl", max_bytes=1, backups=1, clock=clock)
    trail, _ = trail_on(log)
    key = ("openai", "batch_old")
    attempt = trail.intent(key, State.ACTIVE)
    trail.outcome(ItemResult(("openai", "other"), "skipped", State.ENDED_OK))  # pushes it out
    clock.advance(9)
    trail.outcome(ItemResult(key, "accepted", State.ACTIVE), attempt)
    rows = log.attempts().rows
    assert [(r.entry.batch_id, r.lines) for r in rows] == [
        ("other", "outcome"),
        ("batch_old", "outcome"),
    ]
    assert rows[1].entry.outcome == "accepted" and rows[1].note is None
    assert rows[1].time == AUDIT_T0 + timedelta(seconds=9)  # its own time: the intent is gone


def test_an_outcome_whose_intent_was_not_written_shows_the_gap(
    log: AuditLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    trail, failures = trail_on(log)
    key = ("anthropic", "msgbatch_gap")
    real_record = AuditLog.record

    def intent_fails(self: AuditLog, e: AuditEntry) -> None:
        if e.event == "intent":
            raise AuditWriteError(self.path, "No space left on device")
        real_record(self, e)

    monkeypatch.setattr(AuditLog, "record", intent_fails)
    attempt = trail.intent(key, State.ACTIVE)
    monkeypatch.undo()
    assert not attempt.intent_written and len(failures) == 1
    trail.outcome(ItemResult(key, "accepted", State.ACTIVE), attempt)
    (row,) = log.attempts().rows
    assert row.entry.intent_written is False and row.note == GAP_NOTE
    (cells,) = render_attempts([row])
    assert "intent line not written" in cells[-1]
    (data,) = json_rows(log)
    assert data["intent_written"] is False and data["lines"] == "outcome"
    assert data["note"].startswith("intent line not written")


def test_batches_never_sent_are_rows_of_their_own(log: AuditLog) -> None:
    trail, _ = trail_on(log, bulk=True)
    trail.outcome(ItemResult(("openai", "b1"), "not_sent", State.ACTIVE, reason="interrupted"))
    trail.outcome(ItemResult(("openai", "b2"), "skipped", State.ENDED_OK, reason="ended"))
    rows = log.attempts().rows
    assert [(r.entry.batch_id, r.entry.outcome, r.entry.attempt_id) for r in rows] == [
        ("b1", "not_sent", None),
        ("b2", "skipped", None),
    ]
    assert all(r.note is None for r in rows)


def test_a_version_1_line_still_reads(log: AuditLog) -> None:
    log.path.parent.mkdir(parents=True)
    v1 = {
        "version": 1,
        "time": "2025-06-01T11:00:00.000000Z",
        "source": "console",
        "user": "bob",
        "host": "ops-2",
        "profile": "prod",
        "gateway": "https://gw.example.com",
        "provider": "openai",
        "batch_id": "batch_v1",
        "bulk_id": None,
        "state_before": "active",
        "state_after": "canceling",
        "outcome": "accepted",
        "http_status": 200,
        "error": None,
        "request_id": "req_v1",
        "reason": None,
    }
    log.path.write_text(json.dumps(v1) + "\n")
    trail, _ = trail_on(log)
    trail.intent(("openai", "batch_v2"), State.ACTIVE)
    rows = log.attempts().rows
    assert [(r.entry.batch_id, r.entry.outcome, r.lines) for r in rows] == [
        ("batch_v1", "accepted", "outcome"),
        ("batch_v2", "unknown", "intent"),
    ]
    first = json_rows(log)[0]
    assert first["attempt_id"] is None and first["request_id"] == "req_v1"
    assert first["version"] == 2  # the shape printed is today's


def test_since_applies_after_pairing_to_the_time_the_request_was_sent(
    tmp_path: Path, clock: ManualClock
) -> None:
    log = AuditLog(tmp_path / "audit.jsonl", clock=clock)
    trail, _ = trail_on(log)
    old = trail.intent(("openai", "sent_long_ago"), State.ACTIVE)
    clock.advance(hours=2)
    trail.outcome(ItemResult(("openai", "sent_long_ago"), "unknown", State.ACTIVE), old)
    recent = trail.intent(("openai", "sent_recently"), State.ACTIVE)
    clock.advance(minutes=1)
    trail.outcome(ItemResult(("openai", "sent_recently"), "accepted", State.ACTIVE), recent)
    clock.advance(minutes=1)
    # The old attempt's outcome line is 2 minutes old, but it was sent 2 hours ago: not in 1h.
    assert [r["batch_id"] for r in json_rows(log, "--since", "1h")] == ["sent_recently"]
    assert [r["batch_id"] for r in json_rows(log, "--since", "3h")] == [
        "sent_long_ago",
        "sent_recently",
    ]
    assert all(r["lines"] == "intent+outcome" for r in json_rows(log, "--since", "3h"))


def test_a_duplicate_outcome_for_one_attempt_is_shown_not_merged() -> None:
    intent = entry("b", event="intent", outcome="unknown", attempt_id="a1")
    done = entry("b", outcome="accepted", attempt_id="a1")
    again = entry("b", outcome="refused", attempt_id="a1")
    rows = pair_attempts([intent, done, again])
    assert [(r.entry.outcome, r.lines) for r in rows] == [
        ("accepted", "intent+outcome"),
        ("refused", "outcome"),
    ]


# --------------------------------------------------------------------------- hostile text

HOSTILE = "[@click=app.quit]x\x1b[2J\u202e\u200b\x07\n"
TEXT_FIELDS = (
    "user",
    "host",
    "profile",
    "provider",
    "batch_id",
    "state_before",
    "state_after",
    "error",
    "request_id",
    "reason",
    "bulk_id",
)


@pytest.mark.parametrize("name", TEXT_FIELDS)
def test_hostile_text_in_any_field_is_rendered_through_safe_text(log: AuditLog, name: str) -> None:
    intent = entry(event="intent", outcome="unknown", attempt_id="a1", **{name: HOSTILE})
    outcome = entry(outcome="refused", attempt_id="a1", **{name: HOSTILE})
    alone = entry(event="intent", outcome="unknown", attempt_id="a2", **{name: HOSTILE})
    log.path.parent.mkdir(parents=True)
    log.path.write_bytes(b"".join(encode_line(e) for e in (intent, outcome, alone)))
    rows = log.attempts().rows
    assert len(rows) == 2
    for cells in render_attempts(rows):
        text = "".join(cells)
        for bad in ("\x1b", "\u202e", "\u200b", "\x07", "\n"):
            assert bad not in text, (name, cells)
    code, out, _ = audit_cli(log)
    assert code == 0 and "\x1b" not in out and "\u202e" not in out and "\x07" not in out
    code, out, _ = audit_cli(log, "--json")
    assert code == 0 and out.isascii() and len(out.splitlines()) == 2
    assert {json.loads(line)[name] for line in out.splitlines()} == {HOSTILE}


def test_attempt_row_time_is_its_entrys_time() -> None:
    row = AttemptRow(entry(), intent_time=None, outcome_time=AUDIT_T0)
    assert row.time == AUDIT_T0 and row.lines == "outcome"
