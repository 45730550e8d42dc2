"""Detail screen: every field the gateway returned, all times in UTC, local and relative."""

from __future__ import annotations

import json
from datetime import datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Footer, Static

from bifrost_tui.core.live import describe_error
from bifrost_tui.core.store import BatchStore, Key, ProviderStatus
from bifrost_tui.formatting import (
    FUTURE_TIME_FIELDS,
    NOT_RUN_OR_FAILED_WORDS,
    STATE_LABELS,
    absolute_local,
    absolute_utc,
    ahead_of_now,
    counts_text,
    duration_text,
    field_relative,
    progress_bar,
    progress_fraction,
    status_with_state,
)
from bifrost_tui.gateway.counts import COUNT_FIELDS, Source, trusted_count_fields
from bifrost_tui.gateway.models import Batch, State
from bifrost_tui.textsafe import safe_text
from bifrost_tui.ui.screens.console_screen import ConsoleScreen

#: Characters of raw JSON shown (a hostile 10 MB body must not freeze the screen).
RAW_LIMIT = 20_000
TIME_FIELDS = ("created_at", "expires_at", "ended_at", "cancel_initiated_at", "archived_at")


def lossy_notes(batch: Batch) -> list[str]:
    """Where the gateway is known to lose data for this provider (so the operator is not misled)."""
    notes = []
    kind = batch.provider_kind or batch.provider
    if batch.source is Source.OPENAI:
        notes.append(
            f"{kind}: read through the OpenAI-format route; counts come from its "
            "total/completed/failed fields."
        )
    else:
        untrusted = set(COUNT_FIELDS) - trusted_count_fields(kind, Source.RETRIEVE)
        if untrusted:
            notes.append(
                f"{kind}: through the Anthropic-format routes the gateway fills only "
                f"{', '.join(sorted(set(COUNT_FIELDS) - untrusted))} faithfully; "
                f"{', '.join(sorted(untrusted))} are unknown (shown as ?)."
            )
    if kind in ("bedrock", "gemini"):
        notes.append(f"{kind}: the gateway leaves expires_at empty for this provider.")
    if batch.state is State.ENDED_UNSURE:
        notes.append(
            f"{kind}: the gateway says ended both for a completed and for a canceled batch; "
            "only its OpenAI-format list tells them apart, and it has not been read for this "
            "batch yet (a deep refresh, r, reads it)."
        )
    if batch.not_run_or_failed is not None:
        notes.append(NOT_RUN_OR_FAILED_WORDS)
    if kind in ("openai", "azure"):
        notes.append(
            f"{kind}: ended_at is set only for completed batches; cancelled, failed and expired "
            "ones have none."
        )
    if batch.processing_status not in ("in_progress", "canceling", "ended"):
        notes.append(
            f"status {safe_text(batch.processing_status, 40)!r} is outside Anthropic's enum: "
            "passed through from the provider."
        )
    return notes


def stale_words(status: ProviderStatus | None) -> str | None:
    """``stale since 12:03:04 UTC (why)`` when the provider's listing is failing, else ``None``."""
    if status is None or status.stale_since is None:
        return None
    why = describe_error(status.error) if status.error is not None else "listing failed"
    return f"stale since {status.stale_since:%H:%M:%S} UTC ({safe_text(why, 200)})"


def render_detail(batch: Batch, now: datetime, stale: str | None = None) -> Text:
    text = Text()

    def row(name: str, value: str, style: str = "") -> None:
        text.append(f"{name:>20}  ", style="dim")
        text.append(value + "\n", style=style)

    if stale is not None:
        # First: every value below is the last good read, not the gateway's current answer.
        row("freshness", stale, "bold red")
    row("id", safe_text(batch.id), "bold")
    row("provider", safe_text(batch.provider))
    if batch.listed_by:
        # Two names: the keys share one account (the gateway holds both).
        row("listed by key", ", ".join(safe_text(n, 60) for n in batch.listed_by))
    status = safe_text(batch.processing_status, 60)
    row("status", status_with_state(status, batch.state, "  "), "bold")
    row("cancellable", "yes" if batch.cancellable else "no")
    row("requests", counts_text(batch.request_counts))
    fraction = progress_fraction(batch.request_counts)
    if fraction is not None:
        row("progress", f"{progress_bar(fraction, 30)} {fraction:.0%}")
    counts = batch.request_counts
    if counts is not None:
        for name in COUNT_FIELDS:
            value = getattr(counts, name)
            unsure = batch.not_run_or_failed if name == "errored" else None
            if unsure is not None:
                row(f"  {name}", f"? ({unsure} not run or failed)")
            else:
                row(f"  {name}", "? (not reported faithfully)" if value is None else str(value))
        if counts.total is not None:
            row("  total", str(counts.total))
    for name in TIME_FIELDS:
        value = getattr(batch, name)
        if value is None:
            row(name, "—")
        else:
            shown = field_relative(name, value, now)
            if name not in FUTURE_TIME_FIELDS and ahead_of_now(value, now):
                # Already happened, yet ahead: a skewed clock. The UTC time is the gateway's own.
                ahead = duration_text((value - now).total_seconds())
                shown += f" (the gateway's time, {ahead} ahead of this machine's clock)"
            row(name, f"{absolute_utc(value)}  ·  {absolute_local(value)}  ·  {shown}")
    row("results_url", safe_text(batch.results_url or "—"))
    if batch.state.terminal:
        row("results", "available: R reads and sums them up (ctrl+s there exports)", "bold")
    row("source", f"{batch.source.value} route")
    notes = lossy_notes(batch)
    if notes:
        text.append("\nNotes\n", style="bold")
        for note in notes:
            text.append(f"  • {safe_text(note)}\n", style="yellow")
    text.append("\nRaw JSON (as the gateway sent it)\n", style="bold")
    raw = json.dumps(batch.raw, indent=2, ensure_ascii=True, default=str)
    if len(raw) > RAW_LIMIT:
        raw = raw[:RAW_LIMIT] + f"\n… ({len(raw) - RAW_LIMIT} more characters)"
    # Line by line: newlines stay newlines, every other control character is escaped.
    text.append("\n".join(safe_text(line) for line in raw.splitlines()))
    return text


def read_only_refusal(source: str) -> str:
    """Why ``c``/``C`` do nothing on a read-only console (the footer hides them there), naming
    where read-only comes from (the profile, ``--read-only``, ``BIFROST_READ_ONLY``)."""
    return f"read-only ({source}): this console will not cancel"


def cancel_refusal(
    store: BatchStore, key: Key, *, read_only: str | None, in_flight: set[Key]
) -> str | None:
    """Why a cancel of ``key`` is not even asked for, in words; ``None``: it may be confirmed.

    ``read_only``: the read-only setting's source in words, or None when cancelling is allowed.
    """
    if read_only is not None:
        return read_only_refusal(read_only)
    batch = store.batches.get(key)
    if batch is None:
        return "that batch is no longer listed"
    if key in in_flight:
        return "a cancel for this batch is already in flight"
    if not batch.cancellable:
        return (
            f"not cancellable: batch is {batch.processing_status or 'of unknown status'} "
            f"({STATE_LABELS[batch.state]}); nothing sent"
        )
    return None


class DetailScreen(ConsoleScreen[None]):
    """Follows its batch live: the app calls ``store_changed`` when the store changes."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("q", "app.pop_screen", "Back", show=False),
        Binding("c", "cancel", "Cancel batch"),
        Binding("R", "results", "Results"),
        # Read-only: ``cancel`` is hidden from the footer and blocked, and this one says why.
        Binding("c", "read_only", show=False),
    ]
    DEFAULT_CSS = """
    DetailScreen #detail { padding: 0 1; }
    """

    def __init__(self, key: Key) -> None:
        super().__init__()
        self.key = key

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static("", id="detail", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.update_batch()

    def update_batch(self) -> None:
        batch = self.bapp.store.batches.get(self.key)
        widget = self.query_one("#detail", Static)
        if batch is None:
            widget.update(Text("This batch is no longer listed by the gateway."))
            return
        status = self.bapp.store.providers.get(batch.provider)
        widget.update(render_detail(batch, self.bapp.clock.now(), stale_words(status)))

    def store_changed(self) -> None:
        self.update_batch()

    def minute_passed(self) -> None:
        self.update_batch()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel":
            return not self.bapp.read_only
        if action == "read_only":
            return self.bapp.read_only
        return True

    def action_cancel(self) -> None:
        app = self.bapp
        why = cancel_refusal(
            app.store, self.key, read_only=app.read_only_words, in_flight=app.in_flight
        )
        if why is not None:
            # The batches screen's flash line is under this screen: a toast is seen here.
            self.notify(why, title="nothing sent", severity="warning", markup=False)
            return
        app.request_cancel(self.key)

    def action_results(self) -> None:
        from bifrost_tui.ui.screens.results import open_results

        why = open_results(self, self.key)
        if why is not None:
            self.notify(why, title="nothing sent", severity="warning", markup=False)

    def action_read_only(self) -> None:
        why = read_only_refusal(self.bapp.read_only_words or "read-only")
        self.notify(why, title="nothing sent", severity="warning", markup=False)
