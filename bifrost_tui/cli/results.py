"""``bifrost-tui batches results ID --provider P``: what an ended batch's requests came to.

The batch is re-read first: results exist once it has ended, so an active one is refused (exit 5)
and nothing else is sent. Then its results are streamed (never held whole), summarised, and with
``--export DIR`` written as ``resubmit.jsonl`` (one line per request to resubmit) and
``summary.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import AsyncGenerator, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bifrost_tui.cli.exitcodes import (
    EXIT_INTERRUPTED,
    EXIT_LOCAL_REFUSAL,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_USAGE,
    exit_code_for_error,
)
from bifrost_tui.cli.output import emit_document, emit_envelope, error, report_error
from bifrost_tui.cli.signals import cancelling_on_signals, signal_exit_code
from bifrost_tui.gateway.errors import GatewayError
from bifrost_tui.textsafe import safe_text

if TYPE_CHECKING:
    from bifrost_tui.config.connection import Connection
    from bifrost_tui.core.results import ResubmitExport, ResultsSummary
    from bifrost_tui.gateway.batch_results import ResultItem, ResultsReader

_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3}

_EPILOG = """\
The batch is read first: results exist once it has ended (an active batch exits 5, nothing else
sent). The summary counts each result type against the batch's request counts, groups errors by
code with their most frequent messages (secrets redacted, cut), and says in words what the gateway
does not pass (an Anthropic batch's errored requests arrive without their error type and message).

--export DIR writes resubmit.jsonl and summary.json into DIR, which must be absent or empty
(created 0700, files 0600). resubmit.jsonl lists the ids of the requests to resubmit with their
result type and error, NOT the original requests: their parameters are not readable through the
gateway. Nothing of a succeeded request's output is written unless --include-output (it may hold
customer data).

exit codes: 0 the summary is complete; 4 partial (items missing against the counts, duplicate or
missing ids, parse errors, the byte cap reached, more pages the gateway did not send); 1 the gateway
refused (404 unknown id, 400/500 results not available); 3 unreachable or timed out; 5 refused
locally (the batch has not ended, or its provider's results cannot be read); 2 usage (DIR not
usable); 130/143/129 interrupted (an export already written says it is partial)."""


# --------------------------------------------------------------------------- arguments


def result_types(text: str) -> tuple[str, ...]:
    """``--only``: result types, comma-separated (``errored,expired``), each known."""
    from bifrost_tui.gateway.batch_results import RESULT_TYPES

    chosen = tuple(dict.fromkeys(t.strip().lower() for t in text.split(",") if t.strip()))
    unknown = [t for t in chosen if t not in RESULT_TYPES]
    if not chosen or unknown:
        shown = ", ".join(unknown) if unknown else "nothing"
        raise argparse.ArgumentTypeError(
            f"unknown result type {shown!r}: choose from {', '.join(RESULT_TYPES)}"
        )
    return chosen


def byte_count(text: str) -> int:
    """``--max-bytes``: a positive number of bytes, optionally with a K, M or G suffix (1024s)."""
    raw = text.strip().upper().removesuffix("IB").removesuffix("B")
    unit = raw[-1:] if raw[-1:] in _UNITS and raw[-1:] else ""
    number = raw[: len(raw) - len(unit)]
    try:
        value = int(float(number) * _UNITS[unit]) if number else 0
    except (ValueError, OverflowError):
        raise argparse.ArgumentTypeError(f"not a number of bytes: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be a positive number of bytes")
    return value


def timeout_seconds(text: str) -> float:
    """``--timeout``: seconds, positive and finite."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 < value < float("inf"):  # also refuses NaN
        raise argparse.ArgumentTypeError("must be a positive number of seconds")
    return value


def add_results_arguments(
    batches_subparsers: Any, connection_flags: Callable[[argparse.ArgumentParser], None]
) -> argparse.ArgumentParser:
    """Register ``results`` under ``batches``; ``connection_flags`` adds the shared flags."""
    parser: argparse.ArgumentParser = batches_subparsers.add_parser(
        "results",
        help="summarise an ended batch's results; export what to resubmit",
        description="Stream an ended batch's results through the gateway and summarise them: "
        "counts per result type against the batch's counts, errors by code, what is missing.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    connection_flags(parser)
    parser.add_argument("batch_id", metavar="ID", help="the batch id")
    parser.add_argument("--provider", required=True, metavar="P", help="the batch's provider")
    parser.add_argument(
        "--json", action="store_true", help='the summary as {"version": 1, "summary": {...}}'
    )
    parser.add_argument(
        "--export",
        type=Path,
        metavar="DIR",
        help="write resubmit.jsonl (ids to resubmit, not the original requests: their "
        "parameters are not readable through the gateway) and summary.json into DIR "
        "(absent or empty)",
    )
    parser.add_argument(
        "--only",
        type=result_types,
        metavar="TYPES",
        help="with --export: the result types to resubmit, comma-separated "
        "(default errored,canceled,expired)",
    )
    parser.add_argument(
        "--include-output",
        action="store_true",
        help="with --export: also write succeeded requests' output (it may hold customer "
        "data; by default nothing of a succeeded message is written)",
    )
    parser.add_argument(
        "--max-bytes",
        type=byte_count,
        metavar="N",
        default=None,
        help="stop reading after N bytes (K, M, G suffixes; default 2G): the summary is partial",
    )
    parser.add_argument(
        "--timeout",
        type=timeout_seconds,
        metavar="S",
        default=None,
        help="give up after S seconds in all (default 1800; the first byte within 600)",
    )
    return parser


# --------------------------------------------------------------------------- the command


def _size(count: int) -> str:
    """``12.3 MB``: a byte count for the progress line."""
    value = float(count)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"  # pragma: no cover - the loop always returns


def _refuse(message: str, as_json: bool, **fields: Any) -> int:
    """A local refusal: exit 5, said (with ``--json`` also as the error envelope)."""
    if as_json:
        emit_envelope({"error": {"kind": "refused locally", "message": message, **fields}})
    error(message)
    return EXIT_LOCAL_REFUSAL


def _usage(message: str, as_json: bool) -> int:
    if as_json:
        emit_envelope({"error": {"kind": "usage", "message": message}})
    error(message)
    return EXIT_USAGE


def _usable_export(directory: Path) -> bool:
    """A first look before anything is sent: DIR is absent or an empty directory (the export
    checks again, without following symlinks, when it creates its files)."""
    try:
        if not directory.is_dir():
            return not directory.exists() and not directory.is_symlink()
        return not any(directory.iterdir())
    except OSError:
        return False


def _is_local_refusal(exc: GatewayError) -> bool:
    """The reader refused without asking the gateway (results of this provider unreadable)."""
    from bifrost_tui.gateway.batch_results import ResultsUnsupported

    return isinstance(exc, ResultsUnsupported)


async def cmd_results(args: argparse.Namespace, conn: Connection) -> int:
    """Re-read the batch, stream its results into a summary (and an export), print it; the exit
    code says whether the summary is complete (see ``_EPILOG``)."""
    as_json = bool(args.json)
    if (args.only is not None or args.include_output) and args.export is None:
        return _usage("--only and --include-output go with --export DIR", as_json)
    if args.export is not None and not _usable_export(args.export):
        where = safe_text(str(args.export))
        return _usage(f"--export {where}: give a new or empty directory", as_json)
    caught: list[int] = []  # the signal that ended the command
    run = _ResultsRun(args, conn)
    signals = contextlib.ExitStack()
    current = asyncio.current_task()
    if current is not None:
        signals.enter_context(cancelling_on_signals(current, caught))
    try:
        return await run.run()
    except (KeyboardInterrupt, asyncio.CancelledError):
        signum = caught[0] if caught else None
        return run.interrupted(signal_exit_code(signum) if signum else EXIT_INTERRUPTED, signum)
    finally:
        signals.close()
        run.progress_clear()


class _ResultsRun:
    """One ``batches results`` run: its reader, summary and export, for the interrupt path too."""

    def __init__(self, args: argparse.Namespace, conn: Connection) -> None:
        from bifrost_tui.cli.progress import Progress

        self.args = args
        self.conn = conn
        self.as_json = bool(args.json)
        self.progress = Progress(enabled=not self.as_json)
        self.reader: ResultsReader | None = None
        self.summary: ResultsSummary | None = None
        self.export: ResubmitExport | None = None

    def progress_clear(self) -> None:
        self.progress.clear()

    def _on_progress(self, read: int, items: int) -> None:
        self.progress.update(f"reading results: {_size(read)}, {items} items")

    async def run(self) -> int:
        from bifrost_tui.audit.hook import redactor
        from bifrost_tui.core.results import ResultsSummary
        from bifrost_tui.gateway.batch_results import (
            DEFAULT_FIRST_BYTE_TIMEOUT,
            DEFAULT_MAX_BYTES,
            DEFAULT_TOTAL_TIMEOUT,
            ResultsReader,
        )

        args = self.args
        provider: str = args.provider
        batch_id: str = args.batch_id
        async with self.conn.client() as client:
            try:
                batch = await client.get_batch(provider, batch_id)
            except GatewayError as exc:
                return report_error(exc, self.as_json)
            if not batch.state.terminal:
                return _refuse(
                    f"batch {batch_id} on {provider} is {batch.processing_status}: "
                    "results exist once the batch has ended; nothing else was sent",
                    self.as_json,
                    status=batch.processing_status,
                    state=batch.state.value,
                )
            total = args.timeout if args.timeout is not None else DEFAULT_TOTAL_TIMEOUT
            self.reader = reader = ResultsReader(
                client,
                provider,
                batch_id,
                provider_kind=batch.provider_kind or None,
                max_bytes=args.max_bytes if args.max_bytes is not None else DEFAULT_MAX_BYTES,
                first_byte_timeout=min(DEFAULT_FIRST_BYTE_TIMEOUT, total),
                total_timeout=total,
                include_output=bool(args.include_output),
                on_progress=self._on_progress,
            )
            self.summary = summary = ResultsSummary(
                provider=provider,
                batch_id=batch_id,
                expected=batch.request_counts,
                redact=redactor(self.conn),
            )
            items = reader.items()
            assert isinstance(items, AsyncGenerator)  # closed as soon as the command stops
            async with contextlib.aclosing(items):
                try:
                    # The first item (or the refusal) comes before the export is opened: a
                    # refused read never leaves an export directory behind.
                    first = await anext(items, None)
                    if args.export is not None:
                        opened = self._open_export()
                        if opened is not None:
                            return opened
                    if first is not None:
                        self._add(first)
                        async for item in items:
                            self._add(item)
                except GatewayError as exc:
                    return self._stopped_by_error(exc)
                except OSError as exc:  # the export could not be written
                    return self._stopped_by_export(exc)
        summary.finish(reader.meta)
        if self.export is not None:
            try:
                self.export.close(summary)
            except OSError as exc:
                return self._stopped_by_export(exc, finished=True)
        self._print()
        return EXIT_PARTIAL if summary.partial else EXIT_OK

    def _add(self, item: ResultItem) -> None:
        assert self.summary is not None
        self.summary.add(item)
        if self.export is not None:
            self.export.write(item)

    def _open_export(self) -> int | None:
        """Open ``--export DIR`` (``None``), or refuse it (the exit code, said)."""
        from bifrost_tui.audit.hook import redactor
        from bifrost_tui.core.results import RESUBMIT_DEFAULT, ExportRefused, ResubmitExport

        args = self.args
        export = ResubmitExport(
            args.export,
            only=args.only if args.only is not None else RESUBMIT_DEFAULT,
            include_output=bool(args.include_output),
            redact=redactor(self.conn),
        )
        try:
            export.open()
        except ExportRefused as exc:
            return _usage(f"--export: {exc}", self.as_json)
        except OSError as exc:
            where = safe_text(str(args.export))
            return _usage(f"--export {where}: {_reason(exc)}", self.as_json)
        self.export = export
        return None

    def _print(self, extra: dict[str, Any] | None = None) -> None:
        """The summary on stdout (``--json``: the versioned object); where the export went."""
        summary = self.summary
        assert summary is not None
        self.progress.clear()
        if self.as_json:
            emit_document({**summary.to_json(), **(extra or {})})
        else:
            for line in summary.lines():
                print(line)
        if self.export is not None:
            where = safe_text(str(self.args.export))
            lines = self.export.written
            print(
                f"exported to {where}: resubmit.jsonl ({lines} line{'' if lines == 1 else 's'}), "
                "summary.json",
                file=sys.stderr,
            )

    def _mark(self, reason: str) -> None:
        """The summary is final as it stands, partial for ``reason``; the export closed with it."""
        summary = self.summary
        assert summary is not None and self.reader is not None
        summary.finish(self.reader.meta)
        summary.partial = True
        summary.reasons.append(reason)
        if self.export is not None:
            export, self.export = self.export, None
            try:
                export.close(summary)
            except OSError as exc:
                error(f"the export could not be closed: {_reason(exc)}")
            else:
                self.export = export

    def _stopped_by_error(self, exc: GatewayError) -> int:
        if _is_local_refusal(exc):
            return _refuse(exc.message, self.as_json)
        reader = self.reader
        if reader is None or (reader.meta.items_read == 0 and self.export is None):
            return report_error(exc, self.as_json)
        # Items were read: what they say is kept, marked as stopped, and the error is the code.
        self._mark(f"stopped: {exc.describe()}")
        self._print({"error": _error_fields(exc)})
        error(exc.describe())
        return exit_code_for_error(exc)

    def _stopped_by_export(self, exc: OSError, *, finished: bool = False) -> int:
        self.export = None  # what it holds is what was written; no summary.json can follow
        error(f"the export could not be written: {_reason(exc)}")
        if not finished and self.summary is not None and self.reader is not None:
            self.summary.finish(self.reader.meta)
        self._print()
        return EXIT_USAGE

    def interrupted(self, code: int, signum: int | None) -> int:
        """Ctrl-C, SIGTERM or SIGHUP: an export already open is closed as partial; said."""
        import signal as signal_module

        name = signal_module.Signals(signum).name if signum else "SIGINT"
        self.progress.clear()
        with contextlib.suppress(OSError):  # after a SIGHUP the terminal may be gone
            if self.summary is not None and self.reader is not None and self.export is not None:
                self._mark(f"interrupted ({name}) while reading")
                where = safe_text(str(self.args.export))
                error(f"interrupted ({name}): the export in {where} is partial")
            else:
                error(f"interrupted ({name})")
        if self.as_json:
            with contextlib.suppress(OSError):
                emit_envelope({"error": {"kind": "interrupted", "signal": name}})
        return code


def _error_fields(exc: GatewayError) -> dict[str, Any]:
    return {
        "kind": exc.kind,
        "status": exc.status,
        "type": exc.error_type,
        "message": exc.message,
        "request_id": exc.request_id,
    }


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc)


__all__ = ["add_results_arguments", "cmd_results"]
