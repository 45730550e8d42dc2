"""Every file we open for writing, with a FIFO (or a symlink) planted in its place: refused in
words, never waited on. Each case runs under a deadline (a subprocess ``timeout=``, or a thread
joined with a timeout) so a regression fails instead of hanging the suite."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bifrost_tui.audit.log import AuditLog, AuditWriteError
from bifrost_tui.audit.record import AuditEntry
from bifrost_tui.core.export import save_export
from bifrost_tui.files import NotARegularFile
from bifrost_tui.sim import SimWorld
from tests.support.clocks import AUDIT_T0
from tests.support.deadline import run_within, within
from tests.support.ui_fixtures import cancel_requests, make_rig

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs POSIX FIFOs"),
]

DEADLINE = 60  # seconds: far above a normal run, far below "forever"


@pytest.fixture
def sim_seed() -> int:
    return 11


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("BIFROST", "XDG_"))}
    clean["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    clean["XDG_STATE_HOME"] = str(tmp_path / "state")
    clean["XDG_DATA_HOME"] = str(tmp_path / "data")
    return clean


@pytest.fixture
def state(tmp_path: Path) -> Path:
    """The state directory of the ``env`` processes (where audit.jsonl lives), made private."""
    where = tmp_path / "state" / "bifrost-tui"
    where.mkdir(mode=0o700, parents=True)
    return where


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bifrost_tui", *args],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=DEADLINE,
    )


@contextlib.contextmanager
def reader_on(fifo: Path, present: bool) -> Iterator[None]:
    """Someone holding ``fifo`` open for reading (then opening it for writing succeeds at once)."""
    if not present:
        yield
        return
    fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        yield
    finally:
        os.close(fd)


def entry(batch_id: str) -> AuditEntry:
    return AuditEntry(
        time=AUDIT_T0,
        user="alice",
        host="ops-1",
        profile="prod",
        gateway="https://gw.example.com",
        provider="anthropic",
        batch_id=batch_id,
        state_before="active",
        outcome="accepted",
    )


# --------------------------------------------------------------------------- the audit file


@pytest.mark.parametrize("reader", [False, True], ids=["no-reader", "a-reader"])
def test_a_fifo_at_the_audit_file_the_cancel_is_sent_and_the_cli_exits_saying_so(
    sim_url: str, world: SimWorld, env: dict[str, str], state: Path, reader: bool
) -> None:
    batch = next(b for b in world.batches("anthropic") if b.phase.value == "running")
    fifo = state / "audit.jsonl"
    os.mkfifo(fifo, 0o600)
    with reader_on(fifo, reader):
        done = run(
            "batches", "cancel", batch.id, "--provider", "anthropic", "--yes", "--url", sim_url,
            env=env,
        )  # fmt: skip
    assert len(cancel_requests(world)) == 1, "the cancel goes ahead without its audit"
    assert done.returncode == 0, done.stderr
    assert "audit.jsonl is a FIFO, not a regular file" in done.stderr
    assert "Traceback" not in done.stderr
    assert fifo.is_fifo()


def test_a_symlink_at_the_audit_file_is_refused_and_its_target_untouched(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere" / "precious.txt"
    target.parent.mkdir()
    target.write_text("keep me\n")
    log = AuditLog(tmp_path / "state" / "audit.jsonl")
    log.path.parent.mkdir(mode=0o700)
    log.path.symlink_to(target)
    with pytest.raises(AuditWriteError, match=r"audit\.jsonl is a symlink, not a regular file"):
        within(DEADLINE, lambda: log.record(entry("msgbatch_1")))
    assert target.read_text() == "keep me\n" and log.path.is_symlink()
    # A dangling one is not followed to create its target either.
    gone = tmp_path / "elsewhere" / "not-there.txt"
    log.path.unlink()
    log.path.symlink_to(gone)
    with pytest.raises(AuditWriteError, match="symlink"):
        log.record(entry("msgbatch_2"))
    assert not gone.exists()
    # Reading says so and goes on.
    scan = within(DEADLINE, log.scan)
    assert scan.entries == []
    assert scan.unreadable == [(log.path, "audit.jsonl is a symlink, not a regular file")]


@pytest.mark.parametrize("reader", [False, True], ids=["no-reader", "a-reader"])
def test_a_fifo_at_the_audit_file_is_refused_in_process_too(tmp_path: Path, reader: bool) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")
    os.mkfifo(log.path, 0o600)
    with (
        reader_on(log.path, reader),
        pytest.raises(AuditWriteError, match=r"audit\.jsonl is a FIFO, not a regular file"),
    ):
        within(DEADLINE, lambda: log.record(entry("msgbatch_1")))


# --------------------------------------------------------------------------- its lock


def test_a_fifo_at_the_audit_lock_is_said_not_waited_on(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl", max_bytes=1, backups=2)
    log.record(entry("first"))  # the next record rotates, under the lock
    os.mkfifo(log.lock_path, 0o600)
    with pytest.raises(AuditWriteError, match=r"audit\.jsonl\.lock is a FIFO, not a regular file"):
        within(DEADLINE, lambda: log.record(entry("second")))
    # Readers take the lock shared: a FIFO there is not waited on, the lines are read.
    assert [e.batch_id for e in within(DEADLINE, log.read)] == ["first"]


# --------------------------------------------------------------------------- rotated files


def test_a_fifo_among_the_rotated_files_is_named_and_the_others_are_printed(
    env: dict[str, str], state: Path
) -> None:
    log = AuditLog(state / "audit.jsonl")
    log.record(entry("msgbatch_live"))
    os.mkfifo(state / "audit.jsonl.1", 0o600)
    done = run("audit", env=env)
    assert done.returncode == 0, done.stderr
    assert "audit.jsonl.1 is a FIFO, not a regular file" in done.stderr
    assert "msgbatch_live" in done.stdout and "1 attempt" in done.stdout


def test_an_audit_log_that_is_only_a_fifo_exits_2_in_words(
    env: dict[str, str], state: Path
) -> None:
    os.mkfifo(state / "audit.jsonl", 0o600)
    done = run("audit", "--json", env=env)
    assert done.returncode == 2 and done.stdout == ""
    assert "audit.jsonl is a FIFO, not a regular file" in done.stderr
    assert "Traceback" not in done.stderr


# --------------------------------------------------------------------------- exports


def test_an_export_to_a_fifo_says_not_a_regular_file(tmp_path: Path) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    os.mkfifo(folder / "batches.json", 0o600)
    with pytest.raises(NotARegularFile, match=r"not a regular file \(it is a FIFO\)"):
        within(DEADLINE, lambda: save_export([], folder, gateway=None, providers=None))


def test_the_consoles_export_to_a_fifo_is_said_and_the_console_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    os.mkfifo(folder / "batches.json", 0o600)
    monkeypatch.setattr("bifrost_tui.core.export.export_dir_for", lambda now, base=None: folder)
    r = make_rig()

    async def scenario() -> None:
        async with r.app.run_test(size=(120, 40)) as pilot:
            await r.app.do_poll(deep=True)
            await pilot.press("ctrl+s")
            await pilot.pause()
            flash = r.app.main_screen.flash_bar.message if r.app.main_screen else ""
            assert "export failed" in flash and "not a regular file" in flash
            await pilot.press("r")
            await r.app.workers.wait_for_complete()
            assert r.app.is_running

    run_within(DEADLINE, scenario)


# --------------------------------------------------------------------------- profiles


def test_profiles_add_with_a_fifo_at_profiles_toml_refuses_in_words(
    env: dict[str, str], tmp_path: Path
) -> None:
    config = tmp_path / "config" / "bifrost-tui"
    config.mkdir(mode=0o700, parents=True)
    fifo = config / "profiles.toml"
    os.mkfifo(fifo, 0o600)
    done = run("profiles", "add", "prod", "--url", "https://gw.example.com", env=env)
    assert done.returncode == 2, done.stderr
    assert "profiles.toml" in done.stderr and "not a regular file" in done.stderr
    assert "Traceback" not in done.stderr
    assert fifo.is_fifo()


def test_profiles_add_with_a_fifo_at_the_profiles_lock_refuses_in_words(
    env: dict[str, str], tmp_path: Path
) -> None:
    config = tmp_path / "config" / "bifrost-tui"
    config.mkdir(mode=0o700, parents=True)
    os.mkfifo(config / ".profiles.toml.lock", 0o600)
    done = run("profiles", "add", "prod", "--url", "https://gw.example.com", env=env)
    assert done.returncode == 2, done.stderr
    assert ".profiles.toml.lock" in done.stderr and "it is a FIFO" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (config / "profiles.toml").exists()
