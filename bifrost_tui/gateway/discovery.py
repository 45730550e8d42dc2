"""Which providers a gateway has and which can list batches: ``/api/providers``, then the keys.

Two steps, so a caller can start listings as soon as the first one answers: ``read_providers``
reads ``GET /api/providers`` (one round trip) and marks what its answer alone rules out (a kind
without batches, batch operations switched off in a custom provider's config); ``batch_keys``
reads one provider's ``GET /api/providers/{p}/keys``: its batch-enabled keys (id and name, each
can be pinned with ``x-bf-api-key-id``) and whether there is none (``key_reason``). Only
management data read successfully marks a provider not batch-capable: a provider's status and a
keys call that failed never do (its batch routes are tried and their answer decides).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from pydantic import ValidationError

from bifrost_tui.gateway.credentials import Route
from bifrost_tui.gateway.errors import BadResponse, GatewayError
from bifrost_tui.gateway.http import HttpCore
from bifrost_tui.gateway.ids import encode_segment
from bifrost_tui.gateway.management_models import KeyWire, ProviderWire
from bifrost_tui.gateway.models import BATCH_PROVIDER_KINDS, STANDARD_BATCH_PROVIDERS, ProviderInfo
from bifrost_tui.gateway.reply import clean_text, decode_json

REASON_UNSUPPORTED = "unsupported provider for batches"
REASON_NO_BATCH_KEY = "no batch-enabled key (enable 'Use for Batch APIs' on a key)"
REASON_NOT_ALLOWED = "batch operations not allowed by custom provider config"


@dataclass(frozen=True)
class Discovery:
    """Which providers to show, and where that list came from."""

    providers: list[ProviderInfo]
    source: Literal["management", "fallback"]
    #: Why the fallback was used, in words; ``None`` when the management API answered.
    note: str | None = None
    #: The failed management call behind the fallback (``None``: it answered, or it refused the
    #: credentials or does not exist here, which is an answer too).
    failure: GatewayError | None = None


async def read_providers(core: HttpCore) -> list[ProviderInfo]:
    """``GET /api/providers`` as provider infos; keys are not read (``key_reason`` does that).

    Raises ``GatewayError`` (``AuthRefused`` on 401/403, ``NotFound``, ``BadResponse``...)."""
    reply = await core.call("GET", "/api/providers", route=Route.MANAGEMENT)
    data = decode_json(reply)
    entries = data.get("providers") if isinstance(data, dict) else data
    if not isinstance(entries, list):
        raise BadResponse("the provider list has no 'providers' array", path="/api/providers")
    infos: list[ProviderInfo] = []
    for entry in entries:
        try:
            wire = ProviderWire.model_validate(entry)
        except ValidationError:
            name = entry.get("name") if isinstance(entry, dict) else None
            if isinstance(name, str) and name:
                infos.append(
                    ProviderInfo(name, name, False, reason="provider entry could not be read")
                )
            continue
        kind = wire.base_kind
        reason: str | None = None
        if kind not in BATCH_PROVIDER_KINDS:
            reason = REASON_UNSUPPORTED
        elif not wire.allows_batch():
            reason = REASON_NOT_ALLOWED
        # A provider status other than "active" (e.g. its model list failed) says nothing about
        # its batches: the batch routes decide.
        infos.append(ProviderInfo(wire.name, kind, reason is None, reason, wire.provider_status))
    return infos


@dataclass(frozen=True, slots=True)
class BatchKey:
    """One batch-enabled key of a provider: its id (sent as ``x-bf-api-key-id`` to pin it) and
    its name (what the operator sees). Never its value."""

    id: str
    name: str


@dataclass(frozen=True, slots=True)
class KeysRead:
    """What one provider's keys call said."""

    #: ``REASON_NO_BATCH_KEY`` when the keys were read and none is usable for batches, else
    #: ``None``.
    reason: str | None
    #: Every enabled key with ``use_for_batch_api``, in the gateway's order; ``None`` when the
    #: keys call failed, or when a usable key has no id (it could not be pinned).
    keys: tuple[BatchKey, ...] | None


#: Longest key id or name kept from the keys call (a hostile gateway's text stays bounded).
_MAX_KEY_TEXT = 120


async def batch_keys(core: HttpCore, name: str) -> KeysRead:
    """``GET /api/providers/{name}/keys``: its batch-enabled keys, and whether there is none
    (never raises).

    A keys call that failed (a 500, a timeout, a refused connection, an answer that is not a keys
    list) says nothing about the keys: ``reason`` is ``None`` and ``keys`` is ``None``, so the
    provider stays batch-capable, its listing is tried and fails or succeeds on its own, and its
    last good data is kept and shown stale instead of silently dropping out of every later
    refresh.
    """
    try:
        path = f"/api/providers/{encode_segment(name)}/keys"
        reply = await core.call("GET", path, route=Route.MANAGEMENT, provider=name)
        data = decode_json(reply)
    except Exception:
        return KeysRead(None, None)
    entries = data.get("keys") if isinstance(data, dict) else data
    if not isinstance(entries, list):
        return KeysRead(None, None)
    found: list[BatchKey] = []
    pinnable = True
    for entry in entries:
        try:
            wire = KeyWire.model_validate(entry)
        except ValidationError:
            continue
        if not wire.usable_for_batch:
            continue
        key_id = wire.id.strip() if isinstance(wire.id, str) else ""
        if not key_id or len(key_id) > _MAX_KEY_TEXT or clean_text(key_id) != key_id:
            pinnable = False  # usable, but it cannot be named in a header
            continue
        shown = clean_text(wire.name or "", _MAX_KEY_TEXT) or key_id
        found.append(BatchKey(key_id, shown))
    if not found and pinnable:
        return KeysRead(REASON_NO_BATCH_KEY, ())
    ids = [k.id for k in found]
    if not pinnable or len(set(ids)) != len(ids):
        return KeysRead(None, None)
    return KeysRead(None, tuple(found))


async def key_reason(core: HttpCore, name: str) -> str | None:
    """``REASON_NO_BATCH_KEY`` when a keys list was read and holds no usable batch key, else
    ``None`` (never raises; ``batch_keys`` says how a failed keys call is read)."""
    return (await batch_keys(core, name)).reason


def with_key_reasons(
    infos: Sequence[ProviderInfo], reasons: Mapping[str, str | None]
) -> list[ProviderInfo]:
    """``infos`` with the providers whose keys call found no batch key marked not batch-capable."""
    out = []
    for info in infos:
        why = reasons.get(info.name)
        out.append(replace(info, batch_capable=False, reason=why) if why else info)
    return out


def fallback_discovery(
    why: str, fallback: Sequence[str] | None, failure: GatewayError | None = None
) -> Discovery:
    """The configured providers (or the standard batch providers) with a note saying why."""
    names = [n for n in (fallback or ()) if isinstance(n, str) and n]
    what = "the configured providers" if names else "the standard batch providers"
    names = names or list(STANDARD_BATCH_PROVIDERS)
    providers = [ProviderInfo(n, n, True) for n in dict.fromkeys(names)]
    return Discovery(providers, "fallback", f"{why}; showing {what}", failure)
