"""Gateway round trips: providers listed concurrently, and how soon a cancel shows.

Concurrent providers: the simulator on loopback (a real HTTP server), every batch provider
answering after 200 ms; one refresh of all of them through a real ``GatewayClient``.
Cancel feedback: the console in process over the simulator's transport with a 100 ms gateway
(real ``asyncio.sleep``), from pressing ``y`` in the confirmation to the row painted CANCELING.
The write-ahead audit line that the request waits for is timed in the same runs (its own row),
written to an audit log in a temporary state directory.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.core import Row, median, ms
from bench.data import T0
from bench.harness import SIZE, PaintTimer, make_app
from bifrost_tui.audit.hook import AuditTrail
from bifrost_tui.audit.log import AuditLog
from bifrost_tui.clock import ManualClock
from bifrost_tui.core.live import LiveSession
from bifrost_tui.core.store import BatchStore
from bifrost_tui.gateway.client import ClientConfig, GatewayClient
from bifrost_tui.gateway.models import State
from bifrost_tui.sim import Faults, SimRequest, SimResponse, SimWorld
from bifrost_tui.ui.screens.confirm import ConfirmScreen
from bifrost_tui.ui.widgets.batch_table.table import BatchTable

PROVIDER_RTT = 0.2
CANCEL_RTT = 0.1


LAUNCHERS = Path(__file__).with_name("launchers")


def _world(latency: float, *, per_provider: bool) -> SimWorld:
    world = SimWorld.demo(ManualClock(T0), seed=7, batches_per_provider=12, arrival_interval=None)
    if per_provider:
        for name in world.batch_providers():
            world.providers[name].faults = Faults(latency=latency)
    else:
        world.faults.latency = latency
    return world


async def _refreshes(url: str, runs: int) -> tuple[list[float], list[float]]:
    client = GatewayClient(ClientConfig(base_url=url, retries=0))
    try:
        session = LiveSession(client, BatchStore(), ManualClock(T0))
        await session.poll(deep=True)  # discovery, connections opened
        light, deep = [], []
        for _ in range(runs):
            start = time.perf_counter()
            result = await session.poll(deep=False)
            light.append(time.perf_counter() - start)
            assert result.error is None, result.error
        for _ in range(max(1, runs // 2)):
            start = time.perf_counter()
            await session.poll(deep=True)
            deep.append(time.perf_counter() - start)
        return light, deep
    finally:
        await client.aclose()


def concurrent_providers(runs: int = 7, latency: float = PROVIDER_RTT) -> list[Row]:
    providers = len(_world(0, per_provider=True).batch_providers())
    server = subprocess.Popen(
        [sys.executable, str(LAUNCHERS / "sim_server.py"), str(latency)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        light, deep = asyncio.run(_refreshes(url, runs))
    finally:
        if server.stdin is not None:
            server.stdin.close()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    value = median(light)
    limit = 1.3 * latency
    return [
        Row(
            f"Concurrent providers ({providers} x {ms(latency)}), one refresh",
            ms(value),
            f"<= 1.3 x {ms(latency)} ({ms(limit)})",
            value <= limit,
            len(light),
            "light poll; the simulator in its own process, over loopback HTTP; a deep poll "
            f"(health, discovery, deep listings) takes {ms(median(deep))}",
            {"wall": value, "deep": median(deep)},
        )
    ]


@dataclass
class CancelSample:
    #: ``y`` to the end of the first screen update showing the row CANCELING.
    painted: list[float] = field(default_factory=list)
    #: Each intent line: all of ``AuditTrail.intent`` (built, redacted, appended, fsynced), and
    #: the append alone (open, write, fsync, close), in the worker thread.
    intent: list[float] = field(default_factory=list)
    append: list[float] = field(default_factory=list)
    #: ``y`` to the cancel request reaching the simulated gateway.
    sent: list[float] = field(default_factory=list)


@contextmanager
def _audit_timed(sample: CancelSample) -> Iterator[None]:
    """Time every intent line and its append, the audit log in a temporary state directory (the
    benchmark never writes to the operator's own audit log)."""
    intent, append = AuditTrail.intent, AuditLog._append
    saved = os.environ.get("XDG_STATE_HOME")

    def timed_intent(self: AuditTrail, *args: Any) -> Any:
        start = time.perf_counter()
        try:
            return intent(self, *args)
        finally:
            sample.intent.append(time.perf_counter() - start)

    def timed_append(self: AuditLog, line: bytes) -> None:
        start = time.perf_counter()
        try:
            append(self, line)
        finally:
            if b'"intent"' in line:
                sample.append.append(time.perf_counter() - start)

    with tempfile.TemporaryDirectory(prefix="bench-audit-") as state:
        os.environ["XDG_STATE_HOME"] = state
        # Patching the audit's write is how its time is measured in the same runs.
        AuditTrail.intent = timed_intent  # type: ignore[method-assign, assignment]
        AuditLog._append = timed_append  # type: ignore[method-assign]
        try:
            yield
        finally:
            AuditTrail.intent = intent  # type: ignore[method-assign]  # undo the patches
            AuditLog._append = append  # type: ignore[method-assign]
            if saved is None:
                os.environ.pop("XDG_STATE_HOME", None)
            else:
                os.environ["XDG_STATE_HOME"] = saved


async def _cancel_runs(runs: int, latency: float) -> CancelSample:
    world = _world(latency, per_provider=False)
    app = make_app(sim=world, clock=ManualClock(T0), sleep=asyncio.sleep)
    sample = CancelSample()
    out = sample.painted
    arrived: list[float] = []
    handle = world.handle

    def noting(request: SimRequest) -> SimResponse:
        if request.method == "POST" and request.path.endswith("/cancel"):
            arrived.append(time.perf_counter())
        return handle(request)

    world.handle = noting  # type: ignore[method-assign]  # notes when a cancel reaches the gateway
    with PaintTimer() as paints, _audit_timed(sample):
        async with app.run_test(size=SIZE) as pilot:
            await app.do_poll(deep=True)
            await pilot.pause()
            table = app.main_screen.query_one(BatchTable) if app.main_screen else None
            assert table is not None
            targets = [k for k in app.store.view() if app.store.batches[k].cancellable]
            for key in targets[:runs]:
                seen: dict[str, float] = {}
                original = app.data_changed

                def data_changed(
                    diff: Any, _key: Any = key, _seen: Any = seen, original: Any = original
                ) -> None:
                    original(diff)
                    if "at" not in _seen and app.store.batches[_key].state is State.CANCELING:
                        _seen["at"] = time.perf_counter()

                app.data_changed = data_changed  # type: ignore[method-assign]  # notes when the cancel lands
                table.move_cursor_to_key(key)
                await pilot.press("c")
                await pilot.pause()
                assert isinstance(app.screen, ConfirmScreen)
                paints.ends.clear()
                arrived.clear()
                start = time.perf_counter()
                await pilot.press("y")
                await app.workers.wait_for_complete()
                await pilot.pause()
                app.data_changed = original  # type: ignore[method-assign]  # undo the patch
                changed = seen.get("at")
                if changed is None:
                    continue
                painted = [t for t in paints.ends if t >= changed]
                if painted:
                    out.append(painted[0] - start)
                if arrived:
                    sample.sent.append(arrived[0] - start)
    world.handle = handle  # type: ignore[method-assign]
    return sample


def cancel_feedback(runs: int = 5, latency: float = CANCEL_RTT) -> list[Row]:
    sample = asyncio.run(_cancel_runs(runs, latency))
    value = median(sample.painted)
    limit = latency + 0.05
    intent = median(sample.intent) if sample.intent else 0.0
    append = median(sample.append) if sample.append else 0.0
    sent = median(sample.sent) if sample.sent else 0.0
    return [
        Row(
            f"Cancel feedback ({ms(latency)} gateway), `y` to CANCELING painted",
            ms(value),
            f"<= RTT + 50 ms ({ms(limit)})",
            value <= limit,
            len(sample.painted),
            "in process, simulator transport with real sleeps; the request reached the gateway "
            f"{ms(sent)} after `y` (the write-ahead audit line below included)",
            {"wall": value, "sent": sent},
        ),
        Row(
            "Cancel write-ahead audit line (intent, fsynced), in the same runs",
            ms(intent),
            "",
            None,
            len(sample.intent),
            f"of which the append (open, write, fsync, close) {ms(append)}; worst "
            f"{ms(max(sample.intent, default=0.0))}; in a worker thread, the cancel request "
            "waits for it; audit log in a temporary directory on the benchmark's disk",
            {"intent": intent, "append": append},
        ),
    ]
