"""Benchmarks of bifrost-tui against its performance goals: ``make bench`` (``python -m bench``).

Each benchmark module exposes ``run(size) -> list[Row]`` and takes a size or duration, so the
test suite can run every one of them at a tiny size (tests/house/test_bench_smoke.py) without timing
anything. The full run prints a table and writes ``bench/RESULTS.md``.
"""
