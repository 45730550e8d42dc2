"""Which road one provider's listing takes, and why, in the words shown to the operator.

Two roads:

- ``passthrough``: each batch-enabled key's batches, pinned with ``x-bf-api-key-id``, through the
  provider's passthrough prefix, paged natively to the end (``passthrough.py``). Chosen when the
  profile allows it (``listing = "auto"``), the provider's kind has a passthrough prefix
  (anthropic, openai, azure), the provider is the built-in one of that kind (the prefixes never
  reach a custom provider), and its batch-enabled key ids were read from
  ``GET /api/providers/{p}/keys`` (that needs read access to the management API).
- ``batch-routes``: the Anthropic-format and OpenAI-format batch routes (``listing.py``), with
  their honest ``partial`` reasons.

A passthrough call is never unpinned: with no key id known there is no passthrough listing at
all. When the passthrough route is refused at run time the caller falls back with
``refused(words)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bifrost_tui.gateway.discovery import BatchKey, KeysRead
from bifrost_tui.gateway.passthrough import PASSTHROUGH_KINDS

#: The profile's ``listing`` setting: its allowed values, the default first.
LISTING_SETTINGS: tuple[str, ...] = ("auto", "batch-routes")

Road = Literal["passthrough", "batch-routes"]

WHY_OFF = "batch routes: turned off by the profile"
WHY_NO_MANAGEMENT = "batch routes: no management access to the keys"
WHY_NO_KEY = "batch routes: no batch-enabled key"


@dataclass(frozen=True, slots=True)
class Strategy:
    """One provider's road: ``keys`` are listed one by one when it is ``passthrough``."""

    road: Road
    keys: tuple[BatchKey, ...]
    #: In words, for the provider list, the crumb and ``--json`` (``"via"``).
    why: str

    @property
    def passthrough(self) -> bool:
        return self.road == "passthrough"


def batch_routes(why: str) -> Strategy:
    return Strategy("batch-routes", (), why)


def refused(words: str) -> Strategy:
    """The batch routes, because the passthrough route was refused (``words``: ``KeyListing.
    refused``, e.g. ``"passthrough refused (404)"``)."""
    return batch_routes(f"batch routes: {words}")


def passthrough_words(keys: tuple[BatchKey, ...]) -> str:
    names = ", ".join(k.name for k in keys)
    return f"passthrough, key {names}" if len(keys) == 1 else f"passthrough, keys {names}"


def check_setting(setting: str) -> str:
    """``setting`` when it is one of ``LISTING_SETTINGS``; else ``ValueError`` naming them."""
    if setting not in LISTING_SETTINGS:
        allowed = ", ".join(f'"{s}"' for s in LISTING_SETTINGS)
        raise ValueError(f"listing must be one of {allowed}")
    return setting


def choose(
    kind: str, keys: KeysRead | None, setting: str, *, provider: str | None = None
) -> Strategy:
    """The one place that decides a provider's road (see the module docstring).

    ``keys``: what the provider's keys call said (``None``: not read). ``provider``: the
    provider's name, when known; a name other than its kind is a custom provider, which the
    passthrough prefixes do not reach. Raises ``ValueError`` for a setting not in
    ``LISTING_SETTINGS``.
    """
    if check_setting(setting) == "batch-routes":
        return batch_routes(WHY_OFF)
    if kind not in PASSTHROUGH_KINDS:
        return batch_routes(f"batch routes: {kind} has no passthrough route")
    if provider is not None and provider != kind:
        return batch_routes(f"batch routes: the passthrough route reaches only the {kind} provider")
    if keys is None or keys.keys is None:
        return batch_routes(WHY_NO_MANAGEMENT)
    if not keys.keys:
        return batch_routes(WHY_NO_KEY)
    return Strategy("passthrough", keys.keys, passthrough_words(keys.keys))
