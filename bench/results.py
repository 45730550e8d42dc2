"""Results: the summary of a 100,000-item (~100 MB) results body the simulator streams on
loopback, against plain ``json.load`` of the same bytes.

Two child processes, each timed from start to exit and reporting its own peak RSS (``VmHWM``):
``bifrost-tui batches results ID --provider anthropic --json`` against the simulator, and
``python json_load.py F`` on a file holding exactly the bytes the simulator serves.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.core import Row
from bench.data import T0
from bifrost_tui.clock import ManualClock
from bifrost_tui.sim import SimRequest, SimWorld, serve

LAUNCHERS = Path(__file__).with_name("launchers")
ROOT = Path(__file__).resolve().parent.parent
BATCH = "msgbatch_01BenchResults0000000"
#: Characters of each succeeded message's text: ~1 KB per item.
TEXT_BYTES = 820


def results_world(n: int) -> SimWorld:
    """An ended Anthropic batch of ``n`` requests (1% errored, some expired and canceled)."""
    world = SimWorld(ManualClock(T0), seed=11)
    errored, expired, canceled = n // 100, n // 400, n // 1000
    world.add_batch(
        "anthropic",
        id=BATCH,
        status="ended",
        succeeded=n - errored - expired - canceled,
        errored=errored,
        expired=expired,
        canceled=canceled,
    )
    world.set_results("anthropic", BATCH, text_bytes=TEXT_BYTES)
    return world


def _write_body(world: SimWorld, path: Path) -> int:
    """The results route's body, written chunk by chunk as the simulator streams it."""
    answer = world.handle(
        SimRequest(
            "GET",
            f"/anthropic/v1/messages/batches/{BATCH}/results",
            headers={"x-model-provider": "anthropic"},
        )
    )
    size = 0
    with path.open("wb") as f:
        for chunk in answer.stream or (answer.body,):
            f.write(chunk)
            size += len(chunk)
    return size


def _child(args: list[str], env: dict[str, str]) -> dict[str, float]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, *args], check=False, capture_output=True, text=True, env=env, timeout=600
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{args[0]} failed: {done.stderr[-2000:]}")
    out: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    out["wall"] = wall
    return out


def results_summary(n: int = 100_000, runs: int = 3) -> list[Row]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    world = results_world(n)
    cli: list[dict[str, float]] = []
    plain: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        body = Path(tmp) / "results.json"
        size = _write_body(world, body)
        with serve(world) as server:
            for _ in range(runs):
                cli.append(
                    _child([str(LAUNCHERS / "cli_results.py"), server.url, "anthropic", BATCH], env)
                )
                plain.append(_child([str(LAUNCHERS / "json_load.py"), str(body)], env))
    codes = {int(r["code"]) for r in cli}
    cli_s = statistics.median(r["wall"] for r in cli)
    plain_s = statistics.median(r["wall"] for r in plain)
    cli_mib = max(r["peak_kib"] for r in cli) / 1024
    plain_mib = max(r["peak_kib"] for r in plain) / 1024
    ratio = cli_s / plain_s if plain_s else float("inf")
    label = f"{n:,} items, {size / 1e6:.0f} MB"
    exits = ", ".join(map(str, sorted(codes)))
    note = (
        f"`batches results --json` against the simulator on loopback (exit {exits}), "
        f"{cli_s:.2f} s; `json.load` of the same bytes from a file, {plain_s:.2f} s and "
        f"{plain_mib:.0f} MiB; each a whole process, median of {runs}"
    )
    values = {
        "items": n,
        "bytes": size,
        "cli_seconds": cli_s,
        "json_load_seconds": plain_s,
        "cli_peak_mib": cli_mib,
        "json_load_peak_mib": plain_mib,
        "ratio": ratio,
    }
    return [
        Row(
            f"Results summary peak RSS ({label})",
            f"{cli_mib:.0f} MiB",
            "< 100 MB",
            cli_mib * 2**20 < 100e6,
            runs,
            note,
            values,
        ),
        Row(
            f"Results summary time vs json.load ({label})",
            f"{ratio:.2f}x",
            "<= 2x json.load",
            ratio <= 2.0,
            runs,
            note,
            {"ratio": ratio, "cli_seconds": cli_s, "json_load_seconds": plain_s},
        ),
    ]
