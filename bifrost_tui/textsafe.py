"""Make untrusted strings (from files or the gateway) safe to print on a terminal, on one line.

Control characters, ESC, DEL, C1 controls, bidi overrides and line separators become visible
escapes (``\\x1b``, ``\\u202e``), so a hostile name cannot move the cursor, recolour the terminal,
reorder text or forge extra lines. Everything else, including emoji and accents, is kept.
"""

from __future__ import annotations

ELLIPSIS = "…"

# Bidi embeddings/overrides/isolates and marks, plus the Unicode line/paragraph separators, which
# some terminals treat as newlines. Zero-width joiners are kept: emoji sequences need them.
_UNICODE_ESCAPED = frozenset(
    [0x061C, 0x200E, 0x200F, 0x2028, 0x2029, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
)


def _escape_char(ch: str) -> str:
    code = ord(ch)
    if code < 0x20 or 0x7F <= code <= 0x9F:
        return f"\\x{code:02x}"
    if code in _UNICODE_ESCAPED:
        return f"\\u{code:04x}"
    return ch


def safe_text(s: object, max_len: int | None = None) -> str:
    """``s`` (as text) with every dangerous character escaped; cut to ``max_len`` characters with
    "…". Anything that is not a string is shown as ``str(s)``: gateway fields are not to be trusted
    to be strings.

    The cut never splits an escape: ``\\x1b`` is shown whole or not at all.
    """
    if max_len is not None and max_len < 1:
        raise ValueError("max_len must be at least 1")
    text = s if isinstance(s, str) else str(s)
    pieces = [_escape_char(ch) for ch in text]
    if max_len is None:
        return "".join(pieces)
    total = sum(len(p) for p in pieces)
    if total <= max_len:
        return "".join(pieces)
    out: list[str] = []
    used = 0
    budget = max_len - len(ELLIPSIS)
    for piece in pieces:
        if used + len(piece) > budget:
            break
        out.append(piece)
        used += len(piece)
    out.append(ELLIPSIS)
    return "".join(out)


def quoted(s: str, max_len: int | None = 80) -> str:
    """``s`` escaped, cut and in single quotes: for names inside messages ("profile 'prod'")."""
    return f"'{safe_text(s, max_len)}'"
