"""A batch's results, read as a stream of small items: never the whole body, never its messages.

Where they come from (docs/gateway.md §2.1):

- anthropic: ``GET /anthropic/v1/messages/batches/{id}/results``, one JSON object
  ``{"batch_id", "results": [...], "has_more"?, "next_cursor"?, "extra_fields": {"parse_errors"?}}``
  (``"results": null`` is zero items). A body whose first key is not one of the envelope's is
  read as JSONL, one item per line, in case a gateway sends the provider's file as it is.
  Anthropic-origin errored items lose their error on this route (``{"code": "error"}``, no type,
  no message): ``ResultsMeta.lost_error_details`` says so, and nothing is invented in its place.
- openai and azure: the batch's own files, ``output_file_id`` then ``error_file_id`` from
  ``GET /openai/v1/batches/{id}?provider=P``, each streamed from
  ``GET /openai/v1/files/{file_id}/content?provider=P`` (JSONL as the provider wrote it). The
  results route carries the output file only, so it is used only when the files route is
  refused, and a note then says the error file's requests are missing.
- bedrock, gemini, and any other kind: refused in words (``ResultsUnsupported``): how the gateway
  shapes their results is not recorded (bedrock's items would carry the record id as
  ``custom_id``, but no answer of a real gateway shows it), so nothing is guessed.

Parsing: the envelope goes through ijson's C backend (yajl2), fed chunk by chunk with its push
interface: each item is built on its own and reduced at once to a ``ResultItem`` (its message
kept only with ``include_output``), so memory holds one chunk and one item. Three push parsers
read the same chunks (the items, ``has_more``, the gateway's parse errors): on a 100 MB body the
read takes about three to four times as long as ``json.loads`` of the whole body, nearly all of it
inside yajl. JSONL goes line by line through the standard parser, one line in memory at a time (a
line over ``MAX_LINE_BYTES`` is skipped).

Lone surrogates: yajl reads a lone high UTF-16 surrogate escape (``"\\ud800"``) as ``?``, joins
two high ones into a wrong character and fails on a lone low one, which would silently change an
id exported for resubmission or stop the read; a stream cannot be scanned first and sent to the
pure-Python backend (many times slower) the way a list page is (``pages.py``). So the
envelope's bytes pass through ``_SurrogateGuard`` on their way to yajl: each lone surrogate escape
becomes ``\\ufffd`` (U+FFFD, what Go's encoder writes, so Bifrost itself never sends one), counts
as one of ``own_parse_errors`` (the summary is then partial) and a note says ids holding one are
not exact. JSONL lines go through the standard parser and keep them exactly.

Every text taken from an item is raw and untrusted: escaping and redaction are the caller's.
Only ``GatewayError`` subclasses leave ``ResultsReader.items``.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import ijson  # type: ignore[import-untyped]

from bifrost_tui.gateway.client import GatewayClient
from bifrost_tui.gateway.counts import OPENAI_ROUTE_KINDS
from bifrost_tui.gateway.errors import BadResponse, GatewayError, RequestRejected
from bifrost_tui.gateway.http import BodyStream, StreamLimits
from bifrost_tui.gateway.reply import looks_like_html

__all__ = [
    "DEFAULT_FIRST_BYTE_TIMEOUT",
    "DEFAULT_MAX_BYTES",
    "DEFAULT_TOTAL_TIMEOUT",
    "RESULT_TYPES",
    "ResultItem",
    "ResultsMeta",
    "ResultsReader",
    "ResultsUnsupported",
]

RESULT_TYPES = ("succeeded", "errored", "canceled", "expired")
DEFAULT_MAX_BYTES = 2 * 1024**3
DEFAULT_FIRST_BYTE_TIMEOUT = 600.0
DEFAULT_TOTAL_TIMEOUT = 1800.0

SOURCE_RESULTS_ROUTE = "results-route"
SOURCE_OPENAI_FILES = "openai-files"
SOURCE_FILES_REFUSED = "results-route (files refused)"

#: A JSONL line longer than this is skipped (counted as unreadable), never held whole.
MAX_LINE_BYTES = 64 * 1024 * 1024
#: The gateway's parse errors kept (each cut to ``PARSE_ERROR_CHARS``); the rest are counted.
MAX_GATEWAY_PARSE_ERRORS = 1000
PARSE_ERROR_CHARS = 1000
#: How much of the body is looked at to tell the envelope from JSONL.
_SNIFF_BYTES = 64 * 1024
_ENVELOPE_KEYS = frozenset({"batch_id", "results", "has_more", "next_cursor", "extra_fields"})
_FIRST_KEY = re.compile(rb'\{\s*"((?:[^"\\]|\\.){0,200})"\s*:', re.DOTALL)
_EMPTY_OBJECT = re.compile(rb"\{\s*\}")
#: A surrogate escape after an even run of backslashes (so a real escape): a high and low pair
#: whole, else one alone.
_SURROGATE_ESCAPE = re.compile(
    rb"(?<!\\)((?:\\\\)*)"
    rb"(\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}|\\u[dD][89a-fA-F][0-9a-fA-F]{2})"
)
#: OpenAI's error-file codes for requests a cancel or the deadline left unrun.
_OPENAI_UNRUN = {
    "batch_cancelled": "canceled",
    "batch_canceled": "canceled",
    "batch_expired": "expired",
}


@dataclass(frozen=True, slots=True)
class ResultItem:
    """One request's outcome, reduced to what a summary and a resubmit list need."""

    custom_id: str | None  # None: the item had none
    type: str  # one of RESULT_TYPES, or "unknown" (a type we do not know)
    #: Anthropic: error.type, else error.code ("error" when the gateway lost it); OpenAI-origin:
    #: body.error.code / error.code, else f"http_{status_code}".
    error_code: str | None = None
    error_message: str | None = None  # raw, untrusted, unredacted, uncut (None: not carried)
    status_code: int | None = None  # OpenAI-origin response.status_code
    output: Any = None  # the succeeded message/body, ONLY when include_output=True


@dataclass
class ResultsMeta:
    """What the read found besides the items; final once ``items`` ends."""

    source: str = SOURCE_RESULTS_ROUTE
    bytes_read: int = 0
    items_read: int = 0
    gateway_parse_errors: list[str] = field(default_factory=list)  # untrusted text
    own_parse_errors: int = 0  # JSONL lines / items we could not read
    has_more: bool = False  # never followed: makes the summary partial
    lost_error_details: bool = False  # Anthropic-origin errors arrived as {"code": "error"}
    notes: list[str] = field(default_factory=list)  # words: what is missing and why
    truncated_at_cap: bool = False  # max_bytes reached: partial


class ResultsUnsupported(RequestRejected):
    """Refused locally, nothing sent: this provider's results cannot be read faithfully."""

    kind = "not supported"


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _custom_id(obj: dict[str, Any]) -> str | None:
    value = obj.get("custom_id")
    if value is None:
        value = obj.get("recordId")  # bedrock's record id, should a gateway pass it raw
    text = _text(value)
    return text if text else None


def _anthropic_item(
    obj: dict[str, Any], result: dict[str, Any], meta: ResultsMeta, include_output: bool
) -> ResultItem:
    raw_type = result.get("type")
    kind = raw_type if isinstance(raw_type, str) and raw_type in RESULT_TYPES else "unknown"
    custom_id = _custom_id(obj)
    if kind == "succeeded":
        return ResultItem(custom_id, kind, output=result.get("message") if include_output else None)
    err = result.get("error")
    if not isinstance(err, dict):
        err = obj.get("error")
    if not isinstance(err, dict):
        if kind == "errored":
            meta.lost_error_details = True
        return ResultItem(custom_id, kind)
    inner = err.get("error")
    if isinstance(inner, dict):  # the API's envelope {"type": "error", "error": {...}}
        err = inner
    code = _text(err.get("type")) or _text(err.get("code"))
    message = _text(err.get("message"))
    if kind == "errored" and message is None and err.get("type") is None:
        meta.lost_error_details = True  # the gateway's flattened {"code": "error"}
    return ResultItem(custom_id, kind, code, message)


def _openai_item(obj: dict[str, Any], include_output: bool) -> ResultItem:
    response = obj.get("response")
    response = response if isinstance(response, dict) else {}
    status = response.get("status_code")
    status = status if isinstance(status, int) and not isinstance(status, bool) else None
    body = response.get("body")
    body_error = body.get("error") if isinstance(body, dict) else None
    body_error = body_error if isinstance(body_error, dict) else {}
    err = obj.get("error")
    err = err if isinstance(err, dict) else {}
    custom_id = _custom_id(obj)
    if status is not None and 200 <= status < 300 and not err:
        return ResultItem(
            custom_id, "succeeded", status_code=status, output=body if include_output else None
        )
    if status is None and not err:
        return ResultItem(custom_id, "unknown")
    code = _text(body_error.get("code")) or _text(err.get("code"))
    if code is None and status is not None:
        code = f"http_{status}"
    message = _text(body_error.get("message")) or _text(err.get("message"))
    kind = _OPENAI_UNRUN.get(code or "", "errored")
    return ResultItem(custom_id, kind, code, message, status)


def to_item(obj: Any, meta: ResultsMeta, include_output: bool) -> ResultItem | None:
    """One result item in either shape; ``None`` (counted unreadable) when it is not an object."""
    if not isinstance(obj, dict):
        meta.own_parse_errors += 1
        return None
    result = obj.get("result")
    if isinstance(result, dict):
        return _anthropic_item(obj, result, meta, include_output)
    if "response" in obj:
        return _openai_item(obj, include_output)
    err = obj.get("error")
    if isinstance(err, dict) and err:
        code = _text(err.get("type")) or _text(err.get("code"))
        return ResultItem(_custom_id(obj), "errored", code, _text(err.get("message")))
    return ResultItem(_custom_id(obj), "unknown")


class _SurrogateGuard:
    """Rewrites lone surrogate escapes to ``\\ufffd`` in a byte stream fed in pieces, and counts
    them (see the module docstring): yajl would fail on a lone low one, read a lone high one as
    ``?`` and join two high ones into a wrong character.

    The last bytes of each piece wait for the next (an escape or a pair may straddle two pieces);
    the cut never falls after a backslash, so each piece starts outside any escape.
    """

    _HOLD = 12  # a surrogate pair's escapes

    def __init__(self) -> None:
        self._carry = b""
        self.count = 0

    def _fix(self, match: re.Match[bytes]) -> bytes:
        if len(match.group(2)) == 12:
            return match.group(0)  # a pair: yajl reads it right
        self.count += 1
        return match.group(1) + b"\\ufffd"

    def feed(self, chunk: bytes, *, final: bool = False) -> bytes:
        buffer = self._carry + chunk
        cut = len(buffer)
        if not final:
            cut = max(cut - self._HOLD, 0)
            while cut > 0 and buffer[cut - 1] == 0x5C:  # a backslash
                cut -= 1
        escapes = b"\\ud" in buffer or b"\\uD" in buffer
        if escapes and not final:
            for match in _SURROGATE_ESCAPE.finditer(buffer):
                if match.start() < cut < match.end():
                    cut = match.end()
        head, self._carry = buffer[:cut], buffer[cut:]
        return _SURROGATE_ESCAPE.sub(self._fix, head) if escapes else head


def _refused(error: GatewayError) -> bool:
    """The gateway answered and said no (not: unreachable, timed out, redirected)."""
    return error.status is not None and 400 <= error.status < 600


class ResultsReader:
    """Streams one batch's results as ``ResultItem``s; ``meta`` fills in as they come.

    ``items`` raises ``GatewayError`` subclasses: the gateway's refusal (400 for an active
    Anthropic batch, 404, the 500 "output_file_id is empty"), ``ResultsUnsupported``, a dropped
    connection or a deadline. Reaching ``max_bytes`` is not an error: the items read so far
    stand and ``meta.truncated_at_cap`` is set.
    """

    def __init__(
        self,
        client: GatewayClient,
        provider: str,
        batch_id: str,
        *,
        provider_kind: str | None = None,
        max_bytes: int = DEFAULT_MAX_BYTES,
        first_byte_timeout: float = DEFAULT_FIRST_BYTE_TIMEOUT,
        total_timeout: float = DEFAULT_TOTAL_TIMEOUT,
        include_output: bool = False,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> None:
        self._client = client
        self._provider = provider
        self._batch_id = batch_id
        self._kind = provider_kind or provider
        self._max_bytes = max_bytes
        self._first_byte_timeout = first_byte_timeout
        self._total_timeout = total_timeout
        self._include_output = include_output
        self._on_progress = on_progress
        self._total_deadline = 0.0
        self._more_parse_errors = 0  # the gateway's parse errors past MAX_GATEWAY_PARSE_ERRORS
        self.meta = ResultsMeta()

    async def items(self) -> AsyncIterator[ResultItem]:
        """Every item, in the order the gateway sends them."""
        if self._kind not in OPENAI_ROUTE_KINDS and self._kind != "anthropic":
            raise ResultsUnsupported(
                f"results of {self._kind} batches are not read: how the gateway shapes them is "
                "not recorded from a real gateway, so not guessed",
                provider=self._provider,
            )
        if not isinstance(self._max_bytes, int) or self._max_bytes <= 0:
            raise RequestRejected("the results size cap must be a positive number of bytes")
        self._total_deadline = asyncio.get_running_loop().time() + self._total_timeout
        try:
            if self._kind in OPENAI_ROUTE_KINDS:
                async for item in self._openai_files():
                    yield item
            else:
                async for item in self._results_route():
                    yield item
        except GatewayError:
            raise
        except Exception as exc:
            # Never str(exc): an unexpected exception's text is not vetted for secrets.
            raise BadResponse(
                f"unexpected {type(exc).__name__} while reading results", provider=self._provider
            ) from None

    # ---- plumbing ------------------------------------------------------------------------------

    def _limits(self) -> StreamLimits:
        loop_now = asyncio.get_running_loop().time()
        return StreamLimits(
            max_bytes=max(1, self._max_bytes - self.meta.bytes_read),
            first_byte_deadline=loop_now + self._first_byte_timeout,
            total_deadline=self._total_deadline,
            first_byte_timeout=self._first_byte_timeout,
            total_timeout=self._total_timeout,
        )

    async def _read(self, body: BodyStream) -> bytes:
        chunk = await body.read()
        self.meta.bytes_read += len(chunk)
        if body.capped:
            self.meta.truncated_at_cap = True
        return chunk

    def _progress(self) -> None:
        if self._on_progress is not None:
            self._on_progress(self.meta.bytes_read, self.meta.items_read)

    def _emit(self, obj: Any) -> ResultItem | None:
        item = to_item(obj, self.meta, self._include_output)
        if item is not None:
            self.meta.items_read += 1
        return item

    # ---- the results route -------------------------------------------------------------------

    async def _results_route(self) -> AsyncIterator[ResultItem]:
        limits = self._limits()
        async with self._client.stream_results(
            self._provider, self._batch_id, kind=self._kind, limits=limits
        ) as body:
            head = b""
            shape: str | None = None
            while shape is None and len(head) <= _SNIFF_BYTES:
                chunk = await self._read(body)
                if not chunk:
                    break
                head += chunk
                shape = _sniff(head)
            if not head.strip():
                raise BadResponse(
                    "the gateway's results answer was empty",
                    status=body.status,
                    provider=self._provider,
                    path=body.path,
                )
            if shape == "other":
                what = "an HTML page" if looks_like_html(head, "") else "something else"
                raise BadResponse(
                    f"expected the batch's results but got {what}",
                    status=body.status,
                    provider=self._provider,
                    path=body.path,
                )
            if shape == "jsonl":
                async for item in self._jsonl(body, head):
                    yield item
            else:
                async for item in self._envelope(body, head):
                    yield item

    async def _envelope(self, body: BodyStream, head: bytes) -> AsyncIterator[ResultItem]:
        found: list[Any] = ijson.sendable_list()
        more: list[Any] = ijson.sendable_list()
        errors: list[Any] = ijson.sendable_list()
        coros = [
            ijson.items_coro(found, "results.item", use_float=True),
            ijson.items_coro(more, "has_more", use_float=True),
            ijson.items_coro(errors, "extra_fields.parse_errors.item", use_float=True),
        ]
        guard = _SurrogateGuard()
        chunk = head
        while chunk:
            piece = guard.feed(chunk)
            try:
                for coro in coros if piece else ():  # b"" would tell ijson the body ended
                    coro.send(piece)
            except ijson.JSONError:
                raise self._not_json(body) from None
            for obj in found:
                item = self._emit(obj)
                if item is not None:
                    yield item
            del found[:]
            self._gateway_errors(errors)
            self._progress()
            chunk = await self._read(body)
        if not body.capped:
            piece = guard.feed(b"", final=True)
            try:
                for coro in coros:
                    if piece:
                        coro.send(piece)
                    coro.close()
            except ijson.JSONError:
                raise self._not_json(body) from None
            for obj in found:
                item = self._emit(obj)
                if item is not None:
                    yield item
            self._gateway_errors(errors)
        self.meta.has_more = any(value is True for value in more)
        if self._more_parse_errors:
            self.meta.notes.append(
                f"the gateway reported {self._more_parse_errors} more parse error(s) than the "
                f"{MAX_GATEWAY_PARSE_ERRORS} kept"
            )
        if guard.count:
            self.meta.own_parse_errors += guard.count
            self.meta.notes.append(
                f"{guard.count} lone surrogate escape(s) in the body were read as U+FFFD: "
                "an id holding one is not exact"
            )
        self._progress()

    def _gateway_errors(self, errors: list[Any]) -> None:
        kept = self.meta.gateway_parse_errors
        for value in errors:
            if len(kept) >= MAX_GATEWAY_PARSE_ERRORS:
                self._more_parse_errors += 1
                continue
            text = value if isinstance(value, str) else json.dumps(value, default=str)
            kept.append(text[:PARSE_ERROR_CHARS])
        del errors[:]

    def _not_json(self, body: BodyStream) -> BadResponse:
        return BadResponse(
            f"the gateway's results are not valid JSON after {self.meta.items_read} items",
            status=body.status,
            provider=self._provider,
            path=body.path,
        )

    # ---- JSONL ---------------------------------------------------------------------------------

    async def _jsonl(self, body: BodyStream, head: bytes = b"") -> AsyncIterator[ResultItem]:
        pending = bytearray()
        skipping = False  # inside a line over MAX_LINE_BYTES: dropped up to its newline
        chunk = head or await self._read(body)
        while chunk:
            start = 0
            newline = chunk.find(b"\n")
            while newline >= 0:
                if skipping:
                    skipping = False
                else:
                    pending += chunk[start:newline]
                    item = self._line(pending)
                    pending = bytearray()
                    if item is not None:
                        yield item
                start = newline + 1
                newline = chunk.find(b"\n", start)
            if not skipping:
                if len(pending) + len(chunk) - start > MAX_LINE_BYTES:
                    self.meta.own_parse_errors += 1
                    pending, skipping = bytearray(), True
                else:
                    pending += chunk[start:]
            self._progress()
            chunk = await self._read(body)
        if pending.strip() and not body.capped:  # a last line without its newline
            item = self._line(pending)
            if item is not None:
                yield item
        self._progress()

    def _line(self, line: bytes | bytearray) -> ResultItem | None:
        if not line.strip():
            return None
        try:
            obj = json.loads(line)
        except (ValueError, RecursionError):
            self.meta.own_parse_errors += 1
            return None
        return self._emit(obj)

    # ---- openai and azure: the batch's files ---------------------------------------------------

    async def _openai_files(self) -> AsyncIterator[ResultItem]:
        try:
            batch = await self._client.get_openai_batch_raw(
                self._provider, self._batch_id, kind=self._kind
            )
        except GatewayError as exc:
            if not _refused(exc):
                raise
            async for item in self._fallback(exc, None):
                yield item
            return
        if not isinstance(batch, dict):
            raise BadResponse("the gateway's answer is not a batch", provider=self._provider)
        failed = _failed_count(batch)
        output_id = _text(batch.get("output_file_id")) or None
        error_id = _text(batch.get("error_file_id")) or None
        if output_id is None and error_id is None:
            # Nothing to read there: the results route gives the gateway's own answer (its 500
            # "output_file_id is empty" for a batch that has not ended).
            self.meta.notes.append("the batch lists neither an output file nor an error file")
            async for item in self._results_route():
                yield item
            return
        self.meta.source = SOURCE_OPENAI_FILES
        for file_id, what in ((output_id, "output"), (error_id, "error")):
            if file_id is None:
                continue
            if self.meta.truncated_at_cap:
                self.meta.notes.append(f"the {what} file was not read: the size cap was reached")
                continue
            opened = False
            try:
                async with self._client.stream_file(
                    self._provider, file_id, limits=self._limits()
                ) as body:
                    opened = True
                    async for item in self._jsonl(body):
                        yield item
            except GatewayError as exc:
                if opened or not _refused(exc):
                    raise
                if what == "output" and self.meta.items_read == 0 and self.meta.bytes_read == 0:
                    async for item in self._fallback(exc, failed):
                        yield item
                    return
                missing = f" ({failed} by the batch's failed count)" if failed else ""
                self.meta.notes.append(
                    f"the error file could not be read ({exc.describe()}): the failed "
                    f"requests{missing} are missing"
                )

    async def _fallback(self, error: GatewayError, failed: int | None) -> AsyncIterator[ResultItem]:
        self.meta.source = SOURCE_FILES_REFUSED
        count = f"{failed} request(s) (the batch's failed count)" if failed else "the requests"
        self.meta.notes.append(
            f"the files route was refused ({error.describe()}); the results route carries only "
            f"the output file: {count} in the provider's error file are missing"
        )
        async for item in self._results_route():
            yield item


def _failed_count(batch: dict[str, Any]) -> int | None:
    counts = batch.get("request_counts")
    failed = counts.get("failed") if isinstance(counts, dict) else None
    return failed if isinstance(failed, int) and not isinstance(failed, bool) else None


def _sniff(head: bytes) -> str | None:
    """``"envelope"``, ``"jsonl"``, ``"other"``, or ``None`` while more bytes are needed."""
    text = head.lstrip()
    if not text:
        return None
    if not text.startswith(b"{"):
        return "other"
    if _EMPTY_OBJECT.match(text):
        return "envelope"
    match = _FIRST_KEY.match(text)
    if match is None:
        return None
    try:
        key = json.loads(b'"' + match.group(1) + b'"')
    except ValueError:
        return "envelope"
    return "envelope" if key in _ENVELOPE_KEYS else "jsonl"
