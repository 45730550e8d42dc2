"""Which provider kinds an id's shape fits: what `batches show ID` asks without --provider."""

from __future__ import annotations

import base64

import pytest

from bifrost_tui.gateway.ids import candidate_kinds

ARN = "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/miifw09ssmez"


@pytest.mark.parametrize(
    ("batch_id", "kinds"),
    [
        ("msgbatch_01Hk7PqYb5mT3xWzJcN8DV8d", ("anthropic",)),
        ("batch_75bc80f5160c0f8199be6a2d5cab9576", ("openai", "azure")),
        ("batch_eba2e1f3-cca0-4370-a4b4-4625fcd7e2c8", ("openai", "azure")),
        (ARN, ("bedrock",)),
        (base64.b64encode(ARN.encode()).decode().rstrip("="), ("bedrock",)),
        ("batches/p736ywmkq8vp9i2nyqgq1s", ("gemini",)),
        ("batches-p736ywmkq8vp9i2nyqgq1s", ("gemini",)),
    ],
)
def test_each_known_shape_names_its_provider_kinds(batch_id: str, kinds: tuple[str, ...]) -> None:
    assert candidate_kinds(batch_id) == kinds


@pytest.mark.parametrize(
    "batch_id",
    ["", "weird", "job-42", "Batch_upper", "arn:aws:s3:::bucket", "batchesx", "msgbatch"],
)
def test_an_id_of_no_known_shape_fits_any_provider(batch_id: str) -> None:
    assert candidate_kinds(batch_id) is None


def test_the_anthropic_prefix_is_not_mistaken_for_openai_and_gemini_not_for_batch_() -> None:
    assert candidate_kinds("msgbatch_x") == ("anthropic",)
    assert candidate_kinds("batches-x") == ("gemini",)
    assert candidate_kinds("batch_x") == ("openai", "azure")
