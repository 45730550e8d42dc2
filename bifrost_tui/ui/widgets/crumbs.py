"""The crumb bar: where am I, is the gateway healthy, is this data fresh."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.widgets import Static

from bifrost_tui.textsafe import safe_text

#: Characters of the STALE message that must fit before the narrow layout is used.
STALE_WORDS = 24


@dataclass(frozen=True)
class CrumbState:
    profile: str
    url: str
    health: str | None = None
    version: str | None = None
    read_only: bool = False
    refreshed: str | None = None
    stale: str | None = None
    filter: str = ""
    provider: str | None = None
    paused: bool = False
    refresh: float = 5.0
    hide_ended: bool = False
    in_flight: int = 0


class CrumbBar(Static):
    """One line, always true: profile, URL, health and version, RO, last refresh, STALE."""

    DEFAULT_CSS = """
    CrumbBar { height: 1; background: $panel; color: $text; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)
        self._state: CrumbState | None = None

    def show(self, state: CrumbState) -> None:
        if state == self._state:
            return  # nothing changed: write nothing to the terminal
        self._state = state
        self.update(render_crumbs(state, self.content_size.width or None), layout=False)

    def on_resize(self) -> None:
        # The narrow layout depends on the width: a terminal shrunk to 40 columns must still see
        # STALE, not just the profile and the URL.
        if self._state is not None:
            self.update(render_crumbs(self._state, self.content_size.width or None), layout=False)


def render_crumbs(s: CrumbState, width: int | None = None) -> Text:
    """Build the line from plain strings (gateway text is never parsed as markup).

    When ``width`` is given and it would cut the parts that say something is wrong (``RO``,
    ``STALE`` and the start of its error), they move to the front, so a narrow terminal cuts the
    profile and the URL rather than the warning.
    """
    line = _assemble(s)
    if width is None or not (s.stale or s.read_only):
        return line
    badge = " STALE " if s.stale else " RO "
    needed = line.plain.find(badge) + len(badge) + (STALE_WORDS if s.stale else 0)
    if needed <= width:
        return line
    return _assemble(s, urgent_first=True)


def _assemble(s: CrumbState, *, urgent_first: bool = False) -> Text:
    urgent: list[tuple[str, str] | str] = []
    if s.read_only:
        urgent += ["  ", (" RO ", "bold reverse")]
    if s.stale:
        # First after health: on a narrow terminal the error must not be the part that is cut.
        urgent += ["  ", (" STALE ", "bold reverse red"), " ", (safe_text(s.stale, 120), "red")]
    parts: list[tuple[str, str] | str] = [*urgent[1:], "  "] if urgent_first else []
    parts += [
        (safe_text(s.profile, 24), "bold"),
        " ",
        (safe_text(s.url, 48), "underline"),
        "  ",
    ]
    health = s.health or "?"
    health_style = "bold green" if health == "ok" else "bold red"
    parts.append((f"health {safe_text(health, 20)}", health_style))
    if not urgent_first:
        parts += urgent
    if not s.stale and s.version:
        parts += [" ", (safe_text(s.version, 24), "dim")]
    if s.provider:
        parts += ["  ", (f"provider: {safe_text(s.provider, 20)}", "bold")]
    if s.filter:
        parts += ["  ", (f"/{safe_text(s.filter, 30)}", "bold")]
    if s.hide_ended:
        parts += ["  ", ("ended hidden", "dim")]
    if s.in_flight:
        parts += ["  ", (f"{s.in_flight} cancel(s) in flight", "bold yellow")]
    parts.append("  ")
    if s.paused:
        parts.append((" PAUSED ", "bold reverse"))
        parts.append(" ")
    refreshed = s.refreshed or "never"
    parts.append((f"refreshed {refreshed} · every {s.refresh:g}s", "dim"))
    return Text.assemble(*parts, no_wrap=True, overflow="ellipsis")
