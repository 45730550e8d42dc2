"""The results screen (``R``): an ended batch's results streamed, summed up, and exported.

While the body streams a progress line counts bytes and items; ``escape`` stops the read and the
summary so far is shown, marked ``stopped: partial``. ``ctrl+s`` writes what to resubmit
(``resubmit.jsonl`` and ``summary.json``, like ``batches results --export``) into a new folder
under the exports directory.

The export reads the results again rather than keeping them: the summary keeps counters and a few
hundred messages, never the items, so a 100,000-request batch stays a few MB here; holding every
item to resubmit (ids up to any length, messages) would cost tens of MB for a file written once,
and a read stopped with ``escape`` would export only part. Re-reading costs the gateway one more
download, shown with the same progress and stopped by the same ``escape``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Footer, Static
from textual.worker import Worker

from bifrost_tui.core.live import describe_error
from bifrost_tui.core.results import ExportRefused, ResubmitExport, ResultsSummary
from bifrost_tui.core.store import Key
from bifrost_tui.formatting import STATE_LABELS
from bifrost_tui.gateway.batch_results import ResultsReader
from bifrost_tui.gateway.errors import GatewayError
from bifrost_tui.gateway.models import Batch
from bifrost_tui.textsafe import quoted, safe_text
from bifrost_tui.ui.screens.console_screen import ConsoleScreen

STOPPED = "stopped: partial"


def results_refusal(batch: Batch | None) -> str | None:
    """Why ``R`` opens nothing for ``batch``, in words; ``None``: its results can be read."""
    if batch is None:
        return "that batch is no longer listed"
    if not batch.state.terminal:
        return (
            f"batch is {batch.processing_status or 'of unknown status'} "
            f"({STATE_LABELS[batch.state]}): results exist once it has ended"
        )
    return None


def size_text(count: int) -> str:
    """``12.3 MB``: a byte count for the progress line."""
    value = float(count)
    for unit in ("B", "KB", "MB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


class ResultsScreen(ConsoleScreen[None]):
    """One batch's results: read in a worker as the screen opens, summed up as they stream."""

    BINDINGS = [
        Binding("escape", "stop_or_back", "Stop / back"),
        Binding("q", "app.pop_screen", "Back", show=False),
        Binding("ctrl+s", "export", "Export resubmit list"),
    ]
    DEFAULT_CSS = """
    ResultsScreen #results-progress { padding: 0 1; height: auto; }
    ResultsScreen #results-summary { padding: 0 1; }
    """

    def __init__(self, key: Key) -> None:
        super().__init__()
        self.key = key
        self.summary: ResultsSummary | None = None
        #: The running read (the summary's or an export's), stopped by ``escape``.
        self.worker: Worker[None] | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="results-progress", markup=False)
        with VerticalScroll():
            yield Static("", id="results-summary", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.show_progress(f"reading the results of {quoted(self.key[1], 120)}…")
        self.worker = self.run_worker(self.read(), group="results", exclusive=True)

    # ---- showing ---------------------------------------------------------------------------

    def show_progress(self, words: str, style: str = "bold") -> None:
        self.query_one("#results-progress", Static).update(Text(words, style=style))

    def show_summary(self, summary: ResultsSummary, extra: list[str] | None = None) -> None:
        """The summary's lines (escaped already) as plain text: never read as markup."""
        text = Text()
        for line in [*summary.lines(), *(extra or [])]:
            text.append(line + "\n")
        self.query_one("#results-summary", Static).update(text)

    def _progress(self, verb: str) -> Callable[[int, int], None]:
        def report(read: int, items: int) -> None:
            self.show_progress(f"{verb}: {size_text(read)}, {items:,} items (escape stops)")

        return report

    # ---- reading ---------------------------------------------------------------------------

    def _reader(self, batch: Batch, verb: str) -> ResultsReader:
        client = self.bapp.client
        assert client is not None, "a results screen opens on a running session"
        return ResultsReader(
            client,
            batch.provider,
            batch.id,
            provider_kind=batch.provider_kind or None,
            on_progress=self._progress(verb),
        )

    def _summary(self, batch: Batch) -> ResultsSummary:
        from bifrost_tui.audit.hook import redactor

        return ResultsSummary(
            provider=batch.provider,
            batch_id=batch.id,
            expected=batch.request_counts,
            redact=redactor(self.bapp.connection),
        )

    async def _current_batch(self) -> Batch | None:
        """The batch re-read from its faithful route (its counts are what the results are
        compared with); ``None`` and words on screen when it cannot be read or has not ended."""
        client = self.bapp.client
        listed = self.bapp.store.batches.get(self.key)
        if client is None or listed is None:
            self.show_progress(results_refusal(None) or "", "bold red")
            return None
        try:
            batch = await client.get_batch(
                listed.provider, listed.id, kind=listed.provider_kind or None
            )
        except GatewayError as exc:
            self.show_progress(f"the batch could not be read: {safe_text(describe_error(exc))}")
            return None
        why = results_refusal(batch)
        if why is not None:
            self.show_progress(f"{why}; nothing else was sent", "bold yellow")
            return None
        return batch

    async def read(self) -> None:
        """Stream the results into a summary; on ``escape`` the summary so far, marked."""
        try:
            batch = await self._current_batch()
        except asyncio.CancelledError:
            self.show_progress("stopped before any result was read", "bold yellow")
            raise
        if batch is None:
            return
        reader = self._reader(batch, "reading results")
        self.summary = summary = self._summary(batch)
        try:
            async for item in reader.items():
                summary.add(item)  # cheap: counters and at most a few messages per code
        except asyncio.CancelledError:
            self._stop(summary, reader, STOPPED)
            raise
        except GatewayError as exc:
            self._failed(summary, reader, exc)
            return
        summary.finish(reader.meta)
        self.show_progress(
            f"{reader.meta.items_read:,} items, {size_text(reader.meta.bytes_read)}: "
            + ("PARTIAL" if summary.partial else "complete")
            + " · ctrl+s exports what to resubmit"
        )
        self.show_summary(summary)

    def _stop(self, summary: ResultsSummary, reader: ResultsReader, reason: str) -> None:
        summary.finish(reader.meta)
        summary.partial = True
        summary.reasons.append(reason)
        self.show_progress(
            f"{reason} after {reader.meta.items_read:,} items, "
            f"{size_text(reader.meta.bytes_read)} · ctrl+s reads them all again to export",
            "bold yellow",
        )
        self.show_summary(summary)

    def _failed(self, summary: ResultsSummary, reader: ResultsReader, exc: GatewayError) -> None:
        words = safe_text(describe_error(exc), 300)
        if reader.meta.items_read == 0:
            self.show_progress(f"no results: {words}", "bold red")
            return
        self._stop(summary, reader, f"stopped: {words}")

    # ---- exporting -------------------------------------------------------------------------

    async def export(self) -> None:
        """Read the results again, each item to resubmit written as it comes (see the module)."""
        from bifrost_tui.audit.hook import redactor
        from bifrost_tui.core.export import export_dir_for

        try:
            batch = await self._current_batch()
        except asyncio.CancelledError:
            self.show_progress("export stopped before any result was read: nothing written")
            raise
        if batch is None:
            return
        try:
            folder = export_dir_for(self.bapp.clock.now())
            export = ResubmitExport(folder, redact=redactor(self.bapp.connection))
            export.open()
        except (ExportRefused, OSError) as exc:
            self.show_progress(f"export failed: {safe_text(_reason(exc))}", "bold red")
            return
        reader = self._reader(batch, f"exporting to {safe_text(str(folder))}")
        summary = self._summary(batch)
        try:
            async for item in reader.items():
                summary.add(item)
                export.write(item)
        except asyncio.CancelledError:
            await self._close_export(export, summary, reader, f"{STOPPED} (escape)")
            raise
        except GatewayError as exc:
            await self._close_export(export, summary, reader, f"stopped: {describe_error(exc)}")
            return
        except OSError as exc:
            self.show_progress(f"export failed: {safe_text(_reason(exc))}", "bold red")
            return
        summary.finish(reader.meta)
        await self._close_export(export, summary, reader, None)

    async def _close_export(
        self,
        export: ResubmitExport,
        summary: ResultsSummary,
        reader: ResultsReader,
        reason: str | None,
    ) -> None:
        if reason is not None:
            summary.finish(reader.meta)
            summary.partial = True
            summary.reasons.append(reason)
        try:
            # fsyncs: off the event loop.
            await asyncio.shield(asyncio.to_thread(export.close, summary))
        except OSError as exc:
            self.show_progress(f"export failed: {safe_text(_reason(exc))}", "bold red")
            return
        where = safe_text(str(export.directory))
        lines = export.written
        state = "PARTIAL" if summary.partial else "complete"
        self.show_progress(
            f"exported ({state}) to {where}: resubmit.jsonl ({lines:,} line"
            f"{'' if lines == 1 else 's'}), summary.json",
            "bold yellow" if summary.partial else "bold green",
        )
        if reason is None:
            self.summary = summary  # the newer read, and a whole one
        self.show_summary(
            self.summary or summary,
            [
                "",
                "resubmit.jsonl lists the ids to resubmit, not the original requests "
                "(their parameters are not readable through the gateway).",
            ],
        )

    # ---- keys ------------------------------------------------------------------------------

    def _reading(self) -> bool:
        return self.worker is not None and self.worker.is_running

    def action_stop_or_back(self) -> None:
        if self._reading():
            assert self.worker is not None
            self.worker.cancel()
            return
        self.app.pop_screen()

    def action_export(self) -> None:
        if self._reading():
            self.notify(
                "the results are still being read: escape stops the read, ctrl+s then exports",
                title="nothing exported",
                severity="warning",
                markup=False,
            )
            return
        self.worker = self.run_worker(self.export(), group="results", exclusive=True)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    return str(exc)


def open_results(screen: ConsoleScreen[Any], key: Key | None) -> str | None:
    """``R``: push the results screen for ``key``; else why not, in words (nothing sent)."""
    if key is None:
        return "no batch under the cursor"
    why = results_refusal(screen.bapp.store.batches.get(key))
    if why is not None:
        return why
    screen.app.push_screen(ResultsScreen(key))
    return None
