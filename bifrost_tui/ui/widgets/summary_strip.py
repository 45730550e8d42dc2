"""The summary strip: the provider list's essentials in one line, for terminals too narrow for it.

Below 100 columns the provider list is hidden; this line under the crumb bar says, for the
provider in view (or all providers together): how many batches are active and canceling, how old
the oldest active one is, and the last listing error seen this session (kept after the provider
recovers, with when it happened). Words carry the meaning, so it reads the same with ``NO_COLOR``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from rich.text import Text
from textual.widget import Widget

from bifrost_tui.clock import Clock
from bifrost_tui.core.store import BatchStore
from bifrost_tui.formatting import duration_text
from bifrost_tui.textsafe import safe_text


@dataclass(frozen=True)
class SeenError:
    """A provider's listing error: its short kind and when it was first seen."""

    kind: str
    since: datetime
    current: bool


def oldest_active(store: BatchStore, provider: str | None) -> tuple[str, datetime] | None:
    """The provider and creation time of the oldest active batch (of ``provider``, or of all)."""
    best: tuple[str, datetime] | None = None
    for key in store.active_keys():
        if provider is not None and key[0] != provider:
            continue
        created = store.batches[key].created_at
        if created is not None and (best is None or created < best[1]):
            best = (key[0], created)
    return best


Part = tuple[str, str] | str
#: One item of the line: its forms, longest first (a shorter one is taken when space runs out).
Item = tuple[tuple[Part, ...], ...]


def summary_parts(
    store: BatchStore, now: datetime, errors: dict[str, SeenError], provider: str | None
) -> list[Item]:
    """The strip's items for ``provider`` (``None``: all providers), most important first."""
    if provider is None:
        counts = store.totals()
        names = [n for n, s in store.providers.items() if s.info.batch_capable]
        label = "all providers"
    else:
        status = store.providers.get(provider)
        counts = status.counts if status is not None else Counter()
        names = [provider]
        label = safe_text(provider, 24)
    items: list[Item] = [
        (((label, "bold"), "  ", (f"{counts.get('active', 0)} active", "bold")),),
        ((f"{counts.get('canceling', 0)} canceling",),),
    ]
    seen = [(n, errors[n]) for n in names if n in errors]
    error: Item = ((("no errors", "dim"),),)
    if seen:
        name, last = max(seen, key=lambda item: (item[1].current, item[1].since))
        who = f"{safe_text(name, 24)} " if provider is None else ""
        what = f"{who}{safe_text(last.kind, 40)}"
        when = f"{last.since:%H:%M:%S} UTC"
        if last.current:
            red = "bold red"
            error = (
                ((f"error: {what} since {when}", red),),
                ((f"error: {what}", red),),
                (("error", red),),
            )
        else:
            error = ((f"last error: {what} at {when}",), (f"last error {last.since:%H:%M}",))
    oldest = oldest_active(store, provider)
    if oldest is not None:
        age = duration_text(max(0.0, (now - oldest[1]).total_seconds()))
        where = f" ({safe_text(oldest[0], 24)})" if provider is None else ""
        oldest_item: Item = ((f"oldest active {age}{where}",), (f"oldest {age}",))
    if any(e.current for _, e in seen):
        # A failing listing matters more than an age: it is kept when the line is short.
        items.append(error)
        if oldest is not None:
            items.append(oldest_item)
    else:
        if oldest is not None:
            items.append(oldest_item)
        items.append(error)
    return items


def fit_parts(items: list[Item], width: int | None) -> Text:
    """The items joined by `` · ``, each in its longest form that fits ``width``; from the first
    that fits in none, the rest are left out (the first item is always there)."""
    text = Text(no_wrap=True, overflow="ellipsis", end="")
    for index, forms in enumerate(items):
        sep = (" · ",) if index else ()
        pieces = [Text.assemble(*sep, *form) for form in forms]
        room = None if width is None or not index else width - text.cell_len
        fitting = [p for p in pieces if room is None or p.cell_len <= room]
        if not fitting:
            break
        text.append_text(fitting[0])
    return text


class SummaryStrip(Widget):
    """One line; shown only where the provider list is hidden (the screen's ``-narrow`` class)."""

    DEFAULT_CSS = """
    SummaryStrip { height: 1; width: 1fr; padding: 0 1; background: $boost; }
    """

    def __init__(self, store: BatchStore, clock: Clock, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.store = store
        self.clock = clock
        self.errors: dict[str, SeenError] = {}
        self._items: list[Item] = []

    def note_errors(self) -> None:
        """Remember each provider's listing error, and keep the last one after it recovers."""
        for name, status in self.store.providers.items():
            seen = self.errors.get(name)
            if status.error is not None:
                since = status.stale_since or self.clock.now()
                if seen is None or not seen.current or seen.kind != status.error.kind:
                    self.errors[name] = SeenError(status.error.kind, since, True)
            elif seen is not None and seen.current:
                self.errors[name] = SeenError(seen.kind, seen.since, False)

    def show(self) -> None:
        """Bring the line up to date; repaints only when its words changed."""
        self.note_errors()
        if not self.display:
            return  # computed when it is shown again (on_show)
        items = summary_parts(self.store, self.clock.now(), self.errors, self.store.provider_filter)
        if items != self._items:
            self._items = items
            self.refresh()

    def on_show(self) -> None:
        self.show()

    def render(self) -> Text:
        return fit_parts(self._items, self.content_size.width or None)
