"""Listing and re-reading one batch key's batches through the gateway's passthrough prefixes.

``/anthropic_passthrough/*``, ``/openai_passthrough/*`` and ``/azure_passthrough/*`` strip their
prefix and forward the request to the provider with one of the provider's keys; the answer is
the provider's own (docs/gateway.md §2.6). So the provider's native list pages to its end:
Anthropic's ``limit`` (up to 1000) and ``after_id`` (the previous page's last id), OpenAI's
``limit`` (up to 100) and ``after``. Azure's native batch API lives under ``/openai/`` of the
key's endpoint, so its prefix is ``/azure_passthrough/openai/v1/batches``.

With several keys an unpinned request goes out with a key chosen per request, so every request
here is pinned with ``x-bf-api-key-id: <key id>`` (ids from ``GET /api/providers/{p}/keys``), and
one listing covers one key's account. Each batch read here carries ``listed_by = (key name,)``.

The passthrough prefixes reach the built-in provider of their kind only (a custom provider's
name is never consulted): ``listing_strategy.choose`` decides when they are used.

``list_pinned`` never raises: a refusal of the route itself (an older gateway's 404, a proxy's
403, governance's ``provider_blocked`` or ``virtual_key_*``, any other 4xx, an answer that is
not a batch list) comes back with ``refused`` set in words, so the caller falls back to the
batch routes; any other failure of the first page is an ``ERROR``; a failure after it keeps what
was read, ``PARTIAL``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bifrost_tui.gateway import listing as listing_caps  # its caps, read at each use
from bifrost_tui.gateway.counts import Source
from bifrost_tui.gateway.credentials import Route
from bifrost_tui.gateway.discovery import BatchKey
from bifrost_tui.gateway.errors import (
    AuthRefused,
    BadResponse,
    GatewayError,
    NotFound,
    RequestRejected,
)
from bifrost_tui.gateway.http import HttpCore, RequestCounter
from bifrost_tui.gateway.ids import encode_segment
from bifrost_tui.gateway.listing import capped_words
from bifrost_tui.gateway.models import Batch
from bifrost_tui.gateway.outcomes import ListingStatus, ProviderListing
from bifrost_tui.gateway.pages import read_list_page
from bifrost_tui.gateway.reply import decode_json

#: The header that pins one of a provider's stored keys.
PIN_HEADER = "x-bf-api-key-id"

#: Each kind's batch collection behind its passthrough prefix (the one place to change).
PASSTHROUGH_PATHS: dict[str, str] = {
    "anthropic": "/anthropic_passthrough/v1/messages/batches",
    "openai": "/openai_passthrough/v1/batches",
    "azure": "/azure_passthrough/openai/v1/batches",
}
#: Kinds that have a passthrough prefix.
PASSTHROUGH_KINDS = frozenset(PASSTHROUGH_PATHS)
#: The largest ``limit`` each provider's native list allows.
PAGE_LIMITS: dict[str, int] = {"anthropic": 1000, "openai": 100, "azure": 100}
#: The native cursor parameter: the previous page's last id.
CURSOR_PARAMS: dict[str, str] = {"anthropic": "after_id", "openai": "after", "azure": "after"}
#: Pages read for one key in one poll, unless the caller says otherwise; past it: partial.
MAX_KEY_PAGES = 50


@dataclass(slots=True)
class KeyListing:
    """One key's batches through the passthrough prefix, and how much of the truth they are."""

    key: BatchKey
    status: ListingStatus
    batches: list[Batch] = field(default_factory=list)
    #: In words, what is known to be missing when ``status`` is partial (the key is named).
    missing: str | None = None
    error: GatewayError | None = None
    #: HTTP requests this listing cost, retries included.
    requests: int = 0
    #: The route itself was refused (``status`` is ``ERROR``): why, in words such as
    #: ``"passthrough refused (404)"``; the caller lists through the batch routes instead.
    refused: str | None = None
    #: Pages read.
    pages: int = 0


def pin_headers(key: BatchKey) -> dict[str, str]:
    return {PIN_HEADER: key.id}


def parse_native(item: Any, *, provider: str, kind: str, key: BatchKey, source: Source) -> Batch:
    """A provider-native batch object as a ``Batch`` listed by ``key``; raises ``ValueError``."""
    if kind == "anthropic":
        batch = Batch.from_anthropic(item, provider=provider, provider_kind=kind, source=source)
    else:
        batch = Batch.from_openai(item, provider=provider, provider_kind=kind)
    object.__setattr__(batch, "listed_by", (key.name,))
    return batch


def refusal_words(error: GatewayError) -> str | None:
    """``"passthrough refused (…)"`` when ``error`` says the route itself is refused, else
    ``None`` (a timeout, a 5xx, a 429 say nothing about the route)."""
    if isinstance(error, BadResponse) and error.status is not None and 200 <= error.status < 300:
        return "passthrough refused (its answer is not a batch list)"
    if not isinstance(error, AuthRefused | NotFound | RequestRejected):
        return None
    detail = str(error.status) if error.status is not None else "refused"
    if error.error_type and error.error_type.isprintable() and len(error.error_type) <= 60:
        detail += f" {error.error_type}"
    return f"passthrough refused ({detail})"


def _path(kind: str) -> str:
    try:
        return PASSTHROUGH_PATHS[kind]
    except KeyError:
        raise RequestRejected(f"no passthrough route for {kind} batches") from None


async def list_pinned(
    core: HttpCore,
    provider: str,
    kind: str,
    key: BatchKey,
    *,
    max_pages: int = MAX_KEY_PAGES,
    on_page: Callable[[list[Batch]], None] | None = None,
) -> KeyListing:
    """Every batch of ``key``'s account, pinned, walking the native cursor to the end.

    Stops ``PARTIAL`` (with the reason in ``missing``, the key named) at a page that adds no new
    id, a cursor already sent, a page that says more exist but gives no readable last id,
    ``max_pages`` pages, or the memory caps of ``listing.py``. ``on_page`` gets each page's
    batches as it is read. Never raises.
    """
    counter = RequestCounter()
    by_id: dict[str, Batch] = {}
    skipped = 0
    pages = 0
    cursors: set[str] = set()
    cursor: str | None = None
    stop: str | None = None
    who = f"key {key.name}"

    def done(status: ListingStatus, **kw: Any) -> KeyListing:
        return KeyListing(key, status, list(by_id.values()), requests=counter.n, pages=pages, **kw)

    try:
        path = _path(kind)
        limit = PAGE_LIMITS[kind]
    except (GatewayError, KeyError):
        return done(
            ListingStatus.ERROR,
            error=RequestRejected(f"no passthrough route for {kind} batches", provider=provider),
            refused=f"no passthrough route for {kind}",
        )
    while True:
        params: dict[str, str | int] = {"limit": limit}
        if cursor is not None:
            params[CURSOR_PARAMS[kind]] = cursor
        try:
            reply = await core.call(
                "GET",
                path,
                route=Route.INFERENCE,
                params=params,
                headers=pin_headers(key),
                provider=provider,
                counter=counter,
            )
            status = reply.status
            try:
                page = read_list_page(
                    reply,
                    lambda item: parse_native(
                        item, provider=provider, kind=kind, key=key, source=Source.LIST
                    ),
                    listing_caps.MAX_PAGE_ITEMS,
                )
            except ValueError as exc:
                raise BadResponse(
                    f"the gateway's answer is {exc}", status=status, provider=provider, path=path
                ) from None
            del reply
        except GatewayError as exc:
            exc.provider = exc.provider or provider
            if pages == 0:
                return done(ListingStatus.ERROR, error=exc, refused=refusal_words(exc))
            missing = f"{who}: listing failed after {pages} page(s) ({exc.describe()})"
            return done(ListingStatus.PARTIAL, error=exc, missing=_with_skips(missing, skipped))
        pages += 1
        skipped += page.skipped
        new_ids = 0
        for batch in page.batches:
            old = by_id.get(batch.id)
            kept = old.updated_by(batch) if old is not None else batch
            kept.compact()
            by_id[batch.id] = kept
            new_ids += old is None
        if on_page is not None and page.batches:
            on_page(list(page.batches))
        cap = listing_caps.MAX_PROVIDER_BATCHES
        if page.truncated or len(by_id) > cap:
            if len(by_id) > cap:
                by_id = dict(list(by_id.items())[:cap])
            stop = f"{who}: {capped_words(page, cap, len(by_id))}"
            break
        if not page.has_more:
            break
        if page.items and new_ids == 0:
            stop = f"{who}: stopped paging, a page repeated batches already seen"
            break
        following = page.batches[-1].id if page.batches else None
        if not following:
            stop = f"{who}: the provider says more batches exist but gave no page to follow"
            break
        if following in cursors:
            stop = f"{who}: stopped paging, the cursor went round in circles"
            break
        if pages >= max_pages:
            stop = (
                f"{who}: stopped after {pages} pages ({len(by_id):,} batches); "
                "older batches are not shown"
            )
            break
        cursors.add(following)
        cursor = following
    if stop is not None or skipped:
        words = _with_skips(stop, skipped) if stop else _with_skips(None, skipped)
        return done(ListingStatus.PARTIAL, missing=words)
    return done(ListingStatus.COMPLETE)


def _with_skips(words: str | None, skipped: int) -> str:
    notes = [words] if words else []
    if skipped:
        noun = "item" if skipped == 1 else "items"
        notes.append(f"{skipped} unreadable {noun} in the provider's answer skipped")
    return "; ".join(notes)


async def get_pinned(
    core: HttpCore, provider: str, kind: str, key: BatchKey, batch_id: str
) -> Batch:
    """One batch as the provider sends it, read through ``key``; raises ``GatewayError`` (a batch
    of another account is the provider's 404: ``NotFound``)."""
    if not isinstance(batch_id, str):
        raise RequestRejected("the batch id must be a string")
    try:
        path = f"{_path(kind)}/{encode_segment(batch_id)}"
    except ValueError as exc:
        raise RequestRejected(f"the batch id {exc}; it cannot be sent") from None
    reply = await core.call(
        "GET", path, route=Route.INFERENCE, headers=pin_headers(key), provider=provider
    )
    data = decode_json(reply)
    try:
        return parse_native(data, provider=provider, kind=kind, key=key, source=Source.RETRIEVE)
    except ValueError as exc:
        raise BadResponse(
            f"the gateway's answer is not a batch ({exc})",
            status=reply.status,
            provider=provider,
            path=path,
        ) from None


def merge_keys(
    provider: str, listings: Sequence[KeyListing], via: str | None = None
) -> ProviderListing:
    """One provider's listing from its keys' listings: batches merged by id (a batch seen under
    two keys is one row naming both, ``Batch.updated_by``), requests summed.

    ``COMPLETE`` when every key's listing is; ``ERROR`` when none listed anything and one failed
    (``error``: the first failure); else ``PARTIAL`` with each key's missing part in words.
    """
    by_id: dict[str, Batch] = {}
    for listing in listings:
        for batch in listing.batches:
            old = by_id.get(batch.id)
            by_id[batch.id] = old.updated_by(batch) if old is not None else batch
    requests = sum(k.requests for k in listings)
    failed = [k for k in listings if k.status is ListingStatus.ERROR]
    notes = [k.missing for k in listings if k.missing]
    for k in failed:
        why = k.error.describe() if k.error is not None else "failed"
        notes.append(f"key {k.key.name}: listing failed ({why})")
    status = ListingStatus.COMPLETE
    if failed and len(failed) == len(listings):
        status = ListingStatus.ERROR
    elif notes or any(k.status is not ListingStatus.COMPLETE for k in listings):
        status = ListingStatus.PARTIAL
    return ProviderListing(
        provider=provider,
        status=status,
        batches=list(by_id.values()),
        missing="; ".join(notes) if status is ListingStatus.PARTIAL and notes else None,
        error=failed[0].error if failed else None,
        requests=requests,
        deep=True,
        via=via,
    )
