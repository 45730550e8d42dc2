"""The batch table identifies a batch at a glance: whole ids where they fit (cut in the middle
where not, a Bedrock ARN by its job id), the state once, an AGE column, the sorted column always
on screen, and the request count that is real for the provider kept at narrow widths."""

from __future__ import annotations

import json
import random
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bifrost_tui.core.sorting import SORT_CYCLE, SortKey
from bifrost_tui.core.store import BatchStore
from bifrost_tui.formatting import age_text, status_extras
from bifrost_tui.gateway.counts import RequestCounts, Source
from bifrost_tui.gateway.models import Batch, State
from bifrost_tui.sim.ids import new_batch_id
from bifrost_tui.ui.widgets.batch_table.cells import counts_cell, fit_middle, table_id
from bifrost_tui.ui.widgets.batch_table.layout import (
    ID_FLOOR,
    SORT_COLUMNS,
    ContentWidths,
    arrow_down,
    plan_layout,
)
from bifrost_tui.ui.widgets.batch_table.measure import ContentMeasure
from bifrost_tui.ui.widgets.batch_table.table import BatchTable
from tests.console.table_rig import width_of
from tests.support.clocks import T0
from tests.support.ui_fixtures import main_screen, make_rig

RECORDED = Path(__file__).parent.parent / "data" / "recorded"

ANTHROPIC_ID = "msgbatch_01HkTq3vRZ8mFJcWn2yXDV8d"
OPENAI_ID = "batch_" + "6a0f3c2e9b8d4e1fa7c5b2d90e3f4a1c"
AZURE_ID = "batch_" + "0b9d5e3a-7c21-4f6e-9a8b-3d2c1e0f5a4b"
BEDROCK_ARN = "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/k3x9q2m7w1zp"


def test_real_ids_have_their_real_lengths() -> None:
    assert (len(ANTHROPIC_ID), len(OPENAI_ID), len(AZURE_ID)) == (33, 38, 42)
    rng = random.Random(1)
    # The simulator draws ids of the same shapes.
    assert len(new_batch_id("anthropic", rng)) == 33
    assert len(new_batch_id("openai", rng)) == 38
    assert len(new_batch_id("azure", rng)) == 42
    assert new_batch_id("bedrock", rng).startswith("arn:aws:bedrock:")


# ---- the planner, at every width ----------------------------------------------------------------

#: The widest cells of a view holding all four providers' real ids (the ARN shows its job id).
REAL = ContentWidths(id=42, provider=9, status=17, requests=25)


@pytest.mark.parametrize("width", [*range(60, 201, 10), 69, 79, 80, 89, 99])
def test_the_planner_keeps_id_status_age_and_requests_at_every_width(width: int) -> None:
    layout = plan_layout(width, REAL, "age", True)
    assert sum(layout.widths) + len(layout.columns) - 1 <= width
    for name in ("tag", "id", "status", "age", "requests"):
        assert layout.has(name), (width, layout.columns)
    if width >= 80:
        assert width_of(layout, "id") == 42  # every real id whole
    else:
        assert width_of(layout, "id") >= ID_FLOOR
    # What gives way first: PROGRESS, then EXPIRES/ENDED.
    assert layout.has("progress") == (width >= 135)
    assert layout.has("expires") == (width >= 106)
    assert "AGE ▼" in " ".join(layout.header_cells())


@pytest.mark.parametrize("column", sorted(set(SORT_COLUMNS.values())))
@pytest.mark.parametrize("width", [40, 60, 69, 89, 120, 200])
def test_the_sorted_column_is_always_on_screen_with_its_arrow(column: str, width: int) -> None:
    layout = plan_layout(width, REAL, column, False)
    assert layout.has(column)
    assert "▲" in " ".join(layout.header_cells())


def test_the_age_arrow_points_at_the_oldest_first() -> None:
    # Creation time ascending is age descending: the oldest, the largest AGE, on top.
    assert arrow_down("age", sort_reverse=False) is True
    assert arrow_down("age", sort_reverse=True) is False
    assert arrow_down("id", sort_reverse=True) is True


# ---- ids ----------------------------------------------------------------------------------------


def test_ids_are_cut_in_the_middle_keeping_start_and_end() -> None:
    assert fit_middle(ANTHROPIC_ID, 18) == "msgbatch_01Hk…DV8d"
    assert fit_middle(ANTHROPIC_ID, 40) == ANTHROPIC_ID + " " * 7
    cut = fit_middle(AZURE_ID, 24)
    assert len(cut) == 24 and cut.startswith("batch_0b9d5e3a") and cut.endswith("…5a4b")
    wide = fit_middle("批次" * 10, 11)  # two cells a character: still exactly 11 cells
    assert wide.startswith("批次") and "…" in wide
    assert fit_middle("abcdef", 3) == "ab…"


def test_an_arn_shows_its_job_id() -> None:
    assert table_id(BEDROCK_ARN) == "k3x9q2m7w1zp"
    assert table_id(OPENAI_ID) == OPENAI_ID
    assert table_id("arn:aws:bedrock:us-east-1:1:model-invocation-job/") == (
        "arn:aws:bedrock:us-east-1:1:model-invocation-job/"
    )


def _items(name: str) -> list[Any]:
    data = json.loads((RECORDED / name).read_text())["data"]
    assert isinstance(data, list)
    return data


def test_recorded_bedrock_ids_show_their_job_ids_on_both_routes() -> None:
    anth = [
        Batch.from_anthropic(item, provider="bedrock") for item in _items("bedrock/list_anth.body")
    ]
    oai = [
        Batch.from_openai(item, provider="bedrock")
        for item in _items("bedrock/list_openai_limit5.body")
    ]
    assert anth[0].id == "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/cancelme0001"
    assert table_id(anth[0].id) == "cancelme0001"
    # The OpenAI route sends the ARN base64-encoded; the table shows the same job id.
    assert [table_id(b.id) for b in oai] == [table_id(b.id) for b in anth[: len(oai)]]


# ---- status -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "raw", "native", "shown"),
    [
        (State.ACTIVE, "in_progress", None, "ACTIVE"),
        (State.ACTIVE, "finalizing", None, "ACTIVE finalizing"),
        (State.ACTIVE, "in_progress", "validating", "ACTIVE validating"),
        (State.CANCELING, "canceling", "cancelling", "CANCELING"),
        (State.ENDED_OK, "ended", None, "ENDED"),
        (State.ENDED_OK, "ended", "completed", "ENDED"),
        (State.ENDED_OK, "ended", "failed", "ENDED failed"),
        (State.ENDED_OK, "ended", "expired", "ENDED expired"),
        (State.ENDED_CANCELED, "ended", "cancelled", "CANCELED"),
        (State.FAILED, "failed", None, "FAILED"),
        (State.EXPIRED, "ended", None, "EXPIRED"),
        (State.UNKNOWN, "paused", None, "UNKNOWN paused"),
    ],
)
def test_status_shows_the_state_once_and_the_native_word_where_it_adds(
    state: State, raw: str, native: str | None, shown: str
) -> None:
    batch = Batch(id="b", provider="openai", processing_status=raw, native_status=native)
    assert ContentMeasure().status_text(batch, state) == shown
    assert [w.lower() for w in status_extras(state, raw, native)] == shown.lower().split()[1:]


# ---- age ----------------------------------------------------------------------------------------


def test_age_reads_in_one_unit() -> None:
    assert age_text(None, T0) == "?"
    assert age_text(T0 - timedelta(seconds=59), T0) == "0m"
    assert age_text(T0 - timedelta(minutes=12, seconds=5), T0) == "12m"
    assert age_text(T0 - timedelta(hours=3, minutes=59), T0) == "3h"
    assert age_text(T0 - timedelta(days=2, hours=23), T0) == "2d"
    assert age_text(T0 + timedelta(minutes=19), T0) == "0m"  # a clock ahead: never negative


# ---- counts -------------------------------------------------------------------------------------


def test_a_narrow_requests_cell_keeps_the_count_real_for_the_provider() -> None:
    # Read through the Anthropic-format list, openai keeps only ``errored`` (gateway.counts).
    (first, *_) = _items("basic/list_oai.body")
    openai = Batch.from_anthropic(first, provider="openai", source=Source.LIST)
    assert counts_cell(openai.request_counts, "openai", 40) == "? proc ? ok 2 err"
    assert counts_cell(openai.request_counts, "openai", 9) == "2 err"
    full = RequestCounts(processing=8732, succeeded=3470, errored=21, canceled=0, expired=0)
    assert counts_cell(full, "azure", 12) == "21 err"
    assert counts_cell(full, "azure", 16) == "8732 proc 21 err"
    assert counts_cell(full, "anthropic", 12) == "8732 proc"
    assert counts_cell(full, "anthropic", 40) == "8732 proc 3470 ok 21 err"
    assert counts_cell(None, "openai", 9) == "—"


# ---- the console, against the simulator ---------------------------------------------------------


def _rows(table: BatchTable) -> list[str]:
    return [table.render_line(y).text for y in range(table.size.height)]


async def _console_with_real_ids(size: tuple[int, int]) -> tuple[Any, Any]:
    rig = make_rig()
    for provider, batch_id in (
        ("anthropic", ANTHROPIC_ID),
        ("openai", OPENAI_ID),
        ("azure", AZURE_ID),
        ("bedrock", BEDROCK_ARN),
    ):
        # Created long ago and still running: the oldest active batches, on the first lines.
        rig.world.add_batch(
            provider,
            id=batch_id,
            status=None,
            total=40,
            errored=1,
            created_at=T0 - timedelta(days=3),
            expires_at=T0 + timedelta(hours=5),
        )
    return rig, size


@pytest.mark.parametrize("size", [(120, 40), (100, 30)])
async def test_real_ids_beside_the_provider_list(size: tuple[int, int]) -> None:
    rig, size = await _console_with_real_ids(size)
    async with rig.app.run_test(size=size) as pilot:
        await rig.app.do_poll(deep=True)
        await pilot.pause()
        screen = main_screen(rig.app)
        assert screen.query_one("#providers").region.width > 0
        table = screen.query_one(BatchTable)
        header, *rows = _rows(table)
        assert "REQUESTS" in header and "AGE ▼" in header and "STATUS" in header
        text = "\n".join(rows[:4])
        assert "k3x9q2m7w1zp" in text and "arn:aws" not in text
        if size == (120, 40):
            for batch_id in (ANTHROPIC_ID, OPENAI_ID, AZURE_ID):
                assert batch_id in text
        else:
            # Cut in the middle: the distinctive start and end of each id stay.
            for batch_id in (ANTHROPIC_ID, OPENAI_ID, AZURE_ID):
                assert batch_id not in text
                assert f"{batch_id[:20]}" in text and f"…{batch_id[-4:]}" in text
        # The oldest active first, with their age; openai and azure keep their error count.
        assert all(" 3d " in row for row in rows[:4])
        assert all(" 1 err " in row for row in rows[:4] if "openai" in row or "azure" in row)
        assert not any("ended ENDED" in row or "in_progress" in row for row in rows)


async def test_default_sort_is_oldest_active_first_and_s_still_cycles() -> None:
    rig = make_rig()
    async with rig.app.run_test(size=(160, 40)) as pilot:
        await rig.app.do_poll(deep=True)
        await pilot.pause()
        store: BatchStore = rig.app.store
        assert (store.sort_key, store.sort_reverse) == (SortKey.OLDEST_ACTIVE, False)
        view = [store.batches[k] for k in store.view()]
        active = [b for b in view if not b.state.terminal]
        ended = [b for b in view if b.state.terminal]
        assert view == active + ended
        created = [b.created_at.timestamp() for b in active if b.created_at]
        assert created == sorted(created)  # the longest-running on top
        table = main_screen(rig.app).query_one(BatchTable)
        assert "AGE ▼" in table.render_line(0).text
        await pilot.press("s")
        await pilot.pause()
        assert store.sort_key is SORT_CYCLE[1]
        await pilot.press("S")
        await pilot.pause()
        assert store.sort_reverse is True
        assert "AGE ▲" in table.render_line(0).text  # newest first: the smallest age on top
