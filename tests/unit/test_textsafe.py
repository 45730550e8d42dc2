"""safe_text: untrusted strings cannot drive the terminal, reorder text or forge lines."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bifrost_tui.textsafe import quoted, safe_text


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("plain-name_1.2", "plain-name_1.2"),
        ("\x1b[31mred", "\\x1b[31mred"),
        ("a\nb\rc\td", "a\\x0ab\\x0dc\\x09d"),
        ("nul\x00", "nul\\x00"),
        ("del\x7f", "del\\x7f"),
        ("c1\x9b2J", "c1\\x9b2J"),
        ("evil\u202egnp.exe", "evil\\u202egnp.exe"),
        ("iso\u2066x\u2069", "iso\\u2066x\\u2069"),
        ("line\u2028sep", "line\\u2028sep"),
    ],
)
def test_dangerous_characters_become_visible_escapes(raw: str, shown: str) -> None:
    assert safe_text(raw) == shown


def test_ordinary_unicode_is_kept() -> None:
    text = "café 東京 👩 💻 ü ✓"
    assert safe_text(text) == text


def test_an_emoji_sequence_shows_its_zero_width_joiner() -> None:
    # Every format character is visible, the joiner too: an id cannot hide one.
    assert safe_text("👩\u200d💻") == "👩\\u200d💻"


def test_max_len_cuts_with_ellipsis_and_never_splits_an_escape() -> None:
    assert safe_text("abcdef", 4) == "abc…"
    assert safe_text("abc", 3) == "abc"
    # the 4-character escape does not fit in 5 with "ab" and the ellipsis: it is dropped whole
    assert safe_text("ab\x1bcd", 5) == "ab…"
    assert safe_text("ab\x1bcd", 7) == "ab\\x1b…"


def test_max_len_must_be_positive() -> None:
    with pytest.raises(ValueError):
        safe_text("x", 0)


def test_quoted_wraps_and_escapes() -> None:
    assert quoted("pr\x1bod") == "'pr\\x1bod'"


@given(st.text(), st.integers(min_value=1, max_value=50))
def test_output_never_contains_controls_and_respects_length(text: str, limit: int) -> None:
    out = safe_text(text, limit)
    assert len(out) <= limit
    assert all(not (ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F) for c in out)
    assert "\u202e" not in out and "\u2028" not in out
    assert safe_text(out) == out  # nothing left to escape
