"""What every command prints alike: the JSON envelope, error and refusal lines, cancel reports."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TextIO

from bifrost_tui.cli.exitcodes import (
    EXIT_GATEWAY_REFUSED,
    EXIT_OK,
    EXIT_PARTIAL,
    exit_code_for_error,
)
from bifrost_tui.textsafe import safe_text

if TYPE_CHECKING:
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


def report_refusal(message: str, as_json: bool, *, batch: Batch | None = None) -> None:
    """A cancel that was not sent: a ``not_sent`` JSON line (with ``--json``), then the error line.

    ``batch``, when given, is the batch as read before the refusal.
    """
    if as_json:
        payload: dict[str, Any] = {"outcome": "not_sent", "error": message}
        if batch is not None:
            payload["batch"] = batch.to_json()
        emit_line(payload)
    error(message)


def report_cancel(result: CancelResult, as_json: bool) -> int:
    """The outcome of one cancel (the JSON envelope, or a few lines); returns its exit code."""
    # Imported here: the gateway's models are needed only once a cancel has an outcome.
    from bifrost_tui.formatting import STATE_LABELS, counts_text
    from bifrost_tui.gateway.outcomes import CancelOutcome

    code = {
        CancelOutcome.ACCEPTED: EXIT_OK,
        CancelOutcome.REFUSED: EXIT_GATEWAY_REFUSED,
        CancelOutcome.UNKNOWN: EXIT_PARTIAL,
    }[result.outcome]
    batch = result.batch
    if as_json:
        emit_envelope(
            {
                "outcome": result.outcome.value,
                "provider": result.provider,
                "batch_id": result.batch_id,
                "http_status": result.http_status,
                "request_id": result.request_id,
                "error": result.error.describe() if result.error else None,
                "batch": batch.to_json() if batch is not None else None,
                "reread_error": result.reread_error.describe() if result.reread_error else None,
            }
        )
        return code
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
    return code
