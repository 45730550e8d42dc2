"""Audit log: round trip, since filter, rotation, concurrent writers, torn lines, 0600/0700, write
failures, redaction and size caps."""

from __future__ import annotations

import errno
import getpass
import json
import os
import socket
import stat
import subprocess
import sys
import threading
from dataclasses import fields
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bifrost_tui.audit.hook import AuditTrail
from bifrost_tui.audit.log import AuditLog, AuditWriteError
from bifrost_tui.audit.record import (
    ERROR_MAX_CHARS,
    MAX_LINE_BYTES,
    AuditEntry,
    encode_line,
    local_host,
    local_user,
    scrub_text,
)
from bifrost_tui.clock import ManualClock
from bifrost_tui.config.connection import Connection
from bifrost_tui.config.resolve import ResolvedConnection
from bifrost_tui.core.bulk import ItemResult
from bifrost_tui.gateway.errors import NotFound, Unreachable
from bifrost_tui.gateway.models import Batch, State
from bifrost_tui.gateway.outcomes import CancelOutcome, CancelResult
from tests.support.clocks import AUDIT_T0

PLANTED = "sk-bf-PLANTED-0123456789"


def make_entry(batch_id: str = "msgbatch_01", **kw: object) -> AuditEntry:
    base: dict[str, Any] = {
        "time": AUDIT_T0,
        "user": "alice",
        "host": "ops-1",
        "profile": "prod",
        "gateway": "https://gw.example.com/bifrost",
        "provider": "anthropic",
        "batch_id": batch_id,
        "state_before": "active",
        "outcome": "accepted",
    }
    base.update(kw)
    return AuditEntry(**base)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(AUDIT_T0)


@pytest.fixture
def log(tmp_path: Path, clock: ManualClock) -> AuditLog:
    return AuditLog(tmp_path / "state" / "audit.jsonl", clock=clock)


def lines_of(*files: Path) -> list[str]:
    out: list[str] = []
    for f in files:
        out += [line for line in f.read_text().split("\n") if line]
    return out


# --------------------------------------------------------------------------- round trip


def test_record_then_read_round_trips_every_field(log: AuditLog) -> None:
    entry = make_entry(
        http_status=202,
        request_id="req_1",
        source="console",
        bulk_id="bulk-7",
        state_after="canceling",
        error=None,
        reason=None,
    )
    log.record(entry)
    assert log.read() == [entry]
    raw = json.loads(log.path.read_text())
    assert raw["version"] == 2
    assert raw["time"] == "2025-06-01T12:00:00.000000Z"
    assert raw["outcome"] == "accepted" and raw["bulk_id"] == "bulk-7"


def test_each_record_is_exactly_one_newline_terminated_line(log: AuditLog) -> None:
    for i in range(3):
        log.record(make_entry(f"b{i}"))
    data = log.path.read_bytes()
    assert data.count(b"\n") == 3 and data.endswith(b"\n")
    assert [e.batch_id for e in log.read()] == ["b0", "b1", "b2"]


def test_state_enums_are_stored_as_their_values(log: AuditLog) -> None:
    log.record(make_entry(state_before=State.ACTIVE, state_after=State.CANCELING))
    (entry,) = log.read()
    assert (entry.state_before, entry.state_after) == ("active", "canceling")


def test_unknown_outcome_or_source_is_refused_at_construction() -> None:
    with pytest.raises(ValueError, match="outcome"):
        make_entry(outcome="maybe")
    with pytest.raises(ValueError, match="source"):
        make_entry(source="cron")


def test_naive_times_are_taken_as_utc_and_aware_ones_converted() -> None:
    assert make_entry(time=datetime(2025, 6, 1, 12)).time == AUDIT_T0
    plus2 = datetime(2025, 6, 1, 16, tzinfo=timezone(timedelta(hours=2)))
    assert make_entry(time=plus2).time == datetime(2025, 6, 1, 14, tzinfo=UTC)
    assert make_entry(time=plus2).time.tzinfo is UTC


def test_nothing_is_created_until_the_first_record(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "state" / "audit.jsonl")
    assert log.read() == [] and not log.exists()
    assert not (tmp_path / "state").exists()


def test_default_path_is_audit_jsonl_in_the_state_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))
    if sys.platform != "linux":
        pytest.skip("XDG layout is Linux-specific")
    assert AuditLog().path == tmp_path / "xdg-state" / "bifrost-tui" / "audit.jsonl"


# --------------------------------------------------------------------------- entries from results


def test_entry_for_an_accepted_cancel_carries_status_request_id_and_state_after(
    log: AuditLog,
) -> None:
    after = Batch(id="msgbatch_01", provider="anthropic", processing_status="canceling")
    result = CancelResult(
        provider="anthropic",
        batch_id="msgbatch_01",
        outcome=CancelOutcome.ACCEPTED,
        batch=after,
        http_status=200,
        request_id="req_abc",
    )
    entry = log.entry_for(
        result,
        profile="prod",
        gateway="https://gw.example.com",
        state_before=State.ACTIVE,
        source="console",
        bulk_id="bk",
    )
    assert entry.time == AUDIT_T0
    assert entry.user == log.user and entry.host == log.host
    assert (entry.outcome, entry.http_status, entry.request_id) == ("accepted", 200, "req_abc")
    assert (entry.state_before, entry.state_after) == ("active", "canceling")
    assert (entry.source, entry.bulk_id, entry.error) == ("console", "bk", None)


def test_entry_for_a_refusal_takes_status_message_and_request_id_from_the_error(
    log: AuditLog,
) -> None:
    error = NotFound("batch not found", status=404, request_id="req_404")
    result = CancelResult("anthropic", "msgbatch_x", CancelOutcome.REFUSED, error=error)
    entry = log.entry_for(
        result, profile=None, gateway="http://127.0.0.1:8080", state_before=None, source="cli"
    )
    assert entry.outcome == "refused"
    assert entry.http_status == 404
    assert entry.request_id == "req_404"
    assert entry.error == "not found: batch not found"


def test_entry_for_an_unknown_outcome_keeps_the_reason_the_reread_failed(log: AuditLog) -> None:
    result = CancelResult(
        "openai",
        "batch_1",
        CancelOutcome.UNKNOWN,
        error=Unreachable("connection reset"),
        reread_error=Unreachable("connection refused"),
    )
    entry = log.entry_for(
        result, profile="p", gateway="https://gw", state_before="active", source="cli"
    )
    assert (entry.outcome, entry.http_status, entry.state_after) == ("unknown", None, None)
    assert entry.error == "unreachable: connection reset"
    assert entry.reason == "re-read failed: unreachable: connection refused"


def test_local_outcomes_for_read_only_skipped_and_interrupted(log: AuditLog) -> None:
    conn = Connection(
        settings=ResolvedConnection(profile="prod", base_url="https://gw.example.com"),
        client_config=None,
    )
    interrupted = "interrupted: the request left, no answer came back"
    failures: list[AuditWriteError] = []
    trail = AuditTrail(conn, source="cli", bulk=True, on_failure=failures.append, log=log)

    def local(batch_id: str, outcome: str, reason: str, before: State) -> None:
        item = ItemResult(("anthropic", batch_id), outcome, before, reason=reason)
        trail.outcome(item)  # never about to be sent: an outcome line alone

    local("b1", "not_sent", "read-only", State.ACTIVE)
    local("b2", "skipped", "batch already ended", State.ENDED_OK)
    local("b3", "unknown", interrupted, State.ACTIVE)
    got = [(e.batch_id, e.outcome, e.reason, e.state_before) for e in log.read()]
    assert got == [
        ("b1", "not_sent", "read-only", "active"),
        ("b2", "skipped", "batch already ended", "ended-ok"),
        ("b3", "unknown", interrupted, "active"),
    ]
    assert {(e.profile, e.gateway, e.bulk_id) for e in log.read()} == {
        ("prod", "https://gw.example.com", trail.bulk_id)
    }
    assert {(e.event, e.attempt_id) for e in log.read()} == {("outcome", None)}
    assert failures == []


def test_user_and_host_fall_back_to_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_user() -> str:
        raise OSError("no passwd entry")

    def no_host() -> str:
        raise OSError("no hostname")

    monkeypatch.setattr(getpass, "getuser", no_user)
    monkeypatch.setattr(socket, "gethostname", no_host)
    assert (local_user(), local_host()) == ("unknown", "unknown")


# --------------------------------------------------------------------------- since


def test_since_keeps_entries_at_or_after_the_cutoff(log: AuditLog, clock: ManualClock) -> None:
    for name in ("old", "mid", "new"):
        log.record(make_entry(name, time=clock.now()))
        clock.advance(hours=1)
    assert [e.batch_id for e in log.read(since=AUDIT_T0 + timedelta(hours=1))] == ["mid", "new"]
    assert [e.batch_id for e in log.read(since=AUDIT_T0 + timedelta(minutes=90))] == ["new"]
    assert log.read(since=AUDIT_T0 + timedelta(hours=5)) == []
    # A naive cutoff is UTC, like every time in the log.
    assert [e.batch_id for e in log.read(since=datetime(2025, 6, 1, 14))] == ["new"]


# --------------------------------------------------------------------------- rotation


def test_rotation_by_size_keeps_every_line_in_order_across_files(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl", max_bytes=1000, backups=10)
    for i in range(20):
        log.record(make_entry(f"b{i:02d}"))
    files = log.files()
    assert len(files) > 3, "a 1000-byte limit must have rotated several times"
    assert files[-1] == log.path and files[-2].name == "audit.jsonl.1"
    # No file grows past the limit by more than one line.
    assert all(f.stat().st_size < 1000 + MAX_LINE_BYTES for f in files)
    assert [e.batch_id for e in log.read()] == [f"b{i:02d}" for i in range(20)]
    assert all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)


def test_rotation_drops_the_oldest_beyond_the_backup_count(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl", max_bytes=1, backups=2)
    for i in range(6):
        log.record(make_entry(f"b{i}"))
    # max_bytes=1: every record rotates first, so each file holds one line.
    assert [f.name for f in log.files()] == ["audit.jsonl.2", "audit.jsonl.1", "audit.jsonl"]
    assert [e.batch_id for e in log.read()] == ["b3", "b4", "b5"]


def test_rotation_uses_a_lock_file_beside_the_log(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl", max_bytes=1, backups=1)
    log.record(make_entry("a"))
    log.record(make_entry("b"))
    assert log.lock_path == tmp_path / "audit.jsonl.lock"
    assert log.lock_path.exists() and stat.S_IMODE(log.lock_path.stat().st_mode) == 0o600
    assert [e.batch_id for e in log.read()] == ["a", "b"]


def test_a_rotation_failure_still_appends_the_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = AuditLog(tmp_path / "audit.jsonl", max_bytes=1, backups=1)
    log.record(make_entry("a"))

    def broken_replace(src: object, dst: object) -> None:
        raise OSError(errno.EBUSY, "Device or resource busy")

    monkeypatch.setattr(os, "replace", broken_replace)
    log.record(make_entry("b"))
    monkeypatch.undo()
    assert log.files() == [log.path], "the rotation failed: no backup was made"
    assert [e.batch_id for e in log.read()] == ["a", "b"]


# --------------------------------------------------------------------------- concurrency

WRITER = """
import sys
from pathlib import Path
from bifrost_tui.audit.log import AuditLog
from bifrost_tui.audit.record import AuditEntry
from datetime import UTC, datetime
path, name, count, max_bytes = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
log = AuditLog(Path(path), max_bytes=max_bytes, backups=100)
print("ready", flush=True)
sys.stdin.readline()  # the go signal: both writers start appending at the same moment
for i in range(count):
    log.record(AuditEntry(
        time=datetime.now(UTC), user="u", host="h", profile="p", gateway="http://127.0.0.1",
        provider="anthropic", batch_id=f"{name}-{i:04d}", state_before="active",
        outcome="accepted", error="x" * (i % 200),
    ))
print("done", flush=True)
"""


def test_two_processes_appending_at_once_lose_and_interleave_nothing(tmp_path: Path) -> None:
    path = tmp_path / "state" / "audit.jsonl"
    count = 250
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), name, str(count), "20000"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for name in ("one", "two")
    ]
    for p in procs:
        assert p.stdout is not None and p.stdout.readline().strip() == "ready"
    for p in procs:
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()
    for p in procs:
        assert p.wait(timeout=120) == 0
        assert p.stdout is not None and p.stdout.read().strip() == "done"

    log = AuditLog(path, backups=100)
    files = log.files()
    assert len(files) > 2, "the writers must have crossed at least one rotation"
    raw = lines_of(*files)
    assert len(raw) == 2 * count
    for line in raw:
        json.loads(line)  # every line whole: none torn, none glued to another
    scan = log.scan()
    assert scan.skipped == 0
    ids = [e.batch_id for e in scan.entries]
    assert sorted(ids) == sorted(f"{n}-{i:04d}" for n in ("one", "two") for i in range(count))
    # Each writer's own lines stay in the order it wrote them.
    for name in ("one", "two"):
        mine = [i for i in ids if i.startswith(name)]
        assert mine == sorted(mine)


def test_threads_appending_at_once_lose_nothing(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl", max_bytes=4000, backups=200)
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        barrier.wait()
        try:
            for i in range(40):
                log.record(make_entry(f"t{n}-{i:02d}"))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    scan = log.scan()
    assert scan.skipped == 0 and len(scan.entries) == 160
    assert len({e.batch_id for e in scan.entries}) == 160


# --------------------------------------------------------------------------- torn lines


def test_torn_and_garbled_lines_are_skipped_and_counted(log: AuditLog) -> None:
    log.record(make_entry("first"))
    with log.path.open("ab") as f:
        f.write(b"not json at all\n")
        f.write(b"[1, 2, 3]\n")
        f.write(b'{"version": 1, "time": "yesterday"}\n')
        f.write(b"\xff\xfe garbage bytes\n")
        f.write(b'{"version": 1, "time": "2025-06-01T12:00:00Z", "user": 5}\n')
        f.write(b'{"version":1,"time":"2025-06-01T12:00:00Z","user":"a","ho')  # torn, no newline
    log.record(make_entry("after-the-tear"))
    scan = log.scan()
    assert [e.batch_id for e in scan.entries] == ["first", "after-the-tear"]
    assert scan.skipped == 6


def test_a_line_after_a_torn_one_starts_on_its_own_line(log: AuditLog) -> None:
    log.record(make_entry("first"))
    with log.path.open("ab") as f:
        f.write(b'{"version":1,"time":"2025-')
    log.record(make_entry("second"))
    assert log.path.read_bytes().splitlines()[-1].startswith(b'{"version":2')
    assert [e.batch_id for e in log.read()] == ["first", "second"]


def test_a_short_write_is_a_failure_and_the_next_line_is_still_readable(
    log: AuditLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    log.record(make_entry("first"))
    real_write = os.write

    def short_write(fd: int, data: bytes) -> int:
        return real_write(fd, data[:20])

    monkeypatch.setattr(os, "write", short_write)
    with pytest.raises(AuditWriteError, match="short write"):
        log.record(make_entry("torn"))
    monkeypatch.undo()
    log.record(make_entry("third"))
    scan = log.scan()
    assert [e.batch_id for e in scan.entries] == ["first", "third"]
    assert scan.skipped == 1


# --------------------------------------------------------------------------- permissions


def test_file_is_0600_and_new_directory_0700(log: AuditLog) -> None:
    log.record(make_entry())
    assert stat.S_IMODE(log.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(log.path.parent.stat().st_mode) == 0o700


def test_a_loose_existing_file_is_tightened(log: AuditLog) -> None:
    log.path.parent.mkdir(parents=True)
    log.path.write_text("")
    log.path.chmod(0o644)
    log.record(make_entry())
    assert stat.S_IMODE(log.path.stat().st_mode) == 0o600


# --------------------------------------------------------------------------- write failures


def test_disk_full_raises_audit_write_error_naming_the_path(
    log: AuditLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(fd: int, data: bytes) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "write", full)
    with pytest.raises(AuditWriteError) as info:
        log.record(make_entry())
    monkeypatch.undo()
    assert info.value.errno == errno.ENOSPC
    assert info.value.path == log.path
    assert str(log.path) in str(info.value)
    assert "No space left on device" in str(info.value)


def test_a_directory_that_cannot_exist_raises_audit_write_error(tmp_path: Path) -> None:
    blocker = tmp_path / "state"
    blocker.write_text("a file where the directory should be")
    log = AuditLog(blocker / "audit.jsonl")
    with pytest.raises(AuditWriteError) as info:
        log.record(make_entry())
    assert str(blocker / "audit.jsonl") in str(info.value)


def test_a_failing_redactor_surfaces_as_audit_write_error(tmp_path: Path) -> None:
    def broken(text: str) -> str:
        raise RuntimeError("redactor bug")

    log = AuditLog(tmp_path / "audit.jsonl", redact=broken)
    with pytest.raises(AuditWriteError, match="redactor bug"):
        log.record(make_entry(error="boom"))
    assert not log.path.exists()


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores permissions")
def test_an_unwritable_directory_raises_audit_write_error(tmp_path: Path) -> None:
    locked = tmp_path / "state"
    locked.mkdir(mode=0o700)
    locked.chmod(0o500)
    try:
        with pytest.raises(AuditWriteError, match="Permission denied"):
            AuditLog(locked / "audit.jsonl").record(make_entry())
    finally:
        locked.chmod(0o700)


# --------------------------------------------------------------------------- secrets


def test_planted_key_never_reaches_the_file_when_the_redactor_is_given(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl", redact=lambda s: s.replace(PLANTED, "***"))
    error = NotFound(f"no such batch (you sent {PLANTED})", status=404, request_id="req_1")
    result = CancelResult(
        "anthropic",
        "msgbatch_1",
        CancelOutcome.REFUSED,
        error=error,
        reread_error=Unreachable(f"echo {PLANTED}"),
    )
    entry = log.entry_for(
        result,
        profile="prod",
        gateway=f"https://ops:{PLANTED}@gw.example.com/bifrost?vk={PLANTED}#{PLANTED}",
        state_before="active",
        source="cli",
    )
    assert PLANTED not in repr(entry)
    log.record(entry)
    # Even an entry built by hand goes through the redactor before it is written.
    log.record(make_entry(error=f"header x {PLANTED}", reason=f"why {PLANTED}"))
    text = log.path.read_text()
    assert PLANTED not in text
    assert "https://gw.example.com/bifrost" in text
    assert "***" in text


def test_gateway_url_loses_userinfo_and_query_without_any_redactor(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")
    log.record(make_entry(gateway=f"https://u:{PLANTED}@gw.example.com:8443/x?token={PLANTED}"))
    text = log.path.read_text()
    assert PLANTED not in text
    assert json.loads(text)["gateway"] == "https://gw.example.com:8443/x"


@pytest.mark.parametrize(
    "text",
    [
        f"Authorization: Bearer {PLANTED}",
        f"x-bf-vk: {PLANTED}",
        f'{{"api_key": "{PLANTED}"}}',
        f"GET https://user:{PLANTED}@gw/x failed",
        f"GET https://gw/x?key={PLANTED} failed",
        f"password={PLANTED}",
    ],
)
def test_built_in_scrub_removes_common_secret_shapes(text: str) -> None:
    assert PLANTED not in scrub_text(text)


def test_no_field_of_an_entry_can_carry_headers_or_credentials() -> None:
    risky = ("header", "key", "token", "password", "secret", "auth", "cookie", "credential")
    names = [f.name for f in fields(AuditEntry)]
    assert not [n for n in names if any(word in n for word in risky)]
    # truncated and intent_written appear only when they say something (cut; a gap).
    assert set(make_entry().to_json()) == set(names) - {"truncated", "intent_written"}
    with pytest.raises(TypeError):
        make_entry(headers={"x-bf-vk": PLANTED})


# --------------------------------------------------------------------------- size caps


def test_a_ten_thousand_character_batch_id_still_makes_one_valid_line(log: AuditLog) -> None:
    huge = "msgbatch_" + "x" * 10_000
    log.record(make_entry(huge, error="e" * 5000))
    data = log.path.read_bytes()
    assert data.count(b"\n") == 1 and len(data) <= MAX_LINE_BYTES
    (entry,) = log.read()
    assert entry.batch_id.startswith("msgbatch_xxx") and entry.batch_id.endswith("…")
    assert set(entry.truncated) == {"batch_id", "error"}
    assert len(entry.error or "") <= ERROR_MAX_CHARS


def test_escaped_non_ascii_is_cut_to_fit_the_line(log: AuditLog) -> None:
    log.record(make_entry("😀" * 600, error="\u202e" * 500, reason="é" * 300))
    data = log.path.read_bytes()
    assert len(data) <= MAX_LINE_BYTES and data.isascii()
    (entry,) = log.read()
    assert entry.truncated


_texts = st.text(alphabet=st.characters(codec="utf-8"), max_size=3000)


@given(batch_id=_texts, error=_texts, provider=st.text(max_size=300), profile=_texts)
def test_any_entry_encodes_to_one_parseable_line_under_the_limit(
    batch_id: str, error: str, provider: str, profile: str
) -> None:
    entry = make_entry(batch_id, error=error, provider=provider, profile=profile)
    line = encode_line(entry)
    assert len(line) <= MAX_LINE_BYTES
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    back = AuditEntry.from_json(json.loads(line))
    if "batch_id" not in back.truncated:
        assert back.batch_id == batch_id
    if not back.truncated:
        assert back == entry
