"""parse_duration: the durations an operator types (``--since 1h``, ``--older-than 2h``)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bifrost_tui.formatting import parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("30m", timedelta(minutes=30)),
        ("2h", timedelta(hours=2)),
        ("1d", timedelta(days=1)),
        ("1w", timedelta(weeks=1)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1d2h3m4s", timedelta(days=1, hours=2, minutes=3, seconds=4)),
        (" 2H ", timedelta(hours=2)),
        ("1h 30m", timedelta(hours=1, minutes=30)),
        ("120m", timedelta(hours=2)),
    ],
)
def test_parse_duration_accepts(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "empty duration"),
        ("   ", "empty duration"),
        ("30", "a number without a unit"),
        ("1x", "unknown unit 'x'"),
        ("-1h", "invalid duration"),
        ("1.5h", "invalid duration"),
        ("h", "invalid duration"),
        ("1h30", "a number without a unit"),
        ("0s", "is zero"),
        ("0h0m", "is zero"),
        ("30m1h", "largest first"),
        ("1h1h", "largest first"),
        ("99999999999999d", "too long"),
        ("4000d", "too long"),
        ("yesterday", "invalid duration 'yesterday'"),
    ],
)
def test_parse_duration_refuses_with_a_clear_message(text: str, words: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_duration(text)
    assert words in str(info.value)
    if "too long" not in words:
        assert "e.g. 90s, 30m, 2h, 1d" in str(info.value)  # says what is accepted


def test_parse_duration_message_escapes_hostile_input() -> None:
    with pytest.raises(ValueError) as info:
        parse_duration("\x1b[31m")
    assert "\x1b" not in str(info.value) and "\\x1b" in str(info.value)
