"""``bifrost-tui batches watch``: print each watched batch's status changes until all have ended."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import AsyncGenerator, Callable, Sequence
from datetime import UTC
from typing import TYPE_CHECKING, Any, TextIO

from bifrost_tui.cli.exitcodes import (
    EXIT_GATEWAY_REFUSED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    exit_code_for_error,
)
from bifrost_tui.cli.output import emit_line, error, warn
from bifrost_tui.cli.signals import cancelling_on_signals, signal_exit_code
from bifrost_tui.core.watch import WatchEvent, ended_cleanly, watch_batches
from bifrost_tui.formatting import STATE_LABELS, counts_text
from bifrost_tui.gateway.models import State
from bifrost_tui.textsafe import safe_text

if TYPE_CHECKING:
    from bifrost_tui.config.connection import Connection
    from bifrost_tui.core.watch import Sleep
    from bifrost_tui.gateway.client import GatewayClient

BELL = "\a"
#: The shortest interval between two rounds of reads (the same floor as ``--refresh``).
MIN_INTERVAL = 1.0

_EPILOG = """\
exit codes: 0 every watched batch ended successfully, or canceled after the gateway reported a
cancel initiated (--strict: successfully only); 4 some ended otherwise (failed, expired, canceled
without a reported cancel) or vanished; 1 a batch was not found (or the gateway refused) at
start; 3 the gateway was unreachable at start; 2 usage; 130 interrupted (Ctrl-C), 143 SIGTERM,
129 SIGHUP. With --json every line is one JSON object: {"version": 1, "event": {...}} per change
and {"version": 1, "summary": {...}} last."""


def add_watch_arguments(
    batches_subparsers: Any, connection_flags: Callable[[argparse.ArgumentParser], None]
) -> argparse.ArgumentParser:
    """Register ``watch`` under ``batches``; ``connection_flags`` adds the shared flags."""
    parser: argparse.ArgumentParser = batches_subparsers.add_parser(
        "watch",
        help="print status changes until every watched batch ends",
        description="Re-read batches on an interval and print one line per status change until "
        "every one of them has ended.",
        epilog=_EPILOG,
    )
    connection_flags(parser)
    parser.add_argument("batch_ids", nargs="*", metavar="ID", help="batch ids to watch")
    parser.add_argument("--provider", required=True, metavar="P", help="the batches' provider")
    parser.add_argument(
        "--interval",
        type=float,
        metavar="SECONDS",
        default=None,
        help="seconds between reads (default: the profile's refresh, else 5)",
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument("--no-bell", action="store_true", help="no terminal bell when a batch ends")
    parser.add_argument(
        "--strict",
        action="store_true",
        help="exit 4 also when a batch ends canceled after a reported cancel (clean by default)",
    )
    parser.add_argument(
        "--all-active",
        action="store_true",
        help="also watch every batch of the provider that is active when the watch starts",
    )
    return parser


# --------------------------------------------------------------------------- output


def format_event(event: WatchEvent) -> str:
    """``12:03:04Z openai batch_x in_progress → canceling (CANCELING) 120 proc 30 ok 0 err``.

    Every gateway or operator string is escaped: an id can hold ANSI codes or a newline.
    """
    clock = event.time.astimezone(UTC).strftime("%H:%M:%SZ")
    head = f"{clock} {safe_text(event.provider)} {safe_text(event.batch_id)}"
    if event.kind == "gone":
        said = f" ({safe_text(event.error.message)})" if event.error and event.error.message else ""
        if event.before is None:
            return f"{head} not found{said}"
        return f"{head} {safe_text(event.before) or '?'} → not found: the batch vanished{said}"
    if event.kind == "error":
        why = event.error.describe() if event.error is not None else "read failed"
        return f"{head} read failed (retrying): {safe_text(why)}"
    status = safe_text(event.after) or "?"
    if event.before is not None and event.before != event.after:
        status = f"{safe_text(event.before) or '?'} → {status}"
    label = STATE_LABELS.get(_state(event.state), "UNKNOWN")
    counts = counts_text(event.batch.request_counts if event.batch else None, sep=" ")
    again = "reachable again: " if event.kind == "recovered" else ""
    return f"{head} {again}{status} ({label}) {counts}"


def _state(value: str) -> State:
    try:
        return State(value)
    except ValueError:
        return State.UNKNOWN


def _write_line(out: TextIO, line: str, *, bell: bool = False) -> None:
    out.write(line + "\n" + (BELL if bell else ""))
    out.flush()  # a second pane or a pipe sees each change as it happens


def _is_tty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # closed or not a real stream
        return False


def _usage(message: str) -> int:
    error(message)
    return EXIT_USAGE


# --------------------------------------------------------------------------- the command


async def _targets(
    client: GatewayClient, args: argparse.Namespace, ids: Sequence[str]
) -> list[tuple[str, str]] | int:
    """The batches to watch, or an exit code when the start-up listing failed."""
    from bifrost_tui.gateway.outcomes import ListingStatus

    targets = [(args.provider, i) for i in ids]
    if not args.all_active:
        return targets
    listing = await client.list_batches(args.provider)
    if listing.status is ListingStatus.ERROR:
        failure = listing.error
        why = failure.describe() if failure is not None else "listing failed"
        error(f"cannot list {args.provider}: {why}")
        return exit_code_for_error(failure) if failure is not None else EXIT_PARTIAL
    if listing.status is ListingStatus.PARTIAL:
        warn(
            f"{args.provider}: listing partial, some active batches may be "
            f"missing: {listing.missing or ''}"
        )
    from bifrost_tui.gateway.ids import unencodable

    known = set(targets)
    for batch in listing.batches:
        if batch.state in (State.ACTIVE, State.CANCELING) and batch.key not in known:
            known.add(batch.key)
            bad = unencodable(batch.id)
            if bad is not None:
                # It can never be read back; the others are watched all the same.
                warn(f"not watching {batch.id}: the batch id is not valid text ({bad})")
                continue
            targets.append(batch.key)
    return targets


def _start_failure_code(failures: Sequence[WatchEvent]) -> int:
    """Exit code when the first read of some batch failed: 2 if the gateway redirected, 3 if it
    could not be reached, else 1 (not found, or refused)."""
    codes = {
        exit_code_for_error(e.error) if e.error is not None else EXIT_GATEWAY_REFUSED
        for e in failures
    }
    if EXIT_USAGE in codes:
        return EXIT_USAGE
    return EXIT_UNREACHABLE if EXIT_UNREACHABLE in codes else EXIT_GATEWAY_REFUSED


def _final_code(
    targets: Sequence[tuple[str, str]],
    last: dict[tuple[str, str], WatchEvent],
    *,
    strict: bool = False,
) -> int:
    for key in targets:
        event = last.get(key)
        if event is None or not ended_cleanly(event, strict=strict):
            return EXIT_PARTIAL
    return EXIT_OK


def _summary(
    targets: Sequence[tuple[str, str]],
    last: dict[tuple[str, str], WatchEvent],
    *,
    code: int,
    interrupted: bool,
) -> tuple[str, dict[str, Any]]:
    """The closing human line and the ``summary`` JSON object."""
    tally: dict[str, int] = {}
    rows: list[dict[str, Any]] = []
    for provider, batch_id in targets:
        event = last.get((provider, batch_id))
        if event is None:
            word, state, status, ended = "NOT READ", State.UNKNOWN.value, None, False
        elif event.kind == "gone":
            word, state, status, ended = "NOT FOUND", State.UNKNOWN.value, None, True
        else:
            word = STATE_LABELS.get(_state(event.state), "UNKNOWN")
            state, status, ended = event.state, event.after, event.ended
        tally[word] = tally.get(word, 0) + 1
        rows.append(
            {
                "provider": provider,
                "batch_id": batch_id,
                "state": state,
                "processing_status": status,
                "ended": ended,
            }
        )
    parts = ", ".join(f"{n} {word}" for word, n in tally.items())
    noun = "batch" if len(targets) == 1 else "batches"
    lead = "interrupted" if interrupted else "summary"
    if targets:
        line = f"{lead}: {len(targets)} {noun} watched: {parts}"
    else:
        line = f"{lead}: nothing to watch"
    payload = {"exit_code": code, "interrupted": interrupted, "batches": rows}
    return line, payload


async def run_watch(
    args: argparse.Namespace,
    conn: Connection,
    *,
    stdout: TextIO | None = None,
    sleep: Sleep = asyncio.sleep,
) -> int:
    """Watch until every batch has ended; the exit code says how they ended (see ``_EPILOG``)."""
    out = stdout if stdout is not None else sys.stdout
    as_json = bool(args.json)
    ids = list(dict.fromkeys(args.batch_ids or []))
    if not ids and not args.all_active:
        return _usage("batches watch: give batch ids, or --all-active")
    interval = args.interval if args.interval is not None else conn.settings.refresh
    if not interval >= MIN_INTERVAL:  # also refuses NaN
        return _usage(f"--interval must be at least {MIN_INTERVAL:g} second")
    # The bell is for a person at a terminal: never into a pipe, a file or a JSON stream.
    bell = not args.no_bell and not as_json and _is_tty(out)

    targets: list[tuple[str, str]] = []
    last: dict[tuple[str, str], WatchEvent] = {}
    first_round: list[WatchEvent] = []
    start_failures: list[WatchEvent] = []
    interrupted = False
    caught: list[int] = []  # the signal that ended the watch: Ctrl-C, SIGTERM or SIGHUP
    signals = contextlib.ExitStack()
    current = asyncio.current_task()
    if current is not None:
        signals.enter_context(cancelling_on_signals(current, caught))
    try:
        async with conn.client() as client:
            found = await _targets(client, args, ids)
            if isinstance(found, int):
                return found
            targets = found
            if not as_json:
                noun = "batch" if len(targets) == 1 else "batches"
                print(
                    f"watching {len(targets)} {noun} on {safe_text(args.provider)} via "
                    f"{safe_text(conn.display_url)} every {interval:g}s (Ctrl-C to stop)",
                    file=sys.stderr,
                )
            events = watch_batches(
                client, targets, clock=conn.clock, interval=interval, sleep=sleep
            )
            # An async generator (typed by what it yields): closed as soon as the loop breaks.
            assert isinstance(events, AsyncGenerator)
            async with contextlib.aclosing(events):
                async for event in events:
                    if as_json:
                        emit_line({"event": event.to_json()}, out)
                    else:
                        _write_line(out, format_event(event), bell=bell and event.ended)
                    if event.kind != "error":
                        last[event.key] = event
                    if event.poll == 1:
                        # The first round has exactly one event per target.
                        first_round.append(event)
                        if event.kind in ("gone", "error"):
                            start_failures.append(event)
                        if len(first_round) == len(targets) and start_failures:
                            break
    except (KeyboardInterrupt, asyncio.CancelledError):
        # Ctrl-C: asyncio.run cancels this task; answering with a summary and 130 is the point of
        # a watch in a second pane, so the cancellation ends here. SIGTERM and SIGHUP alike.
        interrupted = True
    finally:
        signals.close()

    if interrupted:
        code = signal_exit_code(caught[0]) if caught else EXIT_INTERRUPTED
    elif start_failures:
        code = _start_failure_code(start_failures)
        noun = "batch" if len(start_failures) == 1 else "batches"
        error(f"not watching: {len(start_failures)} {noun} could not be read at start")
    else:
        code = _final_code(targets, last, strict=bool(getattr(args, "strict", False)))
    line, payload = _summary(targets, last, code=code, interrupted=interrupted)
    if as_json:
        emit_line({"summary": payload}, out)
    else:
        _write_line(out, line)
    return code


__all__ = ["add_watch_arguments", "format_event", "run_watch"]
