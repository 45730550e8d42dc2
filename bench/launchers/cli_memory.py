"""Peak RSS of one `bifrost-tui batches list --json` run against the gateway at ``argv[1]``: the
command runs in this process (stdout to /dev/null), then the process prints its peak RSS
(``VmHWM``, KiB), the exit code and the run's wall time as JSON."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from pathlib import Path

from bifrost_tui.cli import main


def status_kib(field: str) -> int:
    """``VmHWM`` (peak RSS) of this process, in KiB (not ``ru_maxrss``: on Linux that carries
    over the RSS of the process that spawned this one)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


started = time.perf_counter()
with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
    code = main(["batches", "list", "--url", sys.argv[1], "--json"])
print(
    json.dumps(
        {"peak_kib": status_kib("VmHWM"), "code": code, "seconds": time.perf_counter() - started}
    )
)
