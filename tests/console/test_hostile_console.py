"""Hostile gateway text in the console: markup, ANSI/OSC escapes, C1 and other controls, bidi
overrides and 10,000-character ids are shown literally (or as visible escapes), are never
interpreted, never crash a screen, and never reach the operator's terminal as escape sequences.

Every check reads what the compositor would paint (``screen_segments_text``): that is exactly the
text Textual writes to the terminal between its own style codes.
"""

from __future__ import annotations

import json

from bifrost_tui.gateway.models import State
from bifrost_tui.gateway.outcomes import ListingStatus
from bifrost_tui.sim import ProviderConfig
from bifrost_tui.textsafe import safe_text
from bifrost_tui.ui.screens.confirm import ConfirmScreen
from bifrost_tui.ui.screens.detail import DetailScreen
from bifrost_tui.ui.widgets.batch_table.table import BatchTable
from bifrost_tui.ui.widgets.flash import FlashBar
from tests.support.reliability import dangerous_in, rig, screen_segments_text
from tests.support.ui_fixtures import first_with, main_screen

LIST = "/anthropic/v1/messages/batches"

#: One of each kind of hostile text a gateway (or something in front of it) could send.
HOSTILE = {
    "markup": "[bold]x[/]",
    "click": "[@click=app.quit]quit[/]",
    "link": "[link=https://evil.example]x[/link]",
    "close": "[/]",
    "csi": "\x1b[31mred\x1b[0m",
    "clear": "\x1b[2J\x1b[H",
    "osc52": "\x1b]52;c;ZXZpbA==\x07",
    "osc8": "\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\",
    "c1": "\x9b31m\x9d0;title\x9c",
    "controls": "a\x07b\x08c\rd\x00e\x7f",
    "bidi": "abc\u202etxt.exe\u2066x\u2069",
    "separators": "one\u2028two\u2029three",
    "newline": "line1\nline2",
}
LONG_ID = "L" * 10_000


def hostile_item(key: str, value: str, n: int) -> dict:
    return {
        "id": f"msgbatch_{key}_{value}",
        "type": "message_batch",
        # An unknown status word carries the same text: shown raw, never interpreted.
        "processing_status": value if n % 2 else "in_progress",
        # Every third one has counts that make no sense: negative, absurd, not numbers.
        "request_counts": (
            {"processing": -5, "succeeded": 10**30, "errored": "many", "canceled": 1.5}
            if n % 3 == 0
            else {"processing": 1, "succeeded": 2, "errored": 0, "canceled": 0, "expired": 0}
        ),
        "created_at": "2026-11-28T11:00:00Z" if n % 4 else "28/11/2026 11h",
        "expires_at": value,  # an odd timestamp: unknown, not a crash
        "ended_at": None,
        "cancel_initiated_at": None,
        "archived_at": None,
        "results_url": value,
        value[:40]: value,  # unknown field names end up in the raw JSON of the detail screen
    }


def hostile_page() -> bytes:
    items = [hostile_item(k, v, n) for n, (k, v) in enumerate(HOSTILE.items())]
    items.append({**hostile_item("long", "x", 0), "id": LONG_ID})
    return json.dumps({"data": items, "has_more": False}).encode()


def assert_safe(app, where: str) -> str:
    painted = screen_segments_text(app)
    found = dangerous_in(painted)
    assert not found, f"{where}: {found}"
    assert app.is_running, where
    return painted


async def test_hostile_batches_are_shown_literally_on_every_screen():
    r, _ = rig()
    r.world.faults.refuse_passthrough = 404  # the batch routes list: their answer is scripted
    r.world.faults.fail_next(
        200, hostile_page(), method="GET", path=LIST, provider="anthropic", times=1000
    )
    async with r.app.run_test(size=(200, 50)) as pilot:
        app = r.app
        await app.do_poll(deep=True)
        await pilot.pause()
        ids = {k[1] for k in app.store.batches if k[0] == "anthropic"}
        assert {f"msgbatch_{k}_{v}" for k, v in HOSTILE.items()} | {LONG_ID} <= ids
        painted = assert_safe(app, "main screen")
        assert "[@click=app.quit]quit[/]" in painted and "[link=https://evil.example]x" in painted
        assert "\\x1b[2J\\x1b[H" in painted  # the escape is visible, not executed

        table = main_screen(app).query_one(BatchTable)
        table.move_cursor_to_key(("anthropic", LONG_ID))  # capped in the table
        await pilot.pause()
        assert_safe(app, "long id row")
        await pilot.press("enter")
        await pilot.pause()
        detail = app.screen
        assert isinstance(detail, DetailScreen)
        assert_safe(app, "long id detail")  # whole (wrapped) in the detail
        # One detail screen, shown in turn for every hostile batch (each one really painted).
        for key, value in HOSTILE.items():
            detail.key = ("anthropic", f"msgbatch_{key}_{value}")
            detail.update_batch()
            await pilot.pause()
            shown = assert_safe(app, f"detail of {key}")
            assert safe_text(f"msgbatch_{key}_{value}") in shown, key  # literally, escapes seen
        await pilot.press("escape")
        await pilot.pause()

        # The confirmation dialog of a hostile batch (still cancellable: in_progress).
        table.move_cursor_to_key(("anthropic", f"msgbatch_osc52_{HOSTILE['osc52']}"))
        await pilot.press("c")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        assert "\\x1b]52;c;ZXZpbA==\\x07" in assert_safe(app, "confirm dialog")
        await pilot.press("n")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.is_running


async def test_hostile_provider_names_version_health_and_errors_never_reach_the_terminal():
    r, _ = rig()
    markup_name = "[@click=app.quit]corp[/]"
    control_name = "corp\x1b]52;c;ZXZpbA==\x07"
    r.world.add_provider(ProviderConfig(markup_name, kind="openai"))
    r.world.add_provider(ProviderConfig(control_name, kind="openai"))
    r.world.version = "v1\x1b]8;;https://evil.example\x07[link=https://evil.example]x[/link]"
    r.world.faults.fail_next(
        200, json.dumps({"status": "ok\x1b[2J\u202e"}).encode(), method="GET", path="/health"
    )
    async with r.app.run_test(size=(200, 50)) as pilot:
        app = r.app
        await app.do_poll(deep=True)
        await pilot.pause()
        store = app.store
        assert markup_name in store.providers and control_name in store.providers
        # A name that cannot be a header is refused before sending, in words.
        control = store.providers[control_name]
        assert control.error is not None and "control characters" in control.error.message
        assert store.providers[markup_name].listing is ListingStatus.COMPLETE
        painted = assert_safe(app, "providers, version and health")
        assert "[@click=app.quit]corp[/]" in painted
        # Every refresh fails with a message full of escapes: the STALE badge shows words only.
        message = "upstream \x1b[31mexploded\x1b[0m \u202eevil\x9b2J [link=https://x]y[/link]"
        body = json.dumps({"type": "error", "error": {"type": "api_error", "message": message}})
        r.world.faults.fail_next(500, body.encode(), method="GET", path=LIST, times=100)
        r.clock.advance(5)
        await app.do_poll(deep=False)
        await pilot.pause()
        painted = assert_safe(app, "stale crumb")
        assert "STALE" in painted and "exploded" in painted
        r.world.faults.scripted.clear()


async def test_a_hostile_refusal_message_in_the_flash_and_the_toast_is_escaped():
    r, _ = rig()
    async with r.app.run_test(size=(160, 40)) as pilot:
        app = r.app
        await app.do_poll(deep=True)
        target = first_with(app, lambda b: b.provider == "openai" and b.cancellable)
        message = "no \x1b]52;c;ZXZpbA==\x07 [@click=app.quit]way[/] \u202eevil"
        body = json.dumps(
            {"type": "error", "error": {"type": "conflict_error", "message": message}}
        )
        r.world.faults.fail_next(409, body.encode(), method="POST", path="/cancel")
        main_screen(app).query_one(BatchTable).move_cursor_to_key(target.key)
        await pilot.press("c", "y")
        await app.workers.wait_for_complete()
        await pilot.pause()
        flash = main_screen(app).query_one("#flash", FlashBar).message
        assert "cancel refused" in flash and "[@click=app.quit]way[/]" in flash
        assert not dangerous_in(flash)
        assert_safe(app, "flash")
        assert app.store.batches[target.key].state is State.ACTIVE
        # A watched batch with a hostile id ends: the toast shows it literally.
        evil = r.world.add_batch(
            "anthropic", id="[@click=app.quit]t\x1b[2J\u202e", status="in_progress", total=3
        )
        await app.do_poll(deep=True)
        await app.do_cancel(("anthropic", evil.id))
        r.clock.advance(r.world.cancel_delay + 1)
        await app.do_watch(force=True)
        await pilot.pause()
        toast = [n.message for n in app._notifications if "ended" in n.message]
        assert toast and not dangerous_in(toast[-1])
        assert "[@click=app.quit]t" in toast[-1]
        assert_safe(app, "toast")
        # The audit screen lists both attempts, hostile id and message included, literally.
        await pilot.press("A")
        await app.workers.wait_for_complete()  # the audit screen reads the log in a thread
        await pilot.pause()
        painted = assert_safe(app, "audit screen")
        assert "[@click=app.quit]t\\x1b[2J" in painted and "refused" in painted
