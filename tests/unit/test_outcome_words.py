"""How an unknown outcome and Gemini's not-run-or-failed count read: table, detail screen, CLI."""

from __future__ import annotations

import io
import json
from pathlib import Path

from bifrost_tui.cli.batches import _print_batch_detail
from bifrost_tui.formatting import STATE_LABELS, state_words
from bifrost_tui.gateway.counts import Source
from bifrost_tui.gateway.models import Batch, State
from bifrost_tui.ui.screens.detail import render_detail
from tests.support.clocks import T0

RECORDED = Path(__file__).resolve().parents[1] / "data" / "recorded" / "gemini"


def gemini_retrieve(name: str) -> Batch:
    data = json.loads((RECORDED / f"{name}.body").read_bytes())
    return Batch.from_anthropic(data, provider="gemini", source=Source.RETRIEVE)


def test_every_state_has_a_label_and_the_unknown_outcome_says_so() -> None:
    assert set(STATE_LABELS) == set(State)
    assert STATE_LABELS[State.ENDED_UNSURE] == "ENDED?"
    assert state_words(State.ENDED_UNSURE) == (
        "ended (completed or canceled: the gateway does not say)"
    )
    assert state_words(State.ENDED_OK) == "ENDED"


def test_the_detail_screen_says_why_errored_is_unknown() -> None:
    batch = gemini_retrieve("g23_get_dash_g04cancelled")
    text = render_detail(batch, T0).plain
    assert "ended (completed or canceled: the gateway does not say)" in text
    assert "? (7 not run or failed)" in text
    assert "requests left unrun are counted with the real failures" in text
    assert "only its OpenAI-format list tells them apart" in text


def test_batches_show_says_the_outcome_and_the_count_in_words() -> None:
    out = io.StringIO()
    _print_batch_detail(gemini_retrieve("g24_get_dash_g05expired"), T0, out)
    lines = out.getvalue().splitlines()
    assert any(
        line.startswith("not run or failed ") and line.endswith(" 15 (errored: unknown)")
        for line in lines
    )
    out = io.StringIO()
    _print_batch_detail(gemini_retrieve("g11_get_dash"), T0, out)
    assert "status               ended (completed or canceled: the gateway does not say)\n" in (
        out.getvalue()
    )
