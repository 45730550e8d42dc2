"""An interrupted bulk run: stop sending, wait a bounded grace, and give every item an outcome."""

from __future__ import annotations

import asyncio
import signal

import pytest

from bifrost_tui.core.bulk import ABANDONED_REASON, ItemOutcome, run_bulk
from bifrost_tui.core.interrupt import Interrupt, exit_code_for_signal, signals_routed_to
from bifrost_tui.core.store import Key
from bifrost_tui.gateway.outcomes import CancelOutcome, CancelResult

KEYS: list[Key] = [("anthropic", f"msgbatch_{i:02d}") for i in range(6)]


class SlowGateway:
    """Cancels that answer only when released: the test decides what is in flight."""

    def __init__(self) -> None:
        self.sent: list[Key] = []
        self.release = asyncio.Event()
        self.arrived = asyncio.Event()

    async def cancel(self, key: Key) -> CancelResult:
        self.sent.append(key)
        self.arrived.set()
        await self.release.wait()
        return CancelResult(key[0], key[1], CancelOutcome.ACCEPTED)


async def _until(condition) -> None:
    while not condition():
        await asyncio.sleep(0)


def test_exit_codes_follow_the_shell_convention() -> None:
    assert exit_code_for_signal(signal.SIGINT) == 130
    assert exit_code_for_signal(signal.SIGTERM) == 143
    assert exit_code_for_signal(signal.SIGHUP) == 129


async def test_a_signal_stops_sending_and_a_second_abandons_what_is_in_flight() -> None:
    gateway = SlowGateway()
    interrupt = Interrupt(grace=3600)  # only the second signal may end the wait
    run = asyncio.ensure_future(
        run_bulk(
            KEYS,
            cancel=gateway.cancel,
            current=lambda key: None,
            concurrency=2,
            should_stop=lambda: interrupt.stopping,
            abandon=interrupt.abandon,
        )
    )
    await _until(lambda: len(gateway.sent) == 2)
    interrupt.request(signal.SIGTERM)
    assert interrupt.stopping and not interrupt.abandon.is_set()
    interrupt.request(signal.SIGTERM)
    summary = await run
    outcomes = {item.key: item for item in summary.items}
    assert gateway.sent == KEYS[:2]
    assert set(outcomes) == set(KEYS)  # every batch of the run has its outcome
    for key in KEYS[:2]:
        assert outcomes[key].outcome == ItemOutcome.UNKNOWN
        assert outcomes[key].reason == ABANDONED_REASON
    for key in KEYS[2:]:
        assert outcomes[key].outcome == ItemOutcome.NOT_SENT
    assert summary.interrupted
    assert interrupt.exit_code == 143
    interrupt.close()


async def test_answers_within_the_grace_are_kept() -> None:
    gateway = SlowGateway()
    interrupt = Interrupt(grace=3600)
    run = asyncio.ensure_future(
        run_bulk(
            KEYS,
            cancel=gateway.cancel,
            current=lambda key: None,
            concurrency=3,
            should_stop=lambda: interrupt.stopping,
            abandon=interrupt.abandon,
        )
    )
    await _until(lambda: len(gateway.sent) == 3)
    interrupt.request(signal.SIGINT)
    gateway.release.set()
    summary = await run
    counts = summary.counts
    assert counts[ItemOutcome.ACCEPTED] == 3
    assert counts[ItemOutcome.NOT_SENT] == 3
    assert gateway.sent == KEYS[:3]
    interrupt.close()


async def test_the_grace_running_out_abandons_the_wait() -> None:
    gateway = SlowGateway()
    interrupt = Interrupt(grace=0)
    run = asyncio.ensure_future(
        run_bulk(
            KEYS[:1],
            cancel=gateway.cancel,
            current=lambda key: None,
            should_stop=lambda: interrupt.stopping,
            abandon=interrupt.abandon,
        )
    )
    await gateway.arrived.wait()
    interrupt.request(signal.SIGHUP)
    summary = await run
    assert [item.outcome for item in summary.items] == [ItemOutcome.UNKNOWN]
    assert interrupt.exit_code == 129


def test_a_negative_grace_is_refused() -> None:
    with pytest.raises(ValueError):
        Interrupt(grace=-1)


async def test_signals_reach_the_interrupt_while_routed() -> None:
    interrupt = Interrupt(grace=3600)
    seen: list[int] = []
    interrupt.on_request(seen.append)
    with signals_routed_to(interrupt):
        signal.raise_signal(signal.SIGHUP)
        await _until(lambda: interrupt.stopping)
    assert seen == [signal.SIGHUP]
    assert interrupt.exit_code == 129
