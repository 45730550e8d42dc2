"""What the client's listing and cancel calls return: data with an honest completeness/outcome."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from bifrost_tui.gateway.errors import GatewayError
from bifrost_tui.gateway.models import Batch


class ListingStatus(StrEnum):
    COMPLETE = "complete"
    PARTIAL = "partial"  # some batches may be missing; ``missing`` says which
    ERROR = "error"  # nothing could be listed; ``error`` says why
    #: The gateway itself says this provider's batches cannot be listed (no batch-enabled key,
    #: no batch support, no such provider), or management data read successfully says so;
    #: ``reason`` holds those words. Not a failure: it never makes a listing incomplete.
    UNSUPPORTED = "unsupported"


@dataclass(slots=True)
class ProviderListing:
    """One provider's batches, and how much of the truth they are."""

    provider: str
    status: ListingStatus
    batches: list[Batch] = field(default_factory=list)
    #: In words, what is known to be missing when ``status`` is partial.
    missing: str | None = None
    error: GatewayError | None = None
    #: HTTP requests this listing cost (the README states the cost of a refresh).
    requests: int = 0
    #: The OpenAI-format deep walk ran.
    deep: bool = False
    #: A light listing stopped at the first page on purpose (the gateway said ``has_more``).
    first_page_only: bool = False
    #: Why the provider cannot list batches, in the gateway's words, when ``status`` is unsupported.
    reason: str | None = None
    #: Which road the listing took and why, in the words shown to the operator
    #: (``listing_strategy.Strategy.why``): "passthrough, keys prod-a, prod-b", "batch routes:
    #: no management access to the keys"...; ``None`` when no strategy was chosen.
    via: str | None = None

    @classmethod
    def unsupported(cls, provider: str, reason: str, *, requests: int = 0) -> ProviderListing:
        return cls(provider, ListingStatus.UNSUPPORTED, reason=reason, requests=requests)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.provider,
            "listing": self.status.value,
            "missing": self.missing,
            "error": self.error.describe() if self.error is not None else None,
            "reason": self.reason,
            "via": self.via,
            "count": len(self.batches),
        }


class CancelOutcome(StrEnum):
    ACCEPTED = "accepted"  # the gateway took the cancel (2xx), or a re-read shows it landed
    REFUSED = "refused"  # the gateway said no (any 4xx, or a gateway-side 500 api_error)
    UNKNOWN = "unknown"  # the request left but no answer came back: re-read, never retried


@dataclass(slots=True)
class CancelResult:
    """The truth about one cancel: outcome, the batch as re-read afterwards, and any error."""

    provider: str
    batch_id: str
    outcome: CancelOutcome
    #: The cancel reply as parsed (partial by nature), when there was one.
    reply: Batch | None = None
    #: The batch as re-read after the cancel (``None`` when the re-read failed too).
    batch: Batch | None = None
    error: GatewayError | None = None
    http_status: int | None = None
    request_id: str | None = None
    #: Why the re-read could not be done, when it could not.
    reread_error: GatewayError | None = None

    @property
    def message(self) -> str | None:
        return self.error.message if self.error is not None else None
