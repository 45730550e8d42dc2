"""Peak RSS of the console holding the batches in ``argv[1]`` (one list page of one provider per
line, as JSON: provider, kind, page body): the app is started (as the tests start it), each page is
read as the client reads it (streamed, each kept batch's raw JSON compacted), each provider's
listing is folded in, the table is painted, and the process reports its peak and current RSS (and
the RSS before the batches came) as JSON."""

from __future__ import annotations

import asyncio
import functools
import json
import sys
from pathlib import Path
from typing import Any

import httpx

from bench.data import T0
from bench.harness import SIZE, make_app
from bifrost_tui.core.store import Diff
from bifrost_tui.gateway.listing import MAX_PAGE_ITEMS, OPENAI_BATCHES
from bifrost_tui.gateway.models import Batch
from bifrost_tui.gateway.outcomes import ListingStatus, ProviderListing
from bifrost_tui.gateway.pages import read_list_page
from bifrost_tui.gateway.reply import Reply

HEADERS = httpx.Headers({"content-type": "application/json"})


def status_kib(field: str) -> int:
    """``VmRSS`` (now) or ``VmHWM`` (peak) of this process, in KiB. Not ``ru_maxrss``: on Linux
    that carries over the RSS of the process that spawned this one."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def pages(path: str) -> Any:
    with open(path) as f:
        for line in f:
            provider, kind, body = json.loads(line)
            yield provider, kind, body.encode()


async def main(path: str) -> dict[str, float]:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        before = status_kib("VmRSS")
        diff = Diff()
        current: str | None = None
        batches: list[Batch] = []

        def fold(batches: list[Batch]) -> None:
            nonlocal diff
            if current is not None:
                listing = ProviderListing(current, ListingStatus.COMPLETE, batches, deep=True)
                diff = diff | app.store.apply_listing(listing, T0)

        for provider, kind, body in pages(path):
            if provider != current:
                fold(batches)
                current, batches = provider, []
            page = read_list_page(
                Reply(200, HEADERS, body, OPENAI_BATCHES),
                functools.partial(Batch.from_openai, provider=provider, provider_kind=kind),
                MAX_PAGE_ITEMS,
            )
            del body
            for batch in page.batches:
                batch.compact()  # as the listing keeps it
            batches += page.batches
            del page
        fold(batches)
        del batches
        app.data_changed(diff)
        await pilot.pause()
        rows = len(app.store.view())
        after = status_kib("VmRSS")
    return {"rows": rows, "before_kib": before, "after_kib": after, "peak_kib": status_kib("VmHWM")}


print(json.dumps(asyncio.run(main(sys.argv[1]))))
