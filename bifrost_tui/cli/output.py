"""What every command prints alike: the JSON envelope, error and refusal lines, cancel reports."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TextIO

from bifrost_tui.cli.exitcodes import cancel_exit_code, exit_code_for_error
from bifrost_tui.textsafe import safe_text

if TYPE_CHECKING:
    from bifrost_tui.core.bulk import ItemResult, Selection
    from bifrost_tui.gateway.errors import GatewayError
    from bifrost_tui.gateway.models import Batch
    from bifrost_tui.gateway.outcomes import CancelResult

#: The version every JSON envelope and JSON line of the CLI carries.
JSON_VERSION = 1


# --------------------------------------------------------------------------- JSON


def emit_document(document: Mapping[str, Any], out: TextIO | None = None) -> None:
    """A whole JSON document that already carries its version, indented."""
    stream = sys.stdout if out is None else out
    # ensure_ascii keeps control and bidi characters escaped in the JSON text itself.
    json.dump(document, stream, ensure_ascii=True, indent=2)
    stream.write("\n")


def emit_envelope(payload: Mapping[str, Any], out: TextIO | None = None) -> None:
    """The envelope ``{"version": 1, ...payload}``, indented: one answer per command."""
    emit_document({"version": JSON_VERSION, **payload}, out)


def emit_line(
    payload: Mapping[str, Any], out: TextIO | None = None, *, version: int = JSON_VERSION
) -> None:
    """One ``{"version": …, ...payload}`` object on one line (JSON Lines), flushed at once so a
    pipe sees each result as it happens."""
    stream = sys.stdout if out is None else out
    stream.write(json.dumps({"version": version, **payload}, ensure_ascii=True) + "\n")
    stream.flush()


# --------------------------------------------------------------------------- human lines


def error(message: str, err: TextIO | None = None) -> None:
    """``bifrost-tui: message`` on stderr, every untrusted character escaped."""
    print(f"bifrost-tui: {safe_text(message)}", file=sys.stderr if err is None else err)


def warn(message: str, err: TextIO | None = None) -> None:
    """``warning: message`` on stderr, every untrusted character escaped."""
    print(f"warning: {safe_text(message)}", file=sys.stderr if err is None else err)


# --------------------------------------------------------------------------- outcomes


def report_error(exc: GatewayError, as_json: bool) -> int:
    """A gateway error: the JSON error envelope (with ``--json``), the error line, its exit code."""
    code = exit_code_for_error(exc)
    if as_json:
        emit_envelope(
            {
                "error": {
                    "kind": exc.kind,
                    "status": exc.status,
                    "type": exc.error_type,
                    "message": exc.message,
                    "request_id": exc.request_id,
                },
            }
        )
    error(exc.describe())
    return code


def print_cancel(result: CancelResult) -> None:
    """The outcome of one cancel in a few human lines."""
    # Imported here: the gateway's models are needed only once a cancel has an outcome.
    from bifrost_tui.formatting import STATE_LABELS, counts_text
    from bifrost_tui.gateway.outcomes import CancelOutcome

    batch = result.batch
    words = {
        CancelOutcome.ACCEPTED: "cancel accepted",
        CancelOutcome.REFUSED: "cancel refused",
        CancelOutcome.UNKNOWN: "cancel outcome unknown (no answer; not retried)",
    }[result.outcome]
    print(f"{words}: {safe_text(result.batch_id)} on {safe_text(result.provider)}")
    if result.error is not None:
        print(f"  gateway said: {safe_text(result.error.describe())}")
    if batch is not None:
        print(
            f"  now: {safe_text(batch.processing_status)} ({STATE_LABELS[batch.state]}), "
            f"requests {counts_text(batch.request_counts)}"
        )
    elif result.reread_error is not None:
        print(f"  could not re-read the batch: {safe_text(result.reread_error.describe())}")


# --------------------------------------------------------------------------- cancel JSON

#: Every outcome a batch can have in ``batches cancel`` (the audit log uses the same words).
CANCEL_OUTCOMES = ("accepted", "refused", "unknown", "skipped", "not_sent")


class CancelReport:
    """What ``batches cancel --json`` prints, for one id or many, whatever happens.

    One ``{"version": 1, "cancel": {...}}`` line per batch as its outcome arrives, then one
    ``{"version": 1, "summary": {...}}`` line: always, also when nothing could be sent. It also
    keeps each outcome with the error behind it, from which ``finish`` takes the exit code.
    """

    def __init__(self, as_json: bool, *, gateway: str, dry_run: bool) -> None:
        self.as_json = as_json
        self.gateway = gateway
        self.dry_run = dry_run
        self.outcomes: list[tuple[str, GatewayError | None]] = []
        self.counts: dict[str, int] = dict.fromkeys(CANCEL_OUTCOMES, 0)

    def add(
        self,
        item: ItemResult,
        *,
        error: GatewayError | None = None,
        batch: Batch | None = None,
        selected: bool = False,
    ) -> None:
        """One batch's outcome. ``error``: the gateway error behind it when no cancel result
        carries one; ``batch``: the batch as read before, shown when there is no re-read;
        ``selected``: a dry run would cancel it (its exit code is not a failure)."""
        result = item.result
        failure = result.error if result is not None and result.error is not None else error
        if result is not None and result.batch is not None:
            batch = result.batch
        self.counts[item.outcome] = self.counts.get(item.outcome, 0) + 1
        self.outcomes.append(("selected" if selected else item.outcome, failure))
        if not self.as_json:
            return
        reread = result.reread_error if result is not None else None
        cancel = {
            "provider": item.key[0],
            "batch_id": item.key[1],
            "outcome": item.outcome,
            "dry_run": self.dry_run,
            "state_before": item.state_before.value if item.state_before else None,
            "http_status": result.http_status
            if result is not None
            else (failure.status if failure else None),
            "request_id": result.request_id
            if result is not None
            else (failure.request_id if failure else None),
            "error": item.message,
            "reread_error": reread.describe() if reread is not None else None,
            "batch": batch.to_json() if batch is not None else None,
        }
        emit_line({"cancel": cancel})

    def exit_code(self, *, single: bool) -> int:
        return cancel_exit_code(self.outcomes, single=single)

    def finish(
        self,
        code: int,
        *,
        selection: Selection | None = None,
        message: str | None = None,
        interrupted_by: str | None = None,
    ) -> int:
        """The summary line (with ``--json``); returns ``code``. ``message`` says why nothing (more)
        was sent when the command stopped early; ``interrupted_by`` names the signal that did."""
        if self.as_json:
            emit_line(
                {
                    "summary": {
                        "dry_run": self.dry_run,
                        "gateway": self.gateway,
                        "total": sum(self.counts.values()),
                        "outcomes": self.counts,
                        "selected": len(selection.keys) if selection is not None else 0,
                        "per_provider": dict(selection.per_provider()) if selection else {},
                        "excluded": dict(selection.excluded) if selection else {},
                        "error": message,
                        "interrupted": interrupted_by is not None,
                        "signal": interrupted_by,
                        "exit_code": code,
                    }
                }
            )
        return code
