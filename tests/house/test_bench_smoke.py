"""Every benchmark in bench/ runs at a tiny size and yields numbers (timings are never asserted:
the figures themselves come from `make bench`, see bench/RESULTS.md)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from bench.__main__ import BENCHMARKS, RESULTS, main
from bench.core import Row
from bench.machine import describe
from bench.report import MISS_NOTES, markdown, table_text


def numbers(row: Row) -> list[float]:
    return [v for v in row.values.values() if isinstance(v, int | float)]


@pytest.mark.parametrize("name", list(BENCHMARKS))
def test_each_benchmark_runs_at_a_tiny_size(name: str) -> None:
    _full, tiny = BENCHMARKS[name]
    rows = tiny()
    assert rows, "a benchmark returns at least one row"
    for row in rows:
        assert row.measured != "error", row
        measured = numbers(row)
        assert measured, f"{row.figure}: no numbers measured"
        assert all(math.isfinite(v) and v >= 0 for v in measured), row.values
        assert row.verdict in ("pass", "MISS", "—")


def test_scale_benchmarks_really_show_every_row() -> None:
    # The rendering figures are only meaningful if the table held all the batches.
    paint = BENCHMARKS["paint"][1]()
    assert [r.values["rows"] for r in paint] == [200]
    growth = BENCHMARKS["growth"][1]()[0]
    assert [entry["n"] for entry in growth.values["table"]] == [100, 200]


def test_results_markdown_has_the_machine_the_table_and_the_misses() -> None:
    rows = [
        Row("Refresh, nothing changed (50,000 rows)", "5.0 ms", "<= 10 ms", True, 7),
        Row("Cancel feedback (100.0 ms gateway)", "250.0 ms", "<= RTT + 50 ms", False, 5),
        Row("Deep poll", "80 ms", runs=3),
    ]
    text = markdown(rows, describe(), seconds=1.0, command="python -m bench")
    assert "## Machine" in text and "Cores (nproc)" in text and "Python" in text
    assert (
        "| Cancel feedback (100.0 ms gateway) | 250.0 ms | 5 | <= RTT + 50 ms | **MISS** |" in text
    )
    assert "Misses: why" in text and MISS_NOTES["Cancel feedback"][:60] in text  # explained
    assert "| pass |" in text and "| — |" in text
    assert "Cancel feedback" in table_text(rows)


def test_command_line_writes_where_told_and_leaves_results_md_alone(tmp_path: Path) -> None:
    before = RESULTS.read_bytes() if RESULTS.exists() else None
    out = tmp_path / "results.md"
    assert main(["--quick", "--only", "paint", "--out", str(out)]) == 0
    assert "First paint at scale, 200 rows" in out.read_text()
    assert (RESULTS.read_bytes() if RESULTS.exists() else None) == before
    with pytest.raises(SystemExit):
        main(["--only", "no-such-benchmark"])
