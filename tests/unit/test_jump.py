"""Which batches a jump query names: exact, then a unique prefix, then the ids containing it."""

from __future__ import annotations

from bifrost_tui.core.jump import MAX_MATCHES, find_batch, job_id

ARN = "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/k3x9q2m7w1zp"
KEYS = [
    ("anthropic", "msgbatch_01HkAbCdEfGhIjKlMnOpDV8d"),
    ("anthropic", "msgbatch_01HkZzzzzzzzzzzzzzzzzzzzzz"),
    ("openai", "batch_0123abcd"),
    ("azure", "batch_0123abcd"),
    ("bedrock", ARN),
]


def test_an_exact_id_wins_over_the_ids_it_starts():
    assert find_batch(KEYS, "msgbatch_01HkAbCdEfGhIjKlMnOpDV8d").found == KEYS[0]


def test_the_same_id_on_two_providers_is_offered_as_two():
    result = find_batch(KEYS, "batch_0123abcd")
    assert result.found is None
    assert set(result.matches) == {KEYS[2], KEYS[3]}


def test_a_unique_prefix_jumps_and_an_ambiguous_one_lists():
    assert find_batch(KEYS, "msgbatch_01HkA").found == KEYS[0]
    assert find_batch(KEYS, "msgbatch_01Hk").total == 2


def test_case_counts_first_then_a_hand_typed_query_is_tried_ignoring_case():
    assert find_batch(KEYS, "MSGBATCH_01HKA").found == KEYS[0]


def test_a_bedrock_job_is_found_by_its_job_id_and_any_part():
    assert job_id(ARN) == "k3x9q2m7w1zp"
    assert find_batch(KEYS, "k3x9q2m7w1zp").found == KEYS[4]
    assert find_batch(KEYS, "k3x9").found == KEYS[4]
    assert find_batch(KEYS, "DV8d").found == KEYS[0]  # inside, ignoring case


def test_nothing_and_blank_find_nothing_and_many_are_capped():
    assert find_batch(KEYS, "nope").total == 0
    assert find_batch(KEYS, "   ").matches == ()
    many = [("openai", f"batch_{i:04d}") for i in range(MAX_MATCHES + 7)]
    result = find_batch(many, "batch_")
    assert result.total == MAX_MATCHES + 7 and len(result.matches) == MAX_MATCHES
