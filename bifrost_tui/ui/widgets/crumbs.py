"""The crumb bar: where am I, is the gateway healthy, is this data fresh."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from rich.cells import cell_len
from rich.text import Text
from textual.geometry import Region
from textual.widget import Widget

from bifrost_tui.core.freshness import freshness, stale_words
from bifrost_tui.core.live import describe_error
from bifrost_tui.core.skew import THRESHOLD as SKEW_THRESHOLD
from bifrost_tui.core.skew import skew_minutes
from bifrost_tui.textsafe import safe_text

if TYPE_CHECKING:
    from bifrost_tui.ui.app import BifrostApp

#: Characters of the STALE message kept when the line is too narrow for all of it.
STALE_WORDS = 24


@dataclass(frozen=True)
class CrumbState:
    profile: str
    url: str
    health: str | None = None
    version: str | None = None
    read_only: bool = False
    #: How old the freshest data is, in words ("5s ago"; see ``age_words``).
    refreshed: str | None = None
    #: Every provider failed: the error in words (the STALE badge).
    stale: str | None = None
    #: Providers whose rows are fresh, stale (with why: ``gemini (timed out)``), and still on
    #: their first listing.
    fresh: tuple[str, ...] = ()
    stale_providers: tuple[str, ...] = ()
    listing: tuple[str, ...] = ()
    #: The gateway's clock against ours, in words ("clock −19m"); ``None`` when it agrees.
    clock: str | None = None
    #: A poll is running (a static marker: set when it starts, cleared when it ends).
    polling: bool = False
    filter: str = ""
    provider: str | None = None
    paused: bool = False
    refresh: float = 5.0
    hide_ended: bool = False
    in_flight: int = 0


def age_words(seconds: float) -> str:
    """How long ago, at a granularity that changes at most every 5 s in the first minute and
    every minute after (so an idle console repaints the crumb rarely). Under 10 s is "just
    now": polls every 5 s keep a healthy console there instead of flipping at each poll."""
    s = max(0, int(seconds))
    if s < 10:
        return "just now"
    if s < 60:
        return f"{s // 5 * 5}s ago"
    minutes = s // 60
    if minutes < 60:
        return f"{minutes}m ago"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h {minutes}m ago"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h ago"


def clock_badge(skew: timedelta | None) -> str | None:
    """``clock −19m`` when the gateway's clock is 19 minutes ahead (ours is behind), ``clock +5m``
    when it is behind; ``None`` when they agree within a minute (``skew``: gateway minus ours)."""
    if skew is None or abs(skew) < SKEW_THRESHOLD:
        return None
    return f"clock {'−' if skew > timedelta(0) else '+'}{skew_minutes(skew)}"


Part = tuple[str, str] | str


@dataclass(frozen=True)
class _Segment:
    """One item of the line: its forms, longest first, and how long it stays when space runs out
    (the lowest ``keep`` is shortened first, then dropped first)."""

    keep: float
    forms: tuple[tuple[Part, ...], ...]
    sep: str = "  "
    #: When its second form is taken (default: at ``keep``, like the shorter ones after it).
    squeeze: float | None = None


#: Priorities: RO > STALE / n-of-m fresh > clock skew > cancels in flight > age and poll marker
#: > view settings > profile > health > version > URL (cut first).
_RO, _FRESH, _CLOCK, _FLIGHT, _AGE, _VIEW, _PROFILE, _HEALTH, _VERSION, _URL = range(10, 0, -1)
#: A long STALE message, or the names of the stale providers, are shortened (not left out) once
#: the URL and the version are gone, before anything else goes.
_SQUEEZE = _VERSION + 0.5


def _segments(s: CrumbState) -> list[_Segment]:
    health = s.health or "?"
    segs = [
        _Segment(_PROFILE, (((safe_text(s.profile, 24), "bold"),),), sep=""),
        _Segment(_URL, (((safe_text(s.url, 48), "underline"),),), sep=" "),
        _Segment(
            _HEALTH,
            (
                (
                    (
                        f"health {safe_text(health, 20)}",
                        "bold green" if health == "ok" else "bold red",
                    ),
                ),
            ),
        ),
    ]
    if s.version:
        segs.append(_Segment(_VERSION, (((safe_text(s.version, 24), "dim"),),), sep=" "))
    if s.read_only:
        segs.append(_Segment(_RO, (((" RO ", "bold reverse"),),)))
    if s.stale:
        badge = (" STALE ", "bold reverse red")
        segs.append(
            _Segment(
                _FRESH,
                (
                    (badge, " ", (safe_text(s.stale, 120), "red")),
                    (badge, " ", (safe_text(s.stale, STALE_WORDS), "red")),
                    (badge,),
                ),
                squeeze=_SQUEEZE,
            )
        )
    elif s.stale_providers or s.listing:
        total = len(s.fresh) + len(s.stale_providers) + len(s.listing)
        count = f"{len(s.fresh)}/{total}"
        style = "bold reverse red" if s.stale_providers else "bold"
        detail = []
        if s.stale_providers:
            detail.append("stale: " + ", ".join(safe_text(n, 60) for n in s.stale_providers))
        if s.listing:
            detail.append(f"{len(s.listing)} listing…")
        more = " · ".join(detail)
        segs.append(
            _Segment(
                _FRESH,
                (
                    ((f" {count} providers fresh ", style), " ", (more, "red")),
                    ((f" {count} providers fresh ", style),),
                    ((f" {count} fresh ", style),),
                ),
                squeeze=_SQUEEZE,
            )
        )
    if s.clock:
        segs.append(_Segment(_CLOCK, (((safe_text(s.clock, 20), "bold yellow"),),)))
    if s.provider:
        segs.append(_Segment(_VIEW, (((f"provider: {safe_text(s.provider, 20)}", "bold"),),)))
    if s.filter:
        segs.append(_Segment(_VIEW, (((f"/{safe_text(s.filter, 30)}", "bold"),),)))
    if s.hide_ended:
        segs.append(_Segment(_VIEW, ((("ended hidden", "dim"),),)))
    if s.in_flight:
        flight = "bold yellow"
        segs.append(
            _Segment(
                _FLIGHT,
                (
                    ((f"{s.in_flight} cancel(s) in flight", flight),),
                    ((f"{s.in_flight} in flight", flight),),
                ),
            )
        )
    # The age and the poll marker come last: what changes on every poll is the end of the line,
    # so a repaint sends only those few cells.
    paused: tuple[Part, ...] = ((" PAUSED ", "bold reverse"), " ") if s.paused else ()
    age = s.refreshed or "never"
    marker: tuple[Part, ...] = ((" · polling…", "bold"),) if s.polling else ()
    segs.append(
        _Segment(
            _AGE,
            (
                (*paused, (f"every {s.refresh:g}s · refreshed {age}", "dim"), *marker),
                (*paused, (f"refreshed {age}", "dim"), *marker),
                (*paused, (age, "dim"), *marker),
            ),
            squeeze=0,
        )
    )
    return segs


def _join(segs: list[_Segment], chosen: list[int | None]) -> Text:
    parts: list[Part] = []
    for seg, form in zip(segs, chosen, strict=True):
        if form is None:
            continue
        if parts:
            parts.append(seg.sep or " ")
        parts.extend(seg.forms[form])
    return Text.assemble(*parts, no_wrap=True, overflow="ellipsis")


def render_crumbs(s: CrumbState, width: int | None = None) -> Text:
    """Build the line from plain strings (gateway text is never parsed as markup).

    When ``width`` is given and the line would not fit, items are first shortened, then left
    out, the least important first (the URL, then the version, health, profile…), so RO, STALE
    (or how many providers are fresh), the clock skew and the refresh age are the last to go.
    """
    segs = _segments(s)
    chosen: list[int | None] = [0] * len(segs)
    line = _join(segs, chosen)
    if width is None or cell_len(line.plain) <= width:
        return line
    # Each item shortens, then goes (below STALE), at its priority, the least important first;
    # a long STALE message and the "every 5s" are squeezed earlier than their item's priority.
    steps: list[tuple[float, int, int, int | None]] = []
    for i, seg in enumerate(segs):
        for form in range(1, len(seg.forms)):
            at = seg.squeeze if form == 1 and seg.squeeze is not None else seg.keep
            steps.append((at, 0, i, form))
        if seg.keep < _FRESH:
            steps.append((seg.keep, 1, i, None))
    steps.sort(key=lambda step: (step[0], step[1], -segs[step[2]].keep))
    for _at, _kind, i, step in steps:
        chosen[i] = step
        line = _join(segs, chosen)
        if cell_len(line.plain) <= width:
            return line
    return line


class CrumbBar(Widget):
    """One line, always true: profile, URL, health and version, RO, freshness, the age of the data.

    When a change leaves the start of the line as it was (the age, the poll marker), only the
    cells from the first difference on are repainted: an idle console over SSH stays quiet.
    """

    DEFAULT_CSS = """
    CrumbBar { height: 1; background: $panel; color: $text; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._state: CrumbState | None = None
        self._text = Text()

    def render(self) -> Text:
        return self._text

    def show(self, state: CrumbState) -> None:
        if state == self._state:
            return  # nothing changed: write nothing to the terminal
        self._state = state
        old, new = self._text, render_crumbs(state, self.content_size.width or None)
        self._text = new
        region = _changed_span(old, new)
        if region is None:
            self.refresh()
        elif region.width:
            self.refresh(region)

    def on_resize(self) -> None:
        # Which items fit depends on the width: a terminal shrunk to 40 columns must still see
        # STALE, not just the profile and the URL.
        if self._state is not None:
            self._text = render_crumbs(self._state, self.content_size.width or None)
            self.refresh()


def _changed_span(old: Text, new: Text) -> Region | None:
    """The cells where ``new`` differs from ``old`` when both start the same (same characters and
    styles up to there); ``None`` when the whole line must be repainted."""
    a, b = old.plain, new.plain
    n = 0
    limit = min(len(a), len(b))
    while n < limit and a[n] == b[n]:
        n += 1
    if n == len(a) == len(b) and old.spans == new.spans:
        return Region(0, 0, 0, 1)

    def head(text: Text) -> list[tuple[int, int, object]]:
        return [(sp.start, min(sp.end, n), sp.style) for sp in text.spans if sp.start < n]

    if head(old) != head(new):
        return None
    x = cell_len(b[:n])
    end = max(cell_len(a), cell_len(b))
    return Region(x, 0, max(0, end - x), 1)


def crumb_state_of(app: BifrostApp) -> CrumbState:
    """What the crumb bar says about ``app`` right now (equal states paint nothing)."""
    session = app.session
    refreshed = stale = None
    fresh = freshness(app.store)
    if session is not None:
        if session.last_ok is not None:  # 5 s steps, then minutes: few repaints when idle
            refreshed = age_words((app.clock.now() - session.last_ok).total_seconds())
        if session.last_error is not None and not fresh.fresh:  # one failing is not STALE
            stale = describe_error(session.last_error)
    return CrumbState(
        profile=app.connection.label,
        url=app.connection.display_url,
        health=session.health if session else None,
        version=session.version if session else None,
        read_only=app.read_only,
        refreshed=refreshed,
        stale=stale,
        fresh=fresh.fresh,
        stale_providers=tuple(stale_words(app.store, n) for n in fresh.stale),
        listing=fresh.listing,
        clock=clock_badge(session.clock_skew if session else None),
        polling=app.poll_marker,
        filter=app.store.text_filter,
        provider=app.store.provider_filter,
        paused=app.paused,
        refresh=app.refresh_interval,
        hide_ended=app.store.hide_ended,
        in_flight=len(app.in_flight),
    )
