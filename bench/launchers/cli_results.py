"""Peak RSS and wall time of one `bifrost-tui batches results ID --provider P --json` run against
the gateway at ``argv[1]`` (stdout to /dev/null), printed as JSON: ``peak_kib`` (``VmHWM``), the
exit code and the run's seconds."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from pathlib import Path

from bifrost_tui.cli import main


def status_kib(field: str) -> int:
    """``VmHWM`` (peak RSS) of this process, in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


url, provider, batch_id = sys.argv[1:4]
started = time.perf_counter()
with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
    code = main(["batches", "results", batch_id, "--url", url, "--provider", provider, "--json"])
print(
    json.dumps(
        {"peak_kib": status_kib("VmHWM"), "code": code, "seconds": time.perf_counter() - started}
    )
)
