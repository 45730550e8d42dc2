"""The audit of a cancel run (CLI and console): an intent line before each request, then its end."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from bifrost_tui.audit.log import AuditLog, AuditWriteError
from bifrost_tui.audit.record import AuditEntry, AuditEvent, AuditOutcome, clean_gateway_url

if TYPE_CHECKING:
    from bifrost_tui.config.connection import Connection
    from bifrost_tui.core.bulk import ItemResult
    from bifrost_tui.core.store import Key


def secret_values(conn: Connection) -> list[str]:
    """Every secret this connection sends (the Basic token too), to scrub from what comes back."""
    from bifrost_tui.gateway.credentials import Credentials, as_secret

    config = conn.client_config
    if config is None:
        return []
    extra = {name: as_secret(value) for name, value in config.extra_headers.items()}
    return Credentials(
        virtual_key=as_secret(config.virtual_key),
        username=config.dashboard_username,
        password=as_secret(config.dashboard_password),
        extra_headers={name: value for name, value in extra.items() if value is not None},
    ).secret_values()


def redactor(conn: Connection) -> Callable[[str], str]:
    """The connection's ``Redactor``: its secrets, and any 8+ character piece of one."""
    from bifrost_tui.redaction import Redactor

    return Redactor(secret_values(conn))


@dataclass(frozen=True, slots=True)
class Attempt:
    """One cancel about to leave: its id pairs the intent line with the outcome line."""

    attempt_id: str
    key: Key
    state_before: str | None
    intent_written: bool


def new_attempt_id() -> str:
    return uuid.uuid4().hex


class AuditTrail:
    """The audit of one run (one batch or a bulk), write-ahead, for the CLI and the console alike.

    ``intent`` is written before a request leaves and ``outcome`` after, paired by attempt id; a
    batch never sent gets an outcome line alone. Both do blocking file I/O: the console calls them
    through a worker thread. A failed write is reported once per run through ``on_failure`` and
    never stops the cancel (the README promises the cancel goes ahead); the outcome of an attempt
    whose intent was lost says so, so ``audit`` shows the gap.
    """

    def __init__(
        self,
        conn: Connection,
        *,
        source: str,
        bulk: bool,
        on_failure: Callable[[AuditWriteError], None],
        log: AuditLog | None = None,
    ) -> None:
        self.conn = conn
        self.source = source
        self.bulk_id = uuid.uuid4().hex[:12] if bulk else None
        self.on_failure = on_failure
        self.log = log or AuditLog(redact=redactor(conn))
        self._warned = False
        self._lock = threading.Lock()  # the console writes from worker threads

    def intent(self, key: Key, state_before: object) -> Attempt:
        """Write the line that says a cancel of ``key`` is about to leave; the attempt to pair."""
        attempt = Attempt(new_attempt_id(), key, _state_text(state_before), intent_written=True)
        if self.conn.demo:
            return attempt
        entry = self._entry(
            key, attempt.state_before, AuditOutcome.UNKNOWN.value, event=AuditEvent.INTENT
        )
        if not self._write(replace(entry, attempt_id=attempt.attempt_id)):
            return replace(attempt, intent_written=False)
        return attempt

    def outcome(self, item: ItemResult, attempt: Attempt | None = None) -> None:
        """Write what came of ``item``, paired with ``attempt`` when its request was to leave."""
        if self.conn.demo:
            return
        if item.result is not None:
            entry = self.log.entry_for(
                item.result,
                profile=self.conn.profile_name,
                gateway=self.conn.display_url,
                state_before=item.state_before,
                source=self.source,
                bulk_id=self.bulk_id,
            )
            entry = replace(entry, reason=entry.reason or item.reason)
        else:
            entry = self._entry(item.key, item.state_before, item.outcome, reason=item.reason)
        if attempt is not None:
            entry = replace(
                entry, attempt_id=attempt.attempt_id, intent_written=attempt.intent_written
            )
        self._write(entry)

    def _entry(
        self,
        key: Key,
        state_before: object,
        outcome: str,
        *,
        event: AuditEvent = AuditEvent.OUTCOME,
        reason: str | None = None,
    ) -> AuditEntry:
        return AuditEntry(
            time=self.log.clock.now(),
            user=self.log.user,
            host=self.log.host,
            profile=self.conn.profile_name,
            gateway=clean_gateway_url(self.conn.display_url),
            provider=key[0],
            batch_id=key[1],
            state_before=_state_text(state_before),
            outcome=outcome,
            reason=reason,
            source=self.source,
            bulk_id=self.bulk_id,
            event=event.value,
        )

    def _write(self, entry: AuditEntry) -> bool:
        try:
            with self._lock:
                self.log.record(entry)
        except AuditWriteError as exc:
            if not self._warned:
                self._warned = True
                self.on_failure(exc)
            return False
        return True


def _state_text(state: object) -> str | None:
    if state is None:
        return None
    return str(getattr(state, "value", state))
