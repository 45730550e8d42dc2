"""Which provider key a request goes out with: pinned by ``x-bf-api-key-id``, or chosen per request.

Bifrost reads ``x-bf-api-key-id`` (a stored key's id, as ``GET /api/providers/{p}/keys`` lists it)
and uses exactly that key; recorded on the passthrough routes and on the Anthropic-format list. An
id the provider has no usable key for is Bifrost's own 400 (``no supported key found with id``).
Unpinned, a passthrough request gets one key drawn per request (weighted, from the world's seeded
generator), so consecutive requests may reach different accounts.
"""

from __future__ import annotations

from bifrost_tui.sim.emit import GatewayFailure
from bifrost_tui.sim.exchange import RouteContext
from bifrost_tui.sim.model import KeyConfig, ProviderConfig

PIN_HEADER = "x-bf-api-key-id"


class UnknownKeyError(Exception):
    """The pinned key id names no usable key of the provider."""

    def __init__(self, failure: GatewayFailure) -> None:
        super().__init__(failure.message)
        self.failure = failure


def unknown_key(key_id: str, provider: str) -> GatewayFailure:
    return GatewayFailure(
        f'no supported key found with id "{key_id}" for provider: {provider}', status=400
    )


def pinned_key(
    ctx: RouteContext, config: ProviderConfig, pool: list[KeyConfig]
) -> KeyConfig | None:
    """The key ``x-bf-api-key-id`` pins among ``pool`` (``None``: the request is not pinned).

    Raises ``UnknownKeyError`` when the id is not one of ``pool``'s. Records the id on ``ctx``."""
    key_id = ctx.request.header(PIN_HEADER).strip()
    if not key_id:
        return None
    for key in pool:
        if key.id == key_id:
            ctx.key_id = key_id
            return key
    raise UnknownKeyError(unknown_key(key_id, config.name))


def chosen_key(ctx: RouteContext, pool: list[KeyConfig]) -> KeyConfig:
    """An unpinned request's key: one weighted draw per request, or the only key."""
    if len(pool) == 1:
        key = pool[0]
    else:
        weights = [max(0.0, k.weight) for k in pool]
        rng = ctx.world.key_rng
        key = rng.choices(pool, weights)[0] if sum(weights) > 0 else rng.choice(pool)
    ctx.key_id = key.id
    return key
