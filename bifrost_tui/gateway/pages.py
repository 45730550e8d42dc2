"""Reading one list page (``{"data": [...], "has_more", "next_cursor"}``) without holding the raw
body and a parsed copy of the whole page at once: the body is streamed through ijson, each item
becomes a ``Batch`` as it ends, and reading stops at a cap (``read_list_page``). ijson is
imported by the first page read, not with this module: the console's first frame never needs it.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bifrost_tui.gateway.list_wire import parse_list_page
from bifrost_tui.gateway.models import Batch
from bifrost_tui.gateway.reply import Reply, decode_json

#: A surrogate escape (``\\ud800``): the C streaming parser would turn a lone one into ``?`` and
#: so change an id; a body holding one is streamed by ijson's pure-Python backend, which keeps it
#: (slower, and still bounded by the cap).
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
#: Nesting the streaming parser follows; deeper, the standard parser decides (it refuses it).
_MAX_DEPTH = 500
_SCALARS = frozenset({"null", "boolean", "integer", "double", "number", "string"})
_KINDS = {"start_array": "array", "string": "string", "null": "null", "boolean": "boolean"}


class _NotStreamable(Exception):
    """The body needs the standard parser's exact reading (not strict JSON, or too deep)."""


class _NotAListPage(ValueError):
    """Strict JSON, read to its end, but not an object: what came instead is said."""


@dataclass(slots=True)
class ListPage:
    """One list page as read: its batches (at most ``max_items``), what was skipped, the rest."""

    batches: list[Batch] = field(default_factory=list)
    #: Items the page held, as far as it was read (kept, unreadable and duplicates alike).
    items: int = 0
    #: Items that are not objects or have no id.
    skipped: int = 0
    #: The page held more than ``max_items`` items; the rest of it was not read.
    truncated: bool = False
    has_more: bool = False
    next_cursor: str | None = None


def _lenient_has_more(value: Any) -> bool:
    return bool(value) if isinstance(value, bool | int) else False


def _lenient_cursor(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def read_list_page(reply: Reply, parse: Callable[[Any], Batch], max_items: int) -> ListPage:
    """A list page, each item made a ``Batch`` as it is read, the page read no further than
    ``max_items`` items.

    The body is streamed through ijson, so the raw bytes and a parsed copy of the whole page are
    never held at once. A body that is not strict JSON (``NaN``, a number too big for a double, a
    BOM, UTF-16) or nests deeper than ``_MAX_DEPTH`` is read the way it always was, with the
    standard parser, so every answer means what it meant before. Raises
    ``BadResponse`` (not JSON, empty) or ``ValueError`` (JSON, but not a list page).
    """
    import ijson  # type: ignore[import-untyped]

    if not reply.body.strip():
        decode_json(reply)  # raises the "empty" BadResponse
    surrogates = _SURROGATE_ESCAPE.search(reply.body) is not None
    try:
        return _stream_page(reply.body, parse, max_items, exact_strings=surrogates)
    except _NotAListPage:
        raise
    except (_NotStreamable, ijson.JSONError, ValueError, OverflowError, RecursionError):
        pass
    wire = parse_list_page(decode_json(reply))
    page = ListPage(has_more=wire.has_more, next_cursor=wire.next_cursor)
    for item in wire.data:
        if page.items >= max_items:
            page.truncated = True
            break
        page.items += 1
        _add_item(page, item, parse)
    return page


def _add_item(page: ListPage, item: Any, parse: Callable[[Any], Batch]) -> None:
    try:
        page.batches.append(parse(item))
    except (ValueError, TypeError, OverflowError):
        page.skipped += 1


def _stream_page(
    body: bytes, parse: Callable[[Any], Batch], max_items: int, *, exact_strings: bool
) -> ListPage:
    import ijson
    from ijson.backends import python as ijson_python  # type: ignore[import-untyped]

    backend = ijson_python if exact_strings else ijson
    events = backend.basic_parse(io.BytesIO(body), use_float=True)
    first, _value = next(events)
    if first != "start_map":
        for _event in events:  # the whole body must still be JSON, as before
            pass
        kind = _KINDS.get(first, "number")
        raise _NotAListPage(f"not a batch list page (a JSON {kind}, not an object)")
    page = ListPage()
    data_is_list = False
    key: str | None = None
    for event, value in events:
        if event == "end_map":  # the top-level object ends (nested ones are consumed below)
            break
        if event == "map_key":
            key = value
            continue
        if key == "data":
            # The last ``data`` wins, as with the standard parser.
            page.batches, page.items, page.skipped, page.truncated = [], 0, 0, False
            data_is_list = event == "start_array"
            if data_is_list and _read_items(events, page, parse, max_items):
                return _checked(page, data_is_list)
            if not data_is_list:
                _value_of(events, event, value)
        elif key == "has_more":
            page.has_more = _lenient_has_more(_value_of(events, event, value))
        elif key == "next_cursor":
            page.next_cursor = _lenient_cursor(_value_of(events, event, value))
        else:
            _skip(events, event)
    for _event in events:  # trailing garbage raises, as before
        pass
    return _checked(page, data_is_list)


def _checked(page: ListPage, data_is_list: bool) -> ListPage:
    if not data_is_list:
        raise _NotStreamable  # the standard parser says what came instead, in its words
    return page


def _read_items(events: Any, page: ListPage, parse: Callable[[Any], Batch], max_items: int) -> bool:
    """The ``data`` array's items, each parsed as it ends; ``True`` when stopped at the cap."""
    for event, value in events:
        if event == "end_array":
            return False
        if page.items >= max_items:
            page.truncated = True
            return True
        page.items += 1
        _add_item(page, _value_of(events, event, value), parse)
    raise _NotStreamable  # pragma: no cover - ijson raises on a truncated body first


def _value_of(events: Any, event: str, value: Any) -> Any:
    """One whole JSON value, from its first event."""
    if event in _SCALARS:
        return value
    import ijson

    builder = ijson.ObjectBuilder()
    builder.event(event, value)
    depth = 1
    for event, value in events:
        builder.event(event, value)
        if event in ("start_map", "start_array"):
            depth += 1
            if depth > _MAX_DEPTH:
                raise _NotStreamable
        elif event in ("end_map", "end_array"):
            depth -= 1
            if depth == 0:
                break
    return builder.value


def _skip(events: Any, event: str) -> None:
    """Skip one value without building it."""
    if event in _SCALARS:
        return
    depth = 1
    for event, _value in events:
        if event in ("start_map", "start_array"):
            depth += 1
            if depth > _MAX_DEPTH:
                raise _NotStreamable
        elif event in ("end_map", "end_array"):
            depth -= 1
            if depth == 0:
                return
