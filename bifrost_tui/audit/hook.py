"""The audit hook a cancel is given (CLI and console): one line per outcome, secrets redacted."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

from bifrost_tui.audit.log import AuditLog, AuditWriteError
from bifrost_tui.audit.record import AuditEntry, clean_gateway_url

if TYPE_CHECKING:
    from bifrost_tui.config.connection import Connection
    from bifrost_tui.core.bulk import ItemResult


def secret_values(conn: Connection) -> list[str]:
    """Every secret this connection sends, to scrub from anything the gateway echoes back."""
    config = conn.client_config
    if config is None:
        return []
    values = [config.virtual_key, config.dashboard_password, *config.extra_headers.values()]
    return [v.get_secret_value() for v in values if v is not None and v.get_secret_value()]


def redactor(conn: Connection) -> Callable[[str], str]:
    secrets = sorted(secret_values(conn), key=len, reverse=True)

    def redact(text: str) -> str:
        for secret in secrets:
            text = text.replace(secret, "***")
        return text

    return redact


def audit_item(
    conn: Connection,
    item: ItemResult,
    *,
    source: str,
    bulk_id: str | None = None,
    log: AuditLog | None = None,
) -> None:
    """Append the line for one outcome. Raises ``AuditWriteError``; the caller shows it.

    The embedded demo is not audited: its gateway is a simulator in this process, and its lines
    would only blur the record of real incidents.
    """
    if conn.demo:
        return
    log = log or AuditLog(redact=redactor(conn))
    state_after = None
    if item.result is not None:
        entry = log.entry_for(
            item.result,
            profile=conn.profile_name,
            gateway=conn.display_url,
            state_before=item.state_before,
            source=source,
            bulk_id=bulk_id,
        )
    else:
        entry = AuditEntry(
            time=log.clock.now(),
            user=log.user,
            host=log.host,
            profile=conn.profile_name,
            gateway=clean_gateway_url(conn.display_url),
            provider=item.key[0],
            batch_id=item.key[1],
            state_before=item.state_before,
            state_after=state_after,
            outcome=item.outcome,
            reason=item.reason,
            source=source,
            bulk_id=bulk_id,
        )
    log.record(entry)


def recorder(
    conn: Connection,
    *,
    source: str,
    bulk: bool,
    on_failure: Callable[[AuditWriteError], None],
) -> Callable[[ItemResult], None]:
    """One audit line per outcome, for the CLI and the console alike.

    A failed write is reported once per run through ``on_failure`` and never stops the cancel;
    the lines of one bulk run share a ``bulk_id``.
    """
    bulk_id = uuid.uuid4().hex[:12] if bulk else None
    warned = False

    def record(item: ItemResult) -> None:
        nonlocal warned
        try:
            audit_item(conn, item, source=source, bulk_id=bulk_id)
        except AuditWriteError as exc:
            if not warned:
                warned = True
                on_failure(exc)

    return record
