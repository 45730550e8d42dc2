"""The CLI end to end: real processes against the simulated gateway served on loopback."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from bifrost_tui.sim import SimWorld, serve
from tests.support.ui_fixtures import cancel_requests

pytestmark = pytest.mark.slow

VK = "sk-bf-e2e-planted-secret"


@pytest.fixture
def sim_seed() -> int:
    return 11


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("BIFROST", "XDG_"))}
    clean["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    clean["XDG_STATE_HOME"] = str(tmp_path / "state")
    return clean


def run(*args: str, env: dict[str, str], stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bifrost_tui", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_list_json_envelope_covers_every_batch_provider(sim_url, world, env):
    done = run("batches", "list", "--url", sim_url, "--json", env=env)
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert payload["version"] == 1
    listings = {p["name"]: p for p in payload["providers"]}
    for name in ("anthropic", "openai", "azure", "bedrock", "gemini"):
        assert listings[name]["listing"] == "complete"
    assert listings["groq"]["listing"] == "unsupported" and listings["groq"]["reason"]
    ids = {(b["provider"], b["id"]) for b in payload["batches"]}
    expected = {(b.provider, b.id) for b in world.all_batches() if b.provider != "groq"}
    assert len(ids) == len(payload["batches"])  # de-duplicated
    assert len(ids) == len(expected)
    openai = [b for b in payload["batches"] if b["provider"] == "anthropic"]
    assert all(b["request_counts"] is None or "succeeded" in b["request_counts"] for b in openai)


def test_list_human_table_never_truncates_ids_when_piped(sim_url, world, env):
    done = run("batches", "list", "--url", sim_url, "--provider", "bedrock", env=env)
    assert done.returncode == 0, done.stderr
    arns = [b.id for b in world.batches("bedrock")]
    assert arns and all(a.startswith("arn:aws:bedrock:") for a in arns)
    for arn in arns:
        assert arn in done.stdout
    assert "PROVIDER" in done.stdout.splitlines()[0]


def test_first_page_only_is_reported_partial(sim_url, env):
    done = run("batches", "list", "--url", sim_url, "--first-page", "--json", env=env)
    payload = json.loads(done.stdout)
    partial = [p for p in payload["providers"] if p["listing"] == "partial"]
    assert partial, "demo providers hold more than one page"
    assert done.returncode == 4


def test_show_and_cancel_with_yes(sim_url, world, env):
    batch = next(b for b in world.batches("anthropic") if b.phase.value == "running")
    shown = run(
        "batches", "show", batch.id, "--provider", "anthropic", "--json", "--url", sim_url, env=env
    )
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["batch"]["state"] == "active"
    done = run(
        "batches",
        "cancel",
        batch.id,
        "--provider",
        "anthropic",
        "--yes",
        "--json",
        "--url",
        sim_url,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    line, summary = (json.loads(x) for x in done.stdout.splitlines())
    payload = line["cancel"]
    assert payload["outcome"] == "accepted"
    assert summary["summary"]["outcomes"]["accepted"] == 1 and summary["summary"]["exit_code"] == 0
    assert payload["batch"]["state"] == "canceling"
    assert payload["batch"]["created_at"]  # re-read, not the partial reply
    assert len(cancel_requests(world)) == 1


def test_cancel_without_terminal_or_yes_refuses_and_sends_nothing(sim_url, world, env):
    batch = next(b for b in world.batches("openai") if b.phase.value == "running")
    done = run(
        "batches", "cancel", batch.id, "--provider", "openai", "--url", sim_url, env=env, stdin=""
    )
    assert done.returncode == 2
    assert "--yes" in done.stderr
    assert cancel_requests(world) == []


def test_cancel_through_read_only_profile_exits_5_and_sends_nothing(sim_url, world, env):
    added = run("profiles", "add", "prod", "--url", sim_url, "--read-only", env=env)
    assert added.returncode == 0, added.stderr
    batch = next(b for b in world.batches("openai") if b.phase.value == "running")
    done = run(
        "batches", "cancel", batch.id, "--provider", "openai", "--yes", "--profile", "prod", env=env
    )
    assert done.returncode == 5
    assert "read-only" in done.stderr
    assert cancel_requests(world) == []
    # --read-only tightens a writable connection the same way.
    done = run(
        "batches",
        "cancel",
        batch.id,
        "--provider",
        "openai",
        "--yes",
        "--url",
        sim_url,
        "--read-only",
        env=env,
    )
    assert done.returncode == 5 and cancel_requests(world) == []


def test_cancel_of_ended_batch_is_refused_locally(sim_url, world, env):
    batch = next(b for b in world.batches("anthropic") if b.phase.value == "completed")
    done = run(
        "batches", "cancel", batch.id, "--provider", "anthropic", "--yes", "--url", sim_url, env=env
    )
    assert done.returncode == 5
    assert "only active batches" in done.stderr
    assert cancel_requests(world) == []


def test_unknown_batch_exits_1_with_gateway_message(sim_url, env):
    done = run("batches", "show", "batch_nope", "--provider", "openai", "--url", sim_url, env=env)
    assert done.returncode == 1
    assert "not found" in done.stderr


def test_unreachable_gateway_exits_3(env):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    done = run("batches", "list", "--url", f"http://127.0.0.1:{port}", env=env)
    assert done.returncode == 3
    assert "unreachable" in done.stderr


def test_required_virtual_key_comes_from_environment_and_never_shows(env, clock):
    world = SimWorld.demo(
        clock, seed=3, arrival_interval=None, require_virtual_key=True, virtual_keys=[VK]
    )
    server = serve(world)
    try:
        refused = run("batches", "list", "--url", server.url, "--provider", "openai", env=env)
        assert refused.returncode == 1
        assert "auth refused" in refused.stderr
        env["BIFROST_VK"] = VK
        ok = run("batches", "list", "--url", server.url, "--provider", "openai", "--json", env=env)
        assert ok.returncode == 0, ok.stderr
        for output in (refused.stdout, refused.stderr, ok.stdout, ok.stderr):
            assert VK not in output
    finally:
        server.stop()


def test_hostile_ids_are_escaped_in_human_output(sim_url, world, env):
    world.add_batch("anthropic", id="evil\x1b]52;c;aGk=\x07\x1b[31m", status="in_progress", total=3)
    done = run("batches", "list", "--url", sim_url, "--provider", "anthropic", env=env)
    assert "\x1b" not in done.stdout and "\x07" not in done.stdout
    assert "evil\\x1b]52;c;aGk=\\x07\\x1b[31m" in done.stdout


def test_demo_list_runs_without_any_gateway(env):
    done = run("batches", "list", "--demo", "--json", env=env)
    assert done.returncode == 0, done.stderr
    assert len(json.loads(done.stdout)["batches"]) > 20


def test_cli_path_never_imports_textual(env):
    code = (
        "import sys; from bifrost_tui.cli import main;"
        "rc = main(['batches','list','--demo','--json']);"
        "assert 'textual' not in sys.modules, 'textual imported';"
        "assert 'bifrost_tui.config.store' not in sys.modules, 'the demo read profiles'"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr


def test_sim_command_serves_on_a_free_loopback_port_and_stops_on_ctrl_c(env):
    import signal

    proc = subprocess.Popen(
        [sys.executable, "-m", "bifrost_tui", "sim", "--seed", "3"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stderr is not None  # both piped
    try:
        banner = ""
        url = None
        while url is None:
            line = proc.stdout.readline()
            assert line, f"sim exited early: {proc.stderr.read()}"
            banner += line
            for word in line.split():
                if word.startswith("http://127.0.0.1:"):
                    url = word.rstrip(".,")
        assert "simulat" in banner.lower()
        assert not url.endswith(":8080")
        listed = run("batches", "list", "--url", url, "--json", env=env)
        assert listed.returncode == 0, listed.stderr
        assert json.loads(listed.stdout)["batches"]
        version = run("profiles", "test", "--help", env=env)
        assert version.returncode == 0
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=20)
    assert code in (0, 130)


def test_list_csv_is_readable_back(sim_url, world, env):
    import csv
    import io

    done = run("batches", "list", "--url", sim_url, "--provider", "anthropic", "--csv", env=env)
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert {r["id"] for r in rows} == {b.id for b in world.batches("anthropic")}


def test_watch_follows_a_cancel_until_it_ends(env):
    """A real loopback gateway whose time runs 120x faster: the cancel lands within seconds."""
    import signal

    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bifrost_tui",
            "sim",
            "--seed",
            "5",
            "--time-scale",
            "120",
            "--cancel-delay",
            "300",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stderr is not None  # both piped
    try:
        url = None
        while url is None:
            line = proc.stdout.readline()
            assert line, proc.stderr.read()
            url = next((w for w in line.split() if w.startswith("http://127.0.0.1:")), None)
        listed = json.loads(
            run("batches", "list", "--url", url, "--provider", "openai", "--json", env=env).stdout
        )
        target = next(b["id"] for b in listed["batches"] if b["cancellable"])
        cancelled = run(
            "batches", "cancel", target, "--provider", "openai", "--yes", "--url", url, env=env
        )
        assert cancelled.returncode == 0, cancelled.stderr
        watched = run(
            "batches",
            "watch",
            target,
            "--provider",
            "openai",
            "--interval",
            "1",
            "--json",
            "--url",
            url,
            env=env,
        )
        lines = [json.loads(x) for x in watched.stdout.splitlines()]
        # Ended canceled after the gateway reported the cancel: the end asked for, so clean.
        assert watched.returncode == 0
        states = [x["event"]["state"] for x in lines if "event" in x]
        assert states[0] == "canceling" and states[-1] == "ended-canceled"
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)


def test_demo_respects_bifrost_read_only_and_errs_on_the_safe_side():
    from bifrost_tui.config.connection import open_connection
    from bifrost_tui.config.model import FALSE_WORDS, TRUE_WORDS

    def demo(value):
        env = {} if value is None else {"BIFROST_READ_ONLY": value}
        return open_connection(
            profile=None, url=None, demo=True, read_only=False, refresh=None, env=env
        ).settings.read_only

    assert demo(None) is False
    assert all(demo(w) is False for w in FALSE_WORDS)
    assert all(demo(w) is True for w in TRUE_WORDS)
    assert demo("maybe") is True
