"""What a signal does to a cancel run: stop sending, wait a bounded grace, record every batch."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Iterator

#: Seconds a run waits, after an interrupt, for the answers to the cancels already sent.
DEFAULT_GRACE = 5.0
#: The signals an operator's session sends: Ctrl-C, ``kill``, and a lost terminal or SSH link.
INTERRUPT_SIGNALS: tuple[signal.Signals, ...] = tuple(
    s for s in (getattr(signal, n, None) for n in ("SIGINT", "SIGTERM", "SIGHUP")) if s is not None
)


def signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def exit_code_for_signal(signum: int) -> int:
    """The shell's convention: 128 + the signal number (130 SIGINT, 143 SIGTERM, 129 SIGHUP)."""
    return 128 + signum


class Interrupt:
    """The state of one run under signals; ``request`` is what a signal handler calls.

    The first request stops new cancels (``stopping``) and arms the grace timer; when it runs out,
    or on a second request, ``abandon`` is set and the requests still in flight read ``unknown``.
    Lives on the running event loop (``request`` must be called from the loop's thread).
    """

    def __init__(self, grace: float = DEFAULT_GRACE) -> None:
        if grace < 0:
            raise ValueError("grace must be zero or more seconds")
        self.grace = grace
        self.signum: int | None = None
        self.count = 0
        self.abandon = asyncio.Event()
        self._timer: asyncio.TimerHandle | None = None
        self._listeners: list[Callable[[int], None]] = []

    @property
    def stopping(self) -> bool:
        return self.signum is not None

    @property
    def exit_code(self) -> int | None:
        return exit_code_for_signal(self.signum) if self.signum is not None else None

    def on_request(self, listener: Callable[[int], None]) -> None:
        """Call ``listener(signum)`` on every request (to say "stopping…" or show progress)."""
        self._listeners.append(listener)

    def request(self, signum: int) -> None:
        self.count += 1
        if self.signum is None:
            self.signum = signum
            loop = asyncio.get_running_loop()
            if self.grace == 0:
                self.abandon.set()
            else:
                self._timer = loop.call_later(self.grace, self.abandon.set)
        else:
            self.abandon.set()
        for listener in list(self._listeners):
            listener(signum)

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


@contextlib.contextmanager
def signals_routed_to(interrupt: Interrupt) -> Iterator[None]:
    """While inside, SIGINT/SIGTERM/SIGHUP call ``interrupt.request`` on the running loop.

    The previous handlers come back on exit. Where the loop cannot take signals (not the main
    thread, Windows), nothing is installed and the default behaviour stays.
    """
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    try:
        for sig in INTERRUPT_SIGNALS:
            try:
                loop.add_signal_handler(sig, interrupt.request, int(sig))
            except (NotImplementedError, RuntimeError, ValueError):
                continue
            installed.append(sig)
        yield
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
        interrupt.close()
