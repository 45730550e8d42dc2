"""The batches screen: providers on the left, the live batch table, crumbs, filter and flash."""

from __future__ import annotations

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, OptionList, Static

from bifrost_tui.core.jump import reveal
from bifrost_tui.core.sorting import SORT_CYCLE
from bifrost_tui.core.store import Diff, Key
from bifrost_tui.ui.screens.console_screen import ConsoleScreen
from bifrost_tui.ui.widgets.batch_table.table import BatchTable
from bifrost_tui.ui.widgets.bulk_bar import BulkBar
from bifrost_tui.ui.widgets.crumbs import CrumbBar
from bifrost_tui.ui.widgets.flash import FlashBar
from bifrost_tui.ui.widgets.footer import KeyFooter
from bifrost_tui.ui.widgets.providers import ALL_ID, ProviderList
from bifrost_tui.ui.widgets.summary_strip import SummaryStrip


class MainScreen(ConsoleScreen[None]):
    """Keys act on the batch under the cursor; the app owns polling and cancels."""

    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]
    BINDINGS = [
        Binding("c", "cancel", "Cancel", id="cancel-batch"),
        Binding("space", "tag", "Tag", id="tag"),
        Binding("a", "tag_all", "Tag all", show=False, id="tag-all"),
        Binding("C", "bulk_cancel", "Cancel tagged", id="bulk-cancel"),
        # Read-only: the four above are hidden from the footer and blocked; these say why.
        Binding("c", "read_only", show=False),
        Binding("C", "read_only", show=False),
        Binding("escape", "escape", "Stop bulk / clear filter", show=False, id="stop-bulk"),
        Binding("g", "jump", "Jump", show=False, id="jump"),
        Binding("y", "copy_id", "Copy id", show=False, id="copy-id"),
        Binding("R", "results", "Results", show=False, id="results"),
        Binding("slash", "filter", "Filter", id="filter"),
        Binding("s", "sort", "Sort", id="sort"),
        Binding("S", "reverse", "Reverse", show=False, id="reverse"),
        Binding("h", "hide_ended", "Hide ended", id="hide-ended"),
        Binding("r", "app.refresh_now", "Refresh", id="refresh"),
        Binding("z", "app.toggle_pause", "Pause", id="pause"),
        Binding("plus,equals_sign", "app.slower", "Slower", show=False, id="slower"),
        Binding("minus", "app.faster", "Faster", show=False, id="faster"),
        Binding("left_square_bracket", "provider(-1)", "Prev provider", show=False),
        Binding("right_square_bracket", "provider(1)", "Next provider", show=False),
        Binding("p", "app.profiles", "Profiles", id="profiles"),
        Binding("A", "app.audit", "Audit", show=False, id="audit"),
        Binding("e", "app.events", "Events", show=False, id="events"),
        Binding("exclamation_mark", "app.flagged", "Stuck", show=False, id="flagged"),
        Binding("ctrl+s", "app.export", "Export", show=False, id="export"),
        Binding("question_mark", "app.help", "Help", id="help"),
        Binding("q", "app.request_quit", "Quit", id="quit"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._table: BatchTable | None = None
        #: What the empty table says, as last shown ("": the table is not empty, or is truly so).
        self._empty_words: str | None = None

    def compose(self) -> ComposeResult:
        app = self.bapp
        yield CrumbBar(id="crumbs")
        yield SummaryStrip(app.store, app.clock, id="summary")
        with Horizontal(id="body"):
            yield ProviderList(app.store, id="providers")
            with Vertical(id="table-pane"):
                yield BatchTable(app.store, app.clock, id="table")
                # Under the header of an empty table: why it is empty, while that is not yet known.
                yield Static("", id="table-empty", markup=False)
        yield Input(placeholder="filter: id, status or provider", id="filter", compact=True)
        yield BulkBar(id="bulk")
        yield FlashBar(id="flash")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#filter", Input).display = False
        self.table.focus()
        self.table.follow_top = True  # until the first listings have landed
        self.data_changed(None)

    @property
    def table(self) -> BatchTable:
        if self._table is None:
            self._table = self.query_one("#table", BatchTable)
        return self._table

    @property
    def flash_bar(self) -> FlashBar:
        return self.query_one("#flash", FlashBar)

    # ---- updates from the app --------------------------------------------------------------

    def data_changed(self, diff: Diff | None) -> None:
        """The store changed (``diff``) or only the status did (``None`` refreshes everything)."""
        self.table.refresh_view(diff)
        if self.table.follow_top and self.bapp.listing_pending is None:
            self.table.follow_top = False  # every first listing is in: the cursor keeps its batch
        session = self.bapp.session
        flagged = session.flagged_per_provider() if session is not None else None
        self.query_one("#providers", ProviderList).sync(flagged)
        self.update_crumbs()

    def update_crumbs(self) -> None:
        self.query_one("#crumbs", CrumbBar).show(self.bapp.crumb_state())
        self.query_one("#summary", SummaryStrip).show()
        self._show_empty_words()

    def _show_empty_words(self) -> None:
        """An empty table while a first listing runs says ``listing…``: never a false "none"."""
        pending = self.bapp.listing_pending
        words = ""
        if self.table.row_count == 0 and pending is not None:
            if pending:
                words = f"listing… ({', '.join(pending)} still listing)"
            else:
                words = "listing… (asking the gateway for its providers)"
        if words == self._empty_words:
            return  # unchanged: nothing is written to the terminal
        self._empty_words = words
        self.query_one("#table-pane", Vertical).set_class(bool(words), "-empty")
        self.query_one("#table-empty", Static).update(words)

    # ---- actions -------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("cancel", "tag", "tag_all", "bulk_cancel") and self.bapp.read_only:
            return False  # hidden from the footer and blocked: a read-only console never cancels
        if action == "read_only":
            return self.bapp.read_only
        return True

    def action_read_only(self) -> None:
        from bifrost_tui.ui.screens.detail import read_only_refusal

        self.flash_bar.flash(read_only_refusal(self.bapp.read_only_words or "read-only"), "warning")

    def action_tag(self) -> None:
        key = self.table.cursor_key
        if key is None:
            return
        tagged = self.table.toggle_tag(key)
        self.table.move_cursor(self.table.cursor_row + 1)  # like htop: tag and move on
        self.flash_bar.flash(f"{len(self.table.tags)} tagged" if tagged else "untagged", timeout=3)

    def action_tag_all(self) -> None:
        """Tag every cancellable batch matching the current filter."""
        store = self.bapp.store
        keys = {k for k in store.view() if store.batches[k].cancellable}
        self.table.tags |= keys
        self.table.refresh_view(None)
        pending = self.bapp.listing_pending
        if pending is None:
            more = ""
        elif pending:
            names = ", ".join(pending)
            more = f"; {len(pending)} provider(s) still listing ({names}): more may match"
        else:
            more = "; the gateway's providers are not known yet: more may match"
        self.flash_bar.flash(
            f"{len(keys)} cancellable batch(es) tagged ({len(self.table.tags)} in all); "
            f"C cancels them{more}",
            timeout=5,
        )

    def action_bulk_cancel(self) -> None:
        self.bapp.request_bulk_cancel(sorted(self.table.tags))

    def action_escape(self) -> None:
        """Stop a running bulk cancel; else clear the filter (kept or being typed)."""
        field = self.query_one("#filter", Input)
        if self.bapp.bulk_running and not field.has_focus:
            self.bapp.stop_bulk()
            return
        if not self.bapp.store.text_filter and not field.display:
            return
        typing = field.has_focus
        self._clear_filter()
        if not typing:
            self.flash_bar.flash("filter cleared", timeout=3)

    def _clear_filter(self) -> None:
        field = self.query_one("#filter", Input)
        field.value = ""
        field.display = False
        self.bapp.store.set_view(text="")
        self.table.refresh_view(None)
        self.table.focus()
        self.update_crumbs()

    def action_open_detail(self) -> None:
        key = self.table.cursor_key
        if key is None:
            self.flash_bar.flash("no batch under the cursor", "warning")
            return
        self.bapp.open_detail(key)

    def action_copy_id(self) -> None:
        """``y``: the id under the cursor to the clipboard, through the terminal (OSC 52)."""
        key = self.table.cursor_key
        if key is None:
            self.flash_bar.flash("no batch under the cursor", "warning")
            return
        self.app.copy_to_clipboard(key[1])
        # The terminal never says whether it took it: say what it takes.
        self.flash_bar.flash(f"copied {key[1]} (needs OSC 52; in tmux: set-clipboard on)")

    def action_results(self) -> None:
        """``R``: the results screen of the ended batch under the cursor, else why not."""
        from bifrost_tui.ui.screens.results import open_results

        why = open_results(self, self.table.cursor_key)
        if why is not None:
            self.flash_bar.flash(f"{why}; nothing sent", "warning")

    def action_jump(self) -> None:
        from bifrost_tui.ui.screens.jump import JumpScreen

        bapp = self.bapp
        self.app.push_screen(JumpScreen(bapp.store, lambda: bapp.listing_pending), self.jump_to)

    def jump_to(self, key: Key | None) -> None:
        """Put the cursor on ``key``, first changing the view if it hides the batch."""
        if key is None or key not in self.bapp.store.batches:
            return
        changed = reveal(self.bapp.store, key)
        if changed:
            field = self.query_one("#filter", Input)
            field.value = self.bapp.store.text_filter
            field.display = False
            self.select_provider(self.bapp.store.provider_filter)
        self.table.refresh_view(None)
        self.table.move_cursor_to_key(key)
        self.table.focus()
        self.update_crumbs()
        where = f" ({'; '.join(changed)})" if changed else ""
        self.flash_bar.flash(f"jumped to {key[1]} on {key[0]}{where}")

    def action_cancel(self) -> None:
        key = self.table.cursor_key
        if key is None:
            self.flash_bar.flash("no batch under the cursor", "warning")
            return
        self.bapp.request_cancel(key)

    def action_filter(self) -> None:
        field = self.query_one("#filter", Input)
        field.display = True
        field.value = self.bapp.store.text_filter
        field.focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        # Incremental: the view follows every keystroke, the cursor stays on its batch if visible.
        self.bapp.store.set_view(text=event.value)
        self.table.refresh_view(None)
        self.update_crumbs()

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        event.input.display = False
        self.table.focus()

    def on_key(self, event: events.Key) -> None:
        if event.key == "escape" and self.query_one("#filter", Input).has_focus:
            self._clear_filter()
            event.stop()

    def action_sort(self) -> None:
        store = self.bapp.store
        index = SORT_CYCLE.index(store.sort_key)
        store.set_view(sort_key=SORT_CYCLE[(index + 1) % len(SORT_CYCLE)])
        self.table.refresh_view(None)
        self.flash_bar.flash(f"sorted by {store.sort_key.value}", timeout=3)

    def action_reverse(self) -> None:
        store = self.bapp.store
        store.set_view(sort_reverse=not store.sort_reverse)
        self.table.refresh_view(None)

    def action_hide_ended(self) -> None:
        store = self.bapp.store
        store.set_view(hide_ended=not store.hide_ended)
        self.table.refresh_view(None)
        self.update_crumbs()
        self.flash_bar.flash("ended batches hidden" if store.hide_ended else "showing all batches")

    def action_provider(self, step: int) -> None:
        store = self.bapp.store
        names = [None, *[n for n, s in store.providers.items() if s.info.batch_capable]]
        index = names.index(store.provider_filter) if store.provider_filter in names else 0
        self.select_provider(names[(index + step) % len(names)])

    def select_provider(self, name: str | None) -> None:
        self.bapp.store.set_view(provider=name)
        self.table.refresh_view(None)
        providers = self.query_one("#providers", ProviderList)
        option_id = name or ALL_ID
        for index, option in enumerate(providers.options):
            if option.id == option_id:
                providers.highlighted = index
        self.update_crumbs()

    @on(OptionList.OptionSelected, "#providers")
    def _provider_selected(self, event: OptionList.OptionSelected) -> None:
        option_id = event.option.id
        self.select_provider(None if option_id == ALL_ID else option_id)
        self.table.focus()

    @on(BatchTable.Selected)
    def _open_detail(self, event: BatchTable.Selected) -> None:
        self.bapp.open_detail(event.key)
