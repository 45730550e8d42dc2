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
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from bifrost_tui.cli.exitcodes import (
    EXIT_GATEWAY_REFUSED,
    EXIT_LOCAL_REFUSAL,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_USAGE,
    exit_code_for_error,
)
from bifrost_tui.cli.output import emit_line, error, report_cancel, report_refusal, warn
from bifrost_tui.core.bulk import (
    DEFAULT_CONCURRENCY,
    ItemOutcome,
    ItemResult,
    Selection,
    confirm_word,
    needs_typed_confirmation,
    run_bulk,
    select,
)
from bifrost_tui.core.store import Key
from bifrost_tui.formatting import STATE_LABELS, counts_text, relative
from bifrost_tui.gateway.errors import GatewayError, NotFound
from bifrost_tui.gateway.models import Batch, ProviderInfo
from bifrost_tui.gateway.outcomes import ListingStatus
from bifrost_tui.textsafe import safe_text

if TYPE_CHECKING:
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
    parser.add_argument("--json", action="store_true", help="JSON (one object per line for bulk)")


# --------------------------------------------------------------------------- selection


def _read_ids_file(path: str, provider: str | None) -> list[Key]:
    """Keys from a ``--dry-run --json`` output, or lines of ``provider id`` / ``id``."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise CancelAbort(f"cannot read {path}: {exc.strerror}", EXIT_USAGE) from None
    stripped = text.strip()
    keys: list[Key] = []
    if stripped.startswith("{"):
        try:
            data = json.loads(stripped)
            for item in data["batches"]:
                keys.append((str(item["provider"]), str(item["id"])))
        except (ValueError, KeyError, TypeError):
            raise CancelAbort(
                f"{path}: not a `batches cancel --dry-run --json` output", EXIT_USAGE
            ) from None
        return keys
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
    names = args.provider or conn.providers
    if names:
        providers = [ProviderInfo(name=n, kind=n, batch_capable=True) for n in names]
    else:
        discovery = await client.discover_providers(None)
        providers = [p for p in discovery.providers if p.batch_capable]
    listings = await client.list_all(providers, deep=True)
    warnings: list[str] = []
    incomplete = [x for x in listings if x.status is not ListingStatus.COMPLETE]
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


async def _select_ids(keys: list[Key], client: GatewayClient) -> tuple[Selection, list[ItemResult]]:
    """Explicit ids: read each one first (state before; unknown ids never get a cancel)."""

    async def read(key: Key) -> Batch | GatewayError:
        try:
            return await client.get_batch(key[0], key[1])
        except GatewayError as exc:
            return exc

    unique = list(dict.fromkeys(keys))  # each key once, in the order given
    found: list[Batch] = []
    failed: list[ItemResult] = []
    for key, got in zip(unique, await asyncio.gather(*(read(k) for k in unique)), strict=True):
        if isinstance(got, Batch):
            found.append(got)
        else:
            outcome = ItemOutcome.REFUSED if isinstance(got, NotFound) else ItemOutcome.NOT_SENT
            failed.append(ItemResult(key, outcome, None, reason=got.describe()))
    return Selection([b.key for b in found], found), failed


# --------------------------------------------------------------------------- the command


async def cmd_cancel(args: argparse.Namespace, conn: Connection) -> int:
    bulk = bool(args.all_active or args.ids_from or len(args.batch_ids) > 1)
    try:
        return await _cancel(args, conn, bulk)
    except CancelAbort as exc:
        report_refusal(str(exc), args.json)
        return exc.code


async def _cancel(args: argparse.Namespace, conn: Connection, bulk: bool) -> int:
    provider = args.provider[0] if args.provider else None
    if args.all_active and (args.batch_ids or args.ids_from):
        raise CancelAbort("--all-active selects by itself: give no ids with it", EXIT_USAGE)
    if not (args.all_active or args.ids_from or args.batch_ids):
        raise CancelAbort("name batch ids, --ids-from FILE, or --all-active", EXIT_USAGE)
    if args.batch_ids and (provider is None or len(args.provider) > 1):
        raise CancelAbort("batch ids need exactly one --provider", EXIT_USAGE)
    if conn.read_only and not args.dry_run:
        why = "the profile is read-only" if conn.profile_read_only else "--read-only is set"
        _audit_refusal(conn, args, why)
        raise CancelAbort(f"not cancelling: {why}", EXIT_LOCAL_REFUSAL)
    if args.concurrency is not None and not 1 <= args.concurrency <= 64:
        raise CancelAbort("--concurrency must be between 1 and 64", EXIT_USAGE)

    async with conn.client() as client:
        warnings: list[str] = []
        failed: list[ItemResult] = []
        if args.all_active:
            selection, warnings = await _select_listed(args, conn, client)
        else:
            keys = [(provider, i) for i in args.batch_ids] if provider else []
            if args.ids_from:
                keys += _read_ids_file(args.ids_from, provider)
            selection, failed = await _select_ids(keys, client)
            if not bulk and failed:
                item = failed[0]
                error(item.reason or "cannot read the batch")
                return EXIT_GATEWAY_REFUSED if item.outcome == ItemOutcome.REFUSED else 3
        for warning in warnings:
            warn(warning)
        if not bulk:
            return await _cancel_one(args, conn, client, selection.batches[0])

        count = len(selection.keys)
        if args.expect_count is not None and count != args.expect_count:
            raise CancelAbort(
                f"selection has {count} batch(es), --expect-count says {args.expect_count}: "
                "nothing sent (review the selection again with --dry-run)",
                EXIT_LOCAL_REFUSAL,
            )
        if args.dry_run:
            _print_selection(selection, conn, args.json, dry_run=True, failed=failed)
            return EXIT_OK
        if count == 0:
            _print_selection(selection, conn, args.json, dry_run=False, failed=failed)
            print("nothing to cancel", file=sys.stderr)
            return EXIT_PARTIAL if failed else EXIT_OK
        if not args.yes:
            if not _interactive():
                raise CancelAbort(
                    "refusing to cancel without a terminal to confirm on; pass --yes", EXIT_USAGE
                )
            _print_selection(selection, conn, False, dry_run=False, failed=failed)
            if not _confirm_bulk(conn, count, bool(warnings)):
                print("not cancelled")
                return EXIT_LOCAL_REFUSAL
        return await _run(args, conn, client, selection, failed)


def _interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def _confirm_bulk(conn: Connection, count: int, partial: bool) -> bool:
    if partial:
        answer = input("Some listings are incomplete; batches may be missed. Go on? [no]: ")
        if answer.strip().lower() not in ("y", "yes"):
            return False
    if needs_typed_confirmation(count, conn.confirm):
        word = confirm_word(conn.profile_name, conn.display_url)
        answer = input(f"Cancel {count} batches? Type {safe_text(word)!r} to confirm: ")
        return answer.strip() == word
    answer = input(f"Cancel {count} batches? Type 'yes' to cancel [no]: ")
    return answer.strip().lower() in ("y", "yes")


def _print_selection(
    selection: Selection,
    conn: Connection,
    as_json: bool,
    *,
    dry_run: bool,
    failed: list[ItemResult],
) -> None:
    if as_json:
        emit_line(
            {
                "dry_run": dry_run,
                "gateway": conn.display_url,
                "count": len(selection.keys),
                "per_provider": dict(selection.per_provider()),
                "excluded": selection.excluded,
                "unreadable": [
                    {"provider": i.key[0], "id": i.key[1], "error": i.reason} for i in failed
                ],
                "batches": [b.to_json() for b in selection.batches],
            }
        )
        return
    now = conn.clock.now()
    per = ", ".join(f"{n} on {safe_text(p)}" for p, n in sorted(selection.per_provider().items()))
    head = "would cancel" if dry_run else "will cancel"
    print(f"{head} {len(selection.keys)} batch(es){': ' + per if per else ''}")
    for batch in selection.batches if dry_run else selection.batches[:SHOW_FIRST]:
        print(
            f"  {safe_text(batch.provider)}  {safe_text(batch.id)}  "
            f"{safe_text(batch.processing_status)}  {counts_text(batch.request_counts)}  "
            f"created {relative(batch.created_at, now)}"
        )
    if not dry_run and len(selection.batches) > SHOW_FIRST:
        print(f"  … and {len(selection.batches) - SHOW_FIRST} more")
    for reason, n in sorted(selection.excluded.items()):
        print(f"  ({n} left out: {reason})")
    for item in failed:
        print(f"  cannot read {safe_text(item.key[1])}: {safe_text(item.reason or '')}")


async def _run(
    args: argparse.Namespace,
    conn: Connection,
    client: GatewayClient,
    selection: Selection,
    failed: list[ItemResult],
) -> int:
    known = {b.key: b for b in selection.batches}
    concurrency = args.concurrency or conn.bulk_concurrency or DEFAULT_CONCURRENCY
    audit = _audit_hook(conn, bulk=True)

    def report(item: ItemResult) -> None:
        audit(item)
        _print_item(item, args.json)

    for item in failed:
        report(item)
    summary = await run_bulk(
        selection.keys,
        cancel=lambda key: client.cancel_batch(key[0], key[1]),
        current=known.get,
        concurrency=concurrency,
        on_result=report,
    )
    summary.items[:0] = failed
    summary.total += len(failed)
    if args.json:
        emit_line({"summary": dict(summary.counts), "total": summary.total})
    else:
        print(summary.words())
        for item in summary.troubled:
            print(
                f"  {item.outcome}: {safe_text(item.key[0])} {safe_text(item.key[1])}: "
                f"{safe_text(item.message or '')}"
            )
    return EXIT_PARTIAL if summary.troubled else EXIT_OK


def _print_item(item: ItemResult, as_json: bool) -> None:
    batch = item.result.batch if item.result is not None else None
    if as_json:
        emit_line(
            {
                "provider": item.key[0],
                "batch_id": item.key[1],
                "outcome": item.outcome,
                "state_before": item.state_before.value if item.state_before else None,
                "http_status": item.result.http_status if item.result else None,
                "error": item.message,
                "batch": batch.to_json() if batch is not None else None,
            }
        )
        return
    now_state = f" → {safe_text(batch.processing_status)}" if batch is not None else ""
    why = f": {safe_text(item.message)}" if item.message and item.outcome != "accepted" else ""
    print(f"{item.outcome:<8} {safe_text(item.key[0])} {safe_text(item.key[1])}{now_state}{why}")


# --------------------------------------------------------------------------- one batch


async def _cancel_one(
    args: argparse.Namespace, conn: Connection, client: GatewayClient, before: Batch
) -> int:
    audit = _audit_hook(conn, bulk=False)
    if not before.cancellable:
        reason = (
            f"not cancelling: batch is {before.processing_status or 'of unknown status'} "
            f"({STATE_LABELS[before.state]}); only active batches can be cancelled"
        )
        report_refusal(reason, args.json, batch=before)
        return EXIT_LOCAL_REFUSAL
    if args.dry_run:
        _print_selection(
            Selection([before.key], [before]), conn, args.json, dry_run=True, failed=[]
        )
        return EXIT_OK
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
            f"created {relative(before.created_at, now)}"
        )
        if conn.confirm == "typed":
            word = confirm_word(conn.profile_name, conn.display_url)
            ok = input(f"Type {safe_text(word)!r} to cancel: ").strip() == word
        else:
            ok = input("Type 'yes' to cancel [no]: ").strip().lower() in ("y", "yes")
        if not ok:
            print("not cancelled")
            return EXIT_LOCAL_REFUSAL
    try:
        result = await client.cancel_batch(before.provider, before.id)
    except GatewayError as exc:
        audit(ItemResult(before.key, ItemOutcome.NOT_SENT, before.state, reason=exc.describe()))
        error(exc.describe())
        return exit_code_for_error(exc)
    audit(ItemResult(before.key, result.outcome.value, before.state, result=result))
    return report_cancel(result, args.json)


# --------------------------------------------------------------------------- audit


def _audit_hook(conn: Connection, *, bulk: bool) -> Callable[[ItemResult], None]:
    """Append one audit line per outcome; a failure is said on stderr, never stops the cancel."""
    from bifrost_tui.audit.hook import recorder

    return recorder(
        conn, source="cli", bulk=bulk, on_failure=lambda exc: error(f"audit log not written: {exc}")
    )


def _audit_refusal(conn: Connection, args: argparse.Namespace, why: str) -> None:
    provider = args.provider[0] if args.provider else "*"
    record = _audit_hook(conn, bulk=False)
    for batch_id in args.batch_ids or ["*"]:
        record(ItemResult((provider, batch_id), ItemOutcome.NOT_SENT, None, reason=why))


__all__ = ["add_cancel_arguments", "cmd_cancel"]
