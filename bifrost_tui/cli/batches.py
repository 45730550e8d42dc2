"""``bifrost-tui batches list`` and ``batches show``: a table, the details, CSV or JSON."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TextIO

from bifrost_tui.cli.exitcodes import (
    EXIT_GATEWAY_REFUSED,
    EXIT_OK,
    EXIT_PARTIAL,
    exit_code_for_error,
)
from bifrost_tui.cli.output import emit_document, emit_envelope, report_error
from bifrost_tui.formatting import (
    STATE_LABELS,
    absolute_utc,
    ago,
    counts_text,
    field_relative,
    time_column,
)
from bifrost_tui.gateway.errors import GatewayError
from bifrost_tui.textsafe import safe_text

if TYPE_CHECKING:
    from bifrost_tui.config.connection import Connection
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
    from bifrost_tui.gateway.models import ProviderInfo

    async with conn.client() as client:
        notes: list[str] = []
        if args.provider:
            providers = [ProviderInfo(name=p, kind=p, batch_capable=True) for p in args.provider]
        else:
            try:
                discovery = await client.discover_providers(
                    conn.settings.providers, fallback_on_failure=True
                )
            except GatewayError as exc:
                return report_error(exc, args.json)
            providers = discovery.providers
            if discovery.note:
                notes.append(discovery.note)
        listed = await client.list_all(providers, deep=not args.first_page)
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
        else:
            _print_batch_table(batches, now, sys.stdout)
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


async def cmd_show(args: argparse.Namespace, conn: Connection) -> int:
    """Read one batch and print its details (or the JSON envelope)."""
    async with conn.client() as client:
        try:
            batch = await client.get_batch(args.provider, args.batch_id)
        except GatewayError as exc:
            return report_error(exc, args.json)
    if args.json:
        emit_envelope({"batch": batch.to_json()})
    else:
        _print_batch_detail(batch, conn.clock.now(), sys.stdout)
    return EXIT_OK


def _print_batch_detail(batch: Batch, now: Any, out: TextIO) -> None:
    lines = [
        ("id", safe_text(batch.id)),
        ("provider", safe_text(batch.provider)),
        ("status", f"{safe_text(batch.processing_status)} ({STATE_LABELS[batch.state]})"),
        ("cancellable", "yes" if batch.cancellable else "no"),
        ("requests", counts_text(batch.request_counts)),
    ]
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
