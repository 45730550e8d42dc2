"""Peak RSS of the console holding the batches in ``argv[1]`` (one provider's deep listing per
line, as JSON): the app is started (as the tests start it), each listing is parsed as the client
parses it and folded in, the table is painted, and the process reports its peak and current RSS
(and the RSS before the batches came) as JSON."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from bench.data import T0
from bench.harness import SIZE, make_app
from bifrost_tui.core.store import Diff
from bifrost_tui.gateway.models import Batch
from bifrost_tui.gateway.outcomes import ListingStatus, ProviderListing


def status_kib(field: str) -> int:
    """``VmRSS`` (now) or ``VmHWM`` (peak) of this process, in KiB. Not ``ru_maxrss``: on Linux
    that carries over the RSS of the process that spawned this one."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


async def main(path: str) -> dict[str, float]:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        before = status_kib("VmRSS")
        diff = Diff()
        with open(path) as f:
            for line in f:
                # One provider's deep listing, parsed as the client parses it.
                provider, kind, items = json.loads(line)
                batches = [
                    Batch.from_openai(item, provider=provider, provider_kind=kind) for item in items
                ]
                listing = ProviderListing(provider, ListingStatus.COMPLETE, batches, deep=True)
                diff = diff | app.store.apply_listing(listing, T0)
                del batches, items, listing
        app.data_changed(diff)
        await pilot.pause()
        rows = len(app.store.view())
        after = status_kib("VmRSS")
    return {"rows": rows, "before_kib": before, "after_kib": after, "peak_kib": status_kib("VmHWM")}


print(json.dumps(asyncio.run(main(sys.argv[1]))))
