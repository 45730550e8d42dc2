"""Every cancel path writes its audit line; a failed write is shown and never blocks the cancel."""

from __future__ import annotations

import json

import pytest

from bifrost_tui.audit.log import AuditLog, AuditWriteError
from bifrost_tui.audit.record import AuditEntry
from bifrost_tui.config import paths
from bifrost_tui.gateway.models import State
from bifrost_tui.sim import SimWorld, serve
from bifrost_tui.ui.widgets.batch_table.table import BatchTable
from bifrost_tui.ui.widgets.flash import FlashBar
from tests.support.ui_fixtures import cancel_requests, first_with, make_rig

VK = "sk-bf-audit-planted-secret"


@pytest.fixture
def sim_seed() -> int:
    return 4


def audit_lines() -> list[dict]:
    path = paths.audit_file()
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


async def test_console_cancel_writes_an_intent_then_its_outcome():
    rig = make_rig(profile="prod-eu")
    async with rig.app.run_test(size=(120, 40)) as pilot:
        await rig.app.do_poll(deep=True)
        target = first_with(rig.app, lambda b: b.cancellable)
        assert rig.app.main_screen is not None
        rig.app.main_screen.query_one(BatchTable).move_cursor_to_key(target.key)
        await pilot.press("c", "y")
        await rig.app.workers.wait_for_complete()
    intent, line = audit_lines()
    assert intent["event"] == "intent" and line["event"] == "outcome"
    assert intent["attempt_id"] and intent["attempt_id"] == line["attempt_id"]
    assert line["outcome"] == "accepted" and line["source"] == "console"
    assert line["provider"] == target.provider and line["batch_id"] == target.id
    assert line["state_before"] == "active" and line["profile"] == "prod-eu"


async def test_audit_write_failure_is_shown_and_the_cancel_still_lands(monkeypatch, console):
    def broken(self, entry):
        raise AuditWriteError(self.path, "disk full")

    monkeypatch.setattr(AuditLog, "record", broken)
    async with console.app.run_test(size=(120, 40)) as pilot:
        await console.app.do_poll(deep=True)
        target = first_with(console.app, lambda b: b.cancellable)
        assert console.app.main_screen is not None
        console.app.main_screen.query_one(BatchTable).move_cursor_to_key(target.key)
        await pilot.press("c", "y")
        await console.app.workers.wait_for_complete()
        await pilot.pause()
        assert len(cancel_requests(console.world)) == 1
        assert console.app.store.batches[target.key].state is State.CANCELING
        flash = console.app.main_screen.query_one("#flash", FlashBar).message
        notes = [n.message for n in console.app._notifications]
        assert "audit log NOT written" in flash or any("audit log NOT written" in n for n in notes)


def test_cli_bulk_audit_lines_carry_no_secret(run_cli, clock, monkeypatch):
    world = SimWorld.demo(
        clock, seed=4, arrival_interval=None, require_virtual_key=True, virtual_keys=[VK]
    )
    # The gateway echoes the key back in an error: it must be redacted from the audit line.
    running = sorted(b.id for b in world.batches("openai") if b.phase.value == "running")[:2]
    world.faults.fail_next(
        400,
        json.dumps(
            {
                "type": "error",
                "error": {"type": "invalid_request_error", "message": f"bad key {VK}"},
            }
        ),
        method="POST",
        path=running[0],
    )
    monkeypatch.setenv("BIFROST_VK", VK)
    server = serve(world)
    try:
        code, out, err = run_cli(
            "batches", "cancel", *running, "--provider", "openai", "--yes", "--url", server.url
        )
    finally:
        server.stop()
    assert code == 4
    lines = audit_lines()
    assert {x["outcome"] for x in lines if x["event"] == "outcome"} == {"accepted", "refused"}
    assert len({x["bulk_id"] for x in lines}) == 1
    text = paths.audit_file().read_text()
    assert VK not in text and VK not in out and VK not in err


def test_cli_read_only_refusal_is_audited_as_not_sent(run_cli, world, sim_url, tmp_path):
    code, _, _ = run_cli(
        "batches",
        "cancel",
        "batch_x",
        "--provider",
        "openai",
        "--yes",
        "--read-only",
        "--url",
        sim_url,
    )
    assert code == 5
    (line,) = audit_lines()
    assert line["outcome"] == "not_sent" and "read-only" in (line["reason"] or "")
    assert world.requests(op="batch_cancel") == []


@pytest.mark.parametrize("args", [["audit"], ["audit", "--json"], ["audit", "--since", "1h"]])
def test_audit_command_reads_what_the_cancels_wrote(run_cli, args):
    log = AuditLog()
    log.record(
        AuditEntry(
            time=log.clock.now(),
            user=log.user,
            host=log.host,
            profile="p",
            gateway="https://gw",
            provider="openai",
            batch_id="batch_q",
            state_before="ended-ok",
            outcome="skipped",
            reason="already ended",
            source="cli",
        )
    )
    code, out, _ = run_cli(*args)
    assert code == 0
    assert "batch_q" in out
