"""One audit line: the entry, how it is built from a cancel, its size caps and its scrubbing.

Lines carry no secret: the gateway URL loses userinfo and query, free text goes through the
caller's redactor and a few built-in scrubs, and no field can hold a header.
"""

from __future__ import annotations

import getpass
import json
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from bifrost_tui.gateway.endpoint import redact_url
from bifrost_tui.gateway.errors import GatewayError
from bifrost_tui.gateway.outcomes import CancelResult

#: Version of one line's JSON shape (``"version"`` in every line and in ``audit --json``).
#: 2 added write-ahead: ``event`` ("intent" before a request leaves, "outcome" after) and
#: ``attempt_id`` pairing the two; a version-1 line is an outcome without an attempt id.
AUDIT_VERSION = 2
#: A line never exceeds this many bytes: under PIPE_BUF (4096 on Linux), so even a FIFO or an odd
#: filesystem gets each line in one piece; on a local file O_APPEND already makes each write whole.
MAX_LINE_BYTES = 4096
#: Characters kept per field before the whole-line size check (which may cut further).
ERROR_MAX_CHARS = 500
_FIELD_MAX_CHARS: dict[str, int] = {
    "user": 128,
    "host": 255,
    "profile": 128,
    "gateway": 512,
    "provider": 128,
    "batch_id": 512,
    "state_before": 32,
    "state_after": 32,
    "error": ERROR_MAX_CHARS,
    "request_id": 256,
    "bulk_id": 128,
    "reason": 300,
    "attempt_id": 64,
}
_TRUNCATION_MARK = "…"


class AuditOutcome(StrEnum):
    """Every outcome a line may carry: the gateway's three plus two that never left the machine."""

    ACCEPTED = "accepted"  # the gateway took the cancel (or a re-read shows it landed)
    REFUSED = "refused"  # the gateway said no
    UNKNOWN = "unknown"  # the request left and no answer came back (also: interrupted)
    SKIPPED = "skipped"  # a bulk cancel skipped the batch: it had already ended
    NOT_SENT = "not_sent"  # refused locally (read-only profile, not confirmed...)


class AuditEvent(StrEnum):
    """Which half of an attempt a line records (write-ahead: intent before the request)."""

    INTENT = "intent"  # written before the cancel leaves; its outcome reads "unknown" until paired
    OUTCOME = "outcome"  # what came of it (or of a batch that was never sent)


OUTCOMES: frozenset[str] = frozenset(o.value for o in AuditOutcome)
EVENTS: frozenset[str] = frozenset(e.value for e in AuditEvent)
SOURCES: frozenset[str] = frozenset({"cli", "console"})


# --------------------------------------------------------------------------- scrubbing

# Defence in depth behind the caller's redactor, which knows the actual secret values.
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@?#]*@")
_URL_QUERY = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s?#]*)\?[^\s#]*")
_AUTH_SCHEME = re.compile(r"(?i)\b(bearer|basic)(\s+)[A-Za-z0-9._~+/=-]{6,}")
_NAMED_SECRET = re.compile(
    r"(?i)\b(x-bf-vk|authorization|x-api-key|api[-_]?key|password|passwd|secret|token)"
    r"(\"?\s*[:=]\s*\"?)(?!\*\*\*)[^\s\",;]+"
)


def scrub_text(text: str) -> str:
    """``text`` without URL userinfo or query strings, auth tokens or ``key=value`` secrets."""
    text = _URL_USERINFO.sub(r"\1", text)
    text = _URL_QUERY.sub(r"\1?***", text)
    text = _AUTH_SCHEME.sub(r"\1\2***", text)
    return _NAMED_SECRET.sub(r"\1\2***", text)


def clean_gateway_url(url: str) -> str:
    """The gateway URL as logged: no userinfo, query or fragment (never the credentials)."""
    if not url:
        return ""
    return redact_url(url)


def clean_text(
    text: str | None, redact: Callable[[str], str] | None, *, scrub: bool = True
) -> str | None:
    """``text`` through the caller's redactor, then (free text only) the built-in scrubs.

    Identifiers (batch id, provider, profile) skip the pattern scrubs: an auditor needs them
    exact, and only the redactor knows an actual secret value.
    """
    if text is None:
        return None
    if redact is not None:
        text = redact(text)
    return scrub_text(text) if scrub else text


# --------------------------------------------------------------------------- the entry


def as_utc(when: datetime) -> datetime:
    """``when`` in UTC; a naive time is taken as UTC already, like every time in the log."""
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _state_text(state: object) -> str | None:
    if state is None:
        return None
    value = getattr(state, "value", state)
    return str(value)


@dataclass(frozen=True)
class AuditEntry:
    """One cancel attempt. Only plain, non-secret data: there is no field for headers or keys."""

    time: datetime  # UTC
    user: str
    host: str
    profile: str | None
    gateway: str  # gateway URL with userinfo, query and fragment stripped
    provider: str
    batch_id: str
    state_before: str | None  # normalised State value, e.g. "active"
    outcome: str  # one of OUTCOMES
    http_status: int | None = None
    error: str | None = None  # gateway error message, plain text, capped
    request_id: str | None = None
    source: str = "cli"  # "cli" | "console"
    bulk_id: str | None = None  # groups the lines of one bulk cancel
    state_after: str | None = None
    #: Why, in local words, when the gateway was not asked ("read-only", "interrupted: ...").
    reason: str | None = None
    #: Names of the fields cut to keep the line under MAX_LINE_BYTES (set when read back).
    truncated: tuple[str, ...] = ()
    #: "intent" (before the request leaves) or "outcome" (after, or for a batch never sent).
    event: str = AuditEvent.OUTCOME.value
    #: Pairs an intent with its outcome, also across rotated files; None for what was never sent.
    attempt_id: str | None = None
    #: False on an outcome whose intent line could not be written (the record has a gap there).
    intent_written: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.time, datetime):
            raise TypeError("time must be a datetime")
        object.__setattr__(self, "time", as_utc(self.time))
        outcome = getattr(self.outcome, "value", self.outcome)
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown audit outcome {outcome!r}")
        object.__setattr__(self, "outcome", str(outcome))
        if self.source not in SOURCES:
            raise ValueError(f"unknown audit source {self.source!r}")
        object.__setattr__(self, "state_before", _state_text(self.state_before))
        object.__setattr__(self, "state_after", _state_text(self.state_after))
        if self.http_status is not None and (
            isinstance(self.http_status, bool) or not isinstance(self.http_status, int)
        ):
            raise TypeError("http_status must be an int or None")
        object.__setattr__(self, "truncated", tuple(self.truncated))
        event = getattr(self.event, "value", self.event)
        if event not in EVENTS:
            raise ValueError(f"unknown audit event {event!r}")
        object.__setattr__(self, "event", str(event))

    def to_json(self) -> dict[str, Any]:
        """The entry as JSON-ready data (without the ``version`` key the line adds)."""
        data: dict[str, Any] = {
            "time": self.time.isoformat(timespec="microseconds").replace("+00:00", "Z"),
            "source": self.source,
            "user": self.user,
            "host": self.host,
            "profile": self.profile,
            "gateway": self.gateway,
            "provider": self.provider,
            "batch_id": self.batch_id,
            "bulk_id": self.bulk_id,
            "state_before": self.state_before,
            "state_after": self.state_after,
            "outcome": self.outcome,
            "http_status": self.http_status,
            "error": self.error,
            "request_id": self.request_id,
            "reason": self.reason,
            "event": self.event,
            "attempt_id": self.attempt_id,
        }
        if not self.intent_written:
            data["intent_written"] = False
        if self.truncated:
            data["truncated"] = list(self.truncated)
        return data

    @classmethod
    def from_json(cls, data: Any) -> AuditEntry:
        """Parse one line's object; ``ValueError`` when it is not an audit entry we understand."""
        if not isinstance(data, dict):
            raise ValueError("not an object")
        version = data.get("version", AUDIT_VERSION)
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise ValueError("bad version")
        when = data.get("time")
        if not isinstance(when, str):
            raise ValueError("no time")
        try:
            time = datetime.fromisoformat(when.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError("bad time") from None

        def text(name: str, *, required: bool = False) -> str | None:
            value = data.get(name)
            if value is None and not required:
                return None
            if not isinstance(value, str):
                raise ValueError(f"bad {name}")
            return value

        status = data.get("http_status")
        if status is not None and (isinstance(status, bool) or not isinstance(status, int)):
            raise ValueError("bad http_status")
        intent_written = data.get("intent_written", True)
        if not isinstance(intent_written, bool):
            raise ValueError("bad intent_written")
        truncated = data.get("truncated") or []
        if not isinstance(truncated, list) or not all(isinstance(t, str) for t in truncated):
            raise ValueError("bad truncated")
        try:
            return cls(
                time=time,
                user=text("user", required=True) or "",
                host=text("host", required=True) or "",
                profile=text("profile"),
                gateway=text("gateway", required=True) or "",
                provider=text("provider", required=True) or "",
                batch_id=text("batch_id", required=True) or "",
                state_before=text("state_before"),
                outcome=text("outcome", required=True) or "",
                http_status=status,
                error=text("error"),
                request_id=text("request_id"),
                source=text("source") or "cli",
                bulk_id=text("bulk_id"),
                state_after=text("state_after"),
                reason=text("reason"),
                truncated=tuple(truncated),
                event=text("event") or AuditEvent.OUTCOME.value,
                attempt_id=text("attempt_id"),
                intent_written=intent_written,
            )
        except TypeError as exc:
            raise ValueError(str(exc)) from None


def redact_entry(entry: AuditEntry, redact: Callable[[str], str] | None) -> AuditEntry:
    """Every free-text field through the redactor and the built-in scrubs, once more."""
    changes: dict[str, Any] = {}
    for name in ("profile", "provider", "batch_id", "error", "request_id", "bulk_id", "reason"):
        value = getattr(entry, name)
        if isinstance(value, str):
            cleaned = clean_text(value, redact, scrub=name in ("error", "reason"))
            if cleaned != value:
                changes[name] = cleaned
    gateway = clean_gateway_url(entry.gateway)
    if gateway != entry.gateway:
        changes["gateway"] = gateway
    return replace(entry, **changes) if changes else entry


# --------------------------------------------------------------------------- the line

#: The string fields a redactor and the size caps apply to.
_TEXT_FIELDS: tuple[str, ...] = tuple(_FIELD_MAX_CHARS)


def _cut(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: max(limit - 1, 0)] + _TRUNCATION_MARK


def _encode(data: dict[str, Any]) -> bytes:
    # ensure_ascii: control, C1 and bidi characters stay escaped: `tail -f` on a terminal is safe.
    return (
        json.dumps({"version": AUDIT_VERSION, **data}, ensure_ascii=True, separators=(",", ":"))
        + "\n"
    ).encode("ascii")


def encode_line(entry: AuditEntry) -> bytes:
    """The entry as one line of at most MAX_LINE_BYTES, cutting long fields (named in truncated)."""
    data = entry.to_json()
    cut = list(entry.truncated)
    for name, limit in _FIELD_MAX_CHARS.items():
        value = data.get(name)
        if isinstance(value, str) and len(value) > limit:
            data[name] = _cut(value, limit)
            if name not in cut:
                cut.append(name)
    line = _encode({**data, "truncated": cut} if cut else data)
    # Escaped non-ASCII can still make the line too long: shrink the longest text field until it
    # fits. Every round shortens a field, and with every field empty a line is a few hundred bytes.
    while len(line) > MAX_LINE_BYTES:
        name = max(
            (n for n in _TEXT_FIELDS if isinstance(data.get(n), str) and data[n]),
            key=lambda n: len(json.dumps(data[n], ensure_ascii=True)),
        )
        base = data[name].removesuffix(_TRUNCATION_MARK)
        keep = len(base) * 3 // 4  # strictly shorter each round, down to ""
        data[name] = base[:keep] + _TRUNCATION_MARK if keep else ""
        if name not in cut:
            cut.append(name)
        line = _encode({**data, "truncated": cut})
    return line


# --------------------------------------------------------------------------- who and where


def local_user() -> str:
    try:
        return getpass.getuser() or "unknown"
    except Exception:  # no USER/LOGNAME and no passwd entry (containers)
        return "unknown"


def local_host() -> str:
    try:
        return socket.gethostname() or "unknown"
    except OSError:
        return "unknown"


# --------------------------------------------------------------------------- from a cancel


def _error_words(error: GatewayError) -> str:
    """What the operator reads: the error's kind and the gateway's message, no status/provider."""
    message = (error.message or "").strip()
    return f"{error.kind}: {message}" if message else error.kind


def cancel_entry(
    result: CancelResult,
    *,
    time: datetime,
    user: str,
    host: str,
    profile: str | None,
    gateway: str,
    state_before: object,
    source: str,
    bulk_id: str | None = None,
    redact: Callable[[str], str] | None = None,
) -> AuditEntry:
    """The line for a cancel that was sent: outcome, status, message and request id."""
    error: GatewayError | None = result.error
    http_status = result.http_status
    if http_status is None and error is not None:
        http_status = error.status
    request_id = result.request_id or (error.request_id if error is not None else None)
    reason = None
    if result.reread_error is not None:
        reason = f"re-read failed: {_error_words(result.reread_error)}"
    return AuditEntry(
        time=time,
        user=user,
        host=host,
        profile=profile,
        gateway=clean_gateway_url(gateway),
        provider=result.provider,
        batch_id=result.batch_id,
        state_before=_state_text(state_before),
        outcome=result.outcome.value,
        http_status=http_status,
        error=clean_text(_error_words(error) if error is not None else None, redact),
        request_id=clean_text(request_id, redact, scrub=False),
        source=source,
        bulk_id=bulk_id,
        state_after=result.batch.state.value if result.batch is not None else None,
        reason=clean_text(reason, redact),
    )
