"""One complete HTTP answer, and reading it: its JSON, or a plain account of what came instead.

Text taken from a reply is made one line of plain text (``clean_text``) and a proxy's HTML error
page is reduced to its title, so neither can flood a message or the terminal.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from bifrost_tui.gateway.errors import BadResponse

#: Longest error message kept from a response body; a proxy's 10 KB HTML page becomes one line.
MAX_MESSAGE_CHARS = 300

_TITLE = re.compile(r"<title[^>]*>(.*?)</title\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>")
#: Runs of C0/C1 control characters (ESC, newlines, DEL...): never shown from outside text.
CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f]+")


@dataclass(frozen=True, slots=True)
class Reply:
    """One complete HTTP answer, body read within the size cap and the deadline."""

    status: int
    headers: httpx.Headers
    body: bytes
    path: str
    #: Scrubs the client's secrets from text taken from this reply (a gateway may echo them).
    redact: Callable[[str], str] = field(default=lambda s: s, compare=False, repr=False)

    def __repr__(self) -> str:
        # Never the body or the headers: a gateway may echo a key back in either, and a crash
        # traceback prints the locals of every frame (Textual's does) with their reprs.
        return f"Reply(status={self.status}, path={self.path!r}, body=<{len(self.body)} bytes>)"

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def date(self) -> datetime | None:
        """The ``Date`` header as an aware UTC time; ``None`` when absent or unreadable."""
        return http_date(self.headers.get("date"))

    @property
    def request_id(self) -> str | None:
        value = self.headers.get("request-id") or self.headers.get("x-request-id")
        return clean_text(value, 120, self.redact) if value else None


def http_date(value: str | None) -> datetime | None:
    """An HTTP date (``Tue, 01 Dec 2026 13:53:17 GMT``, or the obsolete forms) as aware UTC."""
    if not value or len(value) > 100:
        return None
    try:
        parsed = parsedate_to_datetime(value)
        if parsed.tzinfo is None:  # "-0000": UTC with no claim about the local zone
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def clean_text(
    text: str, limit: int = MAX_MESSAGE_CHARS, redact: Callable[[str], str] | None = None
) -> str:
    """One line of plain text: control characters and runs of whitespace become one space.

    ``redact`` scrubs the whole text before it is cut: a cut first could leave most of a secret
    that straddled the limit where no redactor would recognise it.
    """
    if redact is not None:
        text = redact(text)
    one_line = " ".join(CONTROL_CHARS.sub(" ", text).split())
    if len(one_line) > limit:
        return one_line[: limit - 1].rstrip() + "…"
    return one_line


def looks_like_html(body: bytes, content_type: str) -> bool:
    if "html" in content_type.lower():
        return True
    head = body[:512].lstrip().lower()
    return head.startswith((b"<!doctype", b"<html", b"<head", b"<body"))


def html_summary(body: bytes, redact: Callable[[str], str] | None = None) -> str:
    """A proxy's HTML error page reduced to its ``<title>`` or first line of text, redacted."""
    text = body[:65536].decode("utf-8", errors="replace")
    match = _TITLE.search(text)
    if match and match.group(1).strip():
        return clean_text(html.unescape(match.group(1)), redact=redact)
    stripped = html.unescape(_TAG.sub("\n", text))
    for line in stripped.splitlines():
        if line.strip():
            return clean_text(line, redact=redact)
    return "an HTML page"


def decode_json(reply: Reply) -> Any:
    """The reply's JSON, or ``BadResponse`` saying what came instead."""
    if not reply.body.strip():
        raise BadResponse("the gateway's answer was empty", status=reply.status, path=reply.path)
    try:
        return json.loads(reply.body)
    except (ValueError, RecursionError):
        pass
    content_type = reply.headers.get("content-type", "")
    if looks_like_html(reply.body, content_type):
        raise BadResponse(
            f"expected JSON but got an HTML page ({html_summary(reply.body, reply.redact)}); "
            "check that the base URL points at the gateway",
            status=reply.status,
            path=reply.path,
        )
    raise BadResponse(
        "the gateway's answer is not valid JSON", status=reply.status, path=reply.path
    )
