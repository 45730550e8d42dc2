"""Listing one provider's batches honestly: the Anthropic route, then a deep OpenAI-format walk.

The strategy (docs/gateway.md §2.2, §3.4, §9.3):

1. ``GET /anthropic/v1/messages/batches`` with ``x-model-provider: <provider>``. Bifrost answers
   with the upstream's first page only (about 20) and never a usable cursor. Items are parsed with
   ``Batch.from_anthropic(source=LIST)``. If ``has_more`` is false, the listing is COMPLETE.
2. ``has_more`` and not ``deep``: PARTIAL, "first page only".
3. ``has_more`` and ``deep``: ``GET /openai/v1/batches?provider=<p>&limit=<N>`` with the largest
   ``limit`` each provider honours (``DEEP_PAGE_LIMITS``: anthropic, bedrock and gemini 1000;
   openai, azure and unknown kinds 100). Items are parsed with ``Batch.from_openai``.
   - Only openai and azure can be paged further: their ``next_cursor`` goes back as ``after``.
     The walk ends COMPLETE when a page says ``has_more`` is false.
   - Other kinds stop after that one big page: PARTIAL, "gateway returns at most 1000 anthropic
     batches per listing; older batches are not shown".
   - Loop guards: a non-empty page that adds no new id, a cursor seen before, more than
     ``MAX_EMPTY_PAGES`` empty pages in a row (an empty page with a fresh cursor is legitimate:
     Bifrost walks keys one after another and a key may hold no batches) or ``MAX_DEEP_PAGES``
     pages end the walk PARTIAL, saying so.
   - If the deep route fails (an operator may block ``/openai``), what was read so far is kept and
     the listing is PARTIAL with the reason.
4. Any ``GatewayError`` on the first page: ERROR with ``error`` set; nothing else is tried. Except
   when the gateway itself says this provider's batches cannot be listed (a 500 from Bifrost:
   ``no batch-enabled keys found…``, ``batch_list is not supported by <p> provider``):
   UNSUPPORTED, with the gateway's words in ``reason``. An unknown provider (``failed to get
   config for provider``) stays an ERROR: a misspelt name must not pass for fine.

Batches are de-duplicated by normalised id (two keys on one account list the same batch); a
duplicate is merged with ``Batch.updated_by`` so the later, richer object wins without erasing
what the earlier one knew. Items that are not objects or have no id are skipped and counted: they
make the listing PARTIAL with "N unreadable items skipped" in ``missing``, because a batch may
hide behind them. ``requests`` counts every HTTP request made, retries included.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bifrost_tui.gateway.credentials import Route
from bifrost_tui.gateway.errors import BadResponse, GatewayConfigError, GatewayError
from bifrost_tui.gateway.http import HttpCore, RequestCounter
from bifrost_tui.gateway.models import Batch, Source, parse_list_page
from bifrost_tui.gateway.outcomes import ListingStatus, ProviderListing
from bifrost_tui.gateway.reply import decode_json

ANTHROPIC_BATCHES = "/anthropic/v1/messages/batches"
OPENAI_BATCHES = "/openai/v1/batches"

#: The largest ``limit`` each provider kind honours on ``GET /openai/v1/batches`` (one place).
DEEP_PAGE_LIMITS: dict[str, int] = {
    "anthropic": 1000,
    "bedrock": 1000,
    "gemini": 1000,
    "openai": 100,
    "azure": 100,
}
DEFAULT_DEEP_PAGE_LIMIT = 100
#: Kinds whose ``next_cursor`` Bifrost reads back as ``after`` (the others ignore it).
CURSOR_KINDS = frozenset({"openai", "azure"})
#: The deep walk never makes more pages than this for one provider.
MAX_DEEP_PAGES = 200
#: Empty pages in a row tolerated while the gateway still says ``has_more``.
MAX_EMPTY_PAGES = 3


#: What Bifrost says, in a 500 of its own, when a provider's batches cannot be listed at all.
UNSUPPORTED_MARKERS = (
    "no batch-enabled keys found",
    "is not supported by",
)


def unsupported_reason(error: GatewayError) -> str | None:
    """The gateway's own words when ``error`` says the provider cannot list batches, else ``None``.

    Only Bifrost's own 500 counts: a proxy's 5xx, a timeout or a refused connection says nothing
    about the provider, so it stays an error.
    """
    if not isinstance(error, GatewayConfigError) or error.status != 500:
        return None
    lowered = error.message.lower()
    return error.message if any(m in lowered for m in UNSUPPORTED_MARKERS) else None


def deep_page_limit(kind: str) -> int:
    return DEEP_PAGE_LIMITS.get(kind, DEFAULT_DEEP_PAGE_LIMIT)


class _Collected:
    """Batches by normalised id in first-seen order; duplicates merged, the newer one winning."""

    def __init__(self) -> None:
        self.by_id: dict[str, Batch] = {}

    def add(self, batch: Batch) -> bool:
        """Add or merge; ``True`` when the id was new."""
        old = self.by_id.get(batch.id)
        self.by_id[batch.id] = old.updated_by(batch) if old is not None else batch
        return old is None

    def batches(self) -> list[Batch]:
        return list(self.by_id.values())


def _parse_items(items: list[Any], parse: Callable[[Any], Batch]) -> tuple[list[Batch], int]:
    batches: list[Batch] = []
    skipped = 0
    for item in items:
        try:
            batches.append(parse(item))
        except (ValueError, TypeError, OverflowError):
            skipped += 1
    return batches, skipped


def _skipped_words(skipped: int) -> str:
    noun = "item" if skipped == 1 else "items"
    return f"{skipped} unreadable {noun} in the gateway's answer skipped (not an object or no id)"


async def list_provider(
    core: HttpCore, provider: str, kind: str, *, deep: bool, provider_header: dict[str, str]
) -> ProviderListing:
    """One provider's listing; never raises a ``GatewayError`` (see the module docstring)."""
    counter = RequestCounter()
    collected = _Collected()

    def listing(status: ListingStatus, **kw: Any) -> ProviderListing:
        return ProviderListing(
            provider=provider,
            status=status,
            batches=collected.batches(),
            requests=counter.n,
            **kw,
        )

    try:
        reply = await core.call(
            "GET",
            ANTHROPIC_BATCHES,
            route=Route.INFERENCE,
            headers=provider_header,
            provider=provider,
            counter=counter,
        )
        page = parse_list_page(decode_json(reply))
    except GatewayError as exc:
        exc.provider = exc.provider or provider
        reason = unsupported_reason(exc)
        if reason is not None:
            return ProviderListing.unsupported(provider, reason, requests=counter.n)
        return listing(ListingStatus.ERROR, error=exc)
    except ValueError as exc:
        return listing(
            ListingStatus.ERROR,
            error=BadResponse(
                f"the gateway's answer is {exc}",
                status=reply.status,
                provider=provider,
                path=ANTHROPIC_BATCHES,
            ),
        )

    first, first_skipped = _parse_items(
        page.data,
        lambda item: Batch.from_anthropic(
            item, provider=provider, provider_kind=kind, source=Source.LIST
        ),
    )
    for batch in first:
        collected.add(batch)

    if not page.has_more:
        if first_skipped:
            return listing(ListingStatus.PARTIAL, missing=_skipped_words(first_skipped))
        return listing(ListingStatus.COMPLETE)
    if not deep:
        notes = ["first page only (deep listing is off); the gateway says more batches exist"]
        if first_skipped:
            notes.append(_skipped_words(first_skipped))
        return listing(ListingStatus.PARTIAL, missing="; ".join(notes), first_page_only=True)

    return await _deep_walk(core, provider, kind, collected, counter, first_skipped, listing)


async def _deep_walk(
    core: HttpCore,
    provider: str,
    kind: str,
    collected: _Collected,
    counter: RequestCounter,
    first_skipped: int,
    listing: Callable[..., ProviderListing],
) -> ProviderListing:
    limit = deep_page_limit(kind)
    cursor: str | None = None
    seen_cursors: set[str] = set()
    seen_ids: set[str] = set()
    skipped = 0
    empty_in_a_row = 0
    pages = 0
    stop: str | None = None
    while True:
        params: dict[str, str | int] = {"provider": provider, "limit": limit}
        if cursor is not None:
            params["after"] = cursor
        try:
            reply = await core.call(
                "GET",
                OPENAI_BATCHES,
                route=Route.INFERENCE,
                params=params,
                provider=provider,
                counter=counter,
            )
            page = parse_list_page(decode_json(reply))
        except (GatewayError, ValueError) as exc:
            why = exc.describe() if isinstance(exc, GatewayError) else str(exc)
            shown = (
                "the first page only"
                if pages == 0
                else f"the {pages} deep page(s) read before the failure"
            )
            notes = [f"deep listing failed ({why}); showing {shown}"]
            if first_skipped + skipped:
                notes.append(_skipped_words(first_skipped + skipped))
            return listing(ListingStatus.PARTIAL, missing="; ".join(notes), deep=True)
        pages += 1
        batches, page_skipped = _parse_items(
            page.data,
            lambda item: Batch.from_openai(item, provider=provider, provider_kind=kind),
        )
        skipped += page_skipped
        new_ids = 0
        for batch in batches:
            if batch.id not in seen_ids:
                seen_ids.add(batch.id)
                new_ids += 1
            collected.add(batch)
        empty_in_a_row = empty_in_a_row + 1 if not page.data else 0

        if not page.has_more:
            break
        if kind not in CURSOR_KINDS:
            stop = (
                f"gateway returns at most {limit} {provider} batches per listing; "
                "older batches are not shown"
            )
            break
        if not page.next_cursor:
            stop = (
                "the gateway says more batches exist but gave no cursor; older ones are not shown"
            )
            break
        if page.data and new_ids == 0:
            stop = "stopped paging: a page repeated batches already seen; older ones may be missing"
            break
        if page.next_cursor in seen_cursors:
            stop = "stopped paging: the cursor went round in circles; older ones may be missing"
            break
        if empty_in_a_row > MAX_EMPTY_PAGES:
            stop = "stopped paging: the gateway kept sending empty pages; older ones may be missing"
            break
        if pages >= MAX_DEEP_PAGES:
            stop = (
                f"stopped after {MAX_DEEP_PAGES} pages ({len(seen_ids)} batches); "
                "older batches are not shown"
            )
            break
        seen_cursors.add(page.next_cursor)
        cursor = page.next_cursor

    notes = [stop] if stop else []
    if skipped:
        # The deep walk read the same batches the first page showed, so only its skips count.
        notes.append(_skipped_words(skipped))
    if notes:
        return listing(ListingStatus.PARTIAL, missing="; ".join(notes), deep=True)
    return listing(ListingStatus.COMPLETE, deep=True)
