"""Memory: peak RSS of a console process holding 50,000 batches (a child process, so nothing of
the benchmark itself counts). The batches reach it as the JSON items of deep listings, one
provider at a time, parsed the way the client parses them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.core import Row
from bench.data import T0, dataset
from bifrost_tui.clock import ManualClock
from bifrost_tui.sim import SimWorld, serve

LAUNCHERS = Path(__file__).with_name("launchers")
ROOT = Path(__file__).resolve().parent.parent
#: Items per list page, as a deep listing of anthropic, bedrock or gemini brings them.
PAGE = 1000


def measure(n: int) -> dict[str, float]:
    ds = dataset(n)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "listings.jsonl"
        with path.open("w") as f:
            for provider, batches in ds.per_provider.items():
                kind = batches[0].provider_kind if batches else provider
                for start in range(0, len(batches), PAGE):
                    page = {"data": [b.raw for b in batches[start : start + PAGE]]}
                    f.write(json.dumps([provider, kind, json.dumps(page)]) + "\n")
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        done = subprocess.run(
            [sys.executable, str(LAUNCHERS / "memory_child.py"), str(path)],
            check=True,
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
    return json.loads(done.stdout.strip().splitlines()[-1])


def peak_rss(n: int = 50_000, target_mb: int = 200) -> list[Row]:
    result = measure(n)
    peak = result["peak_kib"] / 1024
    held = (result["after_kib"] - result["before_kib"]) / 1024
    return [
        Row(
            f"Memory, peak RSS at {n:,} batches",
            f"{peak:.0f} MiB",
            f"<= {target_mb} MB",
            peak * 1024 * 1024 <= target_mb * 1e6,
            0,
            f"console alone {result['before_kib'] / 1024:.0f} MiB; the batches and their caches "
            f"add {held:.0f} MiB",
            {"peak_mib": peak, **result},
        )
    ]


#: What a hostile gateway answered every listing with, each body just under the 16 MiB cap.
HOSTILE_SHAPES = ("[{}, {}, …]", '{"data": [{}, {}, …]}', '{"data": [<batch>, <batch>, …]}')
BODY_BYTES = 16 * 1024 * 1024 - 64 * 1024


def hostile_body(shape: str, size: int) -> bytes:
    """A body of ``shape`` (one of ``HOSTILE_SHAPES``) of about ``size`` bytes."""
    if shape == HOSTILE_SHAPES[0]:
        return b"[" + b"{}, " * ((size - 2) // 4) + b"{}]"
    if shape == HOSTILE_SHAPES[1]:
        return b'{"data": [' + b"{}, " * ((size - 12) // 4) + b"{}]}"
    item = json.dumps(
        {
            "id": "batch_0123456789abcdef0123456789",
            "object": "batch",
            "status": "in_progress",
            "request_counts": {"total": 100, "completed": 10, "failed": 0},
            "created_at": 1795867180,
            "expires_at": 1795953580,
        }
    ).encode()
    n = max(1, (size - 12) // (len(item) + 2))
    return b'{"data": [' + b", ".join([item] * n) + b"]}"


def cli_listing_rss(size: int = BODY_BYTES) -> list[Row]:
    """Peak RSS of `batches list --json` while five providers each answer ``size`` bytes."""
    results: dict[str, dict[str, float]] = {}
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    for shape in HOSTILE_SHAPES:
        world = SimWorld.demo(
            ManualClock(T0), seed=7, batches_per_provider=5, arrival_interval=None
        )
        providers = len(world.batch_providers())
        world.faults.fail_next(
            200,
            hostile_body(shape, size),
            {"content-type": "application/json"},
            method="GET",
            path="/batches",
            times=10_000,
        )
        with serve(world) as server:
            done = subprocess.run(
                [sys.executable, str(LAUNCHERS / "cli_memory.py"), server.url],
                check=False,
                capture_output=True,
                text=True,
                env=env,
                timeout=300,
            )
        results[shape] = json.loads(done.stdout.strip().splitlines()[-1])
    worst = max(results, key=lambda s: results[s]["peak_kib"])
    peak = results[worst]["peak_kib"] / 1024
    per_shape = "; ".join(
        f"`{s}` {r['peak_kib'] / 1024:.0f} MiB in {r['seconds']:.1f} s (exit {r['code']:.0f})"
        for s, r in results.items()
    )
    return [
        Row(
            f"CLI peak RSS, {providers} providers x {size / 2**20:.0f} MiB listings",
            f"{peak:.0f} MiB",
            "<= 300 MB",
            peak * 1024 * 1024 <= 300e6,
            0,
            f"`batches list --json` against the simulator on loopback, every listing answered "
            f"with one body; worst of: {per_shape}",
            {
                "peak_mib": peak,
                "size": size,
                **{f"{s} kib": r["peak_kib"] for s, r in results.items()},
            },
        )
    ]
