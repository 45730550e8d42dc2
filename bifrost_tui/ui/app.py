"""The console App: owns the connection, the store, the poll timer and the cancels in flight."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.timer import Timer

from bifrost_tui.clock import Clock
from bifrost_tui.config.connection import Connection
from bifrost_tui.core.bulk import (
    BulkSummary,
    ItemOutcome,
    ItemResult,
    confirm_word,
    needs_typed_confirmation,
    run_bulk,
)
from bifrost_tui.core.live import LiveSession, PollResult, describe_error
from bifrost_tui.core.store import BatchStore, Diff, Key
from bifrost_tui.core.stuck import Thresholds
from bifrost_tui.formatting import STATE_LABELS, counts_text
from bifrost_tui.gateway.errors import GatewayError
from bifrost_tui.gateway.outcomes import CancelOutcome, CancelResult, ListingStatus
from bifrost_tui.textsafe import safe_text
from bifrost_tui.ui.commands import console_commands
from bifrost_tui.ui.screens.bulk import BulkConfirmScreen, BulkSummaryScreen
from bifrost_tui.ui.screens.confirm import ConfirmScreen, cancel_body
from bifrost_tui.ui.screens.detail import DetailScreen
from bifrost_tui.ui.screens.help import HelpScreen
from bifrost_tui.ui.screens.main import MainScreen
from bifrost_tui.ui.textual_patch import apply_textual_patch
from bifrost_tui.ui.widgets.bulk_bar import BulkBar
from bifrost_tui.ui.widgets.crumbs import CrumbState, crumb_state_of

if TYPE_CHECKING:
    from bifrost_tui.gateway.client import GatewayClient

MIN_REFRESH = 1.0
MAX_REFRESH = 300.0
#: One poll in this many is a deep listing (also at start and on ``r``).
DEEP_EVERY = 6
QUIT_WAIT_SECONDS = 15.0


class BifrostApp(App[int]):
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
    ) -> None:
        super().__init__()
        # Before the first paint, so what tests and snapshots see is what an operator sees.
        apply_textual_patch()
        self.ring_bell = bell
        self.connection = connection
        self.clock: Clock = clock or connection.clock
        self.live_updates = live_updates
        self.store = BatchStore()
        self.client: GatewayClient | None = None
        self.session: LiveSession | None = None
        self.refresh_interval = max(MIN_REFRESH, connection.settings.refresh)
        self.paused = False
        self.in_flight: set[Key] = set()
        self._poll_timer: Timer | None = None
        self._watch_timer: Timer | None = None
        self._polling = False
        self.poll_marker = False
        self._deep_pending = False
        self._light_polls = 0
        self.main_screen: MainScreen | None = None
        self._bulk: BulkSummary | None = None
        self._bulk_stop = False

    # ---- properties ------------------------------------------------------------------------

    @property
    def read_only(self) -> bool:
        return self.connection.settings.read_only

    def crumb_state(self) -> CrumbState:
        return crumb_state_of(self)

    # ---- start-up --------------------------------------------------------------------------

    def on_mount(self) -> None:
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
            self.run_poll(deep=True)
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

    async def do_poll(self, *, deep: bool) -> PollResult:
        """One poll, applied to the screen. Tests await this directly."""
        assert self.session is not None
        result = await self.session.poll(deep=deep)
        self.data_changed(result.diff)
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
        if isinstance(self.screen, DetailScreen):
            self.screen.update_batch()

    def _check_terminal(self) -> None:
        # Over SSH a dropped session can leave the process spinning: exit when the TTY is gone.
        try:
            alive = sys.stdin.isatty()
        except (ValueError, OSError):
            alive = False
        if not alive:
            self.exit(1)

    # ---- the screen ------------------------------------------------------------------------

    def data_changed(self, diff: Diff | None) -> None:
        if self.main_screen is not None and self.main_screen.is_mounted:
            with self.batch_update():
                self.main_screen.data_changed(diff)
        if isinstance(self.screen, DetailScreen):
            self.screen.update_batch()

    def update_crumbs(self) -> None:
        if self.main_screen is not None and self.main_screen.is_mounted:
            self.main_screen.update_crumbs()

    def flash(self, message: str, severity: str = "info", timeout: float | None = 8.0) -> None:
        if self.main_screen is not None and self.main_screen.is_mounted:
            self.main_screen.flash_bar.flash(message, severity, timeout)

    def open_detail(self, key: Key) -> None:
        self.push_screen(DetailScreen(key))

    def action_help(self) -> None:
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

    def action_audit(self) -> None:
        from bifrost_tui.ui.screens.audit import AuditScreen

        self.push_screen(AuditScreen())

    def action_profiles(self, first_run: bool = False) -> None:
        from bifrost_tui.ui.screens.profiles import ProfilesScreen

        self.push_screen(ProfilesScreen(first_run=first_run))

    # ---- cancel ----------------------------------------------------------------------------

    def request_cancel(self, key: Key) -> None:
        """``c``: always the one batch under the cursor; refused with a reason, or confirmed."""
        if self.read_only:
            self.flash("read-only: this console will not cancel through this profile", "warning")
            return
        batch = self.store.batches.get(key)
        if batch is None:
            self.flash("that batch is no longer listed", "warning")
            return
        if key in self.in_flight:
            self.flash("a cancel for this batch is already in flight", "warning")
            return
        if not batch.cancellable:
            self.flash(
                f"not cancellable: batch is {batch.processing_status or 'of unknown status'} "
                f"({STATE_LABELS[batch.state]}); nothing sent",
                "warning",
            )
            return
        self._confirm_and_cancel(key)

    @work(group="cancel")
    async def _confirm_and_cancel(self, key: Key) -> None:
        batch = self.store.batches[key]
        confirmed = await self.push_screen_wait(
            ConfirmScreen(
                "Cancel this batch?",
                cancel_body(batch, self.clock.now(), self.connection.display_url),
            )
        )
        if not confirmed:
            self.flash("cancel aborted: nothing sent")
            return
        await self.do_cancel(key)

    async def do_cancel(self, key: Key) -> CancelResult | None:
        """Send the cancel and show its truth. Tests await this directly after confirming."""
        assert self.session is not None
        self.in_flight.add(key)
        self.update_crumbs()
        self.flash(f"cancelling {key[1]} on {key[0]}…")
        before = self.store.batches.get(key)
        state_before = before.state if before else None
        audit = self._audit_hook(bulk=False)
        try:
            result = await self.session.cancel(key, on_change=self.data_changed)
        except GatewayError as exc:
            # The request never left the machine: nothing happened to the batch.
            audit(ItemResult(key, ItemOutcome.NOT_SENT, state_before, reason=exc.describe()))
            self.flash(f"cancel NOT sent: {describe_error(exc)}", "error", timeout=None)
            return None
        finally:
            self.in_flight.discard(key)
            self.update_crumbs()
        audit(ItemResult(key, result.outcome.value, state_before, result=result))
        self.data_changed(None)
        self._report_cancel(result)
        self._arm_watch()
        return result

    def _report_cancel(self, result: CancelResult) -> None:
        batch = self.store.batches.get((result.provider, result.batch_id))
        state = (
            f"{batch.processing_status} ({STATE_LABELS[batch.state]})" if batch else "unknown state"
        )
        if result.outcome is CancelOutcome.ACCEPTED:
            self.flash(f"cancel accepted: {result.batch_id} is now {state}", "success")
        elif result.outcome is CancelOutcome.REFUSED:
            why = describe_error(result.error) if result.error else "refused"
            self.flash(f"cancel refused: {why} — batch is {state}", "error", timeout=None)
        else:
            self.flash(
                f"cancel outcome unknown (no answer; not retried) — re-read shows {state}",
                "warning",
                timeout=None,
            )

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

    # ---- bulk cancel -----------------------------------------------------------------------

    @property
    def bulk_running(self) -> bool:
        return self._bulk is not None

    def request_bulk_cancel(self, keys: list[Key]) -> None:
        """``C``: the tagged set, confirmed (typed when large; acknowledged when partial)."""
        if self.read_only:
            self.flash("read-only: this console will not cancel through this profile", "warning")
            return
        if self.bulk_running:
            self.flash("a bulk cancel is already running (escape stops it)", "warning")
            return
        if not keys:
            self.flash(
                "nothing tagged: space tags the batch under the cursor, a tags all", "warning"
            )
            return
        self._confirm_bulk(keys)

    def partial_listings(self) -> list[str]:
        """Providers whose listing is not complete, in words (the bulk dialog shows them)."""
        lines = []
        for name, status in self.store.providers.items():
            if not status.info.batch_capable or status.listing in (
                ListingStatus.COMPLETE,
                ListingStatus.UNSUPPORTED,
            ):
                continue
            if status.listing is ListingStatus.ERROR and status.error is not None:
                lines.append(f"{name}: listing failed: {status.error.describe()}")
            else:
                lines.append(f"{name}: {status.missing or 'listing incomplete'}")
        return lines

    @work(group="bulk-confirm")
    async def _confirm_bulk(self, keys: list[Key]) -> None:
        batches = [self.store.batches[k] for k in keys if k in self.store.batches]
        typed = None
        if needs_typed_confirmation(len(batches), self.connection.settings.confirm):
            typed = confirm_word(self.connection.profile_name, self.connection.display_url)
        confirmed = await self.push_screen_wait(
            BulkConfirmScreen(batches, partial=self.partial_listings(), typed_word=typed)
        )
        if not confirmed:
            self.flash("bulk cancel aborted: nothing sent")
            return
        self.run_bulk_worker([b.key for b in batches])

    @work(group="cancel")
    async def run_bulk_worker(self, keys: list[Key]) -> None:
        await self.do_bulk_cancel(keys)

    def stop_bulk(self) -> None:
        if self._bulk is not None:
            self._bulk_stop = True
            self._bulk_bar().show_progress(self._bulk, stopping=True)

    def _bulk_bar(self) -> BulkBar:
        assert self.main_screen is not None
        return self.main_screen.query_one("#bulk", BulkBar)

    async def do_bulk_cancel(self, keys: list[Key]) -> BulkSummary:
        """Cancel ``keys`` concurrently (bounded), each result on its row as it lands."""
        assert self.session is not None
        session = self.session
        summary = BulkSummary(total=len(keys))
        self._bulk = summary
        self._bulk_stop = False
        self.in_flight |= set(keys)
        audit = self._audit_hook(bulk=True)
        bar = self._bulk_bar()
        bar.show_progress(summary)

        def landed(item: ItemResult) -> None:
            summary.items.append(item)
            self.in_flight.discard(item.key)
            audit(item)
            if item.outcome != ItemOutcome.NOT_SENT and self.main_screen is not None:
                self.main_screen.table.tags.discard(item.key)
            self.data_changed(Diff(changed=frozenset({item.key})))
            bar.show_progress(summary, stopping=self._bulk_stop)

        try:
            result = await run_bulk(
                keys,
                cancel=session.cancel,
                current=self.store.batches.get,
                concurrency=self.connection.settings.bulk_concurrency,
                on_result=landed,
                should_stop=lambda: self._bulk_stop,
            )
        finally:
            self.in_flight -= set(keys)
            self._bulk = None
            bar.hide()
        summary.interrupted = result.interrupted
        self.data_changed(None)
        self.flash(f"bulk cancel: {summary.words()}", "warning" if summary.troubled else "success")
        self._arm_watch()
        self.push_screen(BulkSummaryScreen(summary))
        return summary

    # ---- audit -----------------------------------------------------------------------------

    def _audit_hook(self, *, bulk: bool) -> Callable[[ItemResult], None]:
        """One audit line per outcome; a failed write is shown, never blocks the cancel."""
        from bifrost_tui.audit.hook import recorder

        def shout(exc: Exception) -> None:
            self.flash(f"audit log NOT written: {exc}", "error", timeout=None)
            self.notify(f"audit log NOT written: {exc}", severity="error", markup=False)

        return recorder(self.connection, source="console", bulk=bulk, on_failure=shout)

    # ---- quitting --------------------------------------------------------------------------

    def action_request_quit(self) -> None:
        if not self.in_flight:
            self.exit(0)
            return
        self._quit_after_cancels()

    @work(group="quit")
    async def _quit_after_cancels(self) -> None:
        n = len(self.in_flight)
        body = Text(
            f"{n} cancel(s) are in flight. Quitting now waits for their answers "
            f"(up to {QUIT_WAIT_SECONDS:g}s) so no outcome is lost."
        )
        if not await self.push_screen_wait(ConfirmScreen("Quit?", body, "Wait, then quit")):
            return
        self.flash("waiting for cancels in flight…", "warning")
        cancels = [w for w in self.workers if w.group == "cancel" and w.is_running]
        try:
            await self.workers.wait_for_complete(cancels)
        finally:
            self.exit(0)

    # ---- command palette -------------------------------------------------------------------

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield from console_commands(self, screen)

    async def on_unmount(self) -> None:
        if self.client is not None:
            await self.client.aclose()


def run_console(connection: Connection, *, mouse: bool = True, bell: bool = True) -> int:
    app = BifrostApp(connection, bell=bell)
    result = app.run(mouse=mouse)
    return int(result or 0)
