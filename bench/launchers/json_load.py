"""Peak RSS and wall time of ``json.load`` on the file at ``argv[1]``, printed as JSON (the
baseline the results summary is compared with)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

started = time.perf_counter()
with open(sys.argv[1], "rb") as f:
    json.load(f)
seconds = time.perf_counter() - started
peak = 0
for line in Path("/proc/self/status").read_text().splitlines():
    if line.startswith("VmHWM:"):
        peak = int(line.split()[1])
print(json.dumps({"peak_kib": peak, "code": 0, "seconds": seconds}))
