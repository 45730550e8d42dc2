"""A terminal that goes away (SSH drop, closed pty) is a hangup, never a frozen or crashed console.

Textual 8.2.8's Linux driver writes the screen from a thread through a queue of 30 writes: when
the terminal is gone, the write raises ``EIO``, that thread dies, the queue fills and the next
paint blocks the event loop for good, so nothing else (the audit of the cancels in flight
included) ever runs. Its input thread, on ``EIO``, makes the app panic and exit at once. This
driver drops output to a dead terminal instead, and reports the loss once through
``on_terminal_lost`` on the event loop, where the console treats it as a hangup: it stops
sending, records every batch of a cancel run, and exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
from collections.abc import Callable
from typing import IO, Any

from textual.app import App
from textual.driver import Driver


class _DeadTerminalTolerant:
    """A text stream that drops writes once its terminal fails, and says so once."""

    def __init__(self, stream: IO[str], lost: Callable[[], None]) -> None:
        self._stream = stream
        self._lost = lost
        self._failed = False
        self._guard = threading.Lock()

    def _fail(self) -> None:
        with self._guard:
            if self._failed:
                return
            self._failed = True
        self._lost()

    def write(self, text: str) -> int:
        if not self._failed:
            try:
                self._stream.write(text)
            except (OSError, ValueError):
                self._fail()
        return len(text)

    def flush(self) -> None:
        if not self._failed:
            try:
                self._stream.flush()
            except (OSError, ValueError):
                self._fail()

    def fileno(self) -> int:
        return self._stream.fileno()

    def isatty(self) -> bool:
        return not self._failed and self._stream.isatty()


def terminal_driver_class(chosen: type[Driver]) -> type[Driver]:
    """The driver to use instead of Textual's ``chosen`` one (itself unless it is the Linux one)."""
    if sys.platform == "win32":
        return chosen
    from textual.drivers.linux_driver import LinuxDriver

    if chosen is not LinuxDriver:
        return chosen

    class TerminalDriver(LinuxDriver):
        """Textual's Linux driver, surviving the loss of its terminal (see the module's words)."""

        def __init__(self, app: App[Any], **options: Any) -> None:
            super().__init__(app, **options)
            self._lost_once = threading.Event()
            self._owner_loop = asyncio.get_running_loop()
            if self._file is not None:
                tolerant = _DeadTerminalTolerant(self._file, self._report_lost)
                # Duck-typed: the writer thread only writes, flushes and asks for the fileno.
                self._file = tolerant  # type: ignore[assignment]

        def _report_lost(self) -> None:
            """From any thread: tell the app once, on its loop."""
            if self._lost_once.is_set():
                return
            self._lost_once.set()
            report = getattr(self._app, "on_terminal_lost", None)
            if report is None:
                return
            with contextlib.suppress(RuntimeError):  # the loop is closed: the app has gone
                self._owner_loop.call_soon_threadsafe(report)

        def _run_input_thread(self) -> None:
            try:
                self.run_input_thread()
            except OSError:
                # EIO on a hung-up terminal: a hangup, not a crash of the console.
                self._report_lost()
            except BaseException:
                import rich.traceback

                self._app.call_later(self._app.panic, rich.traceback.Traceback())

    return TerminalDriver
