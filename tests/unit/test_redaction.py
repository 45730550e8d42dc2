"""The ``Redactor``: whole secrets and every 8+ character piece of one become ``***``."""

from __future__ import annotations

from bifrost_tui.redaction import Redactor

KEY = "sk-bf-EVILSECRET9x7"


def test_a_whole_secret_is_masked_everywhere() -> None:
    redact = Redactor([KEY])
    assert redact(f"a {KEY} b {KEY}") == "a *** b ***"


def test_a_prefix_left_at_the_end_by_a_cut_is_masked() -> None:
    redact = Redactor([KEY])
    assert redact("message ending with " + KEY[:-2]) == "message ending with ***"
    assert redact("cut " + KEY[:8]) == "cut ***"


def test_a_suffix_left_at_the_start_by_a_cut_is_masked() -> None:
    redact = Redactor([KEY])
    assert redact(KEY[3:] + " and more") == "*** and more"
    assert redact(KEY[-8:] + " x") == "*** x"


def test_pieces_are_masked_anywhere_in_the_text_not_only_at_its_ends() -> None:
    redact = Redactor([KEY])
    assert redact(f"a {KEY[:10]} b {KEY[-9:]} c") == "a *** b *** c"


def test_pieces_shorter_than_eight_characters_and_inner_pieces_stay() -> None:
    redact = Redactor([KEY])
    assert redact("sk-bf-E and EVILSECRET") == "sk-bf-E and EVILSECRET"


def test_a_piece_running_on_into_other_text_masks_only_the_piece() -> None:
    redact = Redactor([KEY])
    assert redact(KEY[:12] + "ZZZ") == "***ZZZ"
    assert redact("ZZZ" + KEY[-12:]) == "ZZZ***"


def test_overlapping_and_adjacent_secrets_leave_no_piece_of_either() -> None:
    first, second = "AAAABBBBCCCCDDDD", "CCCCDDDDEEEEFFFF"
    redact = Redactor([first, second])
    assert redact("x AAAABBBBCCCCDDDDEEEEFFFF y") == "x *** y"
    assert redact(f"{first}{second}") == "***"
    assert redact(f"{first} {second}") == "*** ***"


def test_a_secret_inside_a_longer_one_is_masked_with_it() -> None:
    redact = Redactor(["longer-secret-value-1", "secret-value"])
    assert redact("longer-secret-value-1 and secret-value") == "*** and ***"


def test_short_secrets_are_masked_only_whole() -> None:
    redact = Redactor(["pw12345"])  # 7 characters: no piece is hunted for
    assert redact("pw12345 pw1234") == "*** pw1234"


def test_tiny_secrets_and_empty_ones_are_ignored() -> None:
    redact = Redactor(["", "ab"])
    assert not redact
    assert redact("ab cd") == "ab cd"


def test_a_long_text_is_redacted_in_one_pass() -> None:
    text = ("x" * 1000 + KEY[:9]) * 1000
    redacted = Redactor([KEY])(text)
    assert KEY[:8] not in redacted and redacted.count("***") == 1000


def test_its_repr_holds_no_secret() -> None:
    assert KEY not in repr(Redactor([KEY]))
