"""Two batch keys on one provider: the OpenAI-format list ends the first key's batches with
``has_more`` and a key cursor ("another key remains", ``{"v":1,"i":1,"c":""}``). Sent back for
anthropic it comes back unchanged forever. The listing recognises it, never follows a cursor that
comes back unchanged or cannot be decoded, and names the real reason.

Against the simulated gateway: in process (SimTransport) and, for the CLI, on loopback.
"""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bifrost_tui.cli import main
from bifrost_tui.clock import ManualClock
from bifrost_tui.gateway.client import ClientConfig, GatewayClient
from bifrost_tui.gateway.listing import SECOND_KEY_WORDS, decode_cursor, is_key_cursor
from bifrost_tui.gateway.outcomes import ListingStatus
from bifrost_tui.sim import KeyConfig, ProviderConfig, SimTransport, SimWorld
from bifrost_tui.sim.server import serve
from tests.support.clocks import T0, no_sleep

KEY_CURSOR = "eyJ2IjoxLCJpIjoxLCJjIjoiIn0="  # {"v":1,"i":1,"c":""}, as the gateway sent it
PER_KEY = 25


def two_key_world() -> SimWorld:
    providers = [
        ProviderConfig(name, keys=[KeyConfig(f"{name}-a", id="a"), KeyConfig(f"{name}-b", id="b")])
        for name in ("anthropic", "openai")
    ]
    world = SimWorld(ManualClock(T0), providers=providers)
    for name in ("anthropic", "openai"):
        for key_index in (0, 1):
            for i in range(PER_KEY):
                world.add_batch(
                    name,
                    key_index=key_index,
                    status="in_progress",
                    total=10,
                    created_at=T0 - timedelta(hours=key_index * 10, minutes=PER_KEY - i),
                )
    return world


def client_for(world: SimWorld) -> GatewayClient:
    return GatewayClient(
        ClientConfig(base_url="http://127.0.0.1:8080"),
        transport=SimTransport(world, sleep=no_sleep),
        sleep=no_sleep,
    )


def ids_of(world: SimWorld, provider: str, key_index: int) -> set[str]:
    return {b.id for b in world.batches(provider, key_index)}


def openai_lists(world: SimWorld) -> list[Any]:
    """The OpenAI-format list requests the gateway saw."""
    return [r for r in world.requests(op="batch_list") if r.path == "/openai/v1/batches"]


def openai_page(*ids: str, cursor: str | None) -> bytes:
    body: dict[str, Any] = {
        "object": "list",
        "data": [
            {"id": i, "object": "batch", "status": "in_progress", "created_at": 1795000000}
            for i in ids
        ],
    }
    if cursor is not None:
        body.update(has_more=True, next_cursor=cursor)
    return json.dumps(body).encode()


def test_the_recorded_key_cursor_decodes_as_another_key() -> None:
    assert decode_cursor(KEY_CURSOR) == (1, "")
    assert is_key_cursor(KEY_CURSOR)
    native = base64.urlsafe_b64encode(b'{"v":1,"i":0,"c":"batch_up0003"}').decode().rstrip("=")
    assert decode_cursor(native) == (0, "batch_up0003") and not is_key_cursor(native)
    for junk in ("", "c1", "bm90IGpzb24=", base64.b64encode(b'{"v":2,"i":1,"c":""}').decode()):
        assert decode_cursor(junk) is None


async def test_anthropic_says_the_second_key_cannot_be_listed_and_does_not_loop() -> None:
    world = two_key_world()
    async with client_for(world) as client:
        listing = await client.list_batches("anthropic")
    assert listing.status is ListingStatus.PARTIAL
    assert listing.missing == SECOND_KEY_WORDS
    assert "at most" not in (listing.missing or "")
    assert {b.id for b in listing.batches} == ids_of(world, "anthropic", 0)
    # The first page, then one deep page; the key cursor is never sent back.
    deep = openai_lists(world)
    assert len(deep) == 1 and "after=" not in deep[0].query


async def test_openai_follows_the_key_cursor_once_and_keeps_the_second_keys_batches() -> None:
    world = two_key_world()
    async with client_for(world) as client:
        listing = await client.list_batches("openai")
    assert listing.status is ListingStatus.COMPLETE, listing.missing
    both = ids_of(world, "openai", 0) | ids_of(world, "openai", 1)
    assert {b.id for b in listing.batches} == both
    followed = [r for r in openai_lists(world) if "after=" in r.query]
    assert len(followed) == 1


async def test_openai_stops_when_the_key_cursor_brings_nothing_new() -> None:
    world = two_key_world()
    first = sorted(ids_of(world, "openai", 0))
    # A gateway that answers the key cursor with the first key's page and the same cursor.
    world.faults.fail_next(200, openai_page(*first, cursor=KEY_CURSOR), path="/openai", times=2)
    async with client_for(world) as client:
        listing = await client.list_batches("openai")
    assert listing.status is ListingStatus.PARTIAL
    assert listing.missing == SECOND_KEY_WORDS
    assert {b.id for b in listing.batches} == set(first)
    assert len(openai_lists(world)) == 2


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
async def test_a_key_cursor_that_comes_back_unchanged_is_not_followed_again(provider: str) -> None:
    world = two_key_world()
    pages = [openai_page("b_1", cursor=KEY_CURSOR), openai_page("b_2", cursor=KEY_CURSOR)]
    for body in pages:
        world.faults.fail_next(200, body, path="/openai", provider=provider)
    async with client_for(world) as client:
        listing = await client.list_batches(provider)
    assert listing.status is ListingStatus.PARTIAL
    assert listing.missing == SECOND_KEY_WORDS
    assert len(openai_lists(world)) <= 2


async def test_a_cursor_that_cannot_be_decoded_is_never_followed() -> None:
    world = two_key_world()
    world.faults.fail_next(200, openai_page("batch_x", cursor="not-a-cursor"), path="/openai")
    async with client_for(world) as client:
        listing = await client.list_batches("openai")
    assert listing.status is ListingStatus.PARTIAL
    assert "cursor could not be read" in (listing.missing or "")
    assert len(openai_lists(world)) == 1


def test_batches_list_names_the_second_key_not_a_1000_batch_cap(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    world = two_key_world()
    world.faults.refuse_passthrough = 404  # the batch routes only, as on an older gateway
    server = serve(world)
    try:
        main(["batches", "list", "--url", server.url])
        text_out, text_err = capsys.readouterr()
        main(["batches", "list", "--url", server.url, "--json"])
        out, _ = capsys.readouterr()
    finally:
        server.stop()
    assert "at most 1000" not in text_out + text_err
    assert SECOND_KEY_WORDS in text_out + text_err
    by_name = {p["name"]: p for p in json.loads(out)["providers"]}
    assert by_name["openai"]["listing"] == "complete"
    assert by_name["anthropic"]["listing"] == "partial"
    assert SECOND_KEY_WORDS in json.dumps(by_name["anthropic"])
