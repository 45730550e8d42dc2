"""The send phase of ``batches cancel``, one batch or many: write-ahead audit, signals, output.

An intent line is written before each cancel leaves and its outcome after. Ctrl-C, SIGTERM or
SIGHUP stop the sending, wait up to ``--grace`` for the cancels in flight (a second signal stops
waiting; the unanswered read ``unknown``), and every batch of the run still gets its line before
the summary and the signal's exit code. The record comes first: output that can no longer be
written (a lost terminal) is dropped, never the audit.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from typing import TYPE_CHECKING

from bifrost_tui.cli.output import CancelReport, error, print_cancel
from bifrost_tui.cli.progress import Progress
from bifrost_tui.cli.signals import Output, raising_handlers, signal_exit_code
from bifrost_tui.core.bulk import (
    DEFAULT_CONCURRENCY,
    BulkSummary,
    ItemOutcome,
    ItemResult,
    Selection,
    run_bulk,
)
from bifrost_tui.core.interrupt import DEFAULT_GRACE, Interrupt, signal_name, signals_routed_to
from bifrost_tui.core.store import Key
from bifrost_tui.gateway.errors import GatewayError
from bifrost_tui.textsafe import safe_text

if TYPE_CHECKING:
    from bifrost_tui.audit.hook import Attempt, AuditTrail
    from bifrost_tui.config.connection import Connection
    from bifrost_tui.gateway.client import GatewayClient
    from bifrost_tui.gateway.outcomes import CancelResult

#: A batch that could not be read before its cancel, and the error that said so.
Unreadable = tuple[ItemResult, GatewayError]


async def send_cancels(
    args: argparse.Namespace,
    conn: Connection,
    client: GatewayClient,
    selection: Selection,
    failed: list[Unreadable],
    report: CancelReport,
    trail: AuditTrail,
    out: Output,
    *,
    single: bool,
) -> int:
    """The send phase, one batch or many: an intent line before each cancel leaves, its outcome
    after. A signal stops the sending, waits up to ``--grace`` for the cancels in flight (a second
    one stops waiting), and every batch of the run still gets its line before the summary."""
    known = {b.key: b for b in selection.batches}
    concurrency = args.concurrency or conn.settings.bulk_concurrency or DEFAULT_CONCURRENCY
    # The error behind an item that never got a cancel result (the request never left).
    errors: dict[Key, GatewayError] = {}
    attempts: dict[Key, Attempt] = {}
    answered: set[Key] = set()
    interrupt = Interrupt(getattr(args, "grace", DEFAULT_GRACE))
    in_flight_at_signal: list[Key] = []
    # On a terminal, a bulk run counts its outcomes on a line of stderr (never with --json).
    progress = Progress(enabled=not single and not args.json)
    tally: Counter[str] = Counter()
    total = len(selection.keys) + len(failed)

    async def cancel(key: Key) -> CancelResult:
        batch = known.get(key)
        attempts[key] = trail.intent(key, batch.state if batch is not None else None)
        try:
            return await client.cancel_batch(key[0], key[1])
        except GatewayError as exc:
            errors[key] = exc
            raise

    def record(item: ItemResult, exc: GatewayError | None) -> None:
        answered.add(item.key)
        trail.outcome(item, attempts.get(item.key))  # the record first, then the output
        out(lambda: report.add(item, error=exc, batch=known.get(item.key)))
        if single:
            out(lambda: _print_one(item, exc, as_json=args.json))
        elif not args.json:
            out(lambda: progress.above(lambda: _print_item(item)))
        tally[item.outcome] += 1
        out(lambda: progress.update(_progress_words(tally, total)))

    def on_signal(signum: int) -> None:
        flying = [k for k in attempts if k not in answered]
        if interrupt.count == 1:
            in_flight_at_signal[:] = flying
            waiting = len(selection.keys) + len(failed) - len(answered) - len(flying)
            words = f"interrupted ({signal_name(signum)}): not sending the remaining {waiting}"
            if flying and interrupt.grace > 0:
                words += (
                    f"; waiting up to {interrupt.grace:g}s for the {len(flying)} in flight"
                    " — again to stop waiting"
                )
            elif flying:
                words += f"; not waiting for the {len(flying)} in flight (--grace 0)"
        else:
            words = (
                f"{signal_name(signum)} again: not waiting for the {len(flying)} in flight "
                "(they read unknown)"
            )
        out(
            lambda: progress.above(
                lambda: print(f"bifrost-tui: {words}", file=sys.stderr, flush=True)
            )
        )

    interrupt.on_request(on_signal)
    with raising_handlers(), signals_routed_to(interrupt):
        for item, exc in failed:
            record(item, exc)
        summary = await run_bulk(
            selection.keys,
            cancel=cancel,
            current=known.get,
            concurrency=1 if single else concurrency,
            on_result=lambda item: record(item, errors.get(item.key)),
            should_stop=lambda: interrupt.stopping,
            abandon=interrupt.abandon,
        )
    out(progress.clear)
    summary.items[:0] = [item for item, _ in failed]
    summary.total += len(failed)
    signum = interrupt.signum
    code = signal_exit_code(signum) if signum is not None else report.exit_code(single=single)
    if signum is not None:
        words = _interrupted_words(signum, summary, in_flight_at_signal)
        out(lambda: print(words, file=sys.stderr if args.json or single else sys.stdout))
    if not args.json and not single:
        out(lambda: _print_summary(summary))
    out(
        lambda: report.finish(
            code,
            selection=selection,
            interrupted_by=signal_name(signum) if signum is not None else None,
        )
    )
    return code


def _interrupted_words(signum: int, summary: BulkSummary, in_flight: list[Key]) -> str:
    """What was in flight when the signal came (and how it ended), and what was not sent."""
    flying = set(in_flight)
    ends = Counter(item.outcome for item in summary.items if item.key in flying)
    not_sent = sum(
        1
        for item in summary.items
        if item.outcome == ItemOutcome.NOT_SENT and item.key not in flying
    )
    how = ", ".join(f"{n} {outcome}" for outcome, n in sorted(ends.items()))
    return (
        f"interrupted ({signal_name(signum)}): {len(flying)} in flight when it came"
        f"{f' ({how})' if how else ''}, {not_sent} not sent"
    )


def _progress_words(tally: Counter[str], total: int) -> str:
    """``cancelling: 12/40 done (10 accepted, 1 refused, 0 unknown, 1 skipped)``."""
    done = sum(tally.values())
    counts = ", ".join(
        f"{tally[word]} {word}"
        for word in (ItemOutcome.ACCEPTED, ItemOutcome.REFUSED, ItemOutcome.UNKNOWN)
    )
    return f"cancelling: {done}/{total} done ({counts}, {tally[ItemOutcome.SKIPPED]} skipped)"


def _print_summary(summary: BulkSummary) -> None:
    print(summary.words())
    for item in summary.troubled:
        print(
            f"  {item.outcome}: {safe_text(item.key[0])} {safe_text(item.key[1])}: "
            f"{safe_text(item.message or '')}"
        )


def _print_one(item: ItemResult, exc: GatewayError | None, *, as_json: bool) -> None:
    """One batch's outcome as ``batches cancel ID`` always printed it."""
    if item.result is not None:
        if not as_json:
            print_cancel(item.result)
        return
    error(exc.describe() if exc is not None else item.message or item.outcome)


def _print_item(item: ItemResult) -> None:
    batch = item.result.batch if item.result is not None else None
    now_state = f" → {safe_text(batch.processing_status)}" if batch is not None else ""
    why = f": {safe_text(item.message)}" if item.message and item.outcome != "accepted" else ""
    print(f"{item.outcome:<8} {safe_text(item.key[0])} {safe_text(item.key[1])}{now_state}{why}")


__all__ = ["Unreadable", "send_cancels"]
