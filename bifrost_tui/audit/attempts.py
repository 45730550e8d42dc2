"""Audit lines paired into attempts: one row per cancel attempt, whatever lines it left.

A cancel that was sent leaves an ``intent`` line before the request leaves and an ``outcome`` line
after, both with the same ``attempt_id``; they may sit in different (rotated) files. A reader wants
one row per attempt:

- intent + outcome: the outcome's data, with ``time`` = when the intent was written, i.e. when the
  request was sent (the outcome's own time is kept as ``outcome_time``);
- intent alone: ``unknown``, "no outcome recorded" (the run ended before the answer was written, or
  the request is still in flight);
- outcome alone: a batch never sent (no attempt id), a version-1 line, an outcome whose intent
  line could not be written (``intent_written: false``, shown as a gap), or one whose intent has
  rotated out of the log. Its ``time`` is the outcome line's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from bifrost_tui.audit.record import AuditEntry, AuditEvent, AuditOutcome

#: Said of an attempt whose intent line has no outcome line.
NO_OUTCOME_NOTE = (
    "no outcome recorded: the run ended before the answer was written "
    "(or the request is still in flight)"
)
#: Said of an outcome whose intent line could not be written before the request left.
GAP_NOTE = "intent line not written: the audit failed before the request left"


def _iso(when: datetime | None) -> str | None:
    if when is None:
        return None
    return when.isoformat(timespec="microseconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class AttemptRow:
    """One cancel attempt as a reader sees it (see the module docstring for what ``time`` is)."""

    #: The outcome's data (the intent's, reading ``unknown``, when there is no outcome line).
    entry: AuditEntry
    #: When the intent line was written (the request was about to leave); None without one.
    intent_time: datetime | None
    #: When the outcome line was written; None without one.
    outcome_time: datetime | None
    #: What the lines say about the record itself, in words (no outcome, a gap); None otherwise.
    note: str | None = None

    @property
    def time(self) -> datetime:
        return self.entry.time

    @property
    def lines(self) -> str:
        """Which lines the log holds for this attempt: "intent+outcome", "intent" or "outcome"."""
        if self.intent_time is not None and self.outcome_time is not None:
            return "intent+outcome"
        return "intent" if self.intent_time is not None else "outcome"

    def to_json(self) -> dict[str, Any]:
        """The attempt as ``audit --json`` prints it (without the ``version`` key the line adds)."""
        data = self.entry.to_json()
        data.pop("event", None)
        data["intent_written"] = self.entry.intent_written
        data["lines"] = self.lines
        data["intent_time"] = _iso(self.intent_time)
        data["outcome_time"] = _iso(self.outcome_time)
        data["note"] = self.note
        return data


def pair_attempts(entries: Iterable[AuditEntry]) -> list[AttemptRow]:
    """Lines (oldest first, across every file) paired by ``attempt_id`` into rows, oldest first.

    A row sits where its first line sits. An outcome pairs with the latest unpaired intent of its
    attempt id; a second outcome for the same id (never written by us) shows as a row of its own.
    """
    rows: list[AttemptRow] = []
    waiting: dict[str, int] = {}  # attempt id -> index of its intent-only row
    for entry in entries:
        if entry.event == AuditEvent.INTENT.value:
            row = AttemptRow(
                entry=replace(
                    entry, event=AuditEvent.OUTCOME.value, outcome=AuditOutcome.UNKNOWN.value
                ),
                intent_time=entry.time,
                outcome_time=None,
                note=NO_OUTCOME_NOTE,
            )
            if entry.attempt_id is not None:
                waiting[entry.attempt_id] = len(rows)
            rows.append(row)
            continue
        note = None if entry.intent_written else GAP_NOTE
        index = waiting.pop(entry.attempt_id, None) if entry.attempt_id is not None else None
        if index is None:
            rows.append(AttemptRow(entry, intent_time=None, outcome_time=entry.time, note=note))
            continue
        sent = rows[index].entry.time
        rows[index] = AttemptRow(
            entry=replace(entry, time=sent),
            intent_time=sent,
            outcome_time=entry.time,
            note=note,
        )
    return rows
