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
from bench.data import dataset

LAUNCHERS = Path(__file__).with_name("launchers")
ROOT = Path(__file__).resolve().parent.parent


def measure(n: int) -> dict[str, float]:
    ds = dataset(n)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "listings.jsonl"
        with path.open("w") as f:
            for provider, batches in ds.per_provider.items():
                kind = batches[0].provider_kind if batches else provider
                f.write(json.dumps([provider, kind, [b.raw for b in batches]]) + "\n")
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


def peak_rss(n: int = 50_000) -> list[Row]:
    result = measure(n)
    peak = result["peak_kib"] / 1024
    held = (result["after_kib"] - result["before_kib"]) / 1024
    return [
        Row(
            f"Memory, peak RSS at {n:,} batches",
            f"{peak:.0f} MiB",
            "<= 200 MB",
            peak * 1024 * 1024 <= 200e6,
            0,
            f"console alone {result['before_kib'] / 1024:.0f} MiB; the batches and their caches "
            f"add {held:.0f} MiB",
            {"peak_mib": peak, **result},
        )
    ]
