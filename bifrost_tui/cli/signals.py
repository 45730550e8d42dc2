"""Signals in one-shot commands: which code a signal exits with, and output that a lost terminal
cannot turn into a lost record.

Before a cancel is sent (listing, reading, the confirmation prompt) a signal simply ends the
command: ``raising_handlers`` turns SIGTERM and SIGHUP into ``Signalled`` (SIGINT stays Python's
``KeyboardInterrupt``), which works in blocking code such as ``input()`` too. While cancels are
in flight the event loop takes the signals instead (``core.interrupt.signals_routed_to``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

from bifrost_tui.cli.exitcodes import EXIT_HANGUP, EXIT_INTERRUPTED, EXIT_TERMINATED
from bifrost_tui.core.interrupt import INTERRUPT_SIGNALS, signal_name

_CODES = {"SIGINT": EXIT_INTERRUPTED, "SIGTERM": EXIT_TERMINATED, "SIGHUP": EXIT_HANGUP}


def signal_exit_code(signum: int) -> int:
    """130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP: the shell's 128 + the signal number."""
    return _CODES.get(signal_name(signum), 128 + signum)


class Signalled(BaseException):
    """SIGTERM or SIGHUP arrived while no run was in flight: end the command (like Ctrl-C)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal_name(signum))
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return signal_exit_code(self.signum)


def signum_of(exc: BaseException) -> int:
    """The signal behind ``Signalled`` or ``KeyboardInterrupt`` (SIGINT)."""
    return exc.signum if isinstance(exc, Signalled) else int(signal.SIGINT)


#: What the handlers raised, newest last: a signal that came while the event loop waited is
#: raised out of the loop, and the command (cancelled by ``asyncio.run`` on its way out) looks
#: here for why, to answer with its summary.
_raised: list[BaseException] = []
_reported: set[int] = set()


def _raise_signalled(signum: int, frame: FrameType | None) -> None:
    exc: BaseException = KeyboardInterrupt() if signum == signal.SIGINT else Signalled(signum)
    _raised.append(exc)
    raise exc


def raised_by_signal() -> BaseException | None:
    """The last exception a signal raised through ``raising_handlers`` (None: none yet)."""
    return _raised[-1] if _raised else None


def mark_reported(exc: BaseException) -> None:
    """The command has said it was interrupted: ``main`` need not say it again."""
    _reported.add(id(exc))


def was_reported(exc: BaseException) -> bool:
    return id(exc) in _reported


@contextlib.contextmanager
def raising_handlers() -> Iterator[None]:
    """While inside: SIGINT raises ``KeyboardInterrupt`` and SIGTERM/SIGHUP raise ``Signalled``,
    wherever the main thread is (also blocked in ``input()``). The previous handlers come back."""
    previous: dict[int, Any] = {}
    with contextlib.suppress(ValueError):  # not the main thread: leave the defaults
        for sig in INTERRUPT_SIGNALS:
            previous[sig] = signal.signal(sig, _raise_signalled)
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


@contextlib.contextmanager
def cancelling_on_signals(task: asyncio.Task[Any], caught: list[int]) -> Iterator[None]:
    """While inside: the first SIGINT/SIGTERM/SIGHUP cancels ``task`` and is noted in ``caught``
    (for a command that answers a signal with its summary, like ``batches watch``)."""
    loop = asyncio.get_running_loop()

    def on_signal(signum: int) -> None:
        if not caught:
            caught.append(signum)
            task.cancel()

    installed: list[signal.Signals] = []
    for sig in INTERRUPT_SIGNALS:
        try:
            loop.add_signal_handler(sig, on_signal, int(sig))
        except (NotImplementedError, RuntimeError, ValueError):
            continue
        installed.append(sig)
    try:
        yield
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


class Output:
    """Writes to stdout/stderr that never stop the command: after a SIGHUP the terminal may be
    gone (EIO) and a reader of a pipe may have left (EPIPE). The audit is written before any
    output; once a write fails, later output is dropped and the streams point at /dev/null so the
    interpreter's last flush cannot fail either."""

    def __init__(self) -> None:
        self.lost = False

    def __call__(self, write: Callable[[], object]) -> None:
        if self.lost:
            return
        try:
            write()
            sys.stdout.flush()  # a block-buffered pipe fails here, not at the interpreter's exit
            sys.stderr.flush()
        except OSError:
            self.lost = True
            self._silence()

    @staticmethod
    def _silence() -> None:
        with contextlib.suppress(OSError):
            devnull = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process
            sys.stdout = devnull
            sys.stderr = devnull


__all__ = [
    "Output",
    "Signalled",
    "cancelling_on_signals",
    "mark_reported",
    "raised_by_signal",
    "raising_handlers",
    "signal_exit_code",
    "signum_of",
    "was_reported",
]
