"""`python -m bench` (`make bench`): run every benchmark, print the table, write RESULTS.md."""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from bench import idle, imports, memory, network, pty_start, results, scale, startup
from bench.core import Row
from bench.machine import describe
from bench.report import markdown, table_text

RESULTS = Path(__file__).with_name("RESULTS.md")

#: name -> (full run, tiny run for the smoke test and --quick)
BENCHMARKS: dict[str, tuple[Callable[[], list[Row]], Callable[[], list[Row]]]] = {
    "cli": (lambda: startup.cli_start(runs=5), lambda: startup.cli_start(runs=1, warm=False)),
    "console": (
        lambda: startup.console_start(runs=5),
        lambda: startup.console_start(runs=1, warm=False),
    ),
    "imports": (
        lambda: imports.first_frame_imports(runs=5),
        lambda: imports.first_frame_imports(runs=1, warm=False),
    ),
    "pty": (
        lambda: pty_start.first_row_in_pty(runs=5),
        lambda: pty_start.first_row_in_pty(runs=1, latencies=(0.0,), warm=False),
    ),
    "paint": (
        lambda: scale.first_paint((10_000, 50_000), runs=5),
        lambda: scale.first_paint((200,), runs=1),
    ),
    "refresh": (lambda: scale.refresh(50_000, runs=7), lambda: scale.refresh(200, runs=1)),
    "keys": (lambda: scale.key_latency(50_000, runs=7), lambda: scale.key_latency(200, runs=1)),
    "providers": (
        lambda: network.concurrent_providers(runs=7),
        lambda: network.concurrent_providers(runs=1, latency=0.02),
    ),
    "cancel": (
        lambda: network.cancel_feedback(runs=5),
        lambda: network.cancel_feedback(runs=1, latency=0.01),
    ),
    "idle": (lambda: idle.idle_over_ssh(60.0), lambda: idle.idle_over_ssh(0.5, settle=0.2)),
    "memory": (
        lambda: memory.peak_rss(50_000) + memory.peak_rss(250_000, target_mb=400),
        lambda: memory.peak_rss(200),
    ),
    "cli-memory": (
        lambda: memory.cli_listing_rss(),
        lambda: memory.cli_listing_rss(size=64 * 1024),
    ),
    "results": (
        lambda: results.results_summary(100_000, runs=3),
        lambda: results.results_summary(300, runs=1),
    ),
    "growth": (
        lambda: scale.growth((100, 1_000, 10_000, 50_000), runs=5),
        lambda: scale.growth((100, 200), runs=1),  # 200: the rows measured above, reused
    ),
}


def run(names: list[str], *, quick: bool) -> list[Row]:
    rows: list[Row] = []
    for name in names:
        full, tiny = BENCHMARKS[name]
        start = time.perf_counter()
        print(f"[bench] {name}…", file=sys.stderr, flush=True)
        try:
            got = (tiny if quick else full)()
        except Exception:  # one broken benchmark must not lose the others' figures
            traceback.print_exc()
            got = [Row(f"{name}: failed", "error", note="see the run's output")]
        print(f"[bench] {name} done in {time.perf_counter() - start:.1f} s", file=sys.stderr)
        rows += got
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes (a smoke run, seconds)")
    parser.add_argument(
        "--only", metavar="NAMES", help=f"comma-separated subset of: {', '.join(BENCHMARKS)}"
    )
    parser.add_argument("--out", type=Path, help="where to write the results (default below)")
    args = parser.parse_args(argv)
    names = list(BENCHMARKS)
    if args.only:
        names = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = [n for n in names if n not in BENCHMARKS]
        if unknown:
            parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    out = args.out or (RESULTS.with_name("out") / "RESULTS-quick.md" if args.quick else RESULTS)
    machine = describe()
    start = time.perf_counter()
    rows = run(names, quick=args.quick)
    seconds = time.perf_counter() - start
    print(table_text(rows))
    command = (
        "python -m bench"
        + (" --quick" if args.quick else "")
        + (f" --only {args.only}" if args.only else "")
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(markdown(rows, machine, seconds=seconds, command=command))
    print(f"\nwritten: {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
