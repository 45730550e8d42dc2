"""``bifrost-tui batches results``: each provider's shape, refusals, ``--json``, ``--export`` and
``--only``, a mismatch against the batch's counts, hostile ids, and an interrupt.

Every test runs the command in process against the simulator served on loopback."""

from __future__ import annotations

import json
import os
import signal
import stat
from pathlib import Path

import pytest
from pydantic import SecretStr

from bifrost_tui.cli import results as results_cli
from bifrost_tui.sim import SimWorld
from bifrost_tui.sim.model import VirtualKey

ANTHROPIC_ID = "msgbatch_01RESULTS0000000000000001"
OPENAI_ID = "batch_results0000000000000001"


@pytest.fixture(autouse=True)
def _private_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No profile of the real user's is read."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


def ended_anthropic(world: SimWorld, **spec: object) -> str:
    world.add_batch(
        "anthropic",
        id=ANTHROPIC_ID,
        status="ended",
        succeeded=40,
        errored=6,
        canceled=3,
        expired=1,
        ended_at=world.now(),
    )
    if spec:
        world.set_results("anthropic", ANTHROPIC_ID, **spec)
    return ANTHROPIC_ID


def ended_openai(world: SimWorld, provider: str = "openai", **spec: object) -> str:
    world.add_batch(
        provider,
        id=OPENAI_ID,
        status="completed",
        succeeded=40,
        errored=6,
        completed_at=world.now(),
    )
    world.set_results(provider, OPENAI_ID, **spec)  # an ended batch gets its output and error files
    return OPENAI_ID


def results(run_cli, sim_url: str, batch_id: str, provider: str, *extra: str):
    return run_cli("batches", "results", batch_id, "--provider", provider, "--url", sim_url, *extra)


def sent_ops(world: SimWorld) -> list[str | None]:
    return [r.op for r in world.requests()]


# --------------------------------------------------------------------------- each shape


def test_anthropic_counts_and_the_lost_errors_said_in_words(run_cli, world, sim_url):
    batch_id = ended_anthropic(world)
    code, out, err = results(run_cli, sim_url, batch_id, "anthropic")
    assert code == 0, err
    assert "complete" in out.splitlines()[0]
    assert "succeeded 40 · errored 6 · canceled 3 · expired 1" in out
    assert "they match" in out
    # The gateway loses every errored request's error: said, and no breakdown invented.
    assert "does not pass errored requests' error type and message" in out
    assert "6 errored, reasons unknown" in out
    assert "errors by code" not in out


@pytest.mark.parametrize("provider", ["openai", "azure"])
def test_openai_origin_reads_both_files_errors_by_code(run_cli, world, sim_url, provider):
    batch_id = ended_openai(world, provider)
    code, out, err = results(run_cli, sim_url, batch_id, provider, "--json")
    assert code == 0, err
    summary = json.loads(out)["summary"]
    assert summary["source"] == "openai-files"
    assert summary["counts"]["succeeded"] == 40 and summary["counts"]["errored"] == 6
    assert summary["status_classes"].get("2xx") == 40
    assert sum(c["count"] for c in summary["errors_by_code"]) == 6
    assert all(c["top_messages"] for c in summary["errors_by_code"])
    assert summary["complete"] is True and summary["mismatches"] == []


@pytest.mark.parametrize("provider", ["gemini", "bedrock"])
def test_unrecorded_shapes_are_refused_locally_with_nothing_but_the_batch_read(
    run_cli, world, sim_url, provider
):
    batch = next(b for b in world.batches(provider) if b.phase.terminal)
    world.clear_request_log()
    code, _, err = results(run_cli, sim_url, batch.id, provider)
    assert code == 5
    assert f"results of {provider} batches are not read" in err
    # The batch read: its Anthropic-format retrieve and, when that says only "ended", the
    # OpenAI-format one that tells completed from canceled.
    reads = [(r.op, r.path.startswith("/openai/")) for r in world.requests()]
    assert reads[0] == ("batch_retrieve", False)
    assert reads[1:] in ([], [("batch_retrieve", True)])


# --------------------------------------------------------------------------- refusals


def test_an_active_batch_exits_5_and_nothing_else_is_sent(run_cli, world, sim_url):
    batch = next(b for b in world.batches("anthropic") if b.phase.value == "running")
    world.clear_request_log()
    code, out, err = results(run_cli, sim_url, batch.id, "anthropic", "--json")
    assert code == 5
    assert "results exist once the batch has ended" in err
    assert json.loads(out)["error"]["kind"] == "refused locally"
    assert sent_ops(world) == ["batch_retrieve"]


def test_an_unknown_batch_exits_1(run_cli, world, sim_url):
    code, out, err = results(run_cli, sim_url, "msgbatch_nope", "anthropic", "--json")
    assert code == 1
    assert json.loads(out)["error"]["status"] == 404
    assert "not found" in err


def test_a_mismatch_against_the_counts_exits_4_and_says_it(run_cli, world, sim_url):
    batch_id = ended_anthropic(world, drop=3)
    code, out, err = results(run_cli, sim_url, batch_id, "anthropic")
    assert code == 4, err
    assert "PARTIAL" in out.splitlines()[0]
    assert "MISMATCH" in out
    assert "3 request(s) missing from the results" in out


def test_gateway_parse_errors_and_has_more_make_it_partial(run_cli, world, sim_url):
    batch_id = ended_anthropic(world, parse_errors=2, has_more=True)
    code, out, err = results(run_cli, sim_url, batch_id, "anthropic", "--json")
    assert code == 4, err
    summary = json.loads(out)["summary"]
    assert summary["partial"] is True
    assert summary["gateway_parse_errors"] == 2 and summary["has_more"] is True


# --------------------------------------------------------------------------- --json


def test_json_is_one_versioned_object(run_cli, world, sim_url):
    batch_id = ended_anthropic(world)
    code, out, _ = results(run_cli, sim_url, batch_id, "anthropic", "--json")
    assert code == 0
    payload = json.loads(out)
    assert set(payload) == {"version", "summary"} and payload["version"] == 1
    summary = payload["summary"]
    assert summary["provider"] == "anthropic" and summary["batch_id"] == batch_id
    assert summary["counts"] == {
        "succeeded": 40,
        "errored": 6,
        "canceled": 3,
        "expired": 1,
        "unknown": 0,
    }
    assert summary["lost_error_details"] is True and summary["errored_without_details"] == 6


# --------------------------------------------------------------------------- --export


def read_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_export_writes_private_files_of_ids_to_resubmit(run_cli, world, sim_url, tmp_path):
    batch_id = ended_anthropic(world)
    target = tmp_path / "out"
    code, _, err = results(run_cli, sim_url, batch_id, "anthropic", "--export", str(target))
    assert code == 0, err
    assert stat.S_IMODE(target.stat().st_mode) == 0o700
    assert sorted(p.name for p in target.iterdir()) == ["resubmit.jsonl", "summary.json"]
    for name in ("resubmit.jsonl", "summary.json"):
        assert stat.S_IMODE((target / name).stat().st_mode) == 0o600
    lines = read_lines(target / "resubmit.jsonl")
    assert sorted(x["type"] for x in lines) == ["canceled"] * 3 + ["errored"] * 6 + ["expired"]
    assert all(x["custom_id"] and "output" not in x for x in lines)
    summary = json.loads((target / "summary.json").read_text())
    assert summary["summary"]["complete"] is True
    assert summary["export"]["resubmit_lines"] == 10
    assert "resubmit.jsonl (10 lines)" in err


def test_export_only_and_include_output(run_cli, world, sim_url, tmp_path):
    batch_id = ended_openai(world)
    target = tmp_path / "out"
    code, _, err = results(
        run_cli,
        sim_url,
        batch_id,
        "openai",
        "--export",
        str(target),
        "--only",
        "succeeded,errored",
        "--include-output",
    )
    assert code == 0, err
    lines = read_lines(target / "resubmit.jsonl")
    assert {x["type"] for x in lines} == {"succeeded", "errored"} and len(lines) == 46
    assert all(x.get("output") is not None for x in lines if x["type"] == "succeeded")
    assert all(x["error"]["code"] for x in lines if x["type"] == "errored")


def test_export_without_include_output_writes_nothing_of_a_succeeded_message(
    run_cli, world, sim_url, tmp_path
):
    batch_id = ended_openai(world)
    target = tmp_path / "out"
    code, _, err = results(
        run_cli, sim_url, batch_id, "openai", "--export", str(target), "--only", "succeeded"
    )
    assert code == 0, err
    lines = read_lines(target / "resubmit.jsonl")
    assert len(lines) == 40 and all("output" not in x for x in lines)


def test_a_non_empty_export_dir_is_refused_before_anything_is_sent(
    run_cli, world, sim_url, tmp_path
):
    batch_id = ended_anthropic(world)
    target = tmp_path / "out"
    target.mkdir()
    (target / "mine.txt").write_text("keep")
    world.clear_request_log()
    code, _, err = results(run_cli, sim_url, batch_id, "anthropic", "--export", str(target))
    assert code == 2
    assert "new or empty directory" in err
    assert sent_ops(world) == []
    assert [p.name for p in target.iterdir()] == ["mine.txt"]


def test_a_symlinked_export_dir_is_refused(run_cli, world, sim_url, tmp_path):
    batch_id = ended_anthropic(world)
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real)
    code, _, err = results(run_cli, sim_url, batch_id, "anthropic", "--export", str(link))
    assert code == 2
    assert "symlink" in err
    assert list(real.iterdir()) == []


def test_a_refused_read_leaves_no_export_dir(run_cli, world, sim_url, tmp_path):
    target = tmp_path / "out"
    code, _, _ = results(run_cli, sim_url, "msgbatch_nope", "anthropic", "--export", str(target))
    assert code == 1
    assert not target.exists()


def test_only_validates_types_and_needs_export(run_cli, world, sim_url, tmp_path):
    batch_id = ended_anthropic(world)
    with pytest.raises(SystemExit) as exited:
        results(
            run_cli,
            sim_url,
            batch_id,
            "anthropic",
            "--export",
            str(tmp_path / "o"),
            "--only",
            "errored,bogus",
        )
    assert exited.value.code == 2
    world.clear_request_log()
    code, _, err = results(run_cli, sim_url, batch_id, "anthropic", "--only", "errored")
    assert code == 2 and "--export" in err
    assert sent_ops(world) == []


def test_export_only_errored(run_cli, world, sim_url, tmp_path):
    batch_id = ended_anthropic(world)
    target = tmp_path / "out"
    code, _, err = results(
        run_cli, sim_url, batch_id, "anthropic", "--export", str(target), "--only", "errored"
    )
    assert code == 0, err
    lines = read_lines(target / "resubmit.jsonl")
    assert len(lines) == 6 and {x["type"] for x in lines} == {"errored"}
    assert all(x["error"] == {"code": "error", "message": None} for x in lines)


# --------------------------------------------------------------------------- hostile strings


def test_hostile_ids_and_messages_are_escaped_on_screen_and_exact_in_the_export(
    run_cli, world, sim_url, tmp_path, monkeypatch
):
    # The connection's own key appears in an error message: redacted wherever it is shown.
    key = "sk-proj-abcdefghijklmnopqrstuvwxyz012345"
    world.virtual_keys.append(VirtualKey(SecretStr(key)))
    monkeypatch.setenv("BIFROST_VK", key)
    batch_id = ended_openai(world, hostile=True, duplicates=1)
    target = tmp_path / "out"
    code, out, err = results(
        run_cli, sim_url, batch_id, "openai", "--export", str(target), "--only", "succeeded,errored"
    )
    assert code == 4, err  # the duplicate
    for text in (out, err):
        assert "\x1b" not in text and "\u202e" not in text and "\r" not in text
        assert not any(line.startswith("forged") for line in text.splitlines())
        assert "abcdefghijklmnopqrstuvwxyz" not in text
    assert "Bearer ***" in out
    exported = (target / "resubmit.jsonl").read_text() + (target / "summary.json").read_text()
    assert "abcdefghijklmnopqrstuvwxyz" not in exported
    ids = [x["custom_id"] for x in read_lines(target / "resubmit.jsonl")]
    assert any(i and i.startswith("\x1b[2J") for i in ids)  # exact, for resubmission
    assert any(i and "\n" in i for i in ids)
    raw = (target / "resubmit.jsonl").read_bytes()
    assert raw.isascii() and b"\x1b" not in raw


# --------------------------------------------------------------------------- interrupted


def test_ctrl_c_ends_it_with_130_and_the_export_says_partial(
    run_cli, world, sim_url, tmp_path, monkeypatch
):
    # Large enough to come in several chunks: the signal is taken between two of them.
    world.add_batch("anthropic", id=ANTHROPIC_ID, status="ended", succeeded=4000, errored=100)
    batch_id = ANTHROPIC_ID
    target = tmp_path / "out"
    real_add = results_cli._ResultsRun._add
    seen = []

    def add_then_interrupt(self, item):
        real_add(self, item)
        seen.append(item)
        if len(seen) == 5:
            os.kill(os.getpid(), signal.SIGINT)  # the event loop's handler cancels the command

    monkeypatch.setattr(results_cli._ResultsRun, "_add", add_then_interrupt)
    code, _, err = results(run_cli, sim_url, batch_id, "anthropic", "--export", str(target))
    assert code == 130
    assert "interrupted (SIGINT)" in err and "is partial" in err
    summary = json.loads((target / "summary.json").read_text())["summary"]
    assert summary["partial"] is True
    assert any("interrupted" in r for r in summary["reasons"])
    assert len(seen) < 4100
    assert summary["items"] == len(seen)
