"""safe_text and invisible or unencodable text: format characters, separators, variation
selectors, tag characters and lone surrogates are shown as escapes, and the result always encodes
as UTF-8."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bifrost_tui.core.export import neutralise_cell
from bifrost_tui.textsafe import safe_text

ESCAPED_CATEGORIES = {"Cc", "Cf", "Cs", "Zl", "Zp"}


def hidden(ch: str) -> bool:
    code = ord(ch)
    return 0xFE00 <= code <= 0xFE0F or 0xE0000 <= code <= 0xE007F or 0xE0100 <= code <= 0xE01EF


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("msgbatch_\ud800sur", "msgbatch_\\ud800sur"),  # lone high surrogate
        ("x\udfffy", "x\\udfffy"),  # lone low surrogate
        ("a\u200bb", "a\\u200bb"),  # zero-width space
        ("a\u200cb", "a\\u200cb"),  # zero-width non-joiner
        ("a\u200db", "a\\u200db"),  # zero-width joiner
        ("\ufeffid", "\\ufeffid"),  # BOM / zero-width no-break space
        ("a\u2060b", "a\\u2060b"),  # word joiner
        ("soft\u00adhyphen", "soft\\u00adhyphen"),
        ("para\u2029graph", "para\\u2029graph"),
        ("heart\ufe0f", "heart\\ufe0f"),  # variation selector 16
        ("kanji\U000e0100", "kanji\\U000e0100"),  # variation selector supplement
        ("tag\U000e0041\U000e007f", "tag\\U000e0041\\U000e007f"),  # tag characters
        ("arabic\u061cmark", "arabic\\u061cmark"),
    ],
)
def test_invisible_and_unencodable_characters_become_escapes(raw: str, shown: str) -> None:
    assert safe_text(raw) == shown
    shown.encode("utf-8")  # strictly


def test_two_ids_that_differ_only_by_an_invisible_character_look_different() -> None:
    plain = "msgbatch_01abc"
    for invisible in ("\u200b", "\u200c", "\u200d", "\ufeff", "\u2060", "\u00ad", "\ufe0f"):
        twin = plain[:9] + invisible + plain[9:]
        assert safe_text(twin) != safe_text(plain)


def test_a_cut_never_splits_a_surrogate_escape() -> None:
    assert safe_text("ab\ud800cd", 7) == "ab…"
    assert safe_text("ab\ud800cd", 9) == "ab\\ud800…"


def test_a_csv_cell_keeps_ordinary_text_and_escapes_a_lone_surrogate() -> None:
    assert neutralise_cell("msgbatch_caf\u00e9") == "msgbatch_caf\u00e9"
    assert neutralise_cell("msgbatch_\ud800sur") == "msgbatch_\\ud800sur"


#: Any code point at all, lone surrogates included.
ANY_TEXT = st.text(st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=()))


@given(ANY_TEXT, st.one_of(st.none(), st.integers(min_value=1, max_value=60)))
def test_output_has_no_invisible_character_and_always_encodes(text: str, limit: int | None) -> None:
    out = safe_text(text, limit)
    assert not [c for c in out if unicodedata.category(c) in ESCAPED_CATEGORIES or hidden(c)]
    out.encode("utf-8")  # strict: never a UnicodeEncodeError
    assert safe_text(out) == out  # nothing left to escape
    if limit is not None:
        assert len(out) <= limit


@given(st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1))
def test_surrogates_alone_are_always_escaped(text: str) -> None:
    assert safe_text(text) == "".join(f"\\u{ord(c):04x}" for c in text)
