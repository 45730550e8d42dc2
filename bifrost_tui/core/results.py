"""A batch's results summed up (counts, errors by code, what is missing and why) and the resubmit
export (``resubmit.jsonl`` and ``summary.json``), built item by item as the results stream."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from bifrost_tui.files import PRIVATE_DIR_MODE, file_kind, open_private_fd
from bifrost_tui.gateway.batch_results import RESULT_TYPES, ResultItem, ResultsMeta
from bifrost_tui.gateway.counts import RequestCounts
from bifrost_tui.textsafe import ELLIPSIS, quoted, safe_text

SUMMARY_VERSION = 1
#: Distinct messages kept per error code; later distinct ones are only counted (``other``).
MAX_MESSAGES_PER_CODE = 1000
#: A kept message is redacted first, then cut to this many characters (so a cut never leaves a
#: piece of a secret the redactor could no longer recognise).
MESSAGE_MAX_CHARS = 200
#: What ``--export`` lists for resubmission unless ``--only`` says otherwise.
RESUBMIT_DEFAULT = ("errored", "canceled", "expired")
#: Distinct error codes kept; a hostile body cannot grow the summary without bound.
MAX_CODES = 1000
#: Most frequent messages shown per code.
TOP_MESSAGES = 3
#: Duplicate ids and gateway parse errors quoted as examples (the counts are always whole).
MAX_EXAMPLES = 5
MAX_PARSE_ERRORS_KEPT = 20

RESUBMIT_FILENAME = "resubmit.jsonl"
SUMMARY_FILENAME = "summary.json"

#: The type a ``ResultItem`` gets when the gateway sent one we do not know.
UNKNOWN_TYPE = "unknown"
SUMMARY_TYPES = (*RESULT_TYPES, UNKNOWN_TYPE)


def _identity(text: str) -> str:
    return text


def cut(text: str, max_chars: int = MESSAGE_MAX_CHARS) -> str:
    """``text`` cut to ``max_chars`` characters, the last one an ellipsis when anything was cut."""
    if len(text) <= max_chars:
        return text
    return text[: max_chars - len(ELLIPSIS)] + ELLIPSIS


def _status_class(status_code: int) -> str:
    return f"{status_code // 100}xx" if 100 <= status_code <= 599 else "other"


def _id_digest(custom_id: str) -> bytes:
    # A fixed-size fingerprint per id: memory stays bounded whatever length a hostile id has.
    # "surrogatepass": JSON can carry a lone surrogate, which plain UTF-8 refuses to encode.
    return hashlib.blake2b(custom_id.encode("utf-8", "surrogatepass"), digest_size=16).digest()


@dataclass
class CodeStats:
    """One error code: how many requests, and their messages (redacted, then cut)."""

    count: int = 0
    #: Distinct messages kept (at most ``MAX_MESSAGES_PER_CODE``) and how often each came.
    messages: Counter[str] = field(default_factory=Counter)
    #: Messages not kept because the cap was reached.
    other: int = 0

    def add(self, message: str | None) -> None:
        self.count += 1
        if message is None:
            return
        if message in self.messages or len(self.messages) < MAX_MESSAGES_PER_CODE:
            self.messages[message] += 1
        else:
            self.other += 1

    def top(self) -> list[tuple[str, int]]:
        """The most frequent messages, most frequent first (ties: the first seen first)."""
        return self.messages.most_common(TOP_MESSAGES)


class ResultsSummary:
    """What a batch's results came to, built from streamed items: ``add`` each, then ``finish``.

    Only what the summary needs is kept: counters, at most ``MAX_MESSAGES_PER_CODE`` messages per
    code (redacted, cut) and a 16-byte fingerprint per ``custom_id`` to find duplicates; never a
    message body. ``expected`` is the batch's request counts as read from its faithful route: a
    field the gateway does not fill faithfully for the provider is ``None`` there
    (``gateway/counts.py``) and is not compared.
    """

    def __init__(
        self,
        *,
        provider: str,
        batch_id: str,
        expected: RequestCounts | None,
        redact: Callable[[str], str] | None = None,
    ) -> None:
        self.provider = provider
        self.batch_id = batch_id
        self.expected = expected
        self._redact = redact or _identity
        self.counts: Counter[str] = Counter({name: 0 for name in SUMMARY_TYPES})
        self.status_classes: Counter[str] = Counter()
        self.by_code: dict[str, CodeStats] = {}
        self.other_codes = 0  # errors whose code came after MAX_CODES distinct ones
        self.errored_without_details = 0  # errored with no code beyond "error" and no message
        self.duplicates = 0
        self.duplicate_examples: list[str] = []
        self.missing_ids = 0
        self._seen: set[bytes] = set()
        self.partial = False
        self.reasons: list[str] = []
        self.mismatches: list[str] = []
        self.meta = ResultsMeta()

    # ------------------------------------------------------------------ building

    def clean(self, text: str, max_chars: int = MESSAGE_MAX_CHARS) -> str:
        """Untrusted text as kept: secrets redacted, then cut (still raw: escape when shown)."""
        return cut(self._redact(text), max_chars)

    @property
    def items(self) -> int:
        return sum(self.counts.values())

    def add(self, item: ResultItem) -> None:
        """Count one item: its type, HTTP status class, error code and message, and its id."""
        kind = item.type if item.type in RESULT_TYPES else UNKNOWN_TYPE
        self.counts[kind] += 1
        if item.status_code is not None:
            self.status_classes[_status_class(item.status_code)] += 1
        self._add_id(item.custom_id)
        if kind == "succeeded" and item.error_code is None and item.error_message is None:
            return
        if kind != "errored" and item.error_code is None and item.error_message is None:
            return  # canceled, expired: no error to group
        if item.error_code in (None, "error") and item.error_message is None:
            # The gateway's lost error ({"code": "error"}) or none at all: a code would be invented.
            if kind == "errored":
                self.errored_without_details += 1
            return
        code = self.clean(item.error_code or "(no code)", 100)
        stats = self.by_code.get(code)
        if stats is None:
            if len(self.by_code) >= MAX_CODES:
                self.other_codes += 1
                return
            stats = self.by_code[code] = CodeStats()
        message = item.error_message
        stats.add(None if message is None else self.clean(message))

    def _add_id(self, custom_id: str | None) -> None:
        if not custom_id:
            self.missing_ids += 1
            return
        digest = _id_digest(custom_id)
        if digest in self._seen:
            self.duplicates += 1
            if len(self.duplicate_examples) < MAX_EXAMPLES:
                self.duplicate_examples.append(cut(custom_id, 80))
            return
        self._seen.add(digest)

    def finish(self, meta: ResultsMeta) -> None:
        """Compare with the expected counts and say why the summary is partial, if it is."""
        self.meta = meta
        self._seen.clear()  # no longer needed: give the memory back
        reasons: list[str] = []
        for note in meta.notes:
            reasons.append(self._redact(note))
        if meta.gateway_parse_errors:
            reasons.append(
                f"the gateway reported {len(meta.gateway_parse_errors)} parse error(s) "
                "reading the provider's results"
            )
        if meta.own_parse_errors:
            reasons.append(f"{meta.own_parse_errors} result line(s) or item(s) could not be read")
        if meta.has_more:
            reasons.append("the gateway says more results follow (has_more); they were not read")
        if meta.truncated_at_cap:
            reasons.append(f"stopped at the size cap after {meta.bytes_read:,} bytes")
        if self.duplicates:
            reasons.append(f"{self.duplicates} item(s) repeat a custom_id already seen")
        if self.missing_ids:
            reasons.append(f"{self.missing_ids} item(s) have no custom_id")
        reasons += self._compare()
        self.reasons = reasons
        self.partial = bool(reasons)

    def _compare(self) -> list[str]:
        """Mismatches against the expected counts (said in ``mismatches``); a reason to be
        partial when the results hold fewer requests than the batch counts."""
        expected = self.expected
        self.mismatches = []
        if expected is None:
            return []
        missing: list[str] = []
        if expected.processing:
            missing.append(f"the batch still counts {expected.processing} request(s) processing")
        total = expected.total
        if total is not None and self.items != total:
            self.mismatches.append(
                f"the batch counts {total} request(s), the results hold {self.items}"
            )
            if self.items < total:
                missing.append(f"{total - self.items} request(s) missing from the results")
        short: list[str] = []
        for name in RESULT_TYPES:
            want = getattr(expected, name)
            if want is None or want == self.counts[name]:
                continue
            self.mismatches.append(
                f"{name}: the batch counts {want}, the results hold {self.counts[name]}"
            )
            if self.counts[name] < want:
                short.append(f"{want - self.counts[name]} {name}")
        if total is None and short:
            missing.append("fewer results than the batch counts (" + ", ".join(short) + ")")
        return missing

    # ------------------------------------------------------------------ output

    def compared_fields(self) -> list[str]:
        """The expected counts that are real for this provider's route (the others are None)."""
        expected = self.expected
        if expected is None:
            return []
        names = [name for name in RESULT_TYPES if getattr(expected, name) is not None]
        return names + (["total"] if expected.total is not None else [])

    def to_json(self) -> dict[str, Any]:
        """``{"version": 1, "summary": {...}}``; the summary's keys:

        - ``provider``, ``batch_id``, ``source`` (which route the results came from),
          ``complete`` / ``partial`` (booleans, one the negation of the other), ``reasons`` (why
          partial, words);
        - ``items`` (results read), ``bytes_read``, ``counts`` (``succeeded``, ``errored``,
          ``canceled``, ``expired``, ``unknown``), ``status_classes`` (OpenAI-origin: ``2xx``,
          ``4xx``, ``5xx``..., empty otherwise);
        - ``errors_by_code``: a list, most frequent first, of ``{"code", "count", "top_messages":
          [{"message", "count"}], "distinct_messages", "other_messages"}`` (messages redacted,
          then cut to 200 characters; at most 1,000 distinct kept per code, ``other_messages``
          counts the rest); ``other_codes``: errors whose code was not kept;
        - ``lost_error_details`` (the gateway dropped errored requests' type and message) and
          ``errored_without_details`` (how many errored requests carry none);
        - ``duplicates``, ``duplicate_examples``, ``missing_ids``;
        - ``expected`` (the batch's request counts, ``null`` where not faithful, or ``null``),
          ``compared`` (the fields compared), ``mismatches`` (words);
        - ``has_more``, ``truncated_at_cap``, ``own_parse_errors``, ``gateway_parse_errors``
          (count) and ``gateway_parse_error_examples`` (the first 20, redacted, cut), ``notes``.

        Strings from the gateway are raw here (redacted, cut): JSON escapes them on output.
        """
        meta = self.meta
        codes = sorted(self.by_code.items(), key=lambda kv: -kv[1].count)
        summary: dict[str, Any] = {
            "provider": self.provider,
            "batch_id": self.batch_id,
            "source": meta.source,
            "complete": not self.partial,
            "partial": self.partial,
            "reasons": list(self.reasons),
            "items": self.items,
            "bytes_read": meta.bytes_read,
            "counts": {name: self.counts[name] for name in SUMMARY_TYPES},
            "status_classes": dict(sorted(self.status_classes.items())),
            "errors_by_code": [
                {
                    "code": code,
                    "count": stats.count,
                    "top_messages": [{"message": m, "count": n} for m, n in stats.top()],
                    "distinct_messages": len(stats.messages),
                    "other_messages": stats.other,
                }
                for code, stats in codes
            ],
            "other_codes": self.other_codes,
            "lost_error_details": meta.lost_error_details,
            "errored_without_details": self.errored_without_details,
            "duplicates": self.duplicates,
            "duplicate_examples": list(self.duplicate_examples),
            "missing_ids": self.missing_ids,
            "expected": self.expected.to_json() if self.expected is not None else None,
            "compared": self.compared_fields(),
            "mismatches": list(self.mismatches),
            "has_more": meta.has_more,
            "truncated_at_cap": meta.truncated_at_cap,
            "own_parse_errors": meta.own_parse_errors,
            "gateway_parse_errors": len(meta.gateway_parse_errors),
            "gateway_parse_error_examples": [
                self.clean(str(e)) for e in meta.gateway_parse_errors[:MAX_PARSE_ERRORS_KEPT]
            ],
            "notes": [self._redact(note) for note in meta.notes],
        }
        return {"version": SUMMARY_VERSION, "summary": summary}

    def lines(self) -> list[str]:
        """The summary for people, one string per line; every untrusted string escaped."""
        meta = self.meta
        state = "PARTIAL" if self.partial else "complete"
        out = [
            f"Results of {quoted(self.batch_id, 120)} ({quoted(self.provider)}): {state}",
            f"  {self.items:,} item(s) read, {meta.bytes_read:,} bytes, from "
            f"{safe_text(meta.source, 60)}",
        ]
        shown = [n for n in SUMMARY_TYPES if n != UNKNOWN_TYPE or self.counts[n]]
        out.append("  " + " · ".join(f"{n} {self.counts[n]:,}" for n in shown))
        if self.status_classes:
            classes = sorted(self.status_classes.items())
            out.append("  by HTTP status: " + " · ".join(f"{c} {n:,}" for c, n in classes))
        out += self._expected_lines()
        out += self._error_lines()
        if self.duplicates:
            examples = ", ".join(quoted(e) for e in self.duplicate_examples)
            out.append(f"  duplicate custom_ids: {self.duplicates} (e.g. {examples})")
        if self.missing_ids:
            out.append(f"  items without a custom_id: {self.missing_ids}")
        for error in meta.gateway_parse_errors[:MAX_PARSE_ERRORS_KEPT]:
            out.append(f"  gateway parse error: {safe_text(self.clean(str(error)))}")
        if len(meta.gateway_parse_errors) > MAX_PARSE_ERRORS_KEPT:
            rest = len(meta.gateway_parse_errors) - MAX_PARSE_ERRORS_KEPT
            out.append(f"  … and {rest} more gateway parse error(s)")
        if self.partial:
            out.append("  Partial because:")
            out += [f"    - {safe_text(reason)}" for reason in self.reasons]
        return out

    def _expected_lines(self) -> list[str]:
        if self.expected is None:
            return ["  the batch's request counts are unknown: nothing to compare with"]
        fields = self.compared_fields()
        if not fields:
            return ["  the gateway fills none of this batch's request counts faithfully"]
        head = f"  compared with the batch's request counts ({', '.join(fields)}): "
        if not self.mismatches:
            return [head + "they match"]
        return [head + "MISMATCH"] + [f"    - {m}" for m in self.mismatches]

    def _error_lines(self) -> list[str]:
        out: list[str] = []
        if self.meta.lost_error_details and self.errored_without_details:
            out.append(
                "  the gateway does not pass errored requests' error type and message "
                f"(Anthropic via the results route): {self.errored_without_details} errored, "
                "reasons unknown"
            )
        elif self.errored_without_details:
            out.append(f"  {self.errored_without_details} errored request(s) carry no error")
        if not self.by_code and not self.other_codes:
            return out
        out.append("  errors by code:")
        for code, stats in sorted(self.by_code.items(), key=lambda kv: -kv[1].count):
            out.append(f"    {safe_text(code)}: {stats.count:,}")
            for message, count in stats.top():
                out.append(f"      {count:,}× {safe_text(message)}")
            rest = sum(stats.messages.values()) - sum(n for _, n in stats.top()) + stats.other
            if rest:
                out.append(f"      … {rest:,} other message(s)")
        if self.other_codes:
            out.append(f"    other codes: {self.other_codes:,}")
        return out


class ExportRefused(Exception):
    """The export directory cannot be used (not empty, not ours, a symlink...): words for the
    operator, nothing was written."""


class ResubmitExport:
    """``--export DIR`` / the console's ``ctrl+s``: ``resubmit.jsonl`` written as items stream
    (one line per item whose type is in ``only``), then ``summary.json`` on ``close``.

    A line is ``{"custom_id", "type", "error": {"code", "message"} | null, "status_code"?,
    "output"?}``: the id exactly as the gateway sent it (it names the request to resubmit), the
    error's code and message redacted and cut; ``output`` (a succeeded request's message or body)
    only with ``include_output`` and when ``succeeded`` is in ``only``. Lines are ASCII JSON, so a
    control character or a lone surrogate is an escape, never a crash.
    """

    def __init__(
        self,
        directory: Path,
        *,
        only: tuple[str, ...] = RESUBMIT_DEFAULT,
        include_output: bool = False,
        redact: Callable[[str], str] | None = None,
    ) -> None:
        self.directory = directory
        self.only = only
        self.include_output = include_output and "succeeded" in only
        self._redact = redact or _identity
        self._out: TextIO | None = None
        self.written = 0

    @property
    def resubmit_path(self) -> Path:
        return self.directory / RESUBMIT_FILENAME

    @property
    def summary_path(self) -> Path:
        return self.directory / SUMMARY_FILENAME

    def open(self) -> None:
        """Make sure DIR is absent or empty and ours, create it 0700, open ``resubmit.jsonl``."""
        self._prepare_dir()
        self._out = _open_new(self.resubmit_path)

    def _prepare_dir(self) -> None:
        where = quoted(str(self.directory), 200)
        try:
            st = os.lstat(self.directory)
        except FileNotFoundError:
            self.directory.parent.mkdir(parents=True, exist_ok=True)
            try:
                self.directory.mkdir(mode=PRIVATE_DIR_MODE)
            except FileExistsError:
                raise ExportRefused(f"{where} appeared while it was being created") from None
            st = os.lstat(self.directory)
        if stat.S_ISLNK(st.st_mode):
            raise ExportRefused(f"{where} is a symlink: give a real directory")
        if not stat.S_ISDIR(st.st_mode):
            raise ExportRefused(f"{where} is a {file_kind(st.st_mode)}, not a directory")
        if os.name == "posix" and st.st_uid != os.getuid():
            raise ExportRefused(f"{where} belongs to another user: give a directory of yours")
        with os.scandir(self.directory) as entries:
            if any(True for _ in entries):
                raise ExportRefused(f"{where} is not empty: give a new or empty directory")
        if os.name == "posix" and (st.st_mode & 0o777) != PRIVATE_DIR_MODE:
            os.chmod(self.directory, PRIVATE_DIR_MODE)

    def write(self, item: ResultItem) -> None:
        """One ``resubmit.jsonl`` line when the item's type is in ``only``."""
        if item.type not in self.only or self._out is None:
            return
        line: dict[str, Any] = {"custom_id": item.custom_id, "type": item.type}
        if item.error_code is None and item.error_message is None:
            line["error"] = None
        else:
            code = item.error_code
            message = item.error_message
            line["error"] = {
                "code": None if code is None else cut(self._redact(code), 100),
                "message": None if message is None else cut(self._redact(message)),
            }
        if item.status_code is not None:
            line["status_code"] = item.status_code
        if self.include_output and item.type == "succeeded" and item.output is not None:
            line["output"] = item.output
        self._out.write(json.dumps(line, ensure_ascii=True, separators=(",", ":")) + "\n")
        self.written += 1

    def close(self, summary: ResultsSummary) -> None:
        """Close ``resubmit.jsonl`` (durably) and write ``summary.json``; safe after a failure."""
        out, self._out = self._out, None
        if out is None:
            return
        try:
            out.flush()
            os.fsync(out.fileno())
        finally:
            out.close()
        payload = summary.to_json()
        payload["export"] = {
            "resubmit_lines": self.written,
            "only": list(self.only),
            "include_output": self.include_output,
        }
        with _open_new(self.summary_path) as handle:
            json.dump(payload, handle, ensure_ascii=True, indent=2)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())


def _open_new(path: Path) -> TextIO:
    """A new file, 0600, created exclusively and without following a symlink planted there."""
    try:
        fd = open_private_fd(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    except FileExistsError:  # O_EXCL: also a symlink planted there, dangling or not
        raise ExportRefused(
            f"{quoted(str(path), 200)} already exists: nothing overwritten"
        ) from None
    return os.fdopen(fd, "w", encoding="utf-8", newline="\n")


__all__ = [
    "MAX_MESSAGES_PER_CODE",
    "MESSAGE_MAX_CHARS",
    "RESUBMIT_DEFAULT",
    "SUMMARY_VERSION",
    "CodeStats",
    "ExportRefused",
    "ResubmitExport",
    "ResultsSummary",
]
