"""``bifrost-tui batches list`` and ``batches show``: a table, the details, CSV or JSON."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TextIO

from bifrost_tui.cli.exitcodes import (
    EXIT_GATEWAY_REFUSED,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_USAGE,
    exit_code_for_error,
)
from bifrost_tui.cli.output import emit_document, emit_envelope, report_error
from bifrost_tui.formatting import (
    STATE_LABELS,
    absolute_utc,
    ago,
    counts_text,
    field_relative,
    status_with_state,
    time_column,
)
from bifrost_tui.gateway.errors import GatewayError
from bifrost_tui.textsafe import safe_text

if TYPE_CHECKING:
    from bifrost_tui.config.connection import Connection
    from bifrost_tui.gateway.client import GatewayClient
    from bifrost_tui.gateway.models import Batch, ProviderInfo
    from bifrost_tui.gateway.outcomes import ProviderListing


# --------------------------------------------------------------------------- batches list


async def cmd_list(args: argparse.Namespace, conn: Connection) -> int:
    """List every provider's batches: a table, CSV or the JSON envelope; the exit code says
    whether every batch-capable provider listed completely.

    A management call that failed never leaves a provider out: when ``/api/providers`` fails,
    the configured (or standard) providers are tried, and a keys call that failed leaves its
    provider batch-capable; their batch routes answer for them.
    """
    from bifrost_tui.cli.progress import Progress, survey_counted

    async with conn.client() as client:
        # The first pages leave as soon as the providers are known: at once when they are named
        # (``--provider``, a profile's ``providers``), else right after ``/api/providers``.
        if args.provider:
            # The management API is still read beside them: their kinds, and their batch keys
            # for a complete listing through the passthrough prefix.
            how: dict[str, Any] = {"named": args.provider}
        else:
            named = conn.settings.providers
            how = {"named": named, "fallback": named, "fallback_on_failure": True}
        found = await survey_counted(
            client,
            deep=not args.first_page,
            progress=Progress(enabled=not args.json),
            listing=conn.settings.listing,
            **how,
        )
    if found.error is not None:
        return report_error(found.error, args.json)
    notes = [found.discovery.note] if found.discovery and found.discovery.note else []
    providers, listed = found.providers, found.listings
    listings = _in_provider_order(providers, listed)
    batches = [b for listing in listings for b in listing.batches]
    now = conn.clock.now()
    provider_rows = [listing.to_json() for listing in listings]
    if args.json:
        from bifrost_tui.core.export import batches_json

        emit_document(batches_json(batches, gateway=conn.display_url, providers=provider_rows))
    else:
        if args.csv:
            from bifrost_tui.core.export import write_csv

            write_csv(batches, sys.stdout)
        elif batches or _all_listed(listings):
            _print_batch_table(batches, now, sys.stdout)
        else:
            # Nothing listed because providers failed (a local refusal, an unreachable gateway):
            # "no batches" would be a false all-clear; stderr below says why.
            print(_nothing_listed(listings), file=sys.stderr)
        for listing in listings:
            detail = _listing_detail(listing)
            if detail is None:
                continue
            print(
                f"{safe_text(listing.provider)}: listing {listing.status.value}: "
                f"{safe_text(detail)}",
                file=sys.stderr,
            )
        for note in notes:
            print(f"note: {safe_text(note)}", file=sys.stderr)
    return _listing_exit_code(listings, named=args.provider or ())


def _in_provider_order(
    providers: Sequence[ProviderInfo], listed: Sequence[ProviderListing]
) -> list[ProviderListing]:
    """One listing per provider, in discovery order: those the management data marked as not
    batch-capable become ``unsupported`` listings naming the reason."""
    from bifrost_tui.gateway.outcomes import ProviderListing

    by_name = {x.provider: x for x in listed}
    return [
        by_name.get(p.name) or ProviderListing.unsupported(p.name, p.reason or "no batch support")
        for p in providers
    ]


def _all_listed(listings: Sequence[ProviderListing]) -> bool:
    """Every batch-capable provider listed completely: an empty table truly means no batches."""
    from bifrost_tui.gateway.outcomes import ListingStatus

    return all(x.status in (ListingStatus.COMPLETE, ListingStatus.UNSUPPORTED) for x in listings)


def _nothing_listed(listings: Sequence[ProviderListing]) -> str:
    """What an empty listing says when some providers could not be listed (never "no batches")."""
    from bifrost_tui.gateway.outcomes import ListingStatus

    capable = [x for x in listings if x.status is not ListingStatus.UNSUPPORTED]
    failed = [x for x in capable if x.status is ListingStatus.ERROR]
    if len(failed) == len(capable):
        return f"nothing listed: {len(failed)} of {len(capable)} providers could not be listed"
    complete = sum(x.status is ListingStatus.COMPLETE for x in capable)
    return (
        f"0 batches read, but only {complete} of {len(capable)} providers listed completely "
        "(batches may be missing)"
    )


def _listing_detail(listing: ProviderListing) -> str | None:
    """What stderr says about a listing that is not complete (``None`` for a complete one)."""
    from bifrost_tui.gateway.outcomes import ListingStatus

    if listing.status is ListingStatus.COMPLETE:
        return None
    if listing.status is ListingStatus.UNSUPPORTED:
        return listing.reason or "no batch support"
    return listing.missing or (listing.error.describe() if listing.error else "")


def _listing_exit_code(listings: Sequence[ProviderListing], *, named: Sequence[str] = ()) -> int:
    """0 only when every batch-capable provider listed completely. ``unsupported`` never counts,
    except for a provider named with ``--provider`` (1). Errors: 4 when another provider listed,
    else the shared cause's code (3 unreachable, 1 refused)."""
    from bifrost_tui.gateway.outcomes import ListingStatus

    if any(x.status is ListingStatus.UNSUPPORTED and x.provider in named for x in listings):
        return EXIT_GATEWAY_REFUSED
    capable = [x for x in listings if x.status is not ListingStatus.UNSUPPORTED]
    if not capable:
        return EXIT_OK
    errors = [x for x in capable if x.status is ListingStatus.ERROR]
    if len(errors) == len(capable):
        codes = {exit_code_for_error(x.error) for x in errors if x.error is not None}
        return codes.pop() if len(codes) == 1 else EXIT_PARTIAL
    if errors or any(x.status is ListingStatus.PARTIAL for x in capable):
        return EXIT_PARTIAL
    return EXIT_OK


def _print_batch_table(batches: Sequence[Batch], now: Any, out: TextIO) -> None:
    """A readable table that never truncates ids, also when piped."""
    header = ("PROVIDER", "ID", "STATUS", "STATE", "REQUESTS", "CREATED", "EXPIRES/ENDED")
    rows = [
        (
            safe_text(b.provider),
            safe_text(b.id),
            safe_text(b.processing_status),
            STATE_LABELS[b.state],
            counts_text(b.request_counts),
            ago(b.created_at, now),
            time_column(b, now),
        )
        for b in batches
    ]
    if not rows:
        print("no batches", file=out)
        return
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print(
            "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip(), file=out
        )


# --------------------------------------------------------------------------- batches show


#: At most this many providers are asked at once for a batch given without ``--provider``.
SHOW_CONCURRENCY = 8


async def cmd_show(args: argparse.Namespace, conn: Connection) -> int:
    """Read one batch and print its details (or the JSON envelope).

    Without ``--provider`` every configured batch provider whose kind fits the id's shape is asked
    at once (every batch-capable one for an id of no known shape): one hit is shown; none, or
    several, exit 2 naming the providers asked.
    """
    async with conn.client() as client:
        if args.provider:
            try:
                batch = await client.get_batch(args.provider, args.batch_id)
            except GatewayError as exc:
                return report_error(exc, args.json)
        else:
            found = await _find_batch(args, conn, client)
            if isinstance(found, int):
                return found
            batch = found
    if args.json:
        emit_envelope({"batch": batch.to_json()})
    else:
        _print_batch_detail(batch, conn.clock.now(), sys.stdout)
    return EXIT_OK


async def _find_batch(
    args: argparse.Namespace, conn: Connection, client: GatewayClient
) -> Batch | int:
    """The batch ``args.batch_id`` from the one provider that holds it, or an exit code (said)."""
    from bifrost_tui.gateway.errors import NotFound
    from bifrost_tui.gateway.ids import candidate_kinds

    batch_id: str = args.batch_id
    try:
        discovery = await client.discover_providers(
            conn.settings.providers, fallback_on_failure=True
        )
    except GatewayError as exc:
        return report_error(exc, args.json)
    kinds = candidate_kinds(batch_id)
    capable = [p for p in discovery.providers if p.batch_capable]
    candidates = [p for p in capable if kinds is None or p.kind in kinds]
    shape = " or ".join(kinds) if kinds is not None else "no known shape"
    if not candidates:
        return _show_refusal(
            args,
            f"no batch provider of this gateway fits the id {batch_id} ({shape})",
            [],
        )
    gate = asyncio.Semaphore(SHOW_CONCURRENCY)

    async def read(info: ProviderInfo) -> Batch | GatewayError:
        async with gate:
            try:
                return await client.get_batch(info.name, batch_id, kind=info.kind)
            except GatewayError as exc:
                return exc

    results = await asyncio.gather(*(read(p) for p in candidates))
    names = [p.name for p in candidates]
    hits = [r for r in results if not isinstance(r, GatewayError)]
    if len(hits) == 1:
        return hits[0]
    if hits:
        where = ", ".join(b.provider for b in hits)
        return _show_refusal(
            args,
            f"batch {batch_id} is on several providers ({where}); pass --provider",
            names,
        )
    failures = [
        (p.name, r)
        for p, r in zip(candidates, results, strict=True)
        if isinstance(r, GatewayError) and not isinstance(r, NotFound)
    ]
    asked = ", ".join(n for n in names)
    if failures and len(failures) == len(candidates):
        codes = {exit_code_for_error(err) for _, err in failures}
        if len(codes) == 1:
            # Nobody could be asked, for one shared reason (unreachable, refused): say that.
            return report_error(failures[0][1], args.json)
    why = "".join(f"; {n}: {err.describe()}" for n, err in failures)
    return _show_refusal(
        args, f"batch {batch_id} not found on {asked}{why}; pass --provider", names
    )


def _show_refusal(args: argparse.Namespace, message: str, providers: Sequence[str]) -> int:
    """``batches show ID`` could not tell which provider's batch to show: exit 2, said."""
    from bifrost_tui.cli.output import error

    if args.json:
        emit_envelope(
            {"error": {"kind": "usage", "message": message, "providers": list(providers)}}
        )
    error(message)
    return EXIT_USAGE


def _print_batch_detail(batch: Batch, now: Any, out: TextIO) -> None:
    lines = [
        ("id", safe_text(batch.id)),
        ("provider", safe_text(batch.provider)),
        ("status", status_with_state(safe_text(batch.processing_status), batch.state)),
        ("cancellable", "yes" if batch.cancellable else "no"),
        ("requests", counts_text(batch.request_counts)),
    ]
    if batch.not_run_or_failed is not None:
        lines.append(("not run or failed", f"{batch.not_run_or_failed} (errored: unknown)"))
    for name in ("created_at", "expires_at", "ended_at", "cancel_initiated_at", "archived_at"):
        value = getattr(batch, name)
        shown = field_relative(name, value, now)
        text = "—" if value is None else f"{absolute_utc(value)} ({shown})"
        lines.append((name, text))
    if batch.results_url:
        lines.append(("results_url", safe_text(batch.results_url)))
    width = max(len(k) for k, _ in lines)
    for key, value in lines:
        print(f"{key.ljust(width)}  {value}", file=out)


__all__ = ["cmd_list", "cmd_show"]
