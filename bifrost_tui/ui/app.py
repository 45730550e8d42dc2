"""The console App: owns the connection, the store, the poll timer and the cancels in flight.

Cancelling, the audit of cancels, signals and quitting live in ``ui/cancelling.py`` (its base
class); a crash ends in a crash log and exit 70 (``run_console``).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.timer import Timer

from bifrost_tui.clock import Clock
from bifrost_tui.config.connection import Connection
from bifrost_tui.core.events import EventLog
from bifrost_tui.core.interrupt import DEFAULT_GRACE
from bifrost_tui.core.live import LiveSession, PollResult
from bifrost_tui.core.store import BatchStore, Diff, Key
from bifrost_tui.core.stuck import Thresholds
from bifrost_tui.formatting import STATE_LABELS, counts_text
from bifrost_tui.textsafe import safe_text
from bifrost_tui.ui.cancelling import CancellingApp
from bifrost_tui.ui.commands import console_commands
from bifrost_tui.ui.crash import EXIT_CRASHED, write_crash_log
from bifrost_tui.ui.screens.console_screen import ConsoleScreen
from bifrost_tui.ui.screens.main import MainScreen
from bifrost_tui.ui.terminal import terminal_driver_class
from bifrost_tui.ui.textual_patch import apply_textual_patch
from bifrost_tui.ui.widgets.crumbs import CrumbState, crumb_state_of

if TYPE_CHECKING:
    from bifrost_tui.gateway.client import GatewayClient

MIN_REFRESH = 1.0
MAX_REFRESH = 300.0
#: One poll in this many is a deep listing (also at start and on ``r``).
DEEP_EVERY = 6


class BifrostApp(CancellingApp):
    """bifrost-tui. ``live_updates=False`` (tests, snapshots) arms no timers: polls are driven."""

    CSS_PATH = "app.tcss"
    TITLE = "bifrost-tui"
    #: Seconds a poll runs before the crumb says so (tests set 0 to see it at once).
    POLL_MARKER_DELAY = 1.0
    BINDINGS = [
        Binding("ctrl+c", "request_quit", "Quit", show=False, priority=True),
    ]

    def __init__(
        self,
        connection: Connection,
        *,
        clock: Clock | None = None,
        live_updates: bool = True,
        bell: bool = True,
        grace: float = DEFAULT_GRACE,
    ) -> None:
        super().__init__(grace=grace)
        self.driver_class = terminal_driver_class(self.driver_class)
        # Before the first paint, so what tests and snapshots see is what an operator sees.
        apply_textual_patch()
        self.ring_bell = bell
        self.connection = connection
        self.clock: Clock = clock or connection.clock
        self.live_updates = live_updates
        self.store = BatchStore()
        self.events = EventLog(lambda: self.clock.now())  # the session's, across profiles
        self.client: GatewayClient | None = None
        self.session: LiveSession | None = None
        self.refresh_interval = max(MIN_REFRESH, connection.settings.refresh)
        self.paused = False
        self._poll_timer: Timer | None = None
        self._watch_timer: Timer | None = None
        self._polling = False
        self.poll_marker = False
        self._deep_pending = False
        self._light_polls = 0
        self.main_screen: MainScreen | None = None
        #: The first unhandled exception: the console crashed (exit 70, a crash log).
        self.crash: Exception | None = None

    # ---- properties ------------------------------------------------------------------------

    @property
    def read_only(self) -> bool:
        return self.connection.settings.read_only

    def crumb_state(self) -> CrumbState:
        return crumb_state_of(self)

    @property
    def listing_pending(self) -> list[str] | None:
        """Providers whose first listing is still running (empty: the providers themselves are
        not known yet); ``None`` once every one has finished: until then the view is partial."""
        return self.session.listing_pending if self.session is not None else None

    # ---- start-up --------------------------------------------------------------------------

    def on_mount(self) -> None:
        self.route_signals()
        if self.connection.client_config is None:
            self.action_profiles(first_run=True)
            return
        self.start_session()

    def start_session(self) -> None:
        """Open the client for the current connection and show the batches screen."""
        self.client = self.connection.make_client()
        self.session = LiveSession(
            self.client,
            self.store,
            self.clock,
            fallback_providers=self.connection.settings.providers,
            thresholds=Thresholds.from_settings(self.connection.settings),
            listing=self.connection.settings.listing,
        )
        self.main_screen = MainScreen()
        self.push_screen(self.main_screen)
        if self.connection.settings.accent:
            self.main_screen.query_one(
                "#crumbs"
            ).styles.background = self.connection.settings.accent
        for warning in self.connection.settings.warnings:
            # e.g. "BIFROST_VK is ignored: profile prod names PROD_VK": said, never silent.
            self.notify(warning, title="configuration", severity="warning", markup=False)
        if self.live_updates:
            # After the first frame: the screen is on the terminal before any request is sent.
            self.call_after_refresh(self._first_poll)
            if not self.is_headless:
                self.set_interval(60, self.tick_minute)
                self.set_interval(5, self.update_crumbs)  # the age; repainted if its words move
                self.set_interval(5, self._check_terminal)

    async def switch_connection(self, connection: Connection) -> None:
        """Profiles screen: reload everything for another gateway."""
        if self._poll_timer is not None:
            self._poll_timer.stop()
        if self.client is not None:
            await self.client.aclose()
        self.connection = connection
        self.clock = connection.clock
        self.refresh_interval = max(MIN_REFRESH, connection.settings.refresh)
        self.store = BatchStore()
        self.in_flight.clear()
        while len(self.screen_stack) > 1:
            self.pop_screen()
        self.start_session()

    # ---- polling ---------------------------------------------------------------------------

    def _first_poll(self) -> None:
        self.run_poll(deep=True)

    async def do_poll(self, *, deep: bool) -> PollResult:
        """One poll, each change painted as it lands (first pages first). Tests await this."""
        assert self.session is not None
        result = await self.session.poll(deep=deep, on_change=self.data_changed)
        # Every change is on screen already (applying result.diff again would log its events
        # twice): only the status is left to show (health, version, stale).
        self.data_changed(Diff())
        return result

    @work(group="poll")
    async def run_poll(self, deep: bool = False) -> None:
        if self._polling:
            # Never overlap: remember the request and run it when the current poll ends.
            self._deep_pending = self._deep_pending or deep
            return
        self._polling = True
        # The crumb's poll marker shows only a poll still running after POLL_MARKER_DELAY: a
        # quick poll paints nothing, so an idle console over SSH stays quiet.
        marker = self.set_timer(self.POLL_MARKER_DELAY, self._show_poll_marker)
        try:
            await self.do_poll(deep=deep)
        finally:
            self._polling = False
            marker.stop()
            if self.poll_marker:
                self.poll_marker = False
                self.update_crumbs()
        if self._deep_pending:
            self._deep_pending = False
            self.run_poll(deep=True)
            return
        self._arm_poll()

    def _show_poll_marker(self) -> None:
        self.poll_marker = self._polling
        self.update_crumbs()

    def _arm_poll(self) -> None:
        """The next poll is armed only when the last one finished: a slow gateway slows the
        refresh but never starves it."""
        if self._poll_timer is not None:
            self._poll_timer.stop()
            self._poll_timer = None
        if not self.live_updates or self.paused:
            return
        self._poll_timer = self.set_timer(self.refresh_interval, self._poll_due)

    def _poll_due(self) -> None:
        self._light_polls += 1
        self.run_poll(deep=self._light_polls % DEEP_EVERY == 0)

    def action_refresh_now(self) -> None:
        self.flash("refreshing (deep listing)…")
        if self._poll_timer is not None:
            self._poll_timer.stop()
        self.run_poll(deep=True)

    def action_toggle_pause(self) -> None:
        self.paused = not self.paused
        if self.paused:
            if self._poll_timer is not None:
                self._poll_timer.stop()
            self.flash("auto-refresh paused (z resumes)", "warning")
        else:
            self.flash("auto-refresh resumed")
            if not self._polling:
                self.run_poll(deep=False)
        self.update_crumbs()

    def _set_interval(self, seconds: float) -> None:
        self.refresh_interval = min(MAX_REFRESH, max(MIN_REFRESH, seconds))
        self.flash(f"refresh every {self.refresh_interval:g}s")
        self.update_crumbs()
        if not self._polling:
            self._arm_poll()

    def action_slower(self) -> None:
        self._set_interval(self.refresh_interval + (1 if self.refresh_interval < 10 else 5))

    def action_faster(self) -> None:
        self._set_interval(self.refresh_interval - (1 if self.refresh_interval <= 10 else 5))

    def tick_minute(self) -> None:
        """Relative times move at minute granularity: repaint only what changed."""
        if self.session is not None:
            self.session.update_flags()  # the stuck rules are about time passing
        if self.main_screen is not None and self.main_screen.is_mounted:
            self.main_screen.table.tick_minute()
            self.main_screen.data_changed(Diff())
        if isinstance(self.screen, ConsoleScreen):
            self.screen.minute_passed()

    def _check_terminal(self) -> None:
        # Over SSH a dropped session can leave the process spinning: exit when the TTY is gone.
        try:
            alive = sys.stdin.isatty()
        except (ValueError, OSError):
            alive = False
        if not alive:
            self.on_terminal_lost()

    # ---- the screen ------------------------------------------------------------------------

    def data_changed(self, diff: Diff | None) -> None:
        self.events.gateway_reported(diff, skip=self.in_flight)
        if self.main_screen is not None and self.main_screen.is_mounted:
            with self.batch_update():
                self.main_screen.data_changed(diff)
        if isinstance(self.screen, ConsoleScreen):
            # A batch's detail follows it; the audit says how a cancelled batch ended, once it has.
            self.screen.store_changed()

    def update_crumbs(self) -> None:
        if self.main_screen is not None and self.main_screen.is_mounted:
            self.main_screen.update_crumbs()

    def flash(self, message: str, severity: str = "info", timeout: float | None = 8.0) -> None:
        self.events.said(message, severity)
        if self.main_screen is not None and self.main_screen.is_mounted:
            self.main_screen.flash_bar.flash(message, severity, timeout)

    def notify(self, message: str, **options: Any) -> None:
        """A toast, also kept in the event log (``e``): it vanishes from the screen."""
        self.events.said(message, str(options.get("severity", "info")), options.get("title", ""))
        super().notify(message, **options)

    @property
    def read_only_words(self) -> str | None:
        """Why this console will not cancel (the setting's source, in words), or None."""
        return self.connection.settings.read_only_source if self.read_only else None

    def open_detail(self, key: Key) -> None:
        from bifrost_tui.ui.screens.detail import DetailScreen

        self.push_screen(DetailScreen(key))

    def action_help(self) -> None:
        from bifrost_tui.ui.screens.help import HelpScreen

        self.push_screen(HelpScreen())

    def action_export(self) -> None:
        """``ctrl+s``: the visible rows as JSON and CSV, plus an SVG screenshot, in a new folder."""
        from bifrost_tui.core.export import export_dir_for, save_export

        visible = [self.store.batches[k] for k in self.store.view()]
        providers = [
            {
                "name": name,
                "listing": status.listing.value if status.listing else None,
                "missing": status.missing,
                "error": status.error.describe() if status.error else None,
            }
            for name, status in self.store.providers.items()
        ]
        try:
            folder = export_dir_for(self.clock.now())
            save_export(visible, folder, gateway=self.connection.display_url, providers=providers)
            shot = self.save_screenshot(filename="screenshot.svg", path=str(folder))
            os.chmod(shot, 0o600)
        except OSError as exc:
            self.flash(f"export failed: {exc.strerror or exc}", "error", timeout=None)
            return
        self.flash(f"saved {len(visible)} row(s) and a screenshot to {folder}", "success")

    def action_flagged(self) -> None:
        from bifrost_tui.ui.screens.flagged import FlaggedScreen

        self.push_screen(FlaggedScreen())

    def action_events(self) -> None:
        from bifrost_tui.ui.screens.events import EventsScreen

        self.push_screen(EventsScreen(self.events))

    def action_audit(self) -> None:
        from bifrost_tui.ui.screens.audit import AuditScreen

        self.push_screen(AuditScreen())

    def action_profiles(self, first_run: bool = False) -> None:
        from bifrost_tui.ui.screens.profiles import ProfilesScreen

        self.push_screen(ProfilesScreen(first_run=first_run))

    # ---- watching cancelled batches --------------------------------------------------------

    def _arm_watch(self) -> None:
        if self._watch_timer is not None or not self.live_updates or self.session is None:
            return
        delay = self.session.next_watch_in()
        if delay is None:
            return
        self._watch_timer = self.set_timer(max(0.2, delay), self._watch_due)

    def _watch_due(self) -> None:
        self._watch_timer = None
        self.run_watch()

    @work(group="watch")
    async def run_watch(self) -> None:
        await self.do_watch()
        self._arm_watch()

    async def do_watch(self, *, force: bool = False) -> PollResult:
        """Re-read the cancelled batches that are due; toast each one that ended."""
        assert self.session is not None
        result = await self.session.poll_watched(force=force)
        self.data_changed(result.diff)
        for batch in result.ended:
            self.notify(
                f"{safe_text(batch.id, 80)} on {safe_text(batch.provider, 20)} ended: "
                f"{STATE_LABELS[batch.state]} · {counts_text(batch.request_counts)}",
                title="batch ended",
                markup=False,
            )
            if self.ring_bell:
                self.bell()
        return result

    # ---- command palette -------------------------------------------------------------------

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from console_commands(self, screen, super().get_system_commands(screen))

    async def on_unmount(self) -> None:
        self.unroute_signals()
        if self.client is not None:
            await self.client.aclose()

    # ---- crashing --------------------------------------------------------------------------

    def _handle_exception(self, error: Exception) -> None:
        if self.crash is None:
            self.crash = error
        super()._handle_exception(error)


def run_console(
    connection: Connection, *, mouse: bool = True, bell: bool = True, grace: float = DEFAULT_GRACE
) -> int:
    """Run the console; its exit code (128 + a signal's number after one, 70 after a crash)."""
    app = BifrostApp(connection, bell=bell, grace=grace)
    result = app.run(mouse=mouse)
    # The loop has stopped: whatever ended it, every batch of an unfinished run gets its line.
    app.settle_open_runs()
    if app.crash is not None:
        _report_crash(app.crash, connection, app.clock)
        return EXIT_CRASHED
    return app.return_code or int(result or 0)


def _report_crash(error: Exception, connection: Connection, clock: Clock) -> None:
    from bifrost_tui.audit.hook import secret_values
    from bifrost_tui.redaction import Redactor

    redact = Redactor(secret_values(connection))
    try:
        path = write_crash_log(error, redact, now=clock.now())
    except OSError as exc:
        where = f"the crash log could not be written ({exc.strerror or exc})"
    else:
        where = f"the traceback (secrets redacted) is in {path}"
    message = safe_text(redact(f"{type(error).__name__}: {error}"), 300)
    with contextlib.suppress(OSError, ValueError):  # the terminal is gone: the log stays
        print(f"bifrost-tui crashed: {message}\n{where}", file=sys.stderr, flush=True)
