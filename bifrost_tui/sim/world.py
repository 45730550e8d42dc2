"""SimWorld: the simulated gateway's state (providers, keys, batches) and how the clock moves it.

State is advanced lazily: every request (and ``advance()``) plays each batch's plan forward to
``clock.now()``. Transitions happen at planned times, never at "whenever we looked", so the world at
a given instant is the same however often it was observed (what each transition does is in
``progression``). Everything random comes from seeded generators; time only from the injected clock.
"""

from __future__ import annotations

import heapq
import random
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from bifrost_tui.clock import Clock, OffsetClock
from bifrost_tui.sim.faults import Faults
from bifrost_tui.sim.ids import new_batch_id, new_input_file
from bifrost_tui.sim.model import (
    BATCH_KINDS,
    BEDROCK_ARN_PREFIX,
    EXPIRY_HOURS,
    Counts,
    DashboardAuth,
    Phase,
    ProviderConfig,
    SimBatch,
    VirtualKey,
    as_unix,
    native_status,
    phase_of,
)
from bifrost_tui.sim.model import standard_providers as standard_providers  # re-exported
from bifrost_tui.sim.progression import next_event, start_cancel, step
from bifrost_tui.sim.results import ResultsSpec, shape_results

if TYPE_CHECKING:
    from bifrost_tui.sim.exchange import SimRequest, SimResponse

#: What ``GET /api/version`` answers: makes clear this is the simulator, not a real gateway.
SIM_VERSION = "v1.5.1-sim (bifrost-tui simulator)"
#: Default seconds of simulated time a cancel spends in cancelling/canceling before it ends.
DEFAULT_CANCEL_DELAY = 20.0
_UNSET: Any = object()


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
    #: The provider key the request went out with, when one key was used (pinned with
    #: ``x-bf-api-key-id`` or chosen per request on a passthrough route): its id, never a value.
    key_id: str | None = None


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
        clock_skew: timedelta = timedelta(0),
    ) -> None:
        #: The gateway's own clock: ``clock_skew`` ahead of ``clock`` (negative: behind), as when
        #: the operator's machine runs behind. Timestamps and every answer's ``Date`` follow it.
        self.clock: Clock = OffsetClock(clock, clock_skew) if clock_skew else clock
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
        #: How batches' results look: per (provider, batch id), or (provider, None) for all.
        self.results_specs: dict[tuple[str, str | None], ResultsSpec] = {}
        self.request_log: list[RequestRecord] = []
        self.sessions: set[str] = set()
        self._rng = random.Random(f"{seed}:world")
        self.fault_rng = random.Random(f"{seed}:faults")
        #: Picks the key of an unpinned passthrough request (one draw per such request).
        self.key_rng = random.Random(f"{seed}:passthrough-keys")
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

        ``batches_per_provider=N`` makes exactly N per provider account (benchmarks: 10,000 is
        quick); ``keys_per_provider=K`` gives each batch provider K batch keys, each its own account
        holding its own batches, unless ``shared_account=True`` (one account the K keys share);
        ``arrival_interval`` (default 900 s) keeps new batches coming; every other keyword goes to
        the constructor.
        """
        from bifrost_tui.sim.demo import populate_demo

        per_provider = opts.pop("batches_per_provider", None)
        keys_per_provider = opts.pop("keys_per_provider", 1)
        shared_account = opts.pop("shared_account", False)
        if "providers" not in opts:
            opts["providers"] = standard_providers(
                keys_per_provider=keys_per_provider, shared_account=shared_account
            )
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
                if batch is None or next_event(batch) != when:
                    continue  # stale entry: the batch moved on another way
                step(batch, when, self.cancel_delay)
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
            batch_id = id if id is not None else self.new_id(config)
            if batch_id in self._by_id[provider]:
                raise ValueError(f"{provider} already has a batch {batch_id!r}")
            is_openai = kind in ("openai", "azure")
            ends = [as_unix(v) for v in (completed_at, cancelled_at, failed_at, expired_at)]
            end = as_unix(ended_at)
            if end is None and phase.terminal:
                end = next((v for v in ends if v is not None), None)
            expires: int | None
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
                input_file_id=new_input_file(config.base, batch_id)
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

    def set_results(self, provider: str, batch_id: str | None = None, **spec: Any) -> ResultsSpec:
        """Shape a batch's results (``None``: every batch of ``provider``), see ``sim.results``."""
        return shape_results(self, provider, batch_id, ResultsSpec(**spec))

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
            start_cancel(batch, t, self.cancel_delay)
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
        when = next_event(batch)
        if when is not None:
            self._event_seq += 1
            heapq.heappush(self._heap, (when, self._event_seq, batch.provider, batch.id))

    def new_id(self, config: ProviderConfig, rng: random.Random | None = None) -> str:
        """An id in the provider's format that none of its batches has yet."""
        rng = rng or self._id_rngs[config.name]
        per = self._by_id[config.name]
        while True:
            candidate = new_batch_id(config.base, rng)
            if candidate not in per:
                return candidate

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


def _as_vk(value: VirtualKey | str | SecretStr) -> VirtualKey:
    if isinstance(value, VirtualKey):
        return value
    if isinstance(value, SecretStr):
        return VirtualKey(value=value)
    return VirtualKey(value=SecretStr(value))
