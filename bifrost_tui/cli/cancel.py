"""``bifrost-tui batches cancel``: one batch, several ids, or every active batch that matches.

What runs is what was reviewed: ``--dry-run --json`` prints the exact selection, ``--ids-from``
feeds it back, and ``--expect-count`` aborts if the live selection differs. A cancel is never
retried; every batch ends with one outcome, printed (and audited) as it arrives.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bifrost_tui.cli.cancel_send import Unreadable, send_cancels
from bifrost_tui.cli.exitcodes import (
    EXIT_GATEWAY_REFUSED,
    EXIT_LOCAL_REFUSAL,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_USAGE,
    exit_code_for_error,
)
from bifrost_tui.cli.output import CancelReport, error, warn
from bifrost_tui.cli.signals import (
    Output,
    Signalled,
    mark_reported,
    raised_by_signal,
    raising_handlers,
    signal_exit_code,
    signum_of,
)
from bifrost_tui.core.bulk import (
    SKIP_CANCELING,
    ItemOutcome,
    ItemResult,
    Selection,
    confirm_word,
    needs_typed_confirmation,
    select,
    skip_reason,
)
from bifrost_tui.core.interrupt import signal_name
from bifrost_tui.core.store import Key
from bifrost_tui.formatting import STATE_LABELS, ago, counts_text
from bifrost_tui.gateway.errors import GatewayError, NotFound
from bifrost_tui.gateway.models import Batch, State
from bifrost_tui.gateway.outcomes import ListingStatus
from bifrost_tui.textsafe import safe_text

if TYPE_CHECKING:
    from bifrost_tui.audit.hook import AuditTrail
    from bifrost_tui.config.connection import Connection
    from bifrost_tui.gateway.client import GatewayClient

SHOW_FIRST = 10


class CancelAbort(Exception):
    """Stop before sending anything: message and exit code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def add_cancel_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("batch_ids", metavar="ID", nargs="*", help="batch ids to cancel")
    parser.add_argument(
        "--provider",
        action="append",
        metavar="P",
        help="provider of the ids (one), or providers for --all-active (repeatable)",
    )
    parser.add_argument(
        "--all-active", action="store_true", help="every cancellable batch that matches"
    )
    parser.add_argument(
        "--older-than", metavar="DURATION", help="only batches created longer ago (30m, 2h, 1d)"
    )
    parser.add_argument(
        "--filter", metavar="TEXT", default="", help="what / matches in the console"
    )
    parser.add_argument("--ids-from", metavar="FILE", help="ids from a --dry-run --json file")
    parser.add_argument(
        "--expect-count", type=int, metavar="N", help="abort unless exactly N batches are selected"
    )
    parser.add_argument(
        "--allow-partial",
        action="store_true",
        help="go on although a provider's listing is incomplete (some batches may be missed)",
    )
    parser.add_argument("--dry-run", action="store_true", help="show the selection, send nothing")
    parser.add_argument(
        "--concurrency", type=int, default=None, metavar="N", help="cancels in flight at once"
    )
    parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    from bifrost_tui.cli.parser import add_grace_argument

    add_grace_argument(parser, default=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help="JSON (one object per line for bulk)")


# --------------------------------------------------------------------------- selection


def _read_ids_file(path: str, provider: str | None) -> list[Key]:
    """Keys from a ``--dry-run --json`` output, or lines of ``provider id`` / ``id``."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise CancelAbort(f"cannot read {path}: {exc.strerror}", EXIT_USAGE) from None
    except UnicodeDecodeError as exc:
        raise CancelAbort(
            f"{path}: not UTF-8 text (byte {exc.start}); nothing sent", EXIT_USAGE
        ) from None
    stripped = text.strip()
    keys: list[Key] = []
    if stripped.startswith("{"):
        try:
            return _dry_run_keys(stripped)
        except (ValueError, KeyError, TypeError, AttributeError):
            raise CancelAbort(
                f"{path}: not a `batches cancel --dry-run --json` output", EXIT_USAGE
            ) from None
    for number, line in enumerate(stripped.splitlines(), 1):
        parts = line.split()
        if not parts or parts[0].startswith("#"):
            continue
        if len(parts) == 2:
            keys.append((parts[0], parts[1]))
        elif len(parts) == 1 and provider:
            keys.append((provider, parts[0]))
        else:
            raise CancelAbort(f"{path}:{number}: expected 'PROVIDER ID' or 'ID'", EXIT_USAGE)
    return keys


def _dry_run_keys(text: str) -> list[Key]:
    """The batches a dry run would cancel: its ``cancel`` lines that were selected (not the ids it
    could not read). An older dry run's single ``{"batches": [...]}`` document is read too."""
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    if len(lines) == 1 and "batches" in lines[0]:
        return [(str(b["provider"]), str(b["id"])) for b in lines[0]["batches"]]
    if not any(line.get("summary", {}).get("dry_run") is True for line in lines):
        raise ValueError("no dry-run summary")
    return [
        (str(c["provider"]), str(c["batch_id"]))
        for c in (line["cancel"] for line in lines if "cancel" in line)
        if c["dry_run"] is True and c["outcome"] == ItemOutcome.NOT_SENT and c["error"] is None
    ]


async def _select_listed(
    args: argparse.Namespace, conn: Connection, client: GatewayClient
) -> tuple[Selection, list[str]]:
    """``--all-active``: list the providers deeply, then select like the console's ``a``."""
    from bifrost_tui.formatting import parse_duration

    older = None
    if args.older_than:
        try:
            older = parse_duration(args.older_than)
        except ValueError as exc:
            raise CancelAbort(str(exc), EXIT_USAGE) from None
    names = args.provider or conn.settings.providers
    from bifrost_tui.cli.progress import Progress, survey_counted

    progress = Progress(enabled=not args.json)
    found = await survey_counted(
        client,
        deep=True,
        progress=progress,
        named=names,
        listing=conn.settings.listing,
    )
    if found.error is not None:
        raise found.error
    listings = found.listings
    warnings: list[str] = []
    failed = [x for x in listings if x.status is ListingStatus.ERROR]
    if listings and len(failed) == len(listings):
        # Nothing could be listed: the shared cause's code, as ``batches list`` says it.
        codes = {exit_code_for_error(x.error) for x in failed if x.error is not None}
        raise CancelAbort(
            "nothing listed: "
            + "; ".join(
                f"{x.provider}: {x.error.describe() if x.error else 'error'}" for x in failed
            ),
            codes.pop() if len(codes) == 1 else EXIT_PARTIAL,
        )
    named = [x for x in listings if x.status is ListingStatus.UNSUPPORTED and args.provider]
    if named:
        raise CancelAbort(
            "; ".join(
                f"{x.provider}: cannot list batches: {x.reason or 'unsupported'}" for x in named
            ),
            EXIT_GATEWAY_REFUSED,
        )
    incomplete = [x for x in listings if x.status in (ListingStatus.PARTIAL, ListingStatus.ERROR)]
    for listing in incomplete:
        why = listing.missing or (listing.error.describe() if listing.error else "incomplete")
        warnings.append(f"{listing.provider}: listing {listing.status.value}: {why}")
    if incomplete and not args.allow_partial:
        raise CancelAbort(
            "refusing a bulk cancel on an incomplete listing (some matching batches may be "
            "missing): " + "; ".join(warnings) + " — pass --allow-partial to go on anyway",
            EXIT_LOCAL_REFUSAL,
        )
    batches = [b for x in listings for b in x.batches]
    selection = select(batches, now=conn.clock.now(), older_than=older, text=args.filter)
    return selection, warnings


async def _select_ids(keys: list[Key], client: GatewayClient) -> tuple[Selection, list[Unreadable]]:
    """Explicit ids: read each one first (state before; unknown ids never get a cancel)."""

    async def read(key: Key) -> Batch | GatewayError:
        try:
            return await client.get_batch(key[0], key[1])
        except GatewayError as exc:
            return exc

    unique = list(dict.fromkeys(keys))  # each key once, in the order given
    found: list[Batch] = []
    failed: list[Unreadable] = []
    for key, got in zip(unique, await asyncio.gather(*(read(k) for k in unique)), strict=True):
        if isinstance(got, Batch):
            found.append(got)
        else:
            outcome = ItemOutcome.REFUSED if isinstance(got, NotFound) else ItemOutcome.NOT_SENT
            failed.append((ItemResult(key, outcome, None, reason=got.describe()), got))
    return Selection([b.key for b in found], found), failed


# --------------------------------------------------------------------------- the command


async def cmd_cancel(args: argparse.Namespace, conn: Connection) -> int:
    bulk = bool(args.all_active or args.ids_from or len(args.batch_ids) > 1)
    report = CancelReport(args.json, gateway=conn.display_url, dry_run=args.dry_run)
    out = Output()
    try:
        # Until the cancels are sent (listing, reading, the prompt) a signal ends the command
        # with nothing sent; while they are in flight ``send_cancels`` takes them.
        with raising_handlers():
            return await _cancel(args, conn, bulk, report, out)
    except (KeyboardInterrupt, Signalled) as exc:
        return _interrupted_before_sending(exc, report, out)
    except asyncio.CancelledError:
        # A signal raised out of the event loop's wait: ``asyncio.run`` cancels this on its way
        # out (and exits with the signal's code); say so, with the summary, before it does.
        raised = raised_by_signal()
        if raised is not None:
            _interrupted_before_sending(raised, report, out)
        raise
    except CancelAbort as exc:
        error(str(exc))
        return report.finish(exc.code, message=str(exc))
    except GatewayError as exc:  # discovering the providers to list failed
        error(exc.describe())
        return report.finish(exit_code_for_error(exc), message=exc.describe())


def _interrupted_before_sending(exc: BaseException, report: CancelReport, out: Output) -> int:
    signum = signum_of(exc)
    message = f"interrupted ({signal_name(signum)}) before any cancel was sent: nothing sent"
    code = signal_exit_code(signum)
    mark_reported(exc)
    out(lambda: error(message))
    out(lambda: report.finish(code, message=message, interrupted_by=signal_name(signum)))
    return code


async def _cancel(
    args: argparse.Namespace, conn: Connection, bulk: bool, report: CancelReport, out: Output
) -> int:
    provider = args.provider[0] if args.provider else None
    if args.all_active and (args.batch_ids or args.ids_from):
        raise CancelAbort("--all-active selects by itself: give no ids with it", EXIT_USAGE)
    if not (args.all_active or args.ids_from or args.batch_ids):
        raise CancelAbort("name batch ids, --ids-from FILE, or --all-active", EXIT_USAGE)
    if args.batch_ids and (provider is None or len(args.provider) > 1):
        raise CancelAbort("batch ids need exactly one --provider", EXIT_USAGE)
    if conn.settings.read_only and not args.dry_run:
        why = conn.settings.read_only_source
        for item in _audit_refusal(conn, args, why):
            report.add(item)
        raise CancelAbort(f"not cancelling: {why}", EXIT_LOCAL_REFUSAL)
    if args.concurrency is not None and not 1 <= args.concurrency <= 64:
        raise CancelAbort("--concurrency must be between 1 and 64", EXIT_USAGE)
    trail = _trail(conn, bulk=bulk, out=out)

    async with conn.client() as client:
        warnings: list[str] = []
        failed: list[Unreadable] = []
        if args.all_active:
            selection, warnings = await _select_listed(args, conn, client)
        else:
            keys = [(provider, i) for i in args.batch_ids] if provider else []
            if args.ids_from:
                keys += _read_ids_file(args.ids_from, provider)
            selection, failed = await _select_ids(keys, client)
            if not bulk and failed:
                item, exc = failed[0]
                if not args.dry_run:
                    trail.outcome(item)  # a cancel whose pre-read failed still leaves its line
                error(item.reason or "cannot read the batch")
                report.add(item, error=exc)
                return report.finish(report.exit_code(single=True))
        for warning in warnings:
            warn(warning)
        if not bulk:
            return await _cancel_one(args, conn, client, selection.batches[0], report, trail, out)

        count = len(selection.keys)
        if args.expect_count is not None and count != args.expect_count:
            raise CancelAbort(
                f"selection has {count} batch(es), --expect-count says {args.expect_count}: "
                "nothing sent (review the selection again with --dry-run)",
                EXIT_LOCAL_REFUSAL,
            )
        if args.dry_run:
            _print_selection(selection, conn, report, dry_run=True, failed=failed)
            return report.finish(report.exit_code(single=False), selection=selection)
        if count == 0:
            for item, _ in failed:
                trail.outcome(item)
            _print_selection(selection, conn, report, dry_run=False, failed=failed)
            print("nothing to cancel", file=sys.stderr)
            return report.finish(report.exit_code(single=False), selection=selection)
        if not args.yes:
            if not _interactive():
                raise CancelAbort(
                    "refusing to cancel without a terminal to confirm on; pass --yes", EXIT_USAGE
                )
            _print_selection(selection, conn, None, dry_run=False, failed=failed)
            if not _confirm_bulk(conn, count, bool(warnings)):
                print("not cancelled", file=sys.stderr if args.json else sys.stdout)
                return report.finish(
                    EXIT_LOCAL_REFUSAL, selection=selection, message="not confirmed"
                )
        return await send_cancels(
            args, conn, client, selection, failed, report, trail, out, single=False
        )


def _interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def _confirm_bulk(conn: Connection, count: int, partial: bool) -> bool:
    """Each prompt accepts exactly what it asks to be typed (``yes``, or the typed word); any
    other answer, ``y`` included, is a no."""
    if partial:
        answer = input(
            "Some listings are incomplete; batches may be missed. Type 'yes' to go on [no]: "
        )
        if not _said_yes(answer):
            return False
    if needs_typed_confirmation(count, conn.settings.confirm):
        word = confirm_word(conn.profile_name, conn.display_url)
        answer = input(f"Cancel {count} batches? Type {safe_text(word)!r} to confirm: ")
        return answer.strip() == word
    answer = input(f"Cancel {count} batches? Type 'yes' to cancel [no]: ")
    return _said_yes(answer)


def _said_yes(answer: str) -> bool:
    """The answer to a "Type 'yes'" prompt: ``yes`` in any case, surrounding spaces ignored."""
    return answer.strip().lower() == "yes"


def _print_selection(
    selection: Selection,
    conn: Connection,
    report: CancelReport | None,
    *,
    dry_run: bool,
    failed: list[Unreadable],
) -> None:
    """The selection: as ``cancel`` lines (``--json``; a dry run's selected batches are
    ``not_sent``, what could not be read carries its error), or as a human list."""
    if report is not None and report.as_json:
        if dry_run:
            for batch in selection.batches:
                item = ItemResult(batch.key, ItemOutcome.NOT_SENT, batch.state)
                report.add(item, batch=batch, selected=True)
        for item, exc in failed:
            report.add(item, error=exc)
        return
    if report is not None:
        for item, exc in failed:
            report.add(item, error=exc)
    now = conn.clock.now()
    per = ", ".join(f"{n} on {safe_text(p)}" for p, n in sorted(selection.per_provider().items()))
    head = "would cancel" if dry_run else "will cancel"
    print(f"{head} {len(selection.keys)} batch(es){': ' + per if per else ''}")
    for batch in selection.batches if dry_run else selection.batches[:SHOW_FIRST]:
        print(
            f"  {safe_text(batch.provider)}  {safe_text(batch.id)}  "
            f"{safe_text(batch.processing_status)}  {counts_text(batch.request_counts)}  "
            f"created {ago(batch.created_at, now)}"
        )
    if not dry_run and len(selection.batches) > SHOW_FIRST:
        print(f"  … and {len(selection.batches) - SHOW_FIRST} more")
    for reason, n in sorted(selection.excluded.items()):
        print(f"  ({n} left out: {reason})")
    for item, _ in failed:
        print(f"  cannot read {safe_text(item.key[1])}: {safe_text(item.reason or '')}")


# --------------------------------------------------------------------------- one batch


async def _cancel_one(
    args: argparse.Namespace,
    conn: Connection,
    client: GatewayClient,
    before: Batch,
    report: CancelReport,
    trail: AuditTrail,
    out: Output,
) -> int:
    selection = Selection([before.key], [before])
    if before.state is State.CANCELING:
        # A re-run on a batch whose cancel already landed: nothing to send, said as in bulk.
        item = ItemResult(before.key, ItemOutcome.SKIPPED, before.state, reason=skip_reason(before))
        if not args.dry_run:
            trail.outcome(item)
        error(
            f"{SKIP_CANCELING}: {before.id} on {before.provider} is "
            f"{before.processing_status or 'canceling'}; nothing sent"
        )
        report.add(item, batch=before)
        return report.finish(report.exit_code(single=True), selection=selection)
    if not before.cancellable:
        reason = (
            f"not cancelling: batch is {before.processing_status or 'of unknown status'} "
            f"({STATE_LABELS[before.state]}); only active batches can be cancelled"
        )
        item = ItemResult(before.key, ItemOutcome.NOT_SENT, before.state, reason=reason)
        if not args.dry_run:
            trail.outcome(item)
        error(reason)
        report.add(item, batch=before)
        return report.finish(report.exit_code(single=True), selection=selection)
    if args.dry_run:
        _print_selection(selection, conn, report, dry_run=True, failed=[])
        return report.finish(EXIT_OK, selection=selection)
    if not args.yes:
        if not _interactive():
            raise CancelAbort(
                "refusing to cancel without a terminal to confirm on; pass --yes", EXIT_USAGE
            )
        now = conn.clock.now()
        print(
            f"Cancel batch {safe_text(before.id)} on {safe_text(before.provider)} via "
            f"{safe_text(conn.display_url)}?\n"
            f"  status {safe_text(before.processing_status)}, "
            f"requests {counts_text(before.request_counts)}, "
            f"created {ago(before.created_at, now)}"
        )
        if conn.settings.confirm == "typed":
            word = confirm_word(conn.profile_name, conn.display_url)
            ok = input(f"Type {safe_text(word)!r} to cancel: ").strip() == word
        else:
            ok = _said_yes(input("Type 'yes' to cancel [no]: "))
        if not ok:
            print("not cancelled", file=sys.stderr if args.json else sys.stdout)
            item = ItemResult(
                before.key, ItemOutcome.NOT_SENT, before.state, reason="not confirmed"
            )
            report.add(item, batch=before)
            return report.finish(report.exit_code(single=True), selection=selection)
    return await send_cancels(args, conn, client, selection, [], report, trail, out, single=True)


# --------------------------------------------------------------------------- audit


def _trail(conn: Connection, *, bulk: bool, out: Output) -> AuditTrail:
    """The run's audit: a failure is said on stderr (before the cancel leaves), never stops it."""
    from bifrost_tui.audit.hook import AuditTrail

    return AuditTrail(
        conn,
        source="cli",
        bulk=bulk,
        on_failure=lambda exc: out(lambda: error(f"{exc} (the record of this run has a gap)")),
    )


def _audit_refusal(conn: Connection, args: argparse.Namespace, why: str) -> list[ItemResult]:
    """Audit a read-only refusal; returns the named batches' ``not_sent`` items."""
    provider = args.provider[0] if args.provider else "*"
    trail = _trail(conn, bulk=False, out=Output())
    items: list[ItemResult] = []
    for batch_id in args.batch_ids or ["*"]:
        item = ItemResult((provider, batch_id), ItemOutcome.NOT_SENT, None, reason=why)
        trail.outcome(item)
        if batch_id != "*":
            items.append(item)
    return items


__all__ = ["add_cancel_arguments", "cmd_cancel"]
