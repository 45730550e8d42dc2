"""The console as ``bifrost-tui --url URL`` opens it, headless at 120x40: once the first frame is
painted and the first poll (refused: the URL is a loopback port that never listens) has ended,
every loaded module is printed as one JSON line. Run by ``bench.imports`` under
``python -X importtime``, which writes each import's cost to stderr.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys

from bifrost_tui.config.connection import open_connection
from bifrost_tui.ui.app import BifrostApp


async def main(url: str) -> None:
    connection = open_connection(
        profile=None, url=url, demo=False, read_only=False, refresh=None, env=os.environ
    )
    app = BifrostApp(connection)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        if app.main_screen is None or not app.main_screen.is_mounted:
            raise SystemExit("the batches screen was not shown")
        print(json.dumps(sorted(sys.modules)))


asyncio.run(main(sys.argv[1]))
