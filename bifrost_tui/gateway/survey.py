"""The round trips to the first rows, ordered in one place: providers, then their listings at once.

The console's polls and ``batches list`` both go through ``survey``. Its promise is two round
trips to the first rows (one when the providers are named: a profile's ``providers`` list,
``--provider``):

1. ``GET /api/providers`` alone, unless the providers are named or already known (a later deep
   poll re-reads it beside the listings, not before them);
2. each batch-capable provider's first page, sent the moment (1) answers, concurrently with the
   keys calls (``GET /api/providers/{p}/keys``), which never delay a listing.

What the keys calls or the provider list find later still counts: a provider whose keys hold no
batch key is dropped from the listings (its listing, if still running, is cancelled;
``on_providers`` says so), a provider the management API did not know before is listed as soon
as it is seen, and a named provider whose kind turns out to need another route is listed again
through that route.
Nothing here waits on ``/health`` or ``/api/version``: the caller runs them beside ``survey``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from bifrost_tui.gateway.counts import OPENAI_ROUTE_KINDS
from bifrost_tui.gateway.discovery import REASON_NO_BATCH_KEY, BatchKey, Discovery, KeysRead
from bifrost_tui.gateway.errors import GatewayError
from bifrost_tui.gateway.listing_strategy import Strategy, choose, refused
from bifrost_tui.gateway.models import Batch, ProviderInfo
from bifrost_tui.gateway.outcomes import ListingStatus, ProviderListing
from bifrost_tui.gateway.passthrough import merge_keys

if TYPE_CHECKING:
    from bifrost_tui.gateway.client import GatewayClient


@dataclass
class SurveyHooks:
    """Called as things arrive (all optional; none may raise)."""

    #: The provider list is known, or changed (a keys call ruled one out, management added one).
    on_providers: Callable[[list[ProviderInfo]], None] | None = None
    #: A provider's first page, while its deep listing goes on (a finished listing follows).
    on_page: Callable[[str, list[Batch]], None] | None = None
    #: A provider's listing finished.
    on_listing: Callable[[ProviderListing], None] | None = None


@dataclass
class Survey:
    """What one survey found."""

    providers: list[ProviderInfo] = field(default_factory=list)
    #: One per batch-capable provider, in provider order.
    listings: list[ProviderListing] = field(default_factory=list)
    #: What the management API said (``None``: it was not asked, or it failed; see ``error``).
    discovery: Discovery | None = None
    #: ``/api/providers`` failed and no provider was known, so nothing could be listed.
    error: GatewayError | None = None
    #: The road each provider's deep listing took (``listing_strategy.py``), by provider name.
    strategies: dict[str, Strategy] = field(default_factory=dict)


#: "Some batch key, its id not read yet": asks ``choose`` whether the passthrough road is possible.
_MAYBE = KeysRead(None, (BatchKey("?", "?"),))


def _route(kind: str) -> bool:
    return kind in OPENAI_ROUTE_KINDS


class _Listings:
    """The listing task of each provider, started once per route, delivered as each finishes."""

    def __init__(self, client: GatewayClient, deep: bool, hooks: SurveyHooks, setting: str) -> None:
        self.client = client
        self.deep = deep
        self.hooks = hooks
        self.setting = setting
        self.tasks: dict[str, tuple[ProviderInfo, asyncio.Task[ProviderListing]]] = {}
        #: Each provider's road, settled once its keys are read (or known never to be).
        self.roads: dict[str, asyncio.Future[Strategy]] = {}
        #: The keys will not be read in this survey: every road is settled without them.
        self.no_keys = False

    def road(self, name: str) -> asyncio.Future[Strategy]:
        if name not in self.roads:
            self.roads[name] = asyncio.get_running_loop().create_future()
        return self.roads[name]

    def settle(self, info: ProviderInfo, keys: KeysRead | None) -> None:
        road = self.road(info.name)
        if not road.done():
            road.set_result(choose(info.kind, keys, self.setting, provider=info.name))

    def settle_all_without_keys(self, providers: Sequence[ProviderInfo]) -> None:
        self.no_keys = True
        for info in providers:
            self.settle(info, None)

    def may_pass(self, info: ProviderInfo) -> bool:
        """Whether ``info``'s listing may take the passthrough road, once its keys are read."""
        return choose(info.kind, _MAYBE, self.setting, provider=info.name).passthrough

    def strategies(self) -> dict[str, Strategy]:
        return {n: r.result() for n, r in self.roads.items() if r.done() and not r.cancelled()}

    def start(self, info: ProviderInfo) -> None:
        running = self.tasks.get(info.name)
        if running is not None:
            if _route(running[0].kind) == _route(info.kind):
                return
            running[1].cancel()  # the first guess at its kind took the wrong route
        self.tasks[info.name] = (info, asyncio.ensure_future(self._run(info)))

    def drop(self, name: str) -> None:
        running = self.tasks.pop(name, None)
        if running is not None:
            running[1].cancel()

    async def _run(self, info: ProviderInfo) -> ProviderListing:
        on_page = self.hooks.on_page

        def first_page(batches: list[Batch]) -> None:
            if on_page is not None:
                on_page(info.name, batches)

        if not self.deep:
            listing = await self.client.list_batches(info.name, kind=info.kind, deep=False)
        elif self.no_keys or not self.may_pass(info):
            # The batch routes whatever the keys say: one listing, its first page shown early.
            listing = await self.client.list_batches(
                info.name, kind=info.kind, deep=True, on_first_page=first_page
            )
            self.settle(info, None)
            listing.via = self.road(info.name).result().why
        else:
            listing = await self._keyed(info, first_page)
        current = self.tasks.get(info.name)
        if self.hooks.on_listing is not None and current is not None and current[0] == info:
            self.hooks.on_listing(listing)
        return listing

    async def _keyed(
        self, info: ProviderInfo, first_page: Callable[[list[Batch]], None]
    ) -> ProviderListing:
        """A provider that may list through the passthrough prefix: the batch routes' first page
        at once (shown while the keys are read), then each batch key's batches, pinned, once the
        keys say which; the batch routes' deep listing when they cannot (``via`` says why)."""
        client, name, kind = self.client, info.name, info.kind
        first = await client.list_batches(name, kind=kind, deep=False)
        if first.status in (ListingStatus.ERROR, ListingStatus.UNSUPPORTED):
            return first
        if first.batches:
            first_page(first.batches)
        road = await self.road(name)
        if road.passthrough:
            keyed = await asyncio.gather(
                *(client.list_pinned(name, k, kind=kind) for k in road.keys)
            )
            refusal = next((k.refused for k in keyed if k.refused), None)
            if refusal is None:
                return merge_keys(name, keyed, via=road.why)
            road = refused(refusal)
            self.roads[name] = asyncio.get_running_loop().create_future()
            self.roads[name].set_result(road)
        if first.status is ListingStatus.COMPLETE:
            listing = first  # the first page held every batch the batch routes can show
        else:
            listing = await client.list_batches(name, kind=kind, deep=True)
        listing.via = road.why
        return listing

    async def wait(self) -> dict[str, ProviderListing]:
        """Until every listing still wanted has finished (tasks started meanwhile included)."""
        while True:
            pending = [t for _, t in self.tasks.values() if not t.done()]
            if not pending:
                break
            await asyncio.wait(pending)
        # A listing never raises for the gateway's trouble: anything else is a bug, raised here.
        return {name: task.result() for name, (_, task) in self.tasks.items()}

    def cancel_all(self) -> None:
        for _, task in self.tasks.values():
            task.cancel()


async def survey(
    client: GatewayClient,
    *,
    deep: bool,
    named: Sequence[str] | None = None,
    known: Sequence[ProviderInfo] | None = None,
    discover: bool = True,
    fallback: Sequence[str] | None = None,
    fallback_on_failure: bool = False,
    hooks: SurveyHooks | None = None,
    listing: str = "auto",
) -> Survey:
    """List every batch-capable provider, in at most two round trips to the first rows.

    ``named``: the providers to show, listed at once (the management API, when ``discover``, only
    tells their kinds and whether they can list batches). ``known``: the providers a previous
    survey found, listed at once while the management API is read again (``discover``). With
    neither, ``/api/providers`` comes first (``fallback`` and ``fallback_on_failure`` as in
    ``GatewayClient.discover_providers``). ``discover=False`` asks no management call at all.
    """
    hooks = hooks or SurveyHooks()
    listings = _Listings(client, deep, hooks, listing)
    result = Survey()
    providers: list[ProviderInfo]
    if named:
        given = {p.name: p for p in known or ()}
        providers = [given.get(n) or ProviderInfo(n, n, True) for n in dict.fromkeys(named)]
    else:
        providers = list(known or ())

    def publish(infos: list[ProviderInfo]) -> None:
        nonlocal providers
        providers = infos
        if hooks.on_providers is not None:
            hooks.on_providers(list(infos))

    def list_capable() -> None:
        wanted = {p.name for p in providers if p.batch_capable}
        for name in [n for n in listings.tasks if n not in wanted]:
            listings.drop(name)  # gone from the list, or ruled out by the management API
        for info in providers:
            if info.batch_capable:
                listings.start(info)

    try:
        if providers:
            if providers != list(known or ()):
                publish(providers)  # named providers, shown before anything answers
            list_capable()
            if discover:
                # Let the listings send their first requests before any management call is built.
                await asyncio.sleep(0)
        if not discover:
            listings.settle_all_without_keys(providers)
        else:
            await _discover(client, result, providers, named, fallback, fallback_on_failure)
            management = result.discovery is not None and result.discovery.source == "management"
            if result.discovery is not None:
                merged, recheck = _merge(providers, result.discovery, named)
                if merged != providers or not providers:
                    publish(merged)
                list_capable()
            if management:
                await _read_keys(client, listings, providers, publish, recheck)
            else:
                listings.settle_all_without_keys(providers)  # no keys call will be made
        by_name = await listings.wait()
    except BaseException:
        listings.cancel_all()
        raise
    result.providers = providers
    result.listings = [by_name[p.name] for p in providers if p.batch_capable and p.name in by_name]
    if deep:  # a light poll takes no road: it leaves the last deep poll's as they were
        result.strategies = listings.strategies()
    return result


async def _discover(
    client: GatewayClient,
    result: Survey,
    providers: list[ProviderInfo],
    named: Sequence[str] | None,
    fallback: Sequence[str] | None,
    fallback_on_failure: bool,
) -> None:
    """``/api/providers`` alone (keys after, beside the listings): into ``result``."""
    try:
        result.discovery = await client.discover_providers(
            fallback, fallback_on_failure=fallback_on_failure and not providers, keys=False
        )
    except GatewayError as exc:
        if not providers:
            result.error = exc
            return
        # Providers already known (named, or a previous survey's): a slow or failing management
        # API must not stop their listings; those say the truth.
        what = "the configured providers" if named else "the providers already known"
        why = f"could not read the provider list ({exc.describe()}); showing {what}"
        result.discovery = Discovery(list(providers), "fallback", why, exc)
        return
    if result.discovery.source == "fallback" and (named or providers):
        # The management API refused or is absent: the named or known providers stand.
        result.discovery = replace(result.discovery, providers=list(providers))


def _merge(
    providers: list[ProviderInfo], discovery: Discovery, named: Sequence[str] | None
) -> tuple[list[ProviderInfo], set[str]]:
    """The provider list after ``/api/providers`` answered: named providers keep their place
    (with what management knows of them); otherwise management's list, as it says. A provider a
    keys call ruled out before stays out until its keys are read again (the second result): the
    list must not flicker it back to "listing…" in between."""
    found = {p.name: p for p in discovery.providers}
    merged = [found.get(p.name, p) for p in providers] if named else list(discovery.providers)
    before = {p.name: p for p in providers}
    recheck: set[str] = set()
    for i, info in enumerate(merged):
        old = before.get(info.name)
        if info.batch_capable and old is not None and old.reason == REASON_NO_BATCH_KEY:
            merged[i] = replace(info, batch_capable=False, reason=old.reason)
            recheck.add(info.name)
    return merged, recheck


async def _read_keys(
    client: GatewayClient,
    listings: _Listings,
    providers: list[ProviderInfo],
    publish: Callable[[list[ProviderInfo]], None],
    recheck: set[str],
) -> None:
    """The keys of each batch-capable provider (and of each in ``recheck``: ruled out by its keys
    before), concurrently with the listings: a provider whose keys hold no batch key is dropped
    from the listings and re-published as not batch-capable; one in ``recheck`` whose keys now
    hold one is listed."""
    asked = [p for p in providers if p.batch_capable or p.name in recheck]

    async def one(info: ProviderInfo) -> tuple[str, str | None]:
        keys = await client.batch_keys(info.name)
        listings.settle(info, keys)
        return info.name, keys.reason

    reasons = dict(await asyncio.gather(*(one(p) for p in asked)))
    for info in providers:
        listings.settle(info, None)  # a provider not asked (ruled out): no keys to go by
    changed = []
    for info in providers:
        if info.name not in reasons:
            changed.append(info)
            continue
        why = reasons[info.name]
        if why:
            listings.drop(info.name)
            info = replace(info, batch_capable=False, reason=why)
        elif info.name in recheck:
            info = replace(info, batch_capable=True, reason=None)
            listings.start(info)
        changed.append(info)
    if changed != providers:
        publish(changed)
