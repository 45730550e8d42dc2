"""Provider list: "All providers" first, counts by state and the listing's completeness per row."""

from __future__ import annotations

from collections.abc import Mapping

from rich.text import Text
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from bifrost_tui.core.store import BatchStore, ProviderStatus
from bifrost_tui.gateway.errors import GatewayTimeout, Unreachable
from bifrost_tui.gateway.outcomes import ListingStatus
from bifrost_tui.textsafe import safe_text

ALL_ID = "*all*"


def ended_words(counts: Mapping[str, int]) -> str:
    """``45 ended (15 failed)``: failed and expired batches have ended too, so they are counted
    in ``ended`` and named beside it; the numbers shown never add up to more than the total."""
    failed = counts.get("failed", 0)
    ended = counts.get("ended", 0) + failed
    return f"{ended} ended ({failed} failed)" if failed else f"{ended} ended"


def _counts_line(counts: Mapping[str, int]) -> str:
    """Two short lines (the pane is narrow): active and canceling, then ended (failed within)."""
    return (
        f"{counts.get('active', 0)} active · {counts.get('canceling', 0)} canceling\n "
        f"{ended_words(counts)}"
    )


def provider_prompt(status: ProviderStatus, flagged: int = 0) -> Text:
    info = status.info
    name = safe_text(info.name, 24)
    if not info.batch_capable:
        return Text.assemble(
            (name, "dim"),
            ("  no batches\n", "dim"),
            (f" {safe_text(info.reason or '', 60)}", "dim"),
        )
    if status.listing is ListingStatus.ERROR:
        err = status.error.kind if status.error is not None else "error"
        badge: tuple[str, str] = (f"  ✗ {err}", "bold red")
    elif status.listing is ListingStatus.PARTIAL:
        badge = ("  ⚠ partial", "bold yellow")
    elif status.listing is ListingStatus.COMPLETE:
        badge = ("  ✓", "green")
    elif status.listing is ListingStatus.UNSUPPORTED:
        # The gateway itself said this provider's batches cannot be listed.
        badge = ("  unsupported", "dim")
    else:
        # The first listing has not come back yet: neither fresh nor stale.
        badge = ("  listing…", "dim")
    lines: list[tuple[str, str] | str] = [(name, "bold"), badge]
    if flagged:
        # A stuck provider is visible at a glance (the ! view lists the batches).
        lines.append((f"  ! {flagged} flagged", "bold magenta"))
    lines += ["\n ", _counts_line(status.counts)]
    if status.stale_since is not None:
        # Its rows are the last good ones: say since when (the error follows in words).
        lines += ["\n ", (f"STALE since {status.stale_since:%H:%M:%S} UTC", "bold red")]
    via = status.via
    partial = status.listing is ListingStatus.PARTIAL
    if via and (via.startswith("passthrough, keys") or partial):
        # Which keys a listing covered, or which road a partial one took and why; nothing for a
        # provider listed whole through its one key or its only road, or failing (its error says).
        lines += ["\n ", (safe_text(via, 120), "dim")]
    if status.listing is ListingStatus.PARTIAL and status.missing:
        lines += ["\n ", (safe_text(status.missing, 120), "yellow")]
    elif (
        status.listing is ListingStatus.ERROR
        and status.error is not None
        and not isinstance(status.error, Unreachable | GatewayTimeout)
    ):
        # Provider-specific errors are spelled out; "gateway unreachable" is said once, in the
        # crumb bar, not repeated under every provider.
        lines += ["\n ", (safe_text(status.error.message, 120), "red")]
    return Text.assemble(*lines)


def all_prompt(store: BatchStore, flagged: int = 0) -> Text:
    total = store.totals()
    parts: list[tuple[str, str] | str] = [("All providers", "bold"), f"  {sum(total.values())}"]
    if flagged:
        parts.append((f"  ! {flagged} flagged", "bold magenta"))
    return Text.assemble(*parts, "\n ", _counts_line(total))


class ProviderList(OptionList):
    """Options keyed by provider name; prompts are replaced only when their text changed."""

    DEFAULT_CSS = """
    ProviderList { width: 30; height: 1fr; border: round $panel; }
    ProviderList:focus { border: round $accent; }
    """

    def __init__(self, store: BatchStore, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.store = store
        self._prompts: dict[str, str] = {}

    def sync(self, flagged: Mapping[str, int] | None = None) -> None:
        flagged = flagged or {}
        wanted = [(ALL_ID, all_prompt(self.store, sum(flagged.values())), False)]
        for name, status in self.store.providers.items():
            wanted.append(
                (name, provider_prompt(status, flagged.get(name, 0)), not status.info.batch_capable)
            )
        ids = [w[0] for w in wanted]
        current_ids = [o.id for o in self.options]
        if ids != current_ids:
            highlighted = self.highlighted_option.id if self.highlighted_option else ALL_ID
            self.set_options(Option(p, id=i, disabled=d) for i, p, d in wanted)
            self._prompts = {i: p.plain + repr(p.spans) for i, p, _ in wanted}
            if highlighted in ids:
                self.highlighted = ids.index(highlighted)
            return
        for option_id, prompt, _disabled in wanted:
            signature = prompt.plain + repr(prompt.spans)
            if self._prompts.get(option_id) != signature:
                self._prompts[option_id] = signature
                self.replace_option_prompt(option_id, prompt)
