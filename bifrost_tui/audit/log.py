"""The cancel audit trail: one JSON line per cancel attempt in ``audit.jsonl``, append-only.

Each line is a single ``os.write`` on an ``O_APPEND`` descriptor, fsynced, so a console and a CLI
in another pane can append at the same time without losing or interleaving lines. Rotation by size
happens under an ``flock`` on ``audit.jsonl.lock``. Lines carry no secret: the gateway URL loses
userinfo and query, free text goes through the caller's redactor and a few built-in scrubs, and no
field can hold a header. No Textual import here: the console's audit screen uses ``render_entries``.
"""

from __future__ import annotations

import contextlib
import errno
import getpass
import json
import os
import re
import socket
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from bifrost_tui.clock import Clock, SystemClock
from bifrost_tui.config import paths
from bifrost_tui.files import ensure_private_dir, flocked
from bifrost_tui.gateway.errors import GatewayError
from bifrost_tui.gateway.http import redact_url
from bifrost_tui.gateway.outcomes import CancelResult
from bifrost_tui.textsafe import safe_text

AUDIT_FILENAME = "audit.jsonl"
LOCK_SUFFIX = ".lock"
#: Version of one line's JSON shape (``"version"`` in every line and in ``audit --json``).
AUDIT_VERSION = 1
#: A line never exceeds this many bytes: under PIPE_BUF (4096 on Linux), so even a FIFO or an odd
#: filesystem gets each line in one piece; on a local file O_APPEND already makes each write whole.
MAX_LINE_BYTES = 4096
DEFAULT_MAX_BYTES = 5 * 1024 * 1024
DEFAULT_BACKUPS = 5
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
}
_TRUNCATION_MARK = "…"

#: Local reasons (``reason`` field) for outcomes that never reached the gateway.
REASON_READ_ONLY = "read-only"
REASON_ALREADY_ENDED = "batch already ended"
REASON_INTERRUPTED = "interrupted: the request left, no answer came back"


class AuditOutcome(StrEnum):
    """Every outcome a line may carry: the gateway's three plus two that never left the machine."""

    ACCEPTED = "accepted"  # the gateway took the cancel (or a re-read shows it landed)
    REFUSED = "refused"  # the gateway said no
    UNKNOWN = "unknown"  # the request left and no answer came back (also: interrupted)
    SKIPPED = "skipped"  # a bulk cancel skipped the batch: it had already ended
    NOT_SENT = "not_sent"  # refused locally (read-only profile, not confirmed...)


OUTCOMES: frozenset[str] = frozenset(o.value for o in AuditOutcome)
SOURCES: frozenset[str] = frozenset({"cli", "console"})


class AuditWriteError(Exception):
    """An audit line could not be written. The caller shows it; the cancel itself goes on."""

    def __init__(self, path: Path, reason: str, *, errno_: int | None = None) -> None:
        self.path = path
        self.reason = reason
        self.errno = errno_
        super().__init__(f"audit log not written ({path}): {reason}")


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


# --------------------------------------------------------------------------- the entry


def _utc(when: datetime) -> datetime:
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

    def __post_init__(self) -> None:
        if not isinstance(self.time, datetime):
            raise TypeError("time must be a datetime")
        object.__setattr__(self, "time", _utc(self.time))
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
        }
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
            )
        except TypeError as exc:
            raise ValueError(str(exc)) from None


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


def default_audit_path() -> Path:
    """``audit.jsonl`` in the state dir (``bifrost-tui paths`` shows the dir)."""
    return paths.audit_file()


# --------------------------------------------------------------------------- the log


@dataclass(slots=True)
class AuditScan:
    """What ``AuditLog.scan`` found: entries oldest first, and how many lines could not be read."""

    entries: list[AuditEntry] = field(default_factory=list)
    skipped: int = 0
    files: list[Path] = field(default_factory=list)


class AuditLog:
    """Appends audit lines and reads them back; safe across threads and processes."""

    def __init__(
        self,
        path: Path | None = None,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        backups: int = DEFAULT_BACKUPS,
        clock: Clock | None = None,
        redact: Callable[[str], str] | None = None,
    ) -> None:
        if max_bytes < 1:
            raise ValueError("max_bytes must be positive")
        if backups < 0:
            raise ValueError("backups must be zero or more")
        self.path = Path(path) if path is not None else default_audit_path()
        self.max_bytes = max_bytes
        self.backups = backups
        self.clock: Clock = clock or SystemClock()
        self.redact = redact
        #: The last rotation failure, if any: the line was still appended (the file grows on).
        self.rotation_error: OSError | None = None
        self._user: str | None = None
        self._host: str | None = None

    def __repr__(self) -> str:
        return f"AuditLog({str(self.path)!r})"

    @property
    def lock_path(self) -> Path:
        return self.path.with_name(self.path.name + LOCK_SUFFIX)

    @property
    def user(self) -> str:
        if self._user is None:
            self._user = local_user()
        return self._user

    @property
    def host(self) -> str:
        if self._host is None:
            self._host = local_host()
        return self._host

    # ---- building entries

    def _clean(
        self,
        text: str | None,
        redact: Callable[[str], str] | None = None,
        *,
        scrub: bool = True,
    ) -> str | None:
        """``text`` through the caller's redactor, then (free text only) the built-in scrubs.

        Identifiers (batch id, provider, profile) skip the pattern scrubs: an auditor needs them
        exact, and only the redactor knows an actual secret value.
        """
        if text is None:
            return None
        redact = redact or self.redact
        if redact is not None:
            text = redact(text)
        return scrub_text(text) if scrub else text

    def entry_for(
        self,
        result: CancelResult,
        *,
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
            time=self.clock.now(),
            user=self.user,
            host=self.host,
            profile=profile,
            gateway=clean_gateway_url(gateway),
            provider=result.provider,
            batch_id=result.batch_id,
            state_before=_state_text(state_before),
            outcome=result.outcome.value,
            http_status=http_status,
            error=self._clean(_error_words(error) if error is not None else None, redact),
            request_id=self._clean(request_id, redact, scrub=False),
            source=source,
            bulk_id=bulk_id,
            state_after=result.batch.state.value if result.batch is not None else None,
            reason=self._clean(reason, redact),
        )

    def local_entry(
        self,
        provider: str,
        batch_id: str,
        *,
        outcome: str,
        reason: str,
        profile: str | None,
        gateway: str,
        state_before: object,
        source: str,
        bulk_id: str | None = None,
    ) -> AuditEntry:
        """The line for an attempt the gateway never answered: skipped, not sent or interrupted.

        ``outcome`` is ``"skipped"`` (REASON_ALREADY_ENDED), ``"not_sent"`` (REASON_READ_ONLY...)
        or ``"unknown"`` with REASON_INTERRUPTED when the request left and the run was stopped.
        """
        return AuditEntry(
            time=self.clock.now(),
            user=self.user,
            host=self.host,
            profile=profile,
            gateway=clean_gateway_url(gateway),
            provider=provider,
            batch_id=batch_id,
            state_before=_state_text(state_before),
            outcome=outcome,
            source=source,
            bulk_id=bulk_id,
            reason=self._clean(reason),
        )

    # ---- writing

    def record(self, entry: AuditEntry) -> None:
        """Append ``entry`` as one fsynced line; ``AuditWriteError`` naming the path on failure.

        ``AuditWriteError`` is the only exception: callers catch it alone and go on cancelling.
        """
        try:
            line = encode_line(self._redacted(entry))
        except Exception as exc:  # a failing redactor must not escape as a surprise
            raise AuditWriteError(
                self.path, f"line not built ({type(exc).__name__}: {exc})"
            ) from exc
        try:
            ensure_private_dir(self.path.parent)
        except OSError as exc:
            raise self._error(exc) from exc
        try:
            self._maybe_rotate()
        except OSError as exc:  # not fatal: appending to an over-size file beats losing the line
            self.rotation_error = exc
        try:
            self._append(line)
        except OSError as exc:
            raise self._error(exc) from exc

    def _redacted(self, entry: AuditEntry) -> AuditEntry:
        """Every free-text field through the redactor and the built-in scrubs, once more."""
        changes: dict[str, Any] = {}
        for name in ("profile", "provider", "batch_id", "error", "request_id", "bulk_id", "reason"):
            value = getattr(entry, name)
            if isinstance(value, str):
                cleaned = self._clean(value, scrub=name in ("error", "reason"))
                if cleaned != value:
                    changes[name] = cleaned
        gateway = clean_gateway_url(entry.gateway)
        if gateway != entry.gateway:
            changes["gateway"] = gateway
        return replace(entry, **changes) if changes else entry

    def _error(self, exc: OSError) -> AuditWriteError:
        words = exc.strerror or str(exc) or type(exc).__name__
        return AuditWriteError(self.path, words, errno_=exc.errno)

    def _append(self, line: bytes) -> None:
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(self.path, flags, 0o600)
        try:
            st = os.fstat(fd)
            if os.name == "posix" and st.st_uid == os.getuid() and st.st_mode & 0o077:
                os.fchmod(fd, 0o600)
            # A line torn by an earlier crash or full disk has no newline: start on a fresh line
            # so this entry is not glued to the fragment (the reader skips the fragment alone).
            if st.st_size > 0 and not self._ends_with_newline(st.st_size):
                line = b"\n" + line
            written = os.write(fd, line)
            if written != len(line):
                raise OSError(errno.EIO, f"short write: {written} of {len(line)} bytes")
            os.fsync(fd)
        finally:
            os.close(fd)

    def _ends_with_newline(self, size: int) -> bool:
        try:
            fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except OSError:
            return True  # cannot tell: do not add a blank line for nothing
        try:
            return os.pread(fd, 1, size - 1) in (b"\n", b"")
        except OSError:
            return True
        finally:
            os.close(fd)

    def _size(self) -> int:
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0

    def _maybe_rotate(self) -> None:
        if self._size() < self.max_bytes:
            return
        with self._locked(exclusive=True):
            # Another writer may have rotated while we waited for the lock.
            if self._size() < self.max_bytes:
                return
            if self.backups == 0:
                self.path.unlink(missing_ok=True)
                return
            for i in range(self.backups - 1, 0, -1):
                older = self._backup(i)
                if older.exists():
                    os.replace(older, self._backup(i + 1))
            os.replace(self.path, self._backup(1))

    def _backup(self, i: int) -> Path:
        return self.path.with_name(f"{self.path.name}.{i}")

    @contextlib.contextmanager
    def _locked(self, *, exclusive: bool) -> Iterator[None]:
        # A reader never creates the lock file: without one nobody is rotating anyway.
        with flocked(self.lock_path, exclusive=exclusive):
            yield

    # ---- reading

    def files(self) -> list[Path]:
        """The files oldest first: the highest-numbered backup ... ``.1``, then the live one."""
        backups: list[tuple[int, Path]] = []
        prefix = self.path.name + "."
        try:
            siblings = list(self.path.parent.iterdir())
        except (FileNotFoundError, NotADirectoryError):
            return []
        for candidate in siblings:
            suffix = candidate.name.removeprefix(prefix)
            if candidate.name.startswith(prefix) and suffix.isdigit():
                backups.append((int(suffix), candidate))
        ordered = [p for _, p in sorted(backups, reverse=True)]
        if self.path.exists():
            ordered.append(self.path)
        return ordered

    def exists(self) -> bool:
        return bool(self.files())

    def scan(self, *, since: datetime | None = None) -> AuditScan:
        """Every readable entry, oldest first; torn or garbled lines are skipped and counted.

        ``OSError`` when a file exists but cannot be read (the caller says so).
        """
        cutoff = _utc(since) if since is not None else None
        result = AuditScan()
        with self._locked(exclusive=False):  # keeps a rotation from moving lines mid-read
            result.files = self.files()
            for path in result.files:
                try:
                    data = path.read_bytes()
                except FileNotFoundError:
                    continue
                for raw in data.split(b"\n"):
                    if not raw.strip():
                        continue
                    try:
                        entry = AuditEntry.from_json(json.loads(raw))
                    except (ValueError, UnicodeDecodeError, RecursionError):
                        result.skipped += 1
                        continue
                    if cutoff is None or entry.time >= cutoff:
                        result.entries.append(entry)
        return result

    def read(self, *, since: datetime | None = None) -> list[AuditEntry]:
        """Entries oldest first across rotated files (``scan`` also says how many were skipped)."""
        return self.scan(since=since).entries


def _error_words(error: GatewayError) -> str:
    """What the operator reads: the error's kind and the gateway's message, no status/provider."""
    message = (error.message or "").strip()
    return f"{error.kind}: {message}" if message else error.kind


# --------------------------------------------------------------------------- durations


_DURATION_UNITS: dict[str, int] = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
_DURATION_PART = re.compile(r"\s*(\d+)\s*([a-z])")
MAX_DURATION = timedelta(days=3650)
_DURATION_HELP = "use a number and a unit, e.g. 90s, 30m, 2h, 1d, 1w or 1h30m"


def parse_duration(text: str) -> timedelta:
    """``"30m"``, ``"2h"``, ``"1d"``, ``"90s"``, ``"1h30m"`` (units w d h m s, largest first).

    ``ValueError`` with a message that says what is accepted for anything else, zero included.
    """
    shown = safe_text(str(text), 40)
    raw = str(text).strip().lower()
    if not raw:
        raise ValueError(f"empty duration: {_DURATION_HELP}")
    pos = 0
    total = 0
    seen: list[str] = []
    while pos < len(raw):
        match = _DURATION_PART.match(raw, pos)
        if match is None:
            if raw[pos:].strip().isdigit():
                raise ValueError(
                    f"invalid duration '{shown}': a number without a unit; {_DURATION_HELP}"
                )
            raise ValueError(f"invalid duration '{shown}': {_DURATION_HELP}")
        number, unit = match.groups()
        if unit not in _DURATION_UNITS:
            raise ValueError(f"invalid duration '{shown}': unknown unit '{unit}'; {_DURATION_HELP}")
        if seen and (unit in seen or _DURATION_UNITS[unit] > _DURATION_UNITS[seen[-1]]):
            raise ValueError(
                f"invalid duration '{shown}': give each unit once, largest first ({_DURATION_HELP})"
            )
        if len(number) > 12:
            raise ValueError(f"duration '{shown}' is too long (at most {MAX_DURATION.days} days)")
        seen.append(unit)
        total += int(number) * _DURATION_UNITS[unit]
        pos = match.end()
    if total == 0:
        raise ValueError(f"duration '{shown}' is zero: {_DURATION_HELP}")
    if total > MAX_DURATION.total_seconds():
        raise ValueError(f"duration '{shown}' is too long (at most {MAX_DURATION.days} days)")
    return timedelta(seconds=total)


# --------------------------------------------------------------------------- rendering

#: Column headings of ``render_entries`` rows (the CLI table and the console's audit screen).
AUDIT_COLUMNS: tuple[str, ...] = (
    "TIME (UTC)",
    "SOURCE",
    "USER@HOST",
    "PROFILE",
    "PROVIDER",
    "BATCH ID",
    "BEFORE → AFTER",
    "OUTCOME",
    "HTTP",
    "REQUEST ID",
    "ERROR / REASON",
)


def render_entry(entry: AuditEntry, *, detail_width: int | None = 120) -> tuple[str, ...]:
    """One row of plain, terminal-safe strings; the batch id is never cut."""
    before = entry.state_before or "?"
    after = entry.state_after or ("?" if entry.outcome in ("accepted", "unknown") else "—")
    detail = "; ".join(t for t in (entry.error, entry.reason) if t)
    if entry.truncated:
        detail = f"{detail} [truncated: {', '.join(entry.truncated)}]".strip()
    source = entry.source if entry.bulk_id is None else f"{entry.source} bulk"
    return (
        entry.time.strftime("%Y-%m-%d %H:%M:%S"),
        safe_text(source),
        safe_text(f"{entry.user}@{entry.host}", 60),
        safe_text(entry.profile or "—", 40),
        safe_text(entry.provider, 40),
        safe_text(entry.batch_id),
        f"{safe_text(before, 20)} → {safe_text(after, 20)}",
        safe_text(entry.outcome),
        str(entry.http_status) if entry.http_status is not None else "—",
        safe_text(entry.request_id or "—", 80),
        safe_text(detail, detail_width) if detail else "",
    )


def render_entries(
    entries: Iterable[AuditEntry], *, detail_width: int | None = 120
) -> list[tuple[str, ...]]:
    """Rows matching AUDIT_COLUMNS, oldest first, every untrusted string through ``safe_text``."""
    return [render_entry(e, detail_width=detail_width) for e in entries]


#: Field names of an entry, for tests and for the README's field list.
ENTRY_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(AuditEntry))
