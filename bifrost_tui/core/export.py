"""Batch lists as CSV (safe to open in a spreadsheet) and JSON, and the console's export folders."""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from bifrost_tui.config.paths import export_dir
from bifrost_tui.files import ensure_private_dir, open_private_fd
from bifrost_tui.gateway.counts import COUNT_FIELDS
from bifrost_tui.gateway.models import Batch
from bifrost_tui.textsafe import safe_text

#: The versioned envelope shared with ``batches list --json``.
JSON_VERSION = 1

CSV_COLUMNS: tuple[str, ...] = (
    "provider",
    "id",
    "processing_status",
    "state",
    "cancellable",
    *COUNT_FIELDS,  # processing, succeeded, errored, canceled, expired
    "total",
    "created_at",
    "expires_at",
    "ended_at",
    "cancel_initiated_at",
    "archived_at",
    "results_url",
)

JSON_FILENAME = "batches.json"
CSV_FILENAME = "batches.csv"

# OWASP "CSV injection": a cell a spreadsheet may read as a formula or DDE call starts with one of
# these. The full-width forms are included because some spreadsheet locales fold them to ASCII.
_FORMULA_STARTS = frozenset("=+-@\t\r\uff1d\uff0b\uff0d\uff20")
_FILE_MODE = 0o600


def neutralise_cell(value: object) -> str:
    """``value`` (as text) made inert for a spreadsheet and readable on a terminal.

    A cell that starts with a formula character (``= + - @``, TAB, CR), also after leading
    whitespace (``" =cmd"``: spreadsheets trim it), gets a leading apostrophe, which spreadsheets
    take as "text". Then every control character (C0, including newlines, DEL, C1), bidi
    override and line separator becomes a visible escape (``\\x1b``, ``\\u202e``).
    """
    text = value if isinstance(value, str) else str(value)
    # Decide on the raw text: once escaped, "\t=" would start with a harmless backslash and slip by.
    first = text[:1]
    stripped = text.lstrip()[:1]
    dangerous = first in _FORMULA_STARTS or stripped in _FORMULA_STARTS
    escaped = safe_text(text)
    return "'" + escaped if dangerous else escaped


def _iso(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else ""


def _number(value: int | None) -> str:
    # Unknown is an empty cell, never 0: the gateway fills some counts with a fake 0 (see models).
    return "" if value is None else str(value)


def csv_row(batch: Batch) -> dict[str, str]:
    """One batch as CSV cells, every cell already neutralised."""
    counts = batch.request_counts
    row: dict[str, str] = {
        "provider": batch.provider,
        "id": batch.id,
        "processing_status": batch.processing_status,
        "state": batch.state.value,
        "cancellable": "true" if batch.cancellable else "false",
    }
    for name in COUNT_FIELDS:
        row[name] = _number(getattr(counts, name) if counts is not None else None)
    row["total"] = _number(counts.total if counts is not None else None)
    for name in ("created_at", "expires_at", "ended_at", "cancel_initiated_at", "archived_at"):
        row[name] = _iso(getattr(batch, name))
    row["results_url"] = batch.results_url or ""
    # Our own cells (counts, times, states) are inert already; neutralising all of them keeps the
    # rule simple and costs nothing.
    return {name: neutralise_cell(row[name]) for name in CSV_COLUMNS}


def write_csv(batches: Iterable[Batch], out: TextIO) -> None:
    """A header row, then one row per batch (RFC 4180 quoting, CRLF line ends)."""
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for batch in batches:
        writer.writerow(csv_row(batch))


def batches_json(
    batches: Iterable[Batch],
    *,
    gateway: str | None = None,
    providers: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The ``batches list --json`` envelope: ``{"version", "gateway", "providers", "batches"}``."""
    return {
        "version": JSON_VERSION,
        "gateway": gateway,
        "providers": list(providers or []),
        "batches": [b.to_json() for b in batches],
    }


def dump_json(payload: dict[str, Any], out: TextIO) -> None:
    """The CLI's JSON style: ASCII only (control and bidi characters stay escaped), indented."""
    json.dump(payload, out, ensure_ascii=True, indent=2)
    out.write("\n")


def export_folder_name(now: datetime) -> str:
    """``2026-11-28T120000Z``: sortable, UTC, and free of ``:`` (not allowed in Windows names)."""
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H%M%SZ")


def export_dir_for(now: datetime, base: Path | None = None) -> Path:
    """A new, empty, private (0700) folder for one export, named after ``now``.

    ``base`` defaults to ``paths.export_dir()`` (made private, it is ours). An explicit ``base`` is
    created if missing but never chmod-ed: it may be a directory the operator shares on purpose.
    A second export in the same second gets ``-2``, ``-3``...
    """
    if base is None:
        base = ensure_private_dir(export_dir())
    else:
        base.mkdir(mode=0o700, parents=True, exist_ok=True)
    name = export_folder_name(now)
    for n in range(1, 1000):
        folder = base / (name if n == 1 else f"{name}-{n}")
        try:
            folder.mkdir(mode=0o700)  # atomic: two consoles never share a folder
        except FileExistsError:
            continue
        if os.name == "posix":
            folder.chmod(0o700)  # whatever the umask said
        return folder
    raise FileExistsError(f"too many exports named {name} in {base}")


def _open_private(path: Path) -> TextIO:
    """Open ``path`` for writing as 0600 without following a symlink planted in its place."""
    fd = open_private_fd(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, _FILE_MODE)
    return os.fdopen(fd, "w", encoding="utf-8", newline="")


def save_export(
    batches: Iterable[Batch],
    folder: Path,
    *,
    gateway: str | None,
    providers: list[dict[str, Any]] | None,
) -> dict[str, Path]:
    """Write ``batches.json`` and ``batches.csv`` (0600) into ``folder``; returns their paths by
    format (``{"json": ..., "csv": ...}``). The console adds ``screenshot.svg`` itself."""
    rows = list(batches)
    paths = {"json": folder / JSON_FILENAME, "csv": folder / CSV_FILENAME}
    with _open_private(paths["json"]) as out:
        dump_json(batches_json(rows, gateway=gateway, providers=providers), out)
    with _open_private(paths["csv"]) as out:
        write_csv(rows, out)
    return paths


__all__ = [
    "CSV_COLUMNS",
    "JSON_VERSION",
    "batches_json",
    "csv_row",
    "dump_json",
    "export_dir_for",
    "neutralise_cell",
    "save_export",
    "write_csv",
]
