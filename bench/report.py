"""The results table: printed to the terminal and written to bench/RESULTS.md."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from bench.core import Row, ms

#: Why a figure misses its target and what would fix it, shown under the table only while the
#: row misses. Keyed by the start of the figure's name.
MISS_NOTES: dict[str, str] = {
    "CLI start": (
        "Measured three times in a row on this machine: 1.57x, 1.57x, 1.57x; main before the "
        "per-key listing landed: 1.39x, and 1.47x in an earlier full run. What the per-key "
        "listing adds is work, not imports: with the modules loaded, one `batches list --demo "
        "--json` takes ~38 ms against ~22 ms before, because each of anthropic, openai and azure "
        "now reads the batch route's first page and then its key's batches as native objects "
        "(more fields per item to stream and parse) through the passthrough prefix. The rest is "
        "imports: the baseline's `import pydantic` is lazy while every command builds pydantic "
        "models at import (`config.model`, `SecretStr`: ~80 ms of `-X importtime` cumulative), "
        "plus asyncio (~30 ms) and the simulator (~15 ms). Fix: for `--demo`, skip the first "
        "page when the keys are already known (the in-process simulator answers the keys call "
        "at once), and keep pydantic off the one-shot path (config/)."
    ),
    "Console start": (
        "The console's own start-up, before any gateway work matters: the demo is listed in "
        "process, so this is imports, building the app and the screen, the demo world and the "
        "first paint. Done: secondary screens, the simulator's server, export, audit rendering, "
        "the results reader and ijson load where first used (the list at the end). What is left "
        "is what the first frame needs beyond the bare app's Textual: `python -X importtime` "
        "(section at the end) gives `config.connection` ~90 ms, most of it the pydantic profile "
        "model (`config.model` ~80 ms with pydantic's model machinery), `core.live` ~55 ms "
        "(`gateway.client` with httpx), the screen modules ~15 ms. Fix (config/, gateway/): "
        "parse profiles and the wire models without pydantic on the start path (a plain "
        "validator for the profile file, dataclasses for the wire models), which would also "
        "bring the CLI row further under its target."
    ),
    "First batch row in a pty, gateway answering": (
        "Two round trips now (`gateway/survey.py`): the first frame is painted before the first "
        "request; `/api/providers` (beside `/health` and `/api/version`) is the only answer the "
        "first pages wait for, then the five first pages leave at once, beside the keys calls, "
        "and each provider's rows are painted as its first page lands: the row is ~2.1 s over "
        "the instant gateway's, the two round trips and no more (it was ~5.6 s over: six "
        "sequential round trips, the first row painted after the whole deep poll). What misses "
        "is the console's own start-up, the row above (~0.6 s against the 1.5x bare-app "
        "allowance of ~0.4 s); a profile with a `providers` list saves one round trip (the "
        "first pages leave at once). Fix: as for the console start."
    ),
    "First batch row in a pty": (
        "No longer the gateway's: the first request leaves as soon as the first frame is on the "
        "terminal and the rows follow two loopback round trips later. The time is the "
        "console's own start-up: imports (~390 ms under `-X importtime`, which inflates it; "
        "the bare app imports Textual alone) and building the app before the first frame. "
        'See "Console start" for where the import time goes and what would remove it.'
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
        "the table take 2-6 ms (the first keystroke on 50,000 rows ~10 ms). The crumb and flash "
        "bars repaint without a layout pass; the one whole-screen layout pass left per "
        "keystroke (~3-4 ms) is Textual's `Input`: its `virtual_size` is a layout reactive, "
        "changed by every keystroke that changes the text's width. Unloaded, the median meets the "
        "target (11.6 ms, 2026-12-01); at a load average of ~5 on the 2 cores it does not."
    ),
    "Key latency, page down": (
        "A page of new rows costs Textual's compositor ~10-14 ms to paint at 120x40 on this "
        "machine (the table renders its 37 lines in ~2 ms)."
    ),
    "Cancel feedback": (
        "Over the round trip: `y` to the request leaving (the write-ahead audit line, its own "
        "row, plus the event-loop turns to send it; the closed confirmation's repaint is held "
        "until then, at most 50 ms), then the reply's repaint, which waits for Textual's next "
        "frame (up to 16.7 ms at 60 fps) and a paint pass (~8-10 ms at 120x40). The footer no "
        "longer rebuilds its keys when the confirmation closes. On a loaded machine the worker "
        "thread writing the line waits for the GIL behind the closing repaint (~5 ms per "
        "hand-over), which the held repaint avoids; the rest is the machine's load."
    ),
    "Idle over SSH": (
        "Whatever repaints while nothing changes: the crumb bar's 'refreshed' time (kept at "
        "minute granularity) and the relative times, which tick once a minute. Find the widget "
        "whose lines are rewritten between polls and update it only when its text changes."
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
  screen update after the row's state became CANCELING. The note gives when the request reached
  the simulated gateway. *Write-ahead audit line*: in the same runs, each intent line's
  `AuditTrail.intent` (built, redacted, appended and fsynced, in the worker thread the request
  waits for) and its append alone (open, write, fsync, close), the audit log in a temporary
  state directory on the benchmark's disk.
- **Idle over SSH**: the console in a pty (120x40, `TERM=xterm-256color`, no `COLORTERM`), real
  clock, 5 s refresh, a simulated gateway whose data never changes; every byte read from the
  pty after the first paint settles is counted.
- **First frame imports**: see the section at the end (`bench/imports.py`).
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
    out += ["", "## How each figure is measured", "", METHODS.rstrip()]
    out += first_frame_section(rows)
    return "\n".join([*out, ""])


def _names(names: Iterable[str]) -> str:
    return ", ".join(f"`{n}`" for n in names)


def first_frame_section(rows: Sequence[Row]) -> list[str]:
    """What starting the console loads before its first frame, and the costliest imports."""
    row = next((r for r in rows if "first_frame" in r.values), None)
    if row is None:
        return []
    seen = row.values["first_frame"]
    ours = seen["ours"]
    groups = [f"`{head}` ({_names(names)})" for head, names in sorted(ours.items()) if head]
    top_level = ours.get("", [])
    out = [
        "",
        "## What the first frame imports",
        "",
        "The console started as `bifrost-tui --url URL` would, headless at 120x40, against a "
        "loopback port that refuses every connection, with cached bytecode "
        "(`bench/launchers/first_frame.py`), until its first frame is painted and the first poll "
        "has ended; costs from `python -X importtime` (which adds its own overhead), median of "
        f"{row.runs} start{'s' if row.runs != 1 else ''}: {row.measured}"
        f" ({row.values['modules']} modules loaded). "
        "`tests/house/test_first_frame_imports.py` checks the list of what it must not load.",
        "",
        f"- Third-party: {', '.join(seen['third_party'])}.",
        "- bifrost_tui: " + "; ".join(groups) + (f"; {_names(top_level)}." if top_level else "."),
    ]
    if seen["unwanted"]:
        out.append(f"- **Loaded but must not be**: {_names(seen['unwanted'])}.")
    not_loaded = [m for m in seen["not_loaded"] if m not in seen["unwanted"]]
    out.append(
        f"- Not loaded: {_names(m.removeprefix('bifrost_tui.') for m in not_loaded)}: each is "
        "imported where it is first used."
    )
    costs = []
    for entry in seen["top"]:
        text = f"`{entry['module'].removeprefix('bifrost_tui.')}` {ms(entry['seconds'])}"
        if "child" in entry:
            child = entry["child"].removeprefix("bifrost_tui.")
            text += f" (of which `{child}` {ms(entry['child_seconds'])})"
        costs.append(text)
    out += [
        "",
        "Top costs among the program's own imports and what they import directly "
        "(cumulative, so a module's cost includes what it imports; median): "
        + "; ".join(costs)
        + ".",
    ]
    return out
