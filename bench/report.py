"""The results table: printed to the terminal and written to bench/RESULTS.md."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from bench.core import Row, ms

#: Why a figure misses its target and what would fix it, shown under the table only while the
#: row misses. Keyed by the start of the figure's name.
MISS_NOTES: dict[str, str] = {
    "CLI start": (
        "Imports are most of it: asyncio (with ssl) ~100 ms, `gateway.models` ~100 ms (pydantic, "
        "whose plugin loader alone imports importlib.metadata: ~30 ms), httpx ~50 ms, the "
        "simulator ~30 ms, then ~60 ms of work (building the demo world, listing it in process). "
        "The baseline imports only httpx and pydantic. Fix (gateway/, cli/): set "
        "`PYDANTIC_DISABLE_PLUGINS` before pydantic is imported, or keep pydantic models out of "
        "the listing path; make the demo world smaller or lazier for one-shot commands."
    ),
    "Console start": (
        "Everything the CLI path loads (above), plus Textual and every screen module imported "
        "by `ui.app` before the first frame, plus the demo world and the first deep poll. Fix "
        "(ui/): import secondary screens (bulk, audit, detail, help) where they are pushed, as "
        "`action_profiles` already does; the CLI fixes above apply too."
    ),
    "First batch row in a pty, gateway answering": (
        "Six sequential round trips before the first row. The simulator's request log (the same "
        "console in a pty, the simulator in the benchmark's process, 1 s per answer) shows, from "
        "the spawn: `/health` at 0.65 s, `/api/version` 1.65 s, `/api/providers` 2.70 s, the five "
        "keys calls 3.76 s, the five first pages 4.80 s, the deep listings' next pages 5.82-5.86 "
        "s; the first row reaches the terminal at 7.0 s, once the deep listings answered. Fix "
        "(core/, ui/): request the first pages as soon as the providers are known, concurrently "
        "with health, version and keys, and paint each as it arrives (two round trips)."
    ),
    "First batch row in a pty": (
        "The console sends its first request ~0.65 s after the spawn (imports and the screens "
        "built before the first frame; the bare app has its rows on the terminal by then), then "
        "paints no row until the whole first deep poll has answered (health, version, providers, "
        "keys per provider, first pages, deep listings: six round trips, each a few ms on "
        "loopback) and the 1,000 batches are folded in. Fix (ui/): import only what the first "
        "frame needs; paint each provider's first page as it arrives."
    ),
    "First paint at scale": (
        "The store's and the table's work is ~0.6 s at 50,000 rows here; the rest is garbage "
        "collection (young-generation passes grow with the heap; a full collection over the "
        "~200,000 objects 50,000 batches make takes ~0.2-0.3 s and can land in any frame). Fix "
        "(ui/app.py): `gc.freeze()` once a deep poll is applied (measured: a full collection then "
        "takes ~0 ms), or fewer objects per batch (`Batch.raw`, several dicts each)."
    ),
    "Refresh, nothing changed (": (
        "`LiveSession._reread_active` (core/live.py) walks every batch to find the active ones on "
        "every light poll: O(n), ~25 ms at 50,000 on this machine. Fix: "
        "`keys = list(itertools.islice((k for k in self.store.active_keys() if k not in exclude "
        "and k not in self.watches), MAX_ACTIVE_REREADS))` — `BatchStore.active_keys()` keeps the "
        "non-terminal keys in first-seen order, so the same batches are chosen as today "
        "(measured with it: ~5 ms)."
    ),
    "Refresh, 1% changed": (
        "The O(n) re-read scan above (~25 ms), then per changed batch `Batch.updated_by` "
        "(`dataclasses.replace` and a counts merge, ~20 us here) and the stuck rules' "
        "`update_flags` (~10 us); the store's and the table's own work is ~25 us per changed "
        "batch, plus repainting the changed rows that are on screen."
    ),
    "Key latency, filter": (
        "Textual's own painting is most of it: 37 new lines of the table (~11-14 ms on this "
        "machine; the table renders them in ~2 ms) and the filter Input (~4 ms); the store and "
        "the table take 2-6 ms (the first keystroke on 50,000 rows ~10 ms). Each keystroke also "
        "updates the crumb bar (it shows the filter) with `Static.update()`'s default "
        "`layout=True`, a whole-screen layout pass: `layout=False` in widgets/crumbs.py (and "
        "flash.py) saves ~3-4 ms here."
    ),
    "Key latency, page down": (
        "A page of new rows costs Textual's compositor ~10-14 ms to paint at 120x40 on this "
        "machine (the table renders its 37 lines in ~2 ms)."
    ),
    "Cancel feedback": (
        "The reply is painted before the re-read now; what is over the round trip is Textual: "
        "when the confirmation closes, the Footer recomposes for the main screen's keys (two "
        "whole-screen layout passes, ~35-40 ms each here), and the crumb and flash updates "
        "(`layout=True`) add more; the reply's repaint waits behind them. Fix: `layout=False` "
        "in the crumb and flash bars (above), and a confirmation that does not change the "
        "footer's keys (or no footer change at all while it is open)."
    ),
    "Idle over SSH": (
        "The crumb bar's 'refreshed' time changes with every poll: keep it at minute "
        "granularity (as now), and update the bar with `layout=False`."
    ),
    "Memory": (
        "~1.19 KB per batch is kept (tracemalloc, 50,000 batches): the raw JSON ~365 B (compact "
        "bytes), the `Batch` ~160 B, its id and counts ~100 B, two datetimes ~100 B, the filter's "
        "haystack ~116 B (core/text_filter.py), the key tuple 56 B, the store's batch and "
        "per-provider dicts ~80 B, the table's widths index ~52 B; sort values and states are "
        "not kept (computed from the batch), and the table re-measures every batch in slices "
        "when most changed rather than keep each one it measured. Fix, if it misses again: "
        "build the haystacks only while a text filter is in use (~116 B; the first keystroke on "
        "50,000 batches then pays ~45 ms to build them), or keep the raw JSON deflated with a "
        "preset dictionary (~190 B, but ~10 us per batch kept)."
    ),
    "Growth": (
        "Every step is O(changes) or O(n) (one O(n log n) sort); the per-row cost still rises "
        "from 10,000 to 50,000 rows because hash tables this size no longer fit the CPU caches "
        "and young-generation garbage collections scan bigger containers. The first-paint "
        "figure is the noisiest; see the table."
    ),
    "Results summary time vs json.load": (
        "Parsing is most of it: profiled (cProfile, 100,000 items), ijson's C backend "
        "(`yajl2_c`, `basic_parse_basecoro.send`) takes ~2.7 s of the CLI's ~5 s under the "
        "profiler, because it turns every token of every succeeded message into an event that "
        "the summary then throws away; the reader's own per-item work (`_envelope`, `to_item`) "
        "and the summary's `add` are ~1 s together; the simulator, in the benchmark's process, "
        "needs ~1.2 s alone to generate and send the 104 MB, overlapped with the parse. "
        "`json.load` is one C pass over bytes already on disk, at the price of 434 MiB. Fix "
        "(gateway/batch_results.py): split the results array into items with a byte scanner and "
        "hand each item to `json.loads` (C speed, one item held at a time), or skip message "
        "subtrees in the event loop without building them."
    ),
}

METHODS = """\
- **Medians** are over the runs given; a ratio is the ratio of the medians of the figure and
  its baseline, both measured in the same run, interleaved.
- **Start-up** figures spawn a process and time it from the spawn. CLI start: the whole
  `bifrost-tui batches list --demo --json` run against `python -c "import httpx, pydantic"`;
  a separate run checks that the CLI path never imports Textual. Console start: the real
  `bifrost-tui --demo` (via `bifrost_tui.cli:main`), headless at 120x40, to the end of the first
  screen update that paints a batch row (`bench/launchers/console_start.py`), against a bare
  Textual app with a 20-row DataTable timed the same way (`bench/launchers/bare_table.py`).
  Children run with cached bytecode, as an installed console would.
- **First batch row in a pty**: the real `bifrost-tui --url URL` (the venv's console script)
  in a pty of 120x40 (`TERM=xterm-256color`, config and state dirs in a temporary directory)
  against `bifrost-tui sim --batches-per-provider 200 --seed 1` on loopback, started once per
  series (again with `--latency 1`: every request answered after 1 s); from the spawn until the
  first 12 characters of any simulator id (listed from it beforehand) appear in the bytes
  written to the terminal, interleaved with a bare Textual app painting a 20-row DataTable in a
  pty the same way (`bench/launchers/bare_table_tty.py`).
- **Rendering at scale** runs the real console in process (`App.run_test`, 120x40) on batches
  from the seeded simulator (five providers) parsed as a deep listing (`bench/data.py`).
  *First paint*: from the listings in hand to the end of the screen update that paints the
  table (wall time). *Refresh*: one `LiveSession.poll` with a client that answers instantly
  (so only the console's work counts: store, re-reads, diff) plus `BifrostApp.data_changed`
  plus the screen update passes that follow (main-thread time). *Bytes*: each screen update is
  rendered to the bytes a 256-colour terminal would receive (Textual skips only that step when
  headless), and the table's screen lines among them are counted.
- **Key latency** presses keys through Pilot and counts only the handler (the table action, or
  for the filter the store's `set_view`/`view` and the table's `refresh_view` plus the crumb
  update) and the screen update passes that paint the result, never Pilot's own work. The filter
  figure types `openai` and deletes it again, one keystroke at a time.
- **Concurrent providers**: the simulator in its own process on loopback HTTP, each batch
  provider answering after 200 ms; a real `GatewayClient` and `LiveSession.poll`.
- **Cancel feedback**: the console in process over the simulator transport with a 100 ms
  gateway (real `asyncio.sleep`); from pressing `y` in the confirmation to the end of the first
  screen update after the row's state became CANCELING.
- **Idle over SSH**: the console in a pty (120x40, `TERM=xterm-256color`, no `COLORTERM`), real
  clock, 5 s refresh, a simulated gateway whose data never changes; every byte read from the
  pty after the first paint settles is counted.
- **Memory**: a child process starts the console, reads the batches as list pages of 1,000
  the way the client reads them (streamed, raw JSON kept compact), folds each provider's listing
  in and paints; `VmHWM` is its peak RSS. *CLI peak RSS*: `batches list --json` in a child
  process against the simulator on loopback whose every listing answers one body just under the
  16 MiB cap, for each of three shapes; `VmHWM` of the child, the worst shape reported.
- **Results summary**: an ended Anthropic batch of 100,000 requests (~1 KB each, 104 MB of
  results) that the simulator generates and streams on loopback (`bench/results.py`);
  `bifrost-tui batches results ID --provider anthropic --json` in a child process
  (`bench/launchers/cli_results.py`) against `json.load` of a file holding the same bytes in
  another (`bench/launchers/json_load.py`); each timed from spawn to exit, `VmHWM` as peak RSS.
- **Growth**: the same first-paint and refresh measurements at each size; "worst step" is the
  largest (cost ratio / row ratio) between consecutive sizes: 1.0 is exactly linear.
- **Garbage collection**: each timed step of the in-process figures starts after a full
  collection, so the setup's garbage is not billed to it; collections its own allocations
  cause count. Medians hide the occasional full collection (~0.2-0.3 s at 50,000 batches on the
  machine above); "worst" and the run ranges show it.
"""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def table_text(rows: Sequence[Row]) -> str:
    """A plain-text table for the terminal."""
    header = ("Figure", "Measured", "Runs", "Target", "Result")
    cells = [header] + [
        (r.figure, r.measured, str(r.runs or "—"), r.target or "—", r.verdict) for r in rows
    ]
    widths = [max(len(c[i]) for c in cells) for i in range(len(header))]
    lines = ["  ".join(c[i].ljust(widths[i]) for i in range(len(header))).rstrip() for c in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def growth_table(rows: Sequence[Row]) -> list[str]:
    table = next((r.values.get("table") for r in rows if r.figure.startswith("Growth")), None)
    if not table:
        return []
    out = [
        "| Rows | First paint | per 1,000 rows | Refresh, nothing changed | Refresh, 1% changed |",
        "|---:|---:|---:|---:|---:|",
    ]
    for entry in table:
        n = entry["n"]
        out.append(
            f"| {n:,} | {ms(entry['paint'])} | {ms(entry['paint'] * 1000 / n)} | "
            f"{ms(entry['refresh'])} | {ms(entry['refresh_changed'])} |"
        )
    return out


def markdown(rows: Sequence[Row], machine: dict[str, str], *, seconds: float, command: str) -> str:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    out = [
        "# bifrost-tui benchmarks",
        "",
        f"Written by `{command}` on {now} in {seconds:.0f} s. Regenerate with `make bench`; do not "
        "edit by hand. Targets are the project's performance goals; rows with an absolute target "
        "are judged on the machine below.",
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
        *[f"| {k} | {_cell(v)} |" for k, v in machine.items()],
        "",
        "## Results",
        "",
        "| Figure | Measured (median) | Runs | Target | Result | Notes |",
        "|---|---|---:|---|---|---|",
    ]
    for r in rows:
        verdict = {"pass": "pass", "MISS": "**MISS**"}.get(r.verdict, "—")
        out.append(
            f"| {_cell(r.figure)} | {_cell(r.measured)} | {r.runs or '—'} | "
            f"{_cell(r.target) or '—'} | {verdict} | {_cell(r.note)} |"
        )
    growth = growth_table(rows)
    if growth:
        out += ["", "## Growth", "", *growth]
    misses = [r for r in rows if r.ok is False]
    if misses:
        out += ["", "## Misses: why, and what would fix them", ""]
        for r in misses:
            why = next((t for k, t in MISS_NOTES.items() if r.figure.startswith(k)), None)
            out.append(f"- **{r.figure}** ({r.measured}): {why or 'not analysed yet.'}")
    out += ["", "## How each figure is measured", "", METHODS.rstrip(), ""]
    return "\n".join(out)
