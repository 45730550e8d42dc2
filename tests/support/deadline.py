"""Work that could hang (a FIFO opened where a file was meant) run under a deadline, so a
regression fails its test instead of freezing the whole run."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def within(seconds: float, work: Callable[[], T]) -> T:
    """``work()`` in a daemon thread; fails when it takes longer than ``seconds``."""
    results: list[T] = []
    errors: list[BaseException] = []

    def body() -> None:
        try:
            results.append(work())
        except BaseException as exc:  # re-raised below, in the test's thread
            errors.append(exc)

    worker = threading.Thread(target=body, daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"still blocked after {seconds}s (a hang)"
    if errors:
        raise errors[0]
    return results[0]


def run_within(seconds: float, scenario: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """The coroutine ``scenario()`` on its own event loop, under the same deadline."""
    within(seconds, lambda: asyncio.run(scenario()))
