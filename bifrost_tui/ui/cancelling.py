"""The console's cancels: one batch (``c``) or the tagged set (``C``), each written ahead to the
audit off the event loop, and how the console stops with cancels in flight.

A cancel run owes the audit one line per batch: an intent line before each request leaves (a slow
disk never freezes the keys: every audit write runs in a worker thread), the outcome after. The
console stops the same way for SIGINT, SIGTERM, SIGHUP, a lost terminal and a confirmed ``q`` or
``ctrl+c``: no new request leaves, the ones already sent get up to ``grace`` seconds to answer (a
second signal ends the wait), the unanswered read ``unknown``, the batches never sent
``not_sent``, and then it exits (128 + the signal's number after a signal). Whatever ends the
process, ``settle_open_runs`` still writes the lines a run owes once the event loop has stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import work
from textual.app import App, ScreenStackError

from bifrost_tui.audit.hook import Attempt, AuditTrail
from bifrost_tui.audit.log import AuditWriteError
from bifrost_tui.core.bulk import (
    ABANDONED_REASON,
    Abandoned,
    BulkSummary,
    ItemOutcome,
    ItemResult,
    confirm_word,
    needs_typed_confirmation,
    run_bulk,
    unless_abandoned,
)
from bifrost_tui.core.interrupt import DEFAULT_GRACE, Interrupt, signal_name, signals_routed_to
from bifrost_tui.core.jump import hidden_note
from bifrost_tui.core.live import describe_error
from bifrost_tui.core.store import Diff, Key
from bifrost_tui.formatting import STATE_LABELS
from bifrost_tui.gateway.errors import GatewayError
from bifrost_tui.gateway.models import State
from bifrost_tui.gateway.outcomes import CancelOutcome, CancelResult, ListingStatus
from bifrost_tui.textsafe import safe_text
from bifrost_tui.ui.widgets.bulk_bar import BulkBar

if TYPE_CHECKING:
    from bifrost_tui.clock import Clock
    from bifrost_tui.config.connection import Connection
    from bifrost_tui.core.events import EventLog
    from bifrost_tui.core.live import LiveSession
    from bifrost_tui.core.store import BatchStore
    from bifrost_tui.ui.screens.main import MainScreen

#: Watched batches the quit question names (the rest are counted).
WATCHED_SHOWN = 5
#: Why a batch of a run reads ``not_sent`` when the console exited before its turn.
EXITED_BEFORE_SENDING = "interrupted: the console exited before this cancel was sent"
#: Seconds at most that a confirmed cancel holds the console's repaints (see ``RepaintHold``).
REPAINT_HOLD = 0.05
#: Event-loop turns the cancel request gets, once its intent line is written, to reach the
#: network before the held repaints run.
SEND_TURNS = 10


class RepaintHold:
    """Holds an app's repaints (``App.batch_update``) until ``release``, ``release_after`` so
    many event-loop turns, or ``at_most`` seconds, whichever comes first.

    A confirmed cancel's intent line is written in a worker thread, and the request leaves once it
    is on disk. Closing the confirmation repaints the whole screen meanwhile: run first, that
    work holds the event loop and (through the GIL) the writing thread, and the request left
    20-40 ms after ``y``. Held, the line is written and the request is sent on an idle loop, and
    the repaint runs while the request is on the wire. The bound keeps a slow disk from freezing
    the screen.
    """

    def __init__(self, app: App[Any], at_most: float) -> None:
        self._app = app
        self._batch = contextlib.ExitStack()
        self._batch.enter_context(app.batch_update())
        self._timer: asyncio.TimerHandle | None = asyncio.get_running_loop().call_later(
            at_most, self.release
        )

    def release_after(self, turns: int) -> None:
        loop = asyncio.get_running_loop()

        def turn(left: int) -> None:
            if left > 0:
                loop.call_soon(turn, left - 1)
            else:
                self.release()

        turn(turns)

    def release(self) -> None:
        if self._timer is None:
            return
        self._timer.cancel()
        self._timer = None
        self._batch.close()
        with contextlib.suppress(ScreenStackError):
            self._app.screen.check_idle()  # what waited is painted now


class CancelRun:
    """The audit of one cancel run: every batch it owes a line, and the attempts sent so far.

    ``intent`` and ``outcome`` do blocking file I/O (the console calls them in a worker thread);
    ``settle`` writes the line of every batch still owed one: ``unknown`` for a request that left,
    ``not_sent`` for one that never did. A batch gets exactly one outcome line.
    """

    def __init__(self, trail: AuditTrail, batches: Iterable[tuple[Key, State | None]]) -> None:
        self.trail = trail
        self._owed: dict[Key, State | None] = dict(batches)
        self._attempts: dict[Key, Attempt] = {}
        self._lock = threading.Lock()

    @property
    def owes(self) -> bool:
        with self._lock:
            return bool(self._owed)

    def intent(self, key: Key, state_before: State | None) -> None:
        attempt = self.trail.intent(key, state_before)
        with self._lock:
            self._attempts[key] = attempt

    def outcome(self, item: ItemResult) -> None:
        with self._lock:
            if item.key not in self._owed:
                return
            del self._owed[item.key]
            attempt = self._attempts.get(item.key)
        self.trail.outcome(item, attempt)

    def settle(self) -> None:
        with self._lock:
            owed = list(self._owed.items())
            attempts = dict(self._attempts)
        for key, before in owed:
            if key in attempts:
                self.outcome(ItemResult(key, ItemOutcome.UNKNOWN, before, reason=ABANDONED_REASON))
            else:
                self.outcome(
                    ItemResult(key, ItemOutcome.NOT_SENT, before, reason=EXITED_BEFORE_SENDING)
                )


class CancellingApp(App[int]):
    """The cancel, bulk-cancel, audit and quit behaviour of the console (``BifrostApp``)."""

    if TYPE_CHECKING:
        # Provided by BifrostApp.
        connection: Connection
        clock: Clock
        store: BatchStore
        session: LiveSession | None
        main_screen: MainScreen | None
        events: EventLog

        @property
        def read_only(self) -> bool: ...

        @property
        def read_only_words(self) -> str | None: ...

        def flash(
            self, message: str, severity: str = "info", timeout: float | None = 8.0
        ) -> None: ...

        def data_changed(self, diff: Diff | None) -> None: ...

        def update_crumbs(self) -> None: ...

        def _arm_watch(self) -> None: ...

    def __init__(self, *, grace: float = DEFAULT_GRACE) -> None:
        super().__init__()
        self.in_flight: set[Key] = set()
        self._bulk: BulkSummary | None = None
        self._bulk_stop = False
        #: Signals (and a lost terminal) end here; its ``abandon`` also ends a quit's wait.
        self.interrupt = Interrupt(grace)
        self.interrupt.on_request(self._interrupted)
        self._stopping = False
        self._terminal_gone = False
        self._runs: set[CancelRun] = set()
        self._runs_changed = asyncio.Event()
        self._signal_routes = contextlib.ExitStack()
        self._give_up: asyncio.TimerHandle | None = None
        self._asking_quit = False

    # ---- signals and stopping --------------------------------------------------------------

    def route_signals(self) -> None:
        """SIGINT, SIGTERM and SIGHUP stop the console as described above (not in tests' headless
        runs: the test process keeps its own handlers)."""
        if not self.is_headless:
            self._signal_routes.enter_context(signals_routed_to(self.interrupt))

    def unroute_signals(self) -> None:
        self._signal_routes.close()
        if self._give_up is not None:
            self._give_up.cancel()

    def on_terminal_lost(self) -> None:
        """The terminal went away (reads or writes fail, or stdin is no terminal any more)."""
        if self._terminal_gone:
            return
        self._terminal_gone = True
        if not self.cancels_running:
            self.exit(1)
            return
        self.interrupt.request(signal.SIGHUP)

    def _interrupted(self, signum: int) -> None:
        name = signal_name(signum)
        if self.interrupt.count > 1:
            self.flash(
                f"{name} again: not waiting any longer; unanswered cancels read unknown",
                "error",
                timeout=None,
            )
            return
        code = self.interrupt.exit_code or 1
        if not self.cancels_running:
            self.exit(return_code=code)
            return
        self._stop_sending()
        self.flash(
            f"interrupted ({name}): sending no more cancels; waiting up to "
            f"{self.interrupt.grace:g}s for the {len(self.in_flight)} in flight "
            f"({name} again stops waiting)",
            "warning",
            timeout=None,
        )
        self._exit_when_settled()

    def _stop_sending(self) -> None:
        self._stopping = True
        self.stop_bulk()

    @work(group="quit")
    async def _exit_when_settled(self) -> None:
        await self._runs_settled()
        self.exit(return_code=self.interrupt.exit_code or 0)

    async def _runs_settled(self) -> None:
        while self._runs:
            self._runs_changed.clear()
            await self._runs_changed.wait()

    def _open_run(self, batches: Iterable[tuple[Key, State | None]], *, bulk: bool) -> CancelRun:
        run = CancelRun(self._audit_trail(bulk=bulk), batches)
        self._runs.add(run)
        return run

    def _close_run(self, run: CancelRun) -> None:
        # A run that still owes lines (its worker was cancelled at exit) stays for settle_open_runs.
        if not run.owes:
            self._runs.discard(run)
        self._runs_changed.set()

    def settle_open_runs(self) -> None:
        """Blocking: the lines every unfinished run still owes (after the event loop stopped)."""
        for run in list(self._runs):
            run.settle()
        self._runs.clear()

    async def _unless_abandoned(self, request: Awaitable[CancelResult]) -> CancelResult | None:
        """``await request``; None when the wait was abandoned first (the request is dropped)."""
        try:
            return await unless_abandoned(request, self.interrupt.abandon)
        except Abandoned:
            return None

    # ---- cancel ----------------------------------------------------------------------------

    def request_cancel(self, key: Key) -> None:
        """``c``: always the one batch under the cursor; refused with a reason, or confirmed."""
        from bifrost_tui.ui.screens.detail import cancel_refusal

        why = cancel_refusal(
            self.store, key, read_only=self.read_only_words, in_flight=self.in_flight
        )
        if why is not None:
            self.flash(why, "warning")
            return
        self._confirm_and_cancel(key)

    @work(group="cancel")
    async def _confirm_and_cancel(self, key: Key) -> None:
        from bifrost_tui.ui.screens.confirm import ConfirmScreen, cancel_body

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
        if self._stopping:
            self.flash("quitting: cancel NOT sent", "warning")
            return None
        self.in_flight.add(key)
        before = self.store.batches.get(key)
        state_before = before.state if before else None
        run = self._open_run([(key, state_before)], bulk=False)
        hold = RepaintHold(self, REPAINT_HOLD)
        try:
            # The intent line is on its way to disk (in a worker thread) while the crumb and the
            # flash say the cancel is going.
            intent = asyncio.get_running_loop().run_in_executor(None, run.intent, key, state_before)
            self.update_crumbs()
            self.flash(f"cancelling {key[1]} on {key[0]}…")
            await intent
            hold.release_after(SEND_TURNS)
            try:
                result = await self._unless_abandoned(
                    self.session.cancel(key, on_change=self.data_changed)
                )
            except GatewayError as exc:
                # The request never left the machine: nothing happened to the batch.
                item = ItemResult(key, ItemOutcome.NOT_SENT, state_before, reason=exc.describe())
                await asyncio.to_thread(run.outcome, item)
                self.events.cancelled(item, self.store.states)
                self.flash(f"cancel NOT sent: {describe_error(exc)}", "error", timeout=None)
                return None
            finally:
                self.in_flight.discard(key)
                self.update_crumbs()
            if result is None:
                item = ItemResult(key, ItemOutcome.UNKNOWN, state_before, reason=ABANDONED_REASON)
                await asyncio.to_thread(run.outcome, item)
                self.events.cancelled(item, self.store.states)
                self.flash("cancel outcome unknown: stopped waiting for its answer", "warning")
                return None
            item = ItemResult(key, result.outcome.value, state_before, result=result)
            await asyncio.to_thread(run.outcome, item)
            self.events.cancelled(item, self.store.states)
        finally:
            hold.release()
            self._close_run(run)
        self.data_changed(None)
        self._report_cancel(result)
        self._arm_watch()
        return result

    def _report_cancel(self, result: CancelResult) -> None:
        batch = self.store.batches.get((result.provider, result.batch_id))
        state = (
            f"{batch.processing_status} ({STATE_LABELS[batch.state]})" if batch else "unknown state"
        )
        state += hidden_note(self.store, (result.provider, result.batch_id))
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

    # ---- bulk cancel -----------------------------------------------------------------------

    @property
    def bulk_running(self) -> bool:
        return self._bulk is not None

    def request_bulk_cancel(self, keys: list[Key]) -> None:
        """``C``: the tagged set, confirmed (typed when large; acknowledged when partial)."""
        if self.read_only_words is not None:
            from bifrost_tui.ui.screens.detail import read_only_refusal

            self.flash(read_only_refusal(self.read_only_words), "warning")
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
        if self.session is not None and self.session.listing_pending == []:
            lines.append("the gateway's providers are not known yet: its first listing is running")
        for name, status in self.store.providers.items():
            if not status.info.batch_capable or status.listing in (
                ListingStatus.COMPLETE,
                ListingStatus.UNSUPPORTED,
            ):
                continue
            if status.listing is ListingStatus.ERROR and status.error is not None:
                lines.append(f"{name}: listing failed: {status.error.describe()}")
            elif status.listing is None:
                lines.append(f"{name}: still listing (its first listing has not finished)")
            else:
                lines.append(f"{name}: {status.missing or 'listing incomplete'}")
        return lines

    @work(group="bulk-confirm")
    async def _confirm_bulk(self, keys: list[Key]) -> None:
        from bifrost_tui.ui.screens.bulk import BulkConfirmScreen

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
        if self._stopping:
            self.flash("quitting: bulk cancel NOT sent", "warning")
            return summary
        self._bulk = summary
        self._bulk_stop = False
        self.in_flight |= set(keys)
        run = self._open_run(
            [(k, b.state if (b := self.store.batches.get(k)) else None) for k in keys], bulk=True
        )
        writes: list[asyncio.Future[None]] = []
        bar = self._bulk_bar()
        bar.show_progress(summary)

        async def send(key: Key) -> CancelResult:
            batch = self.store.batches.get(key)
            await asyncio.to_thread(run.intent, key, batch.state if batch else None)
            return await session.cancel(key)

        def landed(item: ItemResult) -> None:
            summary.items.append(item)
            self.in_flight.discard(item.key)
            writes.append(asyncio.ensure_future(asyncio.to_thread(run.outcome, item)))
            self.events.cancelled(item, self.store.states)
            if item.outcome != ItemOutcome.NOT_SENT and self.main_screen is not None:
                self.main_screen.table.tags.discard(item.key)
            self.data_changed(Diff(changed=frozenset({item.key})))
            bar.show_progress(summary, stopping=self._bulk_stop)

        try:
            result = await run_bulk(
                keys,
                cancel=send,
                current=self.store.batches.get,
                concurrency=self.connection.settings.bulk_concurrency,
                on_result=landed,
                should_stop=lambda: self._bulk_stop or self._stopping,
                abandon=self.interrupt.abandon,
            )
            await asyncio.gather(*writes)
        finally:
            self.in_flight -= set(keys)
            self._bulk = None
            bar.hide()
            self._close_run(run)
        summary.interrupted = result.interrupted
        self.data_changed(None)
        self.flash(f"bulk cancel: {summary.words()}", "warning" if summary.troubled else "success")
        self._arm_watch()
        from bifrost_tui.ui.screens.bulk import BulkSummaryScreen

        self.push_screen(BulkSummaryScreen(summary))
        return summary

    # ---- audit -----------------------------------------------------------------------------

    def _audit_trail(self, *, bulk: bool) -> AuditTrail:
        """The write-ahead audit of one run; a failed write is shown, never blocks the cancel."""
        loop = asyncio.get_running_loop()

        def shout(exc: AuditWriteError) -> None:
            self.flash(f"audit log NOT written: {exc}", "error", timeout=None)
            self.notify(f"audit log NOT written: {exc}", severity="error", markup=False)

        def from_any_thread(exc: AuditWriteError) -> None:
            # Writes run in worker threads; queued now, this is said before the request leaves.
            with contextlib.suppress(RuntimeError):  # the loop has stopped: exiting anyway
                loop.call_soon_threadsafe(shout, exc)

        return AuditTrail(self.connection, source="console", bulk=bulk, on_failure=from_any_thread)

    # ---- quitting --------------------------------------------------------------------------

    @property
    def cancels_running(self) -> bool:
        return bool(self._runs or self.in_flight)

    @property
    def watched(self) -> int:
        """Cancelled batches still watched until they end (their end is seen only while running)."""
        return len(self.session.watches) if self.session is not None else 0

    def action_request_quit(self) -> None:
        if self.cancels_running:
            self._quit_after_cancels()
        elif self.watched:
            self._quit_while_watching()
        else:
            self.exit(0)

    @work(group="quit-watching")
    async def _quit_while_watching(self) -> None:
        """Asks first: the end of a watched batch would be lost. Nothing is waited for (a cancel
        can take minutes to land); the CLI's ``batches watch`` can follow them on."""
        if self._asking_quit:
            return  # q or ctrl+c again: the question is on screen
        from bifrost_tui.ui.screens.confirm import ConfirmScreen

        self._asking_quit = True
        try:
            confirmed = await self.push_screen_wait(
                ConfirmScreen("Quit?", self._watching_words(), "Quit anyway")
            )
        finally:
            self._asking_quit = False
        if confirmed:
            self.exit(0)

    def _watching_words(self) -> Text:
        assert self.session is not None
        keys = sorted(self.session.watches)
        text = Text(
            f"{len(keys)} cancelled batch(es) are still being watched until they end. Quitting "
            "now, this console will not see or announce how they end (the cancels themselves "
            "are in the audit log); `bifrost-tui batches watch ID --provider P` can follow "
            "them on.\n\n"
        )
        for provider, batch_id in keys[:WATCHED_SHOWN]:
            text.append(f"  {safe_text(provider, 12):<12} {safe_text(batch_id, 80)}\n")
        if len(keys) > WATCHED_SHOWN:
            text.append(f"  … and {len(keys) - WATCHED_SHOWN} more\n")
        text.append("\nQuit anyway?", style="bold")
        return text

    @work(group="quit")
    async def _quit_after_cancels(self) -> None:
        from bifrost_tui.ui.screens.confirm import ConfirmScreen

        n = len(self.in_flight)
        grace = self.interrupt.grace
        body = Text(
            f"{n} cancel(s) are in flight. Quitting sends no more, waits up to {grace:g}s for "
            "the answers, and records those still unanswered as unknown (they may have landed)."
        )
        if not await self.push_screen_wait(ConfirmScreen("Quit?", body, "Wait, then quit")):
            return
        self.flash(f"waiting up to {grace:g}s for the cancels in flight…", "warning")
        self._stop_sending()
        if self._give_up is None:
            abandon: Callable[[], None] = self.interrupt.abandon.set
            self._give_up = asyncio.get_running_loop().call_later(grace, abandon)
        try:
            await self._runs_settled()
        finally:
            self.exit(return_code=self.interrupt.exit_code or 0)
