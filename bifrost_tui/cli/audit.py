"""``bifrost-tui audit [--since 1h] [--json]``: print the cancel audit trail, oldest first.

One row per cancel attempt: the intent line (written before the request left) and the outcome
line are paired by attempt id across rotated files (``audit.attempts``); the row's time is when the
request was sent. Every string from the log is untrusted (batch ids and messages come from the
gateway): the table passes each through ``safe_text``; ``--json`` prints one ASCII-escaped object
per attempt per line.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

from bifrost_tui.audit.log import AuditLog
from bifrost_tui.audit.record import AUDIT_VERSION
from bifrost_tui.audit.render import AUDIT_COLUMNS, render_attempts
from bifrost_tui.cli.exitcodes import EXIT_OK, EXIT_USAGE
from bifrost_tui.cli.output import emit_line, error, warn
from bifrost_tui.formatting import parse_duration
from bifrost_tui.textsafe import safe_text


def add_audit_commands(subparsers: Any) -> None:
    """Register ``audit [--since DURATION] [--json]``."""
    p = subparsers.add_parser(
        "audit",
        help="the cancel audit trail (who cancelled what, when, with which outcome)",
        description="Print the audit log of cancel attempts (audit.jsonl in the state dir; "
        "see `bifrost-tui paths`), one row per attempt, oldest first, across rotated files. "
        "An attempt whose request left without an outcome line reads `unknown`.",
    )
    p.add_argument(
        "--since",
        metavar="DURATION",
        help="only attempts sent in this window: 90s, 30m, 2h, 1d, 1w, 1h30m",
    )
    p.add_argument(
        "--json", action="store_true", help="one JSON object per attempt per line (JSON Lines)"
    )


def _table(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]


def run_audit(
    args: argparse.Namespace,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    log: AuditLog | None = None,
) -> int:
    """Print the log (table or JSON Lines); 0, or 2 for a bad ``--since`` or when no file of
    the log could be read (each unreadable file is named on stderr, the others are printed)."""
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    as_json = bool(getattr(args, "json", False))
    since_text = getattr(args, "since", None)
    log = log or AuditLog()
    where = safe_text(str(log.path))

    since = None
    if since_text is not None:
        try:
            since = log.clock.now() - parse_duration(since_text)
        except ValueError as exc:
            error(f"--since: {exc}", err)
            return EXIT_USAGE

    try:
        if not log.exists():
            # With --json, stdout stays valid (empty) JSON Lines; the note goes to stderr.
            print(f"no audit entries yet (file: {where})", file=err if as_json else out)
            return EXIT_OK
        found = log.attempts(since=since)
    except OSError as exc:  # the directory itself cannot be listed
        error(f"cannot read the audit log {where}: {exc.strerror or exc}", err)
        return EXIT_USAGE
    scan, rows = found.scan, found.rows
    if scan.unreadable and len(scan.unreadable) == len(scan.files):
        for path, why in scan.unreadable:
            error(f"cannot read the audit log {path}: {why}", err)
        return EXIT_USAGE
    for path, why in scan.unreadable:  # the others are printed
        warn(f"cannot read the audit file {path}: {why}", err)
    if scan.skipped:
        warn(f"{scan.skipped} unreadable line(s) skipped in the audit log {where}", err)

    if as_json:
        for row in rows:
            emit_line(row.to_json(), out, version=AUDIT_VERSION)
        return EXIT_OK

    if not rows:
        window = f" in the last {safe_text(since_text, 40)}" if since_text else ""
        print(f"no audit entries{window} (file: {where})", file=out)
        return EXIT_OK
    for line in _table([AUDIT_COLUMNS, *render_attempts(rows)]):
        print(line, file=out)
    count = len(rows)
    print(f"\n{count} {'attempt' if count == 1 else 'attempts'} ({where})", file=out)
    return EXIT_OK
