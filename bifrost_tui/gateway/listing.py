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
   - Bifrost's cursor is base64 of ``{"v":1,"i":<key>,"c":"<native>"}``. With two batch keys on
     one provider the list of the first key ends with ``has_more`` and a *key cursor* (``i`` > 0,
     ``c`` empty): "another key remains". Sent back for anthropic it comes back unchanged forever,
     so anthropic, bedrock and gemini never follow it; openai and azure follow each key cursor
     once and keep what it brings when that adds new ids. Either way, a key cursor that cannot be
     followed (or brings nothing new) ends the listing PARTIAL with "a second batch key's batches
     cannot be listed through this gateway". A cursor that does not decode is never followed.
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

Bedrock and Gemini say ``ended`` on the Anthropic route for a completed and for a canceled job
alike (``State.ENDED_UNSURE``); the OpenAI-format list says ``completed`` or ``cancelled``. A deep
listing whose first page is the whole listing but holds such a batch reads that list once
(``settle_outcomes``) and gives those batches its status (nothing else; no batch is added): kept
as ``native_status``, a ``cancelled`` survives later Anthropic-route reads. If that read fails
the outcome stays unknown, and the listing is still complete.

openai and azure skip step 1: their Anthropic-format items keep only ``errored`` and say ``ended``
for a cancelled batch, so their first page is the OpenAI-format list itself
(``limit=LIGHT_PAGE_LIMIT`` on a light poll, the deep limit on a deep one), and a deep listing
follows its cursor from there. Errors on that first page are treated as in step 4.

Batches are de-duplicated by normalised id (two keys on one account list the same batch); a
duplicate is merged with ``Batch.updated_by`` so the later, richer object wins without erasing
what the earlier one knew. Items that are not objects or have no id are skipped and counted: they
make the listing PARTIAL with "N unreadable items skipped" in ``missing``, because a batch may
hide behind them. ``requests`` counts every HTTP request made, retries included.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from bifrost_tui.gateway.counts import OPENAI_ROUTE_KINDS, Source
from bifrost_tui.gateway.credentials import Route
from bifrost_tui.gateway.errors import BadResponse, GatewayConfigError, GatewayError
from bifrost_tui.gateway.http import HttpCore, RequestCounter
from bifrost_tui.gateway.models import AMBIGUOUS_END_KINDS, Batch, State
from bifrost_tui.gateway.outcomes import ListingStatus, ProviderListing
from bifrost_tui.gateway.pages import ListPage, read_list_page

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
#: The first page of a light poll on the OpenAI-format list: the Anthropic route's page size.
LIGHT_PAGE_LIMIT = 20
#: Kinds whose ``next_cursor`` Bifrost reads back as ``after`` (the others ignore it).
CURSOR_KINDS = frozenset({"openai", "azure"})
#: The deep walk never makes more pages than this for one provider.
MAX_DEEP_PAGES = 200
#: Empty pages in a row tolerated while the gateway still says ``has_more``.
MAX_EMPTY_PAGES = 3
#: Items read from one page; the rest of that page is not parsed (the listing is partial).
MAX_PAGE_ITEMS = 10_000
#: Batches kept for one provider; past it the walk stops (the listing is partial).
MAX_PROVIDER_BATCHES = 100_000


#: Why a provider's listing stops at a key cursor that brings nothing (or cannot be followed).
SECOND_KEY_WORDS = "a second batch key's batches cannot be listed through this gateway"


def decode_cursor(cursor: str) -> tuple[int, str] | None:
    """Bifrost's serial cursor, base64 of ``{"v":1,"i":<key index>,"c":"<native cursor>"}``, as
    ``(key index, native cursor)``; ``None`` when ``cursor`` is not one."""
    text = cursor.strip()
    padded = text + "=" * (-len(text) % 4)
    try:
        raw = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
        data = json.loads(raw)
    except (binascii.Error, ValueError):
        return None
    if not isinstance(data, dict) or data.get("v") != 1:
        return None
    index, native = data.get("i", 0), data.get("c", "")
    if not isinstance(index, int) or isinstance(index, bool) or index < 0:
        return None
    if not isinstance(native, str):
        return None
    return index, native


def is_key_cursor(cursor: str) -> bool:
    """A cursor that means "another batch key remains": a later key, from its start."""
    decoded = decode_cursor(cursor)
    return decoded is not None and decoded[0] > 0 and decoded[1] == ""


UNREADABLE_CURSOR_WORDS = (
    "stopped paging: the gateway's cursor could not be read; older ones may be missing"
)


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
        """Add or merge; ``True`` when the id was new. What is kept holds its raw JSON compact,
        so a long listing never holds more than one page of parsed objects."""
        old = self.by_id.get(batch.id)
        kept = old.updated_by(batch) if old is not None else batch
        kept.compact()
        self.by_id[batch.id] = kept
        return old is None

    def batches(self) -> list[Batch]:
        return list(self.by_id.values())

    def keep_first(self, n: int) -> None:
        """Keep the first ``n`` batches seen (the newest: listings come newest first)."""
        if len(self.by_id) > n:
            self.by_id = dict(list(self.by_id.items())[:n])


def capped_words(page: ListPage, cap: int, kept: int) -> str:
    """Why a listing stopped at one of the memory caps, in words."""
    if page.truncated:
        return (
            f"a page held more than {page.items:,} batches; newest {kept:,} shown, "
            "the rest of that page was not read"
        )
    return f"more than {cap:,} batches; newest {kept:,} shown, older batches are not shown"


def _skipped_words(skipped: int) -> str:
    noun = "item" if skipped == 1 else "items"
    return f"{skipped} unreadable {noun} in the gateway's answer skipped (not an object or no id)"


async def list_provider(
    core: HttpCore,
    provider: str,
    kind: str,
    *,
    deep: bool,
    provider_header: dict[str, str],
    max_page_items: int | None = None,
    max_batches: int | None = None,
    on_first_page: Callable[[list[Batch]], None] | None = None,
) -> ProviderListing:
    """One provider's listing; never raises a ``GatewayError`` (see the module docstring).

    ``max_page_items`` and ``max_batches`` default to ``MAX_PAGE_ITEMS`` and
    ``MAX_PROVIDER_BATCHES``. ``on_first_page`` gets the first page's batches when a deep walk
    follows (the console paints them while the walk goes on).
    """
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

    openai_route = kind in OPENAI_ROUTE_KINDS
    status = 0
    try:
        if openai_route:
            limit = deep_page_limit(kind) if deep else LIGHT_PAGE_LIMIT
            reply = await core.call(
                "GET",
                OPENAI_BATCHES,
                route=Route.INFERENCE,
                params={"provider": provider, "limit": limit},
                provider=provider,
                counter=counter,
            )
        else:
            reply = await core.call(
                "GET",
                ANTHROPIC_BATCHES,
                route=Route.INFERENCE,
                headers=provider_header,
                provider=provider,
                counter=counter,
            )
        status = reply.status
        page = read_list_page(
            reply,
            (lambda item: Batch.from_openai(item, provider=provider, provider_kind=kind))
            if openai_route
            else lambda item: Batch.from_anthropic(
                item, provider=provider, provider_kind=kind, source=Source.LIST
            ),
            MAX_PAGE_ITEMS if max_page_items is None else max_page_items,
        )
        del reply  # the body is not needed any more: only the batches are kept
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
                status=status,
                provider=provider,
                path=ANTHROPIC_BATCHES,
            ),
        )

    first_skipped = page.skipped
    cap = MAX_PROVIDER_BATCHES if max_batches is None else max_batches
    for batch in page.batches:
        collected.add(batch)
    if page.truncated or len(collected.by_id) > cap:
        collected.keep_first(cap)
        notes = [capped_words(page, cap, len(collected.by_id))]
        if first_skipped:
            notes.append(_skipped_words(first_skipped))
        return listing(ListingStatus.PARTIAL, missing="; ".join(notes))

    if not page.has_more:
        if deep and kind in AMBIGUOUS_END_KINDS:
            await settle_outcomes(core, provider, kind, collected, counter, max_page_items)
        if first_skipped:
            return listing(ListingStatus.PARTIAL, missing=_skipped_words(first_skipped))
        return listing(ListingStatus.COMPLETE)
    if not deep:
        notes = ["first page only (deep listing is off); the gateway says more batches exist"]
        if first_skipped:
            notes.append(_skipped_words(first_skipped))
        return listing(ListingStatus.PARTIAL, missing="; ".join(notes), first_page_only=True)

    if openai_route:
        if not page.next_cursor:
            missing = (
                "the gateway says more batches exist but gave no cursor; older ones are not shown"
            )
            return listing(ListingStatus.PARTIAL, missing=missing, deep=True)
        if decode_cursor(page.next_cursor) is None:
            return listing(ListingStatus.PARTIAL, missing=UNREADABLE_CURSOR_WORDS, deep=True)
    if on_first_page is not None:
        on_first_page(collected.batches())
    return await _deep_walk(
        core,
        provider,
        kind,
        collected,
        counter,
        first_skipped,
        listing,
        (MAX_PAGE_ITEMS if max_page_items is None else max_page_items, cap),
        page.next_cursor if openai_route else None,
    )


async def settle_outcomes(
    core: HttpCore,
    provider: str,
    kind: str,
    collected: _Collected,
    counter: RequestCounter,
    max_page_items: int | None = None,
) -> None:
    """One ``GET /openai/v1/batches`` page when a listed batch ended with an unknown outcome: its
    ``completed``/``cancelled`` given to the collected batches whose outcome is unknown. Never
    raises (a failed read leaves the outcomes unknown)."""
    if not any(b.state is State.ENDED_UNSURE for b in collected.by_id.values()):
        return
    try:
        reply = await core.call(
            "GET",
            OPENAI_BATCHES,
            route=Route.INFERENCE,
            params={"provider": provider, "limit": deep_page_limit(kind)},
            provider=provider,
            counter=counter,
        )
        page = read_list_page(
            reply,
            lambda item: Batch.from_openai(item, provider=provider, provider_kind=kind),
            MAX_PAGE_ITEMS if max_page_items is None else max_page_items,
        )
    except (GatewayError, ValueError):
        return
    for batch in page.batches:
        old = collected.by_id.get(batch.id)
        if old is not None and old.state is State.ENDED_UNSURE and batch.state.terminal:
            collected.by_id[batch.id] = replace(old, native_status=batch.native_status)


async def _deep_walk(
    core: HttpCore,
    provider: str,
    kind: str,
    collected: _Collected,
    counter: RequestCounter,
    first_skipped: int,
    listing: Callable[..., ProviderListing],
    caps: tuple[int, int],
    cursor: str | None = None,
) -> ProviderListing:
    """The OpenAI-format walk; from ``cursor`` when the first page already came from there.
    ``caps``: items read per page, batches kept in all."""
    max_page_items, max_batches = caps
    limit = deep_page_limit(kind)
    seen_cursors: set[str] = {cursor} if cursor else set()
    seen_ids: set[str] = set(collected.by_id) if cursor else set()
    following_key_cursor = cursor is not None and is_key_cursor(cursor)
    skipped = 0
    empty_in_a_row = 0
    pages = 1 if cursor else 0
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
            page = read_list_page(
                reply,
                lambda item: Batch.from_openai(item, provider=provider, provider_kind=kind),
                max_page_items,
            )
            del reply
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
        skipped += page.skipped
        new_ids = 0
        for batch in page.batches:
            if batch.id not in seen_ids:
                seen_ids.add(batch.id)
                new_ids += 1
            collected.add(batch)
        empty_in_a_row = empty_in_a_row + 1 if not page.items else 0

        if page.truncated or len(collected.by_id) > max_batches:
            collected.keep_first(max_batches)
            stop = capped_words(page, max_batches, len(collected.by_id))
            break
        if following_key_cursor and page.items and new_ids == 0:
            # The other key's page brought nothing new: the gateway cannot reach that key.
            stop = SECOND_KEY_WORDS
            break
        if not page.has_more:
            break
        if page.next_cursor and is_key_cursor(page.next_cursor):
            # "Another key remains": only openai and azure follow it, once.
            if kind not in CURSOR_KINDS or page.next_cursor in seen_cursors:
                stop = SECOND_KEY_WORDS
                break
        elif kind not in CURSOR_KINDS:
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
        if page.items and new_ids == 0:
            stop = "stopped paging: a page repeated batches already seen; older ones may be missing"
            break
        if decode_cursor(page.next_cursor) is None:
            stop = UNREADABLE_CURSOR_WORDS
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
        following_key_cursor = is_key_cursor(cursor)

    notes = [stop] if stop else []
    if skipped:
        # The deep walk read the same batches the first page showed, so only its skips count.
        notes.append(_skipped_words(skipped))
    if notes:
        return listing(ListingStatus.PARTIAL, missing="; ".join(notes), deep=True)
    return listing(ListingStatus.COMPLETE, deep=True)
