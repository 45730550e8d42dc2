"""The simulator's upstream truth: batches as each provider holds them, and the gateway config.

Nothing here knows about HTTP or Bifrost's converters (see ``emit.py``). A ``SimBatch`` keeps what
the provider itself would report: its own id format, its own status word, unix timestamps and true
request counts, plus a private *plan* (when it starts, ends, fails) that the clock plays forward.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import SecretStr

from bifrost_tui.sim.faults import Faults

#: Base provider types whose batch API Bifrost v1.5.x implements.
BATCH_KINDS: frozenset[str] = frozenset({"anthropic", "openai", "azure", "bedrock", "gemini"})

#: Hours until a batch expires upstream. Bedrock and Gemini have no ``expires_at`` on the wire
#: (Bifrost never fills it), but their jobs still time out: Bedrock's job expiration, Gemini's 48 h.
EXPIRY_HOURS: dict[str, int] = {
    "openai": 24,
    "azure": 24,
    "anthropic": 24,
    "bedrock": 72,
    "gemini": 48,
}
#: Which kinds put ``expires_at`` on the wire (through Bifrost's converters).
EXPIRES_ON_WIRE: frozenset[str] = frozenset({"openai", "azure", "anthropic"})
#: Anthropic results stay downloadable for 29 days after creation; then ``archived_at`` is set.
ARCHIVE_AFTER_S = 29 * 86400

BEDROCK_ARN_PREFIX = "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/"


class Phase(StrEnum):
    """A provider-neutral lifecycle step; each kind spells it in its own status vocabulary."""

    QUEUED = "queued"
    RUNNING = "running"
    FINALIZING = "finalizing"
    CANCELLING = "cancelling"
    COMPLETED = "completed"
    PARTIAL = "partial"
    FAILED = "failed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    UNKNOWN = "unknown"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL_PHASES

    @property
    def active(self) -> bool:
        return self in ACTIVE_PHASES


TERMINAL_PHASES = frozenset(
    {Phase.COMPLETED, Phase.PARTIAL, Phase.FAILED, Phase.EXPIRED, Phase.CANCELLED}
)
ACTIVE_PHASES = frozenset({Phase.QUEUED, Phase.RUNNING, Phase.FINALIZING})

_OPENAI_NATIVE = {
    Phase.QUEUED: "validating",
    Phase.RUNNING: "in_progress",
    Phase.FINALIZING: "finalizing",
    Phase.CANCELLING: "cancelling",
    Phase.COMPLETED: "completed",
    Phase.PARTIAL: "completed",
    Phase.FAILED: "failed",
    Phase.EXPIRED: "expired",
    Phase.CANCELLED: "cancelled",
}
#: Phase -> the provider's own status word.
NATIVE_STATUS: dict[str, dict[Phase, str]] = {
    "openai": _OPENAI_NATIVE,
    "azure": _OPENAI_NATIVE,
    "anthropic": {
        Phase.QUEUED: "in_progress",
        Phase.RUNNING: "in_progress",
        Phase.FINALIZING: "in_progress",
        Phase.CANCELLING: "canceling",
        Phase.COMPLETED: "ended",
        Phase.PARTIAL: "ended",
        Phase.FAILED: "ended",
        Phase.EXPIRED: "ended",
        Phase.CANCELLED: "ended",
    },
    "bedrock": {
        Phase.QUEUED: "Submitted",
        Phase.RUNNING: "InProgress",
        Phase.FINALIZING: "InProgress",
        Phase.CANCELLING: "Stopping",
        Phase.COMPLETED: "Completed",
        Phase.PARTIAL: "PartiallyCompleted",
        Phase.FAILED: "Failed",
        Phase.EXPIRED: "Expired",
        Phase.CANCELLED: "Stopped",
    },
    "gemini": {
        Phase.QUEUED: "BATCH_STATE_PENDING",
        Phase.RUNNING: "BATCH_STATE_RUNNING",
        Phase.FINALIZING: "BATCH_STATE_RUNNING",
        Phase.CANCELLING: "BATCH_STATE_CANCELLING",
        Phase.COMPLETED: "BATCH_STATE_SUCCEEDED",
        Phase.PARTIAL: "BATCH_STATE_SUCCEEDED",
        Phase.FAILED: "BATCH_STATE_FAILED",
        Phase.EXPIRED: "BATCH_STATE_EXPIRED",
        Phase.CANCELLED: "BATCH_STATE_CANCELLED",
    },
}

#: Native status word -> phase, including the synonyms only add_batch would use.
_NATIVE_TO_PHASE: dict[str, dict[str, Phase]] = {
    kind: {word: phase for phase, word in table.items() if phase is not Phase.PARTIAL}
    for kind, table in NATIVE_STATUS.items()
}
for _kind in ("openai", "azure"):
    _NATIVE_TO_PHASE[_kind]["completed"] = Phase.COMPLETED
_NATIVE_TO_PHASE["anthropic"].update({"in_progress": Phase.RUNNING, "ended": Phase.COMPLETED})
_NATIVE_TO_PHASE["bedrock"].update(
    {"Validating": Phase.QUEUED, "Scheduled": Phase.QUEUED, "PartiallyCompleted": Phase.PARTIAL}
)
_NATIVE_TO_PHASE["gemini"]["BATCH_STATE_RUNNING"] = Phase.RUNNING
# Vertex's names for the same states: the upstream moves them like its own; Bifrost passes the
# words through raw (they are not in BIFROST_STATUS).
_NATIVE_TO_PHASE["gemini"].update(
    {
        "JOB_STATE_QUEUED": Phase.QUEUED,
        "JOB_STATE_PENDING": Phase.QUEUED,
        "JOB_STATE_RUNNING": Phase.RUNNING,
        "JOB_STATE_SUCCEEDED": Phase.COMPLETED,
        "JOB_STATE_PARTIALLY_SUCCEEDED": Phase.COMPLETED,
        "JOB_STATE_FAILED": Phase.FAILED,
        "JOB_STATE_CANCELLING": Phase.CANCELLING,
        "JOB_STATE_CANCELLED": Phase.CANCELLED,
        "JOB_STATE_EXPIRED": Phase.EXPIRED,
    }
)

#: Native status -> Bifrost ``BatchStatus`` (the provider's ``ToBifrostBatchStatus``); unknown words
#: pass through unchanged, exactly as the Go ``default`` branches do.
BIFROST_STATUS: dict[str, dict[str, str]] = {
    "openai": {
        s: s
        for s in (
            "validating",
            "failed",
            "in_progress",
            "finalizing",
            "completed",
            "expired",
            "cancelling",
            "cancelled",
        )
    },
    "anthropic": {"in_progress": "in_progress", "canceling": "cancelling", "ended": "ended"},
    "bedrock": {
        "Submitted": "validating",
        "Validating": "validating",
        "Scheduled": "validating",
        "InProgress": "in_progress",
        "Completed": "completed",
        "Failed": "failed",
        "PartiallyCompleted": "failed",
        "Stopping": "cancelling",
        "Stopped": "cancelled",
        "Expired": "expired",
    },
    "gemini": {
        "BATCH_STATE_PENDING": "in_progress",
        "BATCH_STATE_RUNNING": "in_progress",
        "BATCH_STATE_SUCCEEDED": "completed",
        "BATCH_STATE_FAILED": "failed",
        "BATCH_STATE_CANCELLING": "cancelling",
        "BATCH_STATE_CANCELLED": "cancelled",
        "BATCH_STATE_EXPIRED": "expired",
    },
}
BIFROST_STATUS["azure"] = BIFROST_STATUS["openai"]


def native_status(kind: str, phase: Phase) -> str:
    return NATIVE_STATUS[kind].get(phase, phase.value)


def phase_of(kind: str, native: str) -> Phase:
    """The phase a native status word means for ``kind``; ``UNKNOWN`` for words it does not know."""
    return _NATIVE_TO_PHASE.get(kind, {}).get(native, Phase.UNKNOWN)


def bifrost_status(kind: str, native: str) -> str:
    return BIFROST_STATUS.get(kind, {}).get(native, native)


@dataclass(slots=True)
class Counts:
    """True request counts. For OpenAI/Azure ``succeeded`` is their ``completed``, ``errored`` their
    ``failed``; ``processing`` is whatever is left of ``total``."""

    total: int = 0
    succeeded: int = 0
    errored: int = 0
    canceled: int = 0
    expired: int = 0

    @property
    def processing(self) -> int:
        return max(0, self.total - self.succeeded - self.errored - self.canceled - self.expired)

    @property
    def processed(self) -> int:
        return self.succeeded + self.errored

    def copy(self) -> Counts:
        return Counts(self.total, self.succeeded, self.errored, self.canceled, self.expired)


@dataclass(slots=True, eq=False)
class SimBatch:
    """One batch as its upstream provider holds it. Timestamps: unix seconds (``None``: unset)."""

    provider: str
    kind: str
    id: str
    phase: Phase
    #: The status word the provider reports; normally ``native_status(kind, phase)``, but add_batch
    #: may set a synonym ("Scheduled") or an unknown word, which then passes through the gateway.
    native: str
    seq: int
    created_at: int
    #: Total requests submitted (OpenAI only reports it once validation is done).
    total: int = 0
    #: Stored counts: exact for static batches, frozen at the end for planned ones.
    counts: Counts = field(default_factory=Counts)
    expires_at: int | None = None
    in_progress_at: int | None = None
    finalizing_at: int | None = None
    completed_at: int | None = None
    failed_at: int | None = None
    expired_at: int | None = None
    cancelling_at: int | None = None
    cancelled_at: int | None = None
    #: Any terminal time: Anthropic ``ended_at``, Bedrock ``endTime``, Gemini ``endTime``.
    ended_at: int | None = None
    archived_at: int | None = None
    results_url: str | None = None
    # OpenAI-shaped extras (also what Bifrost shows on the OpenAI-format route).
    endpoint: str | None = None
    input_file_id: str | None = None
    completion_window: str | None = None
    metadata: dict[str, str] | None = None
    output_file_id: str | None = None
    error_file_id: str | None = None
    model: str | None = None
    #: Index (in sorted batch-key order) of the key whose account holds this batch.
    key_index: int = 0
    # ---- the plan the clock plays forward (all optional: no plan, no motion) ----
    plan_start_at: int | None = None
    plan_finish_at: int | None = None
    #: OpenAI/Azure: when ``finalizing`` ends in ``completed``.
    plan_done_at: int | None = None
    #: "complete", "fail" (at ``plan_fail_at``) or "partial" (Bedrock PartiallyCompleted).
    plan_outcome: str = "complete"
    plan_fail_at: int | None = None
    plan_error_ratio: float = 0.0
    #: A cancel the demo's history already holds (an operator cancelled it before we looked).
    plan_cancel_at: int | None = None
    #: When the current cancel finishes (``cancelling_at`` + the world's cancel delay).
    cancel_done_at: int | None = None
    #: Counts move with the clock while the batch runs (planned batches only).
    live: bool = False

    @property
    def key(self) -> tuple[str, str]:
        return (self.provider, self.id)

    @property
    def job_id(self) -> str:
        """Bedrock: the trailing job id of the ARN; other kinds: the id itself."""
        return self.id.rsplit("/", 1)[-1] if self.kind == "bedrock" else self.id

    def counts_at(self, now: int) -> Counts:
        """The true counts at ``now``: computed from the plan while live, else the stored ones."""
        if not self.live or self.plan_start_at is None or self.plan_finish_at is None:
            return self.counts
        return self._planned_counts(now)

    def _planned_counts(self, now: int) -> Counts:
        start, finish = self.plan_start_at or 0, self.plan_finish_at or 0
        if now <= start:
            fraction = 0.0
        elif now >= finish or finish <= start:
            fraction = 1.0
        else:
            fraction = (now - start) / (finish - start)
        processed = int(self.total * fraction)
        errored = int(processed * self.plan_error_ratio)
        return Counts(self.total, processed - errored, errored, 0, 0)


@dataclass(slots=True)
class KeyConfig:
    """One provider key as the management API lists it (the value itself is never known here)."""

    name: str
    id: str | None = None
    enabled: bool | None = True
    #: ``None`` means the field is absent from ``/api/providers/{p}/keys`` (reads as false).
    use_for_batch_api: bool | None = True
    models: list[str] = field(default_factory=list)
    weight: float = 1.0
    #: The redacted form shown by the management API.
    redacted: str = "sk-****************************demo"


@dataclass(slots=True)
class ProviderConfig:
    """A provider configured in the simulated gateway."""

    name: str
    #: Base provider type; a custom provider has ``kind != name``.
    kind: str | None = None
    keys: list[KeyConfig] | None = None
    send_back_raw_response: bool = False
    #: Custom providers: ``allowed_requests`` (``None``: everything allowed).
    allowed_requests: dict[str, bool] | None = None
    provider_status: str = "active"
    faults: Faults | None = None
    #: HTTP status for cancelling an already-ended batch (``None``: the kind's default, see emit).
    cancel_conflict_status: int | None = None
    #: Upstream default page size (the Anthropic-format list returns exactly one such page; for
    #: Bedrock no size reaches the upstream there, and every job comes back).
    default_page_size: int = 20
    #: Every batch key reaches the same upstream account (two keys of one workspace): each key
    #: sees every batch of the provider. Otherwise each batch key is its own account.
    shared_account: bool = False

    def __post_init__(self) -> None:
        if self.kind is None:
            self.kind = self.name
        if self.keys is None:
            self.keys = [KeyConfig(name=f"{self.name}-batch")]

    @property
    def base(self) -> str:
        return self.kind or self.name

    @property
    def is_custom(self) -> bool:
        return self.base != self.name

    @property
    def batch_supported(self) -> bool:
        return self.base in BATCH_KINDS

    def batch_keys(self) -> list[KeyConfig]:
        """Enabled keys with ``use_for_batch_api: true``, sorted by id as Bifrost does."""
        keys = [
            k for k in self.keys or [] if k.use_for_batch_api is True and k.enabled is not False
        ]
        return sorted(keys, key=lambda k: k.id or "")

    def account_of(self, key_index: int) -> int:
        """The account (batch list) a batch key reaches: its own, or 0 when keys share one."""
        return 0 if self.shared_account else key_index

    def accounts(self) -> int:
        """How many distinct upstream accounts the batch keys reach (at least 1)."""
        return 1 if self.shared_account else max(1, len(self.batch_keys()))

    def operation_allowed(self, op: str) -> bool:
        if self.allowed_requests is None:
            return True
        return self.allowed_requests.get(op) is True


@dataclass(slots=True)
class VirtualKey:
    """A governance virtual key (``sk-bf-…``); ``providers`` limits which providers it may use."""

    value: SecretStr
    name: str = "sim-vk"
    providers: frozenset[str] | None = None

    def allows(self, provider: str) -> bool:
        return self.providers is None or provider in self.providers


@dataclass(slots=True)
class DashboardAuth:
    """Dashboard (admin) auth. ``on_inference``: the auth middleware also guards inference routes
    (Bifrost's ``disable_auth_on_inference: false``)."""

    username: str
    password: SecretStr
    on_inference: bool = False


def as_unix(value: Any) -> int | None:
    """Accept a datetime, unix seconds or ``None``; return whole unix seconds."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise TypeError("timestamp must be a datetime or unix seconds")
    if isinstance(value, int | float):
        return int(value)
    if not isinstance(value, datetime):
        raise TypeError("timestamp must be a datetime or unix seconds")
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)  # naive means UTC here, never local time
    return int(value.timestamp())


def standard_providers(
    *, groq: bool = True, keys_per_provider: int = 1, shared_account: bool = False
) -> list[ProviderConfig]:
    """The five batch-capable providers with ``keys_per_provider`` batch keys each
    (``{name}-batch``, ``{name}-batch-2``, ...; each its own account unless ``shared_account``),
    plus groq (no batch support, and its key not batch-enabled, as the UI hides the toggle)."""
    if keys_per_provider < 1:
        raise ValueError("keys_per_provider must be at least 1")
    redacted = {
        "anthropic": "sk-a************************Qx7w",
        "openai": "sk-p************************k3Qz",
        "azure": "3f2b************************9c1d",
        "bedrock": "AKIA************************7XKQ",
        "gemini": "AIza************************fE2s",
    }
    configs = [
        ProviderConfig(
            name,
            keys=[
                KeyConfig(
                    name=f"{name}-batch" if n == 1 else f"{name}-batch-{n}",
                    redacted=redacted[name] if n == 1 else f"{redacted[name][:-1]}{n}",
                )
                for n in range(1, keys_per_provider + 1)
            ],
            shared_account=shared_account,
        )
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
