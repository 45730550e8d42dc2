"""Audit attempts for people: the rows and headings of the CLI table and the console screen."""

from __future__ import annotations

from collections.abc import Iterable

from bifrost_tui.audit.attempts import AttemptRow
from bifrost_tui.textsafe import safe_text

#: Column headings of ``render_attempts`` rows (the CLI table and the console's audit screen).
#: TIME is when the request was sent (its intent line), else when the line was written.
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

#: The console's audit screen at 120 columns: the batch id gives way down to this many cells (cut
#: in the middle) before the reason column does; the reason keeps up to AUDIT_REASON_FIRST cells
#: first; the time drops its year (``11-28 12:00:05``, AUDIT_TIME_SHORT cells) before either.
AUDIT_ID_MIN = 16
AUDIT_REASON_FIRST = 24
AUDIT_TIME_SHORT = 14


def render_attempt(row: AttemptRow, *, detail_width: int | None = 120) -> tuple[str, ...]:
    """One row of plain, terminal-safe strings; the batch id is never cut."""
    entry = row.entry
    before = entry.state_before or "?"
    after = entry.state_after or ("?" if entry.outcome in ("accepted", "unknown") else "—")
    detail = "; ".join(t for t in (entry.error, entry.reason, row.note) if t)
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


def render_attempts(
    rows: Iterable[AttemptRow], *, detail_width: int | None = 120
) -> list[tuple[str, ...]]:
    """Rows matching AUDIT_COLUMNS, in the order given; every untrusted string is ``safe_text``."""
    return [render_attempt(r, detail_width=detail_width) for r in rows]
