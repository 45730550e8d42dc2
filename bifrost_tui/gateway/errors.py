"""GatewayError and its subclasses: the only exceptions the gateway client may raise."""

from __future__ import annotations

from typing import TypedDict, Unpack


class ErrorFields(TypedDict, total=False):
    """The optional fields every ``GatewayError`` takes, for subclasses that add their own."""

    status: int | None
    error_type: str | None
    request_id: str | None
    provider: str | None
    path: str | None


class GatewayError(Exception):
    """Something went wrong talking to the gateway; carries what the operator needs to act.

    Every field is plain data taken from the response (untrusted text: callers render it literally).
    Secrets never go in here: the client builds messages from status lines and response bodies only.
    """

    #: Short words for the operator, shown before the message ("unreachable", "auth refused"...).
    kind = "gateway error"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        error_type: str | None = None,
        request_id: str | None = None,
        provider: str | None = None,
        path: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.error_type = error_type
        self.request_id = request_id
        self.provider = provider
        self.path = path

    def describe(self) -> str:
        """One line for a flash bar or a CLI error: kind, status, provider and the message."""
        parts = [self.kind]
        if self.status is not None:
            parts.append(f"HTTP {self.status}")
        if self.provider:
            parts.append(self.provider)
        head = " · ".join(parts)
        return f"{head}: {self.message}" if self.message else head

    def __str__(self) -> str:
        return self.describe()


class Unreachable(GatewayError):
    """No answer at all: connection refused, DNS failure, TLS failure, gateway down."""

    kind = "unreachable"


class TLSFailure(Unreachable):
    """The TLS handshake failed (e.g. self-signed certificate without a CA bundle)."""

    kind = "TLS verification failed"


class GatewayTimeout(GatewayError):
    """The gateway did not answer (or finish answering) in time."""

    kind = "timed out"


class AuthRefused(GatewayError):
    """401/403: the virtual key or dashboard credentials were refused or missing."""

    kind = "auth refused"


class NotFound(GatewayError):
    """404: unknown batch id, provider or route."""

    kind = "not found"


class Conflict(GatewayError):
    """409 or a 400 that refuses an action on the resource's current state."""

    kind = "conflict"


class RateLimited(GatewayError):
    """429 after retries; ``retry_after`` in seconds when the gateway said."""

    kind = "rate limited"

    def __init__(
        self, message: str, *, retry_after: float | None = None, **kw: Unpack[ErrorFields]
    ) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after

    def describe(self) -> str:
        text = super().describe()
        if self.retry_after is not None:
            text += f" (the gateway asks to retry after {self.retry_after:g}s)"
        return text


class RequestRejected(GatewayError):
    """Any other 4xx: the gateway refused the request as made."""

    kind = "refused"


class GatewayConfigError(GatewayError):
    """500 ``api_error`` from Bifrost itself (no batch key, unknown provider) or a redirect."""

    kind = "gateway config error"


class ServerError(GatewayError):
    """5xx from the gateway or a reverse proxy in front of it."""

    kind = "server error"


class BadResponse(GatewayError):
    """The body was not what the route returns: malformed JSON, wrong shape, or too large."""

    kind = "bad response"
