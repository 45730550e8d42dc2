"""SimWorld: the simulated gateway's state (providers, keys, batches) and how the clock moves it.

State is advanced lazily: every request (and ``advance()``) plays each batch's plan forward to
``clock.now()``. Transitions happen at planned times, never at "whenever we looked", so the world at
a given instant is the same however often it was observed. Everything random comes from seeded
generators; time only from the injected clock.
"""

from __future__ import annotations

import hashlib
import heapq
import random
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from bifrost_tui.clock import Clock
from bifrost_tui.sim.faults import Faults
from bifrost_tui.sim.model import (
    ARCHIVE_AFTER_S,
    BATCH_KINDS,
    BEDROCK_ARN_PREFIX,
    EXPIRY_HOURS,
    Counts,
    DashboardAuth,
    KeyConfig,
    Phase,
    ProviderConfig,
    SimBatch,
    VirtualKey,
    as_unix,
    native_status,
    phase_of,
)

if TYPE_CHECKING:
    from bifrost_tui.sim.handler import SimRequest, SimResponse

#: What ``GET /api/version`` answers: makes clear this is the simulator, not a real gateway.
SIM_VERSION = "v1.5.1-sim (bifrost-tui simulator)"
#: Default seconds of simulated time a cancel spends in cancelling/canceling before it ends.
DEFAULT_CANCEL_DELAY = 20.0
_UNSET: Any = object()

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_LOWER = "abcdefghijklmnopqrstuvwxyz0123456789"
_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def standard_providers(*, groq: bool = True) -> list[ProviderConfig]:
    """The five batch-capable providers with one batch key each, plus groq (no batch support, and
    its key not batch-enabled, as the UI hides the toggle for it)."""
    redacted = {
        "anthropic": "sk-a************************Qx7w",
        "openai": "sk-p************************k3Qz",
        "azure": "3f2b************************9c1d",
        "bedrock": "AKIA************************7XKQ",
        "gemini": "AIza************************fE2s",
    }
    configs = [
        ProviderConfig(name, keys=[KeyConfig(name=f"{name}-batch", redacted=redacted[name])])
        for name in ("anthropic", "azure", "bedrock", "gemini", "openai")
    ]
    if groq:
        configs.append(
            ProviderConfig(
                "groq",
                keys=[
                    KeyConfig(
                        name="groq-main",
                        use_for_batch_api=False,
                        redacted="gsk_************************Lm2p",
                    )
                ],
            )
        )
    return configs


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One request the simulated gateway saw. Header *names* only: values never get recorded."""

    method: str
    path: str
    query: str
    provider: str | None
    #: ``batch_list``, ``batch_retrieve``, ``batch_cancel``, ``providers``, ``keys``, ``health``...
    op: str | None
    #: The HTTP status answered (``None``: no answer, the transport failed).
    status: int | None
    #: True when the gateway itself handled it; False when something in front answered instead
    #: (down, refused connection, a proxy error, a scripted response).
    handled: bool
    header_names: tuple[str, ...]
    at: datetime


class SimWorld:
    """The simulated gateway's world. Thread-safe: every public mutation takes ``lock``."""

    def __init__(
        self,
        clock: Clock,
        *,
        seed: int = 0,
        providers: Iterable[ProviderConfig] | None = None,
        cancel_delay: float = DEFAULT_CANCEL_DELAY,
        faults: Faults | None = None,
        dashboard_auth: DashboardAuth | None = None,
        require_virtual_key: bool = False,
        virtual_keys: Iterable[VirtualKey | str | SecretStr] = (),
        allow_per_request_raw_override: bool = False,
        arrival_interval: float | None = None,
        version: str = SIM_VERSION,
    ) -> None:
        self.clock = clock
        self.seed = seed
        self.lock = threading.RLock()
        self.cancel_delay = float(cancel_delay)
        self.faults = faults or Faults()
        self.dashboard_auth = dashboard_auth
        self.require_virtual_key = require_virtual_key
        self.virtual_keys: list[VirtualKey] = [_as_vk(v) for v in virtual_keys]
        self.allow_per_request_raw_override = allow_per_request_raw_override
        #: Mean seconds between new batches per batch provider (``None``: no new batches appear).
        self.arrival_interval = arrival_interval
        self.version = version
        self.providers: dict[str, ProviderConfig] = {}
        self.request_log: list[RequestRecord] = []
        self.sessions: set[str] = set()
        self._rng = random.Random(f"{seed}:world")
        self.fault_rng = random.Random(f"{seed}:faults")
        self._seq = 0
        self._event_seq = 0
        self._heap: list[tuple[int, int, str, str]] = []
        self._by_id: dict[str, dict[str, SimBatch]] = {}
        self._lists: dict[tuple[str, int], list[SimBatch]] = {}
        self._pos: dict[tuple[str, int], dict[str, int]] = {}
        self._id_rngs: dict[str, random.Random] = {}
        self._arrival_rngs: dict[str, random.Random] = {}
        self._next_arrival: dict[str, float] = {}
        for config in providers if providers is not None else standard_providers():
            self.add_provider(config)

    # ------------------------------------------------------------------------------ construction

    @classmethod
    def demo(cls, clock: Clock, seed: int = 7, **opts: Any) -> SimWorld:
        """A world that looks lived-in: 8-25 batches per provider in a realistic mix of states.

        ``batches_per_provider=N`` makes exactly N per provider (benchmarks: 10,000 is quick);
        ``arrival_interval`` (default 900 s) keeps new batches coming; every other keyword goes to
        the constructor.
        """
        from bifrost_tui.sim.demo import populate_demo

        per_provider = opts.pop("batches_per_provider", None)
        opts.setdefault("arrival_interval", 900.0)
        world = cls(clock, seed=seed, **opts)
        populate_demo(world, per_provider)
        return world

    def add_provider(self, config: ProviderConfig) -> ProviderConfig:
        with self.lock:
            if config.name in self.providers:
                raise ValueError(f"provider {config.name!r} already configured")
            key_rng = random.Random(f"{self.seed}:keys:{config.name}")
            for key in config.keys or []:
                if key.id is None:
                    key.id = str(uuid.UUID(int=key_rng.getrandbits(128), version=4))
            self.providers[config.name] = config
            self._by_id.setdefault(config.name, {})
            self._id_rngs[config.name] = random.Random(f"{self.seed}:ids:{config.name}")
            self._arrival_rngs[config.name] = random.Random(f"{self.seed}:arrivals:{config.name}")
            return config

    def provider(self, name: str) -> ProviderConfig:
        return self.providers[name]

    def batch_providers(self) -> list[str]:
        """Configured providers whose base kind has a batch API (sorted)."""
        return sorted(n for n, c in self.providers.items() if c.batch_supported)

    # ------------------------------------------------------------------------------ time

    def now(self) -> int:
        return int(self.clock.now().timestamp())

    def advance(self, now: int | datetime | None = None) -> int:
        """Play the world forward to ``now`` (default: the clock). Returns the unix time used."""
        with self.lock:
            t = self.now() if now is None else as_unix(now)
            assert t is not None
            self._spawn_arrivals(t)
            heap = self._heap
            while heap and heap[0][0] <= t:
                when, _, provider, batch_id = heapq.heappop(heap)
                batch = self._by_id.get(provider, {}).get(batch_id)
                if batch is None or self._next_event(batch) != when:
                    continue  # stale entry: the batch moved on another way
                self._step(batch, when)
                self._schedule(batch)
            return t

    # ------------------------------------------------------------------------------ batches

    def add_batch(
        self,
        provider: str,
        *,
        id: str | None = None,
        status: str | None = None,
        total: int | None = None,
        succeeded: int | None = None,
        errored: int | None = None,
        completed: int | None = None,
        failed: int | None = None,
        canceled: int = 0,
        expired: int = 0,
        processing: int | None = None,
        created_at: Any = None,
        expires_at: Any = _UNSET,
        in_progress_at: Any = None,
        finalizing_at: Any = None,
        completed_at: Any = None,
        failed_at: Any = None,
        expired_at: Any = None,
        cancelling_at: Any = None,
        cancelled_at: Any = None,
        ended_at: Any = None,
        archived_at: Any = None,
        results_url: Any = _UNSET,
        endpoint: Any = _UNSET,
        input_file_id: Any = _UNSET,
        completion_window: Any = _UNSET,
        metadata: dict[str, str] | None = None,
        output_file_id: str | None = None,
        error_file_id: str | None = None,
        model: str | None = None,
        key_index: int = 0,
        start_at: Any = None,
        finish_at: Any = None,
        done_at: Any = None,
        fail_at: Any = None,
        outcome: str = "complete",
        error_ratio: float | None = None,
        cancel_at: Any = None,
    ) -> SimBatch:
        """Put one batch in the world exactly as given (tests, golden payloads, the demo).

        ``status`` is the provider's *native* word ("in_progress", "ended", "InProgress",
        "BATCH_STATE_RUNNING"...; an unknown word is kept and passes through the gateway). Counts:
        ``succeeded``/``errored`` (OpenAI's ``completed``/``failed`` are accepted as aliases);
        ``total`` defaults to their sum plus ``processing``. Timestamps accept datetimes or unix
        seconds. Without ``finish_at`` the batch stands still (except expiry and cancel); with it,
        counts move from ``start_at`` to ``finish_at`` and it then completes (OpenAI/Azure pass
        through ``finalizing`` until ``done_at``). The batch is the newest of its provider's list.
        """
        with self.lock:
            config = self._batch_config(provider)
            kind = config.base
            if completed is not None:
                if succeeded is not None:
                    raise ValueError("give succeeded or completed, not both")
                succeeded = completed
            if failed is not None:
                if errored is not None:
                    raise ValueError("give errored or failed, not both")
                errored = failed
            succeeded = succeeded or 0
            errored = errored or 0
            created = as_unix(created_at) if created_at is not None else self.now()
            assert created is not None
            start = as_unix(start_at)
            finish = as_unix(finish_at)
            if status is None:
                phase = Phase.QUEUED if start is not None and start > self.now() else Phase.RUNNING
                native = native_status(kind, phase)
            else:
                native = status
                phase = phase_of(kind, status)
                if kind == "anthropic" and status == "ended" and cancelling_at is not None:
                    phase = Phase.CANCELLED
            if total is None:
                total = succeeded + errored + canceled + expired + (processing or 0)
            counts = Counts(total, succeeded, errored, canceled, expired)
            if processing is not None and counts.processing != processing:
                raise ValueError("processing does not match total minus the other counts")
            batch_id = id if id is not None else self._new_id(config)
            if batch_id in self._by_id[provider]:
                raise ValueError(f"{provider} already has a batch {batch_id!r}")
            is_openai = kind in ("openai", "azure")
            ends = [as_unix(v) for v in (completed_at, cancelled_at, failed_at, expired_at)]
            end = as_unix(ended_at)
            if end is None and phase.terminal:
                end = next((v for v in ends if v is not None), None)
            if expires_at is _UNSET:
                expires = created + EXPIRY_HOURS.get(kind, 24) * 3600
            else:
                expires = as_unix(expires_at)
            if results_url is _UNSET:
                results_url = (
                    f"https://api.anthropic.com/v1/messages/batches/{batch_id}/results"
                    if kind == "anthropic" and phase.terminal
                    else None
                )
            self._seq += 1
            batch = SimBatch(
                provider=provider,
                kind=kind,
                id=batch_id,
                phase=phase,
                native=native,
                seq=self._seq,
                created_at=created,
                total=total,
                counts=counts,
                expires_at=expires,
                in_progress_at=as_unix(in_progress_at),
                finalizing_at=as_unix(finalizing_at),
                completed_at=ends[0],
                failed_at=ends[2],
                expired_at=ends[3],
                cancelling_at=as_unix(cancelling_at),
                cancelled_at=ends[1],
                ended_at=end,
                archived_at=as_unix(archived_at),
                results_url=results_url,
                endpoint=("/v1/chat/completions" if is_openai else None)
                if endpoint is _UNSET
                else endpoint,
                input_file_id=self._new_input_file(config, batch_id)
                if input_file_id is _UNSET
                else input_file_id,
                completion_window=("24h" if is_openai else None)
                if completion_window is _UNSET
                else completion_window,
                metadata=dict(metadata) if metadata else None,
                output_file_id=output_file_id,
                error_file_id=error_file_id,
                model=model,
                key_index=key_index,
                plan_outcome=outcome,
                plan_fail_at=as_unix(fail_at),
                plan_cancel_at=as_unix(cancel_at),
            )
            if finish is not None:
                batch.plan_start_at = (
                    start
                    if start is not None
                    else (batch.in_progress_at if batch.in_progress_at is not None else created)
                )
                batch.plan_finish_at = finish
                batch.plan_done_at = as_unix(done_at)
                if error_ratio is None:
                    error_ratio = errored / (succeeded + errored) if succeeded + errored else 0.0
                batch.plan_error_ratio = error_ratio
                batch.live = phase.active
            elif start is not None:
                batch.plan_start_at = start
            if phase is Phase.CANCELLING and batch.cancelling_at is not None:
                batch.cancel_done_at = batch.cancelling_at + round(self.cancel_delay)
            self._register(batch)
            return batch

    def create_batch(
        self,
        provider: str,
        *,
        total: int,
        duration: float = 3600.0,
        start_delay: float = 30.0,
        finalize: float = 120.0,
        error_ratio: float = 0.01,
        outcome: str = "complete",
        id: str | None = None,
        **extra: Any,
    ) -> SimBatch:
        """A batch submitted now, as a client would: queued, then running for ``duration`` seconds,
        then done (OpenAI/Azure spend ``finalize`` seconds in ``finalizing``)."""
        now = self.now()
        start = now + int(start_delay)
        finish = start + max(1, int(duration))
        config = self._batch_config(provider)
        kind = config.base
        phase = Phase.QUEUED if start > now else Phase.RUNNING
        return self.add_batch(
            provider,
            id=id,
            status=native_status(kind, phase),
            total=total,
            created_at=now,
            start_at=start,
            finish_at=finish,
            done_at=finish + int(finalize) if kind in ("openai", "azure") else None,
            fail_at=start if outcome == "fail" else None,
            outcome=outcome,
            error_ratio=error_ratio,
            **extra,
        )

    def batches(self, provider: str, key_index: int | None = None) -> list[SimBatch]:
        """The provider's batches, newest first (after playing the world forward)."""
        with self.lock:
            self.advance()
            lists = [
                lst
                for (p, k), lst in self._lists.items()
                if p == provider and (key_index is None or k == key_index)
            ]
            merged = [b for lst in lists for b in lst]
            merged.sort(key=lambda b: b.seq, reverse=True)
            return merged

    def all_batches(self) -> list[SimBatch]:
        with self.lock:
            self.advance()
            return sorted(
                (b for per in self._by_id.values() for b in per.values()),
                key=lambda b: b.seq,
                reverse=True,
            )

    def get(self, provider: str, batch_id: str) -> SimBatch | None:
        """The batch with exactly this upstream id (after playing the world forward)."""
        with self.lock:
            self.advance()
            return self._by_id.get(provider, {}).get(batch_id)

    def find(self, provider: str, batch_id: str) -> SimBatch | None:
        """Look a batch up the way the upstream API would from what the gateway passes on:
        Bedrock takes the full ARN or the trailing job id; Gemini ``batches/x`` or bare ``x``."""
        per = self._by_id.get(provider, {})
        batch = per.get(batch_id)
        if batch is not None:
            return batch
        config = self.providers.get(provider)
        kind = config.base if config else provider
        if kind == "bedrock" and "/" not in batch_id and not batch_id.startswith("arn:"):
            return per.get(BEDROCK_ARN_PREFIX + batch_id) or next(
                (b for b in per.values() if b.job_id == batch_id), None
            )
        if kind == "gemini" and not batch_id.startswith("batches/"):
            return per.get("batches/" + batch_id)
        return None

    def cancel(self, batch: SimBatch, now: int | None = None) -> str:
        """Ask the upstream to cancel: ``"cancelling"`` (started now), ``"already"`` (a cancel is
        under way: idempotent) or ``"ended"`` (terminal: the upstream refuses)."""
        with self.lock:
            t = self.advance() if now is None else now
            if batch.phase is Phase.CANCELLING:
                return "already"
            if batch.phase.terminal:
                return "ended"
            self._start_cancel(batch, t)
            self._schedule(batch)
            return "cancelling"

    def page(
        self, provider: str, key_index: int, start: int, limit: int
    ) -> tuple[list[SimBatch], bool]:
        """Newest-first items ``start..start+limit`` of one key's account; and are there more?"""
        lst = self._lists.get((provider, key_index), [])
        n = len(lst)
        hi = n - start
        lo = max(0, hi - limit)
        items = lst[lo:hi][::-1] if hi > 0 else []
        return items, lo > 0

    def position(self, provider: str, key_index: int, batch_id: str) -> int | None:
        """Newest-first index of a batch in one key's account (for ``after=<id>`` cursors)."""
        pos = self._pos.get((provider, key_index), {}).get(batch_id)
        if pos is None:
            return None
        return len(self._lists[(provider, key_index)]) - 1 - pos

    # ------------------------------------------------------------------------------ requests

    def handle(self, request: SimRequest) -> SimResponse:
        """Answer one HTTP request (the pure core both the transport and the server use)."""
        from bifrost_tui.sim.handler import handle

        return handle(self, request)

    def log_request(self, record: RequestRecord) -> None:
        with self.lock:
            self.request_log.append(record)

    def requests(
        self,
        *,
        op: str | None = None,
        provider: str | None = None,
        method: str | None = None,
        handled: bool | None = None,
    ) -> list[RequestRecord]:
        """Logged requests matching every filter given (default: every attempt, answered or not)."""
        with self.lock:
            return [
                r
                for r in self.request_log
                if (op is None or r.op == op)
                and (provider is None or r.provider == provider)
                and (method is None or r.method == method)
                and (handled is None or r.handled == handled)
            ]

    def clear_request_log(self) -> None:
        with self.lock:
            self.request_log.clear()

    def virtual_key(self, value: str) -> VirtualKey | None:
        import hmac

        for vk in self.virtual_keys:
            if hmac.compare_digest(vk.value.get_secret_value().encode(), value.encode()):
                return vk
        return None

    def new_session(self) -> str:
        with self.lock:
            token = str(uuid.UUID(int=self._rng.getrandbits(128), version=4))
            self.sessions.add(token)
            return token

    # ------------------------------------------------------------------------------ internals

    def _batch_config(self, provider: str) -> ProviderConfig:
        config = self.providers.get(provider)
        if config is None:
            raise ValueError(f"unknown provider {provider!r}")
        if config.base not in BATCH_KINDS:
            raise ValueError(f"provider {provider!r} has no batch API")
        return config

    def _register(self, batch: SimBatch) -> None:
        self._by_id[batch.provider][batch.id] = batch
        slot = (batch.provider, batch.key_index)
        lst = self._lists.setdefault(slot, [])
        self._pos.setdefault(slot, {})[batch.id] = len(lst)
        lst.append(batch)
        self._schedule(batch)

    def _schedule(self, batch: SimBatch) -> None:
        when = self._next_event(batch)
        if when is not None:
            self._event_seq += 1
            heapq.heappush(self._heap, (when, self._event_seq, batch.provider, batch.id))

    def _next_event(self, b: SimBatch) -> int | None:
        phase = b.phase
        if phase is Phase.CANCELLING:
            return b.cancel_done_at
        if phase.active:
            candidates = []
            if b.plan_cancel_at is not None:
                candidates.append(b.plan_cancel_at)
            if b.plan_outcome == "fail" and b.plan_fail_at is not None:
                candidates.append(b.plan_fail_at)
            if phase is Phase.QUEUED and b.plan_start_at is not None:
                candidates.append(b.plan_start_at)
            if phase is Phase.RUNNING and b.plan_finish_at is not None and b.plan_outcome != "fail":
                candidates.append(b.plan_finish_at)
            if phase is Phase.FINALIZING and b.plan_done_at is not None:
                candidates.append(b.plan_done_at)
            if phase is not Phase.FINALIZING and b.expires_at is not None:
                candidates.append(b.expires_at)
            return min(candidates) if candidates else None
        if phase.terminal and b.kind == "anthropic" and b.archived_at is None:
            return b.created_at + ARCHIVE_AFTER_S
        return None

    def _step(self, b: SimBatch, t: int) -> None:
        """Apply the one transition due at ``t`` (the earliest; ties in a fixed order)."""
        phase = b.phase
        if phase is Phase.CANCELLING:
            self._finish_cancel(b, t)
        elif phase.active and b.plan_cancel_at == t:
            b.plan_cancel_at = None
            self._start_cancel(b, t)
        elif phase.active and b.plan_outcome == "fail" and b.plan_fail_at == t:
            self._fail(b, t)
        elif phase is Phase.QUEUED and b.plan_start_at == t:
            self._set_phase(b, Phase.RUNNING)
            b.in_progress_at = t
        elif phase is Phase.RUNNING and b.plan_finish_at == t:
            if b.kind in ("openai", "azure") and b.plan_done_at is not None:
                b.counts = b.counts_at(t)
                b.live = False
                self._set_phase(b, Phase.FINALIZING)
                b.finalizing_at = t
            else:
                self._complete(b, t)
        elif phase is Phase.FINALIZING and b.plan_done_at == t:
            self._complete(b, t)
        elif phase.active and b.expires_at == t:
            self._expire(b, t)
        elif phase.terminal and b.kind == "anthropic":
            b.archived_at = t

    def _set_phase(self, b: SimBatch, phase: Phase) -> None:
        b.phase = phase
        b.native = native_status(b.kind, phase)

    def _freeze(self, b: SimBatch, t: int) -> Counts:
        counts = b.counts_at(t).copy()
        b.counts = counts
        b.live = False
        return counts

    def _complete(self, b: SimBatch, t: int) -> None:
        counts = self._freeze(b, t)
        if b.plan_finish_at is not None:
            counts.succeeded = counts.total - counts.errored - counts.canceled - counts.expired
        partial = b.plan_outcome == "partial" and b.kind == "bedrock"
        self._set_phase(b, Phase.PARTIAL if partial else Phase.COMPLETED)
        b.completed_at = t
        b.ended_at = t
        self._results(b)

    def _fail(self, b: SimBatch, t: int) -> None:
        counts = self._freeze(b, t)
        if b.kind in ("openai", "azure") and b.phase is Phase.QUEUED:
            # Validation failed: OpenAI never reports a request count for such a batch.
            b.counts = Counts()
            b.total = 0
        elif b.kind == "anthropic":
            # Anthropic has no "failed": the batch ends with every request errored.
            counts.errored = counts.total - counts.succeeded
        b.failed_at = t
        b.ended_at = t
        self._set_phase(b, Phase.FAILED)
        if b.kind == "anthropic":
            self._results(b)

    def _expire(self, b: SimBatch, t: int) -> None:
        counts = self._freeze(b, t)
        if b.kind in ("anthropic", "gemini"):
            counts.expired += counts.processing
        self._set_phase(b, Phase.EXPIRED)
        b.expired_at = t
        b.ended_at = t
        self._results(b)

    def _start_cancel(self, b: SimBatch, t: int) -> None:
        self._freeze(b, t)
        self._set_phase(b, Phase.CANCELLING)
        b.cancelling_at = t
        b.cancel_done_at = t + max(0, round(self.cancel_delay))

    def _finish_cancel(self, b: SimBatch, t: int) -> None:
        counts = b.counts
        if b.kind in ("anthropic", "gemini"):
            counts.canceled += counts.processing
        self._set_phase(b, Phase.CANCELLED)
        b.cancelled_at = t
        b.ended_at = t
        b.cancel_done_at = None
        self._results(b)

    def _results(self, b: SimBatch) -> None:
        if b.kind == "anthropic" and b.results_url is None:
            b.results_url = f"https://api.anthropic.com/v1/messages/batches/{b.id}/results"
        elif b.kind in ("openai", "azure"):
            # Derived from the id, not drawn: the world must not depend on event order.
            if b.counts.succeeded and b.output_file_id is None:
                b.output_file_id = "file-" + _derived(f"{b.id}:output", 22)
            if b.counts.errored and b.error_file_id is None:
                b.error_file_id = "file-" + _derived(f"{b.id}:errors", 22)

    def _new_id(self, config: ProviderConfig, rng: random.Random | None = None) -> str:
        rng = rng or self._id_rngs[config.name]
        per = self._by_id[config.name]
        while True:
            candidate = new_batch_id(config.base, rng)
            if candidate not in per:
                return candidate

    def _new_input_file(self, config: ProviderConfig, batch_id: str) -> str | None:
        seed = f"{batch_id}:input"
        kind = config.base
        if kind == "openai":
            return "file-" + _derived(seed, 22)
        if kind == "azure":
            return "file-" + _derived(seed, 32, "0123456789abcdef")
        if kind == "bedrock":
            return f"s3://bifrost-batch-input/jobs/{_derived(seed, 10, _LOWER)}.jsonl"
        if kind == "gemini":
            return "files/" + _derived(seed, 12, _LOWER)
        return None

    def _spawn_arrivals(self, now: int) -> None:
        if not self.arrival_interval:
            return
        from bifrost_tui.sim.demo import arrival_batch

        for name in self.batch_providers():
            rng = self._arrival_rngs[name]
            nxt = self._next_arrival.get(name)
            if nxt is None:
                nxt = self._next_arrival[name] = now + rng.expovariate(1 / self.arrival_interval)
            while nxt <= now:
                arrival_batch(self, name, int(nxt), rng)
                nxt += rng.expovariate(1 / self.arrival_interval)
            self._next_arrival[name] = nxt


def new_batch_id(kind: str, rng: random.Random) -> str:
    """A fresh id in the provider's own format."""
    if kind == "openai":
        return f"batch_{rng.getrandbits(128):032x}"
    if kind == "azure":
        return "batch_" + str(uuid.UUID(int=rng.getrandbits(128), version=4))
    if kind == "anthropic":
        return "msgbatch_01" + _pick(rng, _B58, 22)
    if kind == "gemini":
        return "batches/" + _pick(rng, _LOWER, 22)
    if kind == "bedrock":
        return BEDROCK_ARN_PREFIX + _pick(rng, _LOWER, 12)
    return "batch_" + _pick(rng, _LOWER, 16)


_TABLES: dict[str, bytes] = {}


def _spell(raw: bytes, alphabet: str) -> str:
    """Bytes -> characters of ``alphabet`` (one byte each; a translate table keeps it fast)."""
    table = _TABLES.get(alphabet)
    if table is None:
        table = _TABLES[alphabet] = bytes(ord(alphabet[i % len(alphabet)]) for i in range(256))
    return raw.translate(table).decode("ascii")


def _pick(rng: random.Random, alphabet: str, n: int) -> str:
    return _spell(rng.getrandbits(8 * n).to_bytes(n, "big"), alphabet)


def _derived(seed: str, n: int, alphabet: str = _ALNUM) -> str:
    """``n`` (<= 64) characters that depend only on ``seed``: a hash, not a seeded generator."""
    return _spell(hashlib.blake2b(seed.encode(), digest_size=64).digest()[:n], alphabet)


def _as_vk(value: VirtualKey | str | SecretStr) -> VirtualKey:
    if isinstance(value, VirtualKey):
        return value
    if isinstance(value, SecretStr):
        return VirtualKey(value=value)
    return VirtualKey(value=SecretStr(value))


def utc(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)
