"""A counting line on stderr for a person at a terminal: rewritten in place with ``\\r``.

At most ``MAX_RATE`` rewrites a second, only when the stream is a terminal, never for ``--json``.
Plain text and the standard library only: no rich, no Textual, so the command line starts fast.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from bifrost_tui.gateway.client import GatewayClient
    from bifrost_tui.gateway.models import ProviderInfo
    from bifrost_tui.gateway.outcomes import ProviderListing
    from bifrost_tui.gateway.survey import Survey

#: Rewrites of the line per second, at most.
MAX_RATE = 4.0


def _is_tty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # closed or not a real stream
        return False


class Progress:
    """One line of progress, rewritten with ``\\r`` at most ``MAX_RATE`` times a second.

    ``update`` draws the newest text when enough time has passed since the last drawing (else it
    is kept and drawn by a later call); ``above`` clears the line for other output to the same
    terminal and draws it again after when a rewrite is due; ``clear`` removes it before the final
    output. When the stream is not a terminal, or ``enabled`` is false, nothing is ever written.
    """

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        enabled: bool = True,
        clock: Callable[[], float] = time.monotonic,
        rate: float = MAX_RATE,
    ) -> None:
        self.stream = sys.stderr if stream is None else stream
        self.enabled = enabled and _is_tty(self.stream)
        self._clock = clock
        self._gap = 1.0 / rate
        self._drawn_at: float | None = None
        self._shown = ""  # the text on screen now ("" when the line is clear)
        self._wanted = ""  # the newest text, drawn when a rewrite is due

    def update(self, text: str) -> None:
        if not self.enabled:
            return
        self._wanted = text
        self._draw_if_due()

    def above(self, write: Callable[[], object]) -> None:
        """Run ``write`` (which prints whole lines) with the progress line out of its way; the
        line comes back after it when a rewrite is due (else with the next update)."""
        self.clear()
        write()
        if self.enabled:
            self._draw_if_due()

    def clear(self) -> None:
        if not self._shown:
            return
        self._write("\r" + " " * len(self._shown) + "\r")
        self._shown = ""

    def _draw_if_due(self) -> None:
        if not self._wanted or self._shown == self._wanted:
            return
        now = self._clock()
        if self._drawn_at is not None and now - self._drawn_at < self._gap:
            return
        self._drawn_at = now
        pad = " " * max(0, len(self._shown) - len(self._wanted))
        self._write("\r" + self._wanted + pad)
        self._shown = self._wanted

    def _write(self, data: str) -> None:
        try:
            self.stream.write(data)
            self.stream.flush()
        except (OSError, ValueError):  # the terminal is gone: progress is never worth an error
            self.enabled = False
            self._shown = ""


async def survey_counted(
    client: GatewayClient, *, deep: bool, progress: Progress, **how: Any
) -> Survey:
    """``gateway.survey.survey`` (``how``: its keywords), counting on ``progress`` the providers
    done and the batches read; the line is cleared before this returns."""
    from bifrost_tui.gateway.survey import SurveyHooks, survey

    total = done = found = 0

    def show() -> None:
        progress.update(f"listing: {done}/{total} providers done, {found} batches so far")

    def on_providers(infos: list[ProviderInfo]) -> None:
        nonlocal total
        total = sum(1 for p in infos if p.batch_capable)
        if done:
            show()
        else:
            progress.update(f"listing: 0/{total} providers done")

    def on_listing(listing: ProviderListing) -> None:
        nonlocal done, found
        done += 1
        found += len(listing.batches)
        show()

    try:
        hooks = SurveyHooks(on_providers=on_providers, on_listing=on_listing)
        return await survey(client, deep=deep, hooks=hooks, **how)
    finally:
        progress.clear()


__all__ = ["MAX_RATE", "Progress", "survey_counted"]
