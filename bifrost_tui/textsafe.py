"""Make untrusted strings (from files or the gateway) safe to print on a terminal, on one line.

These become visible escapes (``\\x1b``, ``\\u200b``, ``\\U000e0041``):

- control characters: C0 (ESC, BEL, CR, newline...), DEL and C1;
- every format character (Unicode category Cf): bidi embeddings, overrides, isolates and marks,
  zero-width space, non-joiner and joiner, word joiner, BOM, soft hyphen...; two ids that differ
  only by an invisible character look different. The zero-width joiner is escaped too, so an emoji
  sequence joined by it shows as its parts with ``\\u200d`` between them;
- the line and paragraph separators (Zl, Zp), which some terminals treat as newlines;
- variation selectors (U+FE00-U+FE0F, U+E0100-U+E01EF) and tag characters (U+E0000-U+E007F),
  which hide text or change how the character before them looks;
- lone surrogates (Cs), which JSON can carry (``"\\ud800"``) but no terminal, file or URL can:
  the text stays printable and encodable as UTF-8.

Everything else, including emoji and accents, is kept.
"""

from __future__ import annotations

import unicodedata

ELLIPSIS = "…"

#: Unicode categories escaped whatever the character: controls, format characters, surrogates,
#: line and paragraph separators.
_ESCAPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})

#: Per-character escapes already decided (the console renders many rows: look each character up
#: once). Bounded by the number of distinct characters seen.
_ESCAPES: dict[str, str] = {}


def _hidden(code: int) -> bool:
    """A variation selector or a tag character: shown as an escape whatever its category."""
    return 0xFE00 <= code <= 0xFE0F or 0xE0000 <= code <= 0xE007F or 0xE0100 <= code <= 0xE01EF


def _escape_char(ch: str) -> str:
    cached = _ESCAPES.get(ch)
    if cached is not None:
        return cached
    code = ord(ch)
    if code < 0x20 or 0x7F <= code <= 0x9F:
        escaped = f"\\x{code:02x}"
    elif unicodedata.category(ch) in _ESCAPED_CATEGORIES or _hidden(code):
        escaped = f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"
    else:
        escaped = ch
    if len(_ESCAPES) < 65_536:
        _ESCAPES[ch] = escaped
    return escaped


def safe_text(s: object, max_len: int | None = None) -> str:
    """``s`` (as text) with every dangerous or invisible character escaped; cut to ``max_len``
    characters with "…". Anything that is not a string is shown as ``str(s)``: gateway fields are
    not to be trusted to be strings. The result always encodes as UTF-8.

    The cut never splits an escape: ``\\x1b`` is shown whole or not at all.
    """
    if max_len is not None and max_len < 1:
        raise ValueError("max_len must be at least 1")
    text = s if isinstance(s, str) else str(s)
    if text.isascii() and text.isprintable():
        # The common case (ids, statuses): nothing to escape.
        if max_len is None or len(text) <= max_len:
            return text
        return text[: max_len - len(ELLIPSIS)] + ELLIPSIS
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
