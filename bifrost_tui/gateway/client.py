"""GatewayClient: the one object the CLI, the store and the UI use to talk to a Bifrost gateway.

Routes used (docs/gateway.md §2, §5): ``GET /health``, ``GET /api/version``, ``GET /api/providers``,
``GET /api/providers/{p}/keys``, ``GET /anthropic/v1/messages/batches[/{id}]``,
``POST /anthropic/v1/messages/batches/{id}/cancel`` (empty body) and the OpenAI-format
``GET /openai/v1/batches[/{id}]?provider=P`` (listing strategy in ``listing.py``). A batch's
results are streamed (``batch_results.py`` reads them) from
``GET /anthropic/v1/messages/batches/{id}/results`` or, for openai and azure, from the batch's files
(``GET /openai/v1/files/{file_id}/content?provider=P``).

Each provider's batches are read from the route that is faithful for it (docs/gateway.md §3.4):
openai and azure list and retrieve through ``/openai/v1/batches``, the only routes that carry their
real ``total/completed/failed`` and tell ``cancelled`` from ``completed``; anthropic, bedrock and
gemini through the Anthropic-format routes (bedrock's OpenAI-format ids are base64 ARNs and a bare
job id is refused there). Cancel is the documented Anthropic-format route for every provider.
``x-model-provider`` is always sent on the ``/anthropic`` routes, even for anthropic, because
Bifrost silently defaults a missing header to anthropic. ``x-bf-send-back-raw-response`` is
never sent.

Only ``GatewayError`` subclasses leave this module: every public method wraps anything unexpected
(a parser bug, a malformed body that slipped through) into ``BadResponse``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from pydantic import SecretStr

from bifrost_tui import __version__
from bifrost_tui.gateway.counts import OPENAI_ROUTE_KINDS, Source
from bifrost_tui.gateway.credentials import Credentials, Route, as_secret, check_extra_headers
from bifrost_tui.gateway.discovery import (
    REASON_NO_BATCH_KEY,
    REASON_NOT_ALLOWED,
    REASON_UNSUPPORTED,
    BatchKey,
    Discovery,
    KeysRead,
    batch_keys,
    fallback_discovery,
    key_reason,
    read_providers,
    with_key_reasons,
)
from bifrost_tui.gateway.endpoint import check_base_url, redact_url
from bifrost_tui.gateway.errors import (
    AuthRefused,
    BadResponse,
    GatewayConfigError,
    GatewayError,
    NotFound,
    RequestRejected,
)
from bifrost_tui.gateway.failures import TransportFailure, error_from_reply
from bifrost_tui.gateway.http import BodyStream, HttpCore, StreamLimits
from bifrost_tui.gateway.ids import encode_segment, path_id
from bifrost_tui.gateway.listing import ANTHROPIC_BATCHES, OPENAI_BATCHES, list_provider
from bifrost_tui.gateway.models import (
    Batch,
    ProviderInfo,
    State,
)
from bifrost_tui.gateway.outcomes import CancelOutcome, CancelResult, ListingStatus, ProviderListing
from bifrost_tui.gateway.passthrough import MAX_KEY_PAGES, KeyListing, get_pinned, list_pinned
from bifrost_tui.gateway.reply import clean_text, decode_json, looks_like_html
from bifrost_tui.gateway.settle import settle_batch

__all__ = [
    "REASON_NOT_ALLOWED",
    "REASON_NO_BATCH_KEY",
    "REASON_UNSUPPORTED",
    "ClientConfig",
    "Discovery",
    "GatewayClient",
]


@dataclass(frozen=True, repr=False)
class ClientConfig:
    """How to reach one gateway. Secrets are ``SecretStr`` (plain strings are wrapped on use)."""

    base_url: str  # may carry a path prefix (reverse proxy), e.g. https://gw/bifrost
    virtual_key: SecretStr | None = None  # sent as x-bf-vk on inference routes
    dashboard_username: str | None = None
    dashboard_password: SecretStr | None = None  # Authorization: Basic (management + inference)
    extra_headers: Mapping[str, SecretStr] = field(default_factory=dict)  # values are secrets
    connect_timeout: float = 5.0
    read_timeout: float = 15.0
    total_timeout: float = 30.0  # deadline per request attempt, covers trickling bodies
    verify: bool | str = True  # True or a CA bundle path; never silently False
    max_response_bytes: int = 16 * 1024 * 1024  # 16 MiB, streamed, refused above it
    retries: int = 2  # idempotent GETs only
    backoff: float = 0.5  # base seconds, exponential, capped at 8 s
    allow_insecure_http: bool = False  # secrets over http:// to a non-loopback host need this
    user_agent: str = f"bifrost-tui/{__version__}"

    def __repr__(self) -> str:
        def shown(secret: object) -> str:
            return "None" if secret is None else "'**********'"

        return (
            f"ClientConfig(base_url={redact_url(self.base_url)!r}, "
            f"virtual_key={shown(self.virtual_key)}, "
            f"dashboard_username={self.dashboard_username!r}, "
            f"dashboard_password={shown(self.dashboard_password)}, "
            f"extra_headers={sorted(str(k) for k in self.extra_headers)!r}, "
            f"verify={self.verify!r}, allow_insecure_http={self.allow_insecure_http!r})"
        )

    __str__ = __repr__


def _check_numbers(config: ClientConfig) -> None:
    for name in ("connect_timeout", "read_timeout", "total_timeout"):
        value = getattr(config, name)
        if not isinstance(value, int | float) or not value > 0:
            raise GatewayConfigError(f"{name} must be a positive number of seconds")
    if not isinstance(config.max_response_bytes, int) or config.max_response_bytes <= 0:
        raise GatewayConfigError("max_response_bytes must be a positive integer")
    if not isinstance(config.retries, int) or config.retries < 0:
        raise GatewayConfigError("retries must be zero or more")
    if not isinstance(config.backoff, int | float) or config.backoff < 0:
        raise GatewayConfigError("backoff must be zero or more seconds")
    if not isinstance(config.user_agent, str):
        raise GatewayConfigError("user_agent must be text")
    if not (isinstance(config.verify, bool) or (isinstance(config.verify, str) and config.verify)):
        raise GatewayConfigError("verify must be true, false or the path of a CA bundle")


def _provider_header(provider: str) -> dict[str, str]:
    """``x-model-provider`` for the /anthropic routes; a name that cannot be a header is refused."""
    if not isinstance(provider, str) or not provider.strip() or len(provider) > 200:
        raise RequestRejected("the provider name is empty or too long")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in provider):
        raise RequestRejected("the provider name contains control characters")
    return {"x-model-provider": provider}


def _batch_path(kind: str, batch_id: str) -> str:
    if not isinstance(batch_id, str):
        raise RequestRejected("the batch id must be a string")
    try:
        return f"{ANTHROPIC_BATCHES}/{encode_segment(path_id(kind, batch_id))}"
    except ValueError as exc:
        # Refused before anything is sent: an empty id, or one that is not valid text.
        raise RequestRejected(f"the batch id {exc}; it cannot be sent") from None


def _cancel_landed(batch: Batch) -> bool:
    """Evidence on a re-read that a cancel took effect."""
    return batch.cancel_initiated_at is not None or batch.state in (
        State.CANCELING,
        State.ENDED_CANCELED,
    )


def _unexpected(exc: Exception, what: str, provider: str | None = None) -> BadResponse:
    # Never str(exc): an unexpected exception's text is not vetted for secrets.
    return BadResponse(f"unexpected {type(exc).__name__} while {what}", provider=provider)


class GatewayClient:
    """Async client for the gateway's batch and management routes. Raises only ``GatewayError``.

    Construction validates the configuration (raising ``GatewayConfigError``) but sends nothing.
    """

    def __init__(
        self,
        config: ClientConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.config = config
        _check_numbers(config)
        base_url = check_base_url(config.base_url)
        try:
            virtual_key = as_secret(config.virtual_key)
            password = as_secret(config.dashboard_password)
        except Exception:
            raise GatewayConfigError("a secret in the configuration is not a string") from None
        credentials = Credentials(
            virtual_key=virtual_key,
            username=config.dashboard_username,
            password=password,
            extra_headers=check_extra_headers(
                config.extra_headers, dashboard_auth=password is not None
            ),
        )
        self._has_dashboard_auth = password is not None
        self._core = HttpCore(
            base_url=base_url,
            credentials=credentials,
            user_agent=clean_text(config.user_agent, 200) or f"bifrost-tui/{__version__}",
            connect_timeout=float(config.connect_timeout),
            read_timeout=float(config.read_timeout),
            total_timeout=float(config.total_timeout),
            verify=config.verify,
            max_response_bytes=config.max_response_bytes,
            retries=config.retries,
            backoff=float(config.backoff),
            allow_insecure_http=config.allow_insecure_http,
            transport=transport,
            sleep=sleep,
        )

    def __repr__(self) -> str:
        return f"GatewayClient(base_url={str(self._core.base_url)!r})"

    __str__ = __repr__

    # ---- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> GatewayClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        try:
            await self._core.aclose()
        except Exception:  # closing must never be what breaks a shutdown
            return

    def observe_dates(self, listener: Callable[[datetime], None]) -> None:
        """Call ``listener`` with the ``Date`` header of every answer from now on (clock skew)."""
        self._core.date_listeners.append(listener)

    # ---- gateway facts -----------------------------------------------------------------------

    async def health(self) -> dict[str, Any]:
        """``GET /health``: ``{"status": "ok", "components": {...}}`` (a non-object is wrapped)."""
        try:
            reply = await self._core.call("GET", "/health", route=Route.PUBLIC)
            data = decode_json(reply)
        except GatewayError:
            raise
        except Exception as exc:
            raise _unexpected(exc, "reading /health") from exc
        return data if isinstance(data, dict) else {"status": data}

    async def version(self) -> str:
        """``GET /api/version``: a JSON string; a bare text body or ``{"version": ...}`` also do."""
        try:
            reply = await self._core.call("GET", "/api/version", route=Route.MANAGEMENT)
            return self._version_from(reply.body, reply.headers.get("content-type", ""))
        except GatewayError:
            raise
        except Exception as exc:
            raise _unexpected(exc, "reading /api/version") from exc

    @staticmethod
    def _version_from(body: bytes, content_type: str) -> str:
        try:
            data: Any = json.loads(body)
        except (ValueError, RecursionError):
            if looks_like_html(body, content_type):
                raise BadResponse(
                    "expected a version but got an HTML page; check the base URL",
                    path="/api/version",
                ) from None
            text = clean_text(body.decode("utf-8", errors="replace"), 80)
            if text:
                return text
            raise BadResponse("the gateway sent an empty version", path="/api/version") from None
        if isinstance(data, dict):
            data = data.get("version")
        if isinstance(data, str) and data.strip():
            return clean_text(data, 80)
        if isinstance(data, int | float) and not isinstance(data, bool):
            return str(data)
        raise BadResponse("the gateway's version answer has no version", path="/api/version")

    # ---- providers ---------------------------------------------------------------------------

    async def read_providers(self) -> list[ProviderInfo]:
        """``GET /api/providers`` alone (one round trip; ``discovery.read_providers``): what its
        answer rules out is marked, the keys are not read. Raises ``AuthRefused`` on 401/403."""
        try:
            return await read_providers(self._core)
        except GatewayError:
            raise
        except Exception as exc:
            raise _unexpected(exc, "reading /api/providers") from exc

    async def key_reason(self, name: str) -> str | None:
        """Why ``name`` cannot list batches according to its keys call, or ``None`` (never
        raises: a keys call that failed says nothing; ``discovery.key_reason``)."""
        return await key_reason(self._core, name)

    async def batch_keys(self, name: str) -> KeysRead:
        """``name``'s batch-enabled keys (id and name) from its keys call, and whether there is
        none (never raises; ``discovery.batch_keys``)."""
        return await batch_keys(self._core, name)

    async def list_providers(self) -> list[ProviderInfo]:
        """Providers from the management API, each with whether its batches can be listed: the
        provider list, then the keys of those it did not rule out, concurrently. Raises
        ``AuthRefused`` when ``/api/providers`` answers 401/403."""
        infos = await self.read_providers()
        capable = [i.name for i in infos if i.batch_capable]
        reasons = await asyncio.gather(*(self.key_reason(n) for n in capable))
        return with_key_reasons(infos, dict(zip(capable, reasons, strict=True)))

    async def discover_providers(
        self,
        fallback: Sequence[str] | None = None,
        *,
        fallback_on_failure: bool = False,
        keys: bool = True,
    ) -> Discovery:
        """The management API's providers, or ``fallback`` (or the standard batch providers) with a
        note when that API refuses the credentials or does not exist at this base URL.

        With ``fallback_on_failure`` a failed ``/api/providers`` (a 500, a timeout, a refused
        connection, an unreadable answer) falls back too, with ``failure`` set: their batch routes
        are tried and answer for themselves. Without it that failure is raised (a caller that
        already knows the providers keeps them). ``keys=False`` reads ``/api/providers`` only (the
        caller reads the keys itself, beside the listings: ``survey.py``).
        """
        try:
            if keys:
                return Discovery(await self.list_providers(), "management")
            return Discovery(await self.read_providers(), "management")
        except AuthRefused:
            why = (
                "management API refused the credentials"
                if self._has_dashboard_auth
                else "management API needs dashboard credentials (none configured)"
            )
            return fallback_discovery(why, fallback)
        except NotFound:
            return fallback_discovery("management API not found at this base URL", fallback)
        except GatewayError as exc:
            if not fallback_on_failure:
                raise
            why = f"could not read the provider list ({exc.describe()})"
            return fallback_discovery(why, fallback, exc)

    # ---- batches -----------------------------------------------------------------------------

    async def list_batches(
        self,
        provider: str,
        *,
        kind: str | None = None,
        deep: bool = True,
        on_first_page: Callable[[list[Batch]], None] | None = None,
    ) -> ProviderListing:
        """One provider's batches (strategy in ``listing.py``). Never raises for gateway errors:
        the listing comes back with ``status=ERROR`` and ``error`` set. ``on_first_page`` gets the
        first page's batches when a deep walk follows it (so they can be shown at once)."""
        try:
            header = _provider_header(provider)
            return await list_provider(
                self._core,
                provider,
                kind or provider,
                deep=deep,
                provider_header=header,
                on_first_page=on_first_page,
            )
        except GatewayError as exc:
            return ProviderListing(provider=str(provider), status=ListingStatus.ERROR, error=exc)
        except Exception as exc:
            error = _unexpected(exc, "listing batches", str(provider))
            return ProviderListing(provider=str(provider), status=ListingStatus.ERROR, error=error)

    async def list_all(
        self, providers: Sequence[ProviderInfo], *, deep: bool = True
    ) -> list[ProviderListing]:
        """Listings of the batch-capable providers, fetched concurrently, in the order given.

        Providers that are not batch-capable get no listing (their ``reason`` says why)."""
        capable = [p for p in providers if getattr(p, "batch_capable", False) is True]
        listings = await asyncio.gather(
            *(self.list_batches(p.name, kind=p.kind, deep=deep) for p in capable)
        )
        return list(listings)

    async def list_pinned(
        self,
        provider: str,
        key: BatchKey,
        *,
        kind: str | None = None,
        max_pages: int = MAX_KEY_PAGES,
        on_page: Callable[[list[Batch]], None] | None = None,
    ) -> KeyListing:
        """Every batch of one key through the provider's passthrough prefix, pinned with
        ``x-bf-api-key-id`` (``passthrough.list_pinned``). Never raises: a refused route comes
        back with ``refused`` set, any other failure as an ``ERROR`` or ``PARTIAL`` listing."""
        try:
            return await list_pinned(
                self._core, provider, kind or provider, key, max_pages=max_pages, on_page=on_page
            )
        except Exception as exc:
            error = _unexpected(exc, "listing batches", str(provider))
            return KeyListing(key, ListingStatus.ERROR, error=error)

    async def get_batch(
        self,
        provider: str,
        batch_id: str,
        *,
        kind: str | None = None,
        key: BatchKey | None = None,
    ) -> Batch:
        """One batch from its faithful route: ``GET /openai/v1/batches/{id}?provider=P`` for openai
        and azure, ``GET /anthropic/v1/messages/batches/{id}`` for the others; with ``key``, the
        provider's native object through its passthrough prefix, pinned to that key (a batch of
        another account is ``NotFound``). Raises ``GatewayError``."""
        try:
            if key is not None:
                return await get_pinned(self._core, provider, kind or provider, key, batch_id)
            batch = await self._get_batch(provider, batch_id, kind or provider)
            return await settle_batch(self._core, provider, kind or provider, batch)
        except GatewayError:
            raise
        except Exception as exc:
            raise _unexpected(exc, "reading a batch", str(provider)) from exc

    async def _get_batch(self, provider: str, batch_id: str, kind: str) -> Batch:
        headers = _provider_header(provider)
        path = _batch_path(kind, batch_id)
        openai_route = kind in OPENAI_ROUTE_KINDS
        if openai_route:
            path = OPENAI_BATCHES + path[len(ANTHROPIC_BATCHES) :]
            reply = await self._core.call(
                "GET", path, route=Route.INFERENCE, params={"provider": provider}, provider=provider
            )
        else:
            reply = await self._core.call(
                "GET", path, route=Route.INFERENCE, headers=headers, provider=provider
            )
        data = decode_json(reply)
        try:
            if openai_route:
                return Batch.from_openai(data, provider=provider, provider_kind=kind)
            return Batch.from_anthropic(
                data, provider=provider, provider_kind=kind, source=Source.RETRIEVE
            )
        except ValueError as exc:
            raise BadResponse(
                f"the gateway's answer is not a batch ({exc})",
                status=reply.status,
                provider=provider,
                path=path,
            ) from None

    # ---- results (streamed; read by batch_results.py) -----------------------------------------

    async def get_openai_batch_raw(self, provider: str, batch_id: str, *, kind: str) -> Any:
        """``GET /openai/v1/batches/{id}?provider=P`` as the gateway's JSON (its file ids are
        read from it); raises ``GatewayError``."""
        try:
            path = OPENAI_BATCHES + _batch_path(kind, batch_id)[len(ANTHROPIC_BATCHES) :]
            reply = await self._core.call(
                "GET", path, route=Route.INFERENCE, params={"provider": provider}, provider=provider
            )
            return decode_json(reply)
        except GatewayError:
            raise
        except Exception as exc:
            raise _unexpected(exc, "reading a batch", str(provider)) from exc

    def stream_results(
        self, provider: str, batch_id: str, *, kind: str, limits: StreamLimits
    ) -> AbstractAsyncContextManager[BodyStream]:
        """``GET /anthropic/v1/messages/batches/{id}/results``, its body streamed; raises
        ``GatewayError`` (a refused id or provider name before anything is sent)."""
        headers = _provider_header(provider)
        path = _batch_path(kind, batch_id) + "/results"
        return self._core.stream(
            path, route=Route.INFERENCE, limits=limits, headers=headers, provider=provider
        )

    def stream_file(
        self, provider: str, file_id: str, *, limits: StreamLimits
    ) -> AbstractAsyncContextManager[BodyStream]:
        """``GET /openai/v1/files/{file_id}/content?provider=P``, the provider's file streamed."""
        try:
            segment = encode_segment(file_id)
        except (TypeError, ValueError):
            raise BadResponse(
                "the batch names a file id that cannot be sent", provider=provider
            ) from None
        return self._core.stream(
            f"/openai/v1/files/{segment}/content",
            route=Route.INFERENCE,
            limits=limits,
            params={"provider": provider},
            provider=provider,
        )

    async def cancel_batch(
        self,
        provider: str,
        batch_id: str,
        *,
        kind: str | None = None,
        on_reply: Callable[[Batch], None] | None = None,
    ) -> CancelResult:
        """``POST .../{id}/cancel`` once (never retried), then re-read the batch.

        - 2xx with a batch body: ACCEPTED; ``batch`` is the reply merged under the re-read.
        - 4xx, or a 500 from Bifrost itself (``GatewayConfigError``), or a redirect: REFUSED.
        - Timeout, connection dropped after sending, other 5xx, or an unreadable 2xx body: UNKNOWN,
          turned into ACCEPTED only if the re-read shows the cancel landed.
        - The request never left (connection refused, DNS, TLS): raises ``Unreachable``.
        When the re-read fails, ``reread_error`` says why and ``batch`` is the reply (or ``None``).
        ``on_reply`` sees an accepted reply at once, before the re-read: the console paints
        ``canceling`` one round trip sooner.
        """
        try:
            return await self._cancel_batch(provider, batch_id, kind or provider, on_reply)
        except GatewayError:
            raise
        except Exception as exc:
            raise _unexpected(exc, "cancelling a batch", str(provider)) from exc

    async def _cancel_batch(
        self,
        provider: str,
        batch_id: str,
        kind: str,
        on_reply: Callable[[Batch], None] | None = None,
    ) -> CancelResult:
        headers = _provider_header(provider)
        path = _batch_path(kind, batch_id) + "/cancel"
        result = CancelResult(provider=provider, batch_id=batch_id, outcome=CancelOutcome.UNKNOWN)
        try:
            reply = await self._core.exchange(
                "POST", path, route=Route.INFERENCE, headers=headers, content=b""
            )
        except TransportFailure as failure:
            failure.error.provider = provider
            if not failure.sent:
                raise failure.error from None
            result.error = failure.error
        else:
            result.http_status = reply.status
            result.request_id = reply.request_id
            if reply.ok:
                try:
                    result.reply = Batch.from_anthropic(
                        decode_json(reply),
                        provider=provider,
                        provider_kind=kind,
                        source=Source.CANCEL,
                    )
                    result.outcome = CancelOutcome.ACCEPTED
                except (GatewayError, ValueError) as exc:
                    why = exc.message if isinstance(exc, GatewayError) else str(exc)
                    result.error = BadResponse(
                        f"cancel answered {reply.status} but not with a batch ({why})",
                        status=reply.status,
                        provider=provider,
                        path=path,
                    )
            else:
                error = error_from_reply(reply, provider=provider, redact=self._core.redact)
                result.error = error
                result.request_id = result.request_id or error.request_id
                if 300 <= reply.status < 500 or isinstance(error, GatewayConfigError):
                    result.outcome = CancelOutcome.REFUSED
        if result.reply is not None and on_reply is not None:
            on_reply(result.reply)
        try:
            fresh = await self._get_batch(provider, batch_id, kind)
        except Exception as exc:
            result.reread_error = (
                exc if isinstance(exc, GatewayError) else _unexpected(exc, "re-reading", provider)
            )
            result.batch = result.reply
        else:
            result.batch = result.reply.updated_by(fresh) if result.reply is not None else fresh
            if result.outcome is CancelOutcome.UNKNOWN and _cancel_landed(fresh):
                result.outcome = CancelOutcome.ACCEPTED
        return result
