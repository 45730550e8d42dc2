"""Staleness per provider: one failing provider marks its own rows, not the whole console.

Also the crumb bar: the age of the data in 5 s steps, the poll marker, and its priorities.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bifrost_tui.core.freshness import freshness as fresh_of
from bifrost_tui.core.store import BatchStore
from bifrost_tui.gateway.models import ProviderInfo
from bifrost_tui.sim.faults import Faults
from bifrost_tui.ui.screens.detail import DetailScreen
from bifrost_tui.ui.widgets.crumbs import (
    CrumbBar,
    CrumbState,
    age_words,
    clock_badge,
    render_crumbs,
)
from bifrost_tui.ui.widgets.providers import ProviderList, provider_prompt
from tests.support.ui_fixtures import first_with, main_screen, make_rig

#: What a real v1.5.1 gateway answers when the virtual key does not allow a provider.
NOT_ALLOWED = (
    '{"type":"error","error":{"type":"api_error",'
    '"message":"Provider \'openai\' is not allowed for this virtual key"}}'
)


def crumbs(app, width: int | None = None) -> str:
    return render_crumbs(app.crumb_state(), width).plain


def table_lines(app) -> list[str]:
    table = main_screen(app).table
    return [table.render_line(y).text for y in range(1, min(table.row_count, 10) + 1)]


def prompt(app, provider: str) -> str:
    providers = main_screen(app).query_one("#providers", ProviderList)
    return providers.get_option(provider).prompt.plain  # type: ignore[union-attr]


async def test_a_503_on_azure_marks_azure_stale_and_keeps_the_rest_fresh():
    r = make_rig()
    async with r.app.run_test(size=(140, 40)) as pilot:
        app = r.app
        await app.do_poll(deep=True)
        await pilot.pause()
        r.world.provider("azure").faults = Faults(error_rate=1.0, error_statuses=(503,))
        r.clock.advance(5)
        await app.do_poll(deep=False)
        await pilot.pause()
        line = crumbs(app)
        assert app.crumb_state().stale is None  # not the all-or-nothing STALE badge
        assert "4/5 providers fresh" in line and "stale: azure" in line, line
        assert "refreshed just now" in line  # the others' refresh time is kept
        assert "v1.5.1-sim" in line  # the version stays
        assert "STALE since 12:00:05 UTC" in prompt(app, "azure")
        assert "STALE" not in prompt(app, "openai")
        # The azure rows say so in words (NO_COLOR reads the same); the others do not.
        main_screen(app).select_provider("azure")
        await pilot.pause()
        rows = table_lines(app)
        assert rows and all("azure STALE" in row for row in rows), rows
        main_screen(app).select_provider("openai")
        await pilot.pause()
        assert not any("STALE" in row for row in table_lines(app))
        # The detail screen of an azure batch: stale since when, and why.
        main_screen(app).select_provider(None)
        batch = first_with(app, lambda b: b.provider == "azure")
        app.open_detail(batch.key)
        await pilot.pause()
        assert isinstance(app.screen, DetailScreen)
        detail = str(app.screen.query_one("#detail").render())
        assert "stale since 12:00:05 UTC (server error" in detail
        await pilot.press("escape")
        # Still failing five seconds later: "since" stays the first failure.
        r.clock.advance(5)
        await app.do_poll(deep=False)
        await pilot.pause()
        assert "STALE since 12:00:05 UTC" in prompt(app, "azure")
        # Azure recovers: nothing says stale any more.
        r.world.provider("azure").faults = None
        r.clock.advance(5)
        await app.do_poll(deep=False)
        await pilot.pause()
        assert "providers fresh" not in crumbs(app) and "STALE" not in crumbs(app)
        assert "STALE" not in prompt(app, "azure")
        main_screen(app).select_provider("azure")
        await pilot.pause()
        assert not any("STALE" in row for row in table_lines(app))


async def test_a_virtual_key_refused_for_openai_only_marks_openai_stale_with_the_gateways_words():
    r = make_rig()
    async with r.app.run_test(size=(140, 40)) as pilot:
        app = r.app
        await app.do_poll(deep=True)
        await pilot.pause()
        faults = Faults()
        faults.fail_next(
            403,
            NOT_ALLOWED,
            {"content-type": "application/json"},
            path="/batches",
            times=1_000,
        )
        r.world.provider("openai").faults = faults
        r.clock.advance(5)
        await app.do_poll(deep=False)
        await pilot.pause()
        line = crumbs(app)
        assert "4/5 providers fresh" in line and "stale: openai (auth refused)" in line, line
        assert "Provider 'openai' is not allowed for this virtual key" in prompt(app, "openai")
        assert "STALE since 12:00:05 UTC" in prompt(app, "openai")
        assert "STALE" not in prompt(app, "anthropic")


async def test_the_whole_gateway_down_is_still_one_stale_badge_with_the_error():
    r = make_rig()
    async with r.app.run_test(size=(140, 40)) as pilot:
        app = r.app
        await app.do_poll(deep=True)
        r.world.faults.down = True
        r.clock.advance(65)
        await app.do_poll(deep=False)
        await pilot.pause()
        line = crumbs(app)
        assert " STALE " in line and "gateway unreachable" in line
        assert "refreshed 1m ago" in line and "providers fresh" not in line


async def test_the_age_moves_in_5s_steps_and_an_unchanged_crumb_is_not_repainted():
    r = make_rig()
    async with r.app.run_test(size=(140, 40)) as pilot:
        app = r.app
        await app.do_poll(deep=True)
        await pilot.pause()
        state = app.crumb_state()
        r.clock.advance(9)
        assert app.crumb_state() == state  # same words: the bar writes nothing
        r.clock.advance(3)
        assert "refreshed 10s ago" in crumbs(app)
        r.clock.advance(4)
        assert "refreshed 15s ago" in crumbs(app)  # then 5 s steps
        r.clock.advance(44)
        assert "refreshed 1m ago" in crumbs(app)
        r.clock.advance(50)
        assert "refreshed 1m ago" in crumbs(app)  # minutes after the first one
        # A healthy poll every 5 s leaves the crumb as it was: no repaint when nothing changes.
        await app.do_poll(deep=False)
        settled = app.crumb_state()
        for _ in range(3):
            r.clock.advance(4)
            await app.do_poll(deep=False)
            assert app.crumb_state() == settled


async def test_a_quick_poll_paints_no_marker():
    r = make_rig()
    async with r.app.run_test(size=(140, 40)) as pilot:
        app = r.app
        await app.do_poll(deep=True)
        await pilot.pause()
        before = crumbs(app)
        bar = main_screen(app).query_one("#crumbs", CrumbBar)
        painted: list[bool] = []
        show = bar.show

        def recording_show(state: CrumbState) -> None:
            painted.append(state.polling)
            show(state)

        bar.show = recording_show  # type: ignore[method-assign]  # a spy on the one paint path
        app.run_poll(deep=False)  # answered at once: done long before POLL_MARKER_DELAY
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert True not in painted  # the marker was never painted, not even briefly
        assert crumbs(app) == before


async def test_a_running_poll_shows_a_static_marker_until_it_ends():
    gate = asyncio.Event()

    async def held(_seconds: float) -> None:
        await gate.wait()

    r = make_rig(sleep=held)
    r.app.POLL_MARKER_DELAY = 0.001  # the marker waits this long: a quick poll paints nothing
    async with r.app.run_test(size=(140, 40)) as pilot:
        app = r.app
        await app.do_poll(deep=True)
        await pilot.pause()
        assert "polling…" not in crumbs(app)
        r.world.faults.latency = 1.0  # every answer waits for the gate
        app.run_poll(deep=False)
        await pilot.pause(0.05)  # past POLL_MARKER_DELAY, the poll still held by the gate
        assert "polling…" in crumbs(app)
        gate.set()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "polling…" not in crumbs(app)


def test_age_and_skew_words():
    assert [age_words(s) for s in (0, 4.9, 9.9, 10, 59, 60, 3599, 3600, 90_000)] == [
        "just now",
        "just now",
        "just now",  # a poll every 5 s keeps a healthy console here: no repaint per poll
        "10s ago",
        "55s ago",
        "1m ago",
        "59m ago",
        "1h 0m ago",
        "1d 1h ago",
    ]
    # The skew is the gateway's clock minus ours: ahead reads as ours being behind.
    assert clock_badge(timedelta(minutes=19)) == "clock −19m"
    assert clock_badge(timedelta(minutes=-5)) == "clock +5m"
    assert clock_badge(timedelta(seconds=59)) is None
    assert clock_badge(None) is None


def test_crumb_priorities_cut_the_url_first_and_keep_ro_freshness_skew_and_age():
    state = CrumbState(
        profile="prod-eu",
        url="https://gw.example.com/bifrost",
        health="ok",
        version="v1.5.1",
        read_only=True,
        refreshed="5s ago",
        fresh=("anthropic", "openai"),
        stale_providers=("azure (server error)",),
        clock="clock −19m",
    )
    wide = render_crumbs(state, 200).plain
    assert wide.startswith("prod-eu https://gw.example.com/bifrost  health ok v1.5.1")
    assert "2/3 providers fresh" in wide and "stale: azure (server error)" in wide
    for width in (120, 100, 80, 60):
        line = render_crumbs(state, width).plain
        assert len(line) <= width, line
        assert "RO" in line and "2/3" in line and "clock −19m" in line and "5s ago" in line, line
    assert "https://" not in render_crumbs(state, 80).plain  # the URL is cut first
    assert "v1.5.1" in render_crumbs(state, 120).plain
    assert "stale: azure" in render_crumbs(state, 120).plain
    narrow = render_crumbs(state, 40).plain
    assert "RO" in narrow and "2/3" in narrow and len(narrow) <= 40


async def test_the_crumb_repaints_only_from_where_it_changed():
    r = make_rig()
    async with r.app.run_test(size=(140, 40)) as pilot:
        app = r.app
        await app.do_poll(deep=True)
        await pilot.pause()
        bar = main_screen(app).query_one("#crumbs")
        before = render_crumbs(app.crumb_state(), bar.content_size.width).plain
        bar._repaint_regions.clear()
        r.clock.advance(10)
        app.update_crumbs()
        after = render_crumbs(app.crumb_state(), bar.content_size.width).plain
        start = before.index("just now")
        assert after[:start] == before[:start] and after[start:].startswith("10s ago")
        regions = list(bar._repaint_regions)
        assert regions and all(region.x >= start for region in regions), regions


def test_a_provider_on_its_first_listing_is_listing_neither_fresh_nor_stale():
    store = BatchStore()
    store.set_providers([ProviderInfo(name="openai", kind="openai", batch_capable=True)])
    freshness = fresh_of(store)
    assert freshness.listing == ("openai",) and not freshness.fresh and not freshness.stale
    assert "listing…" in provider_prompt(store.providers["openai"]).plain
    state = CrumbState(profile="p", url="u", listing=("openai",))
    assert "0/1 providers fresh" in render_crumbs(state).plain
    assert "1 listing…" in render_crumbs(state).plain
