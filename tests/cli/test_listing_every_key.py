"""Every batch of every key: `batches list` and the console list each batch key's batches through
the passthrough prefix, pinned, to the end; and fall back to the batch routes, saying why."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from bifrost_tui.clock import ManualClock
from bifrost_tui.sim import SimWorld
from bifrost_tui.sim.model import standard_providers
from tests.support.clocks import T0

#: Two batch keys on anthropic and on openai, each its own account of 1,100 batches.
PER_KEY = 1100


def two_key_world(clock: ManualClock) -> SimWorld:
    providers = [
        c
        for c in standard_providers(groq=False, keys_per_provider=2)
        if c.name in ("anthropic", "openai")
    ]
    return SimWorld.demo(
        clock, seed=11, arrival_interval=None, providers=providers, batches_per_provider=PER_KEY
    )


@pytest.fixture
def world(clock: ManualClock) -> SimWorld:
    return two_key_world(clock)


@pytest.fixture
def cli_env(tmp_path, monkeypatch) -> Iterator[None]:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    yield


def key_names(world: SimWorld, provider: str) -> list[str]:
    return [k.name for k in world.providers[provider].keys or [] if k.use_for_batch_api]


def test_batches_list_lists_every_key_through_the_passthrough_prefix(
    world, sim_url, run_cli, cli_env
) -> None:
    code, out, err = run_cli("batches", "list", "--url", sim_url, "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert len(doc["batches"]) == 2 * 2 * PER_KEY
    assert len({(b["provider"], b["id"]) for b in doc["batches"]}) == 4 * PER_KEY
    for provider in doc["providers"]:
        assert provider["listing"] == "complete", provider
        assert provider["via"].startswith("passthrough, keys "), provider
        for name in key_names(world, provider["name"]):
            assert name in provider["via"]
    # Each batch names the key that listed it (its name, never a value).
    listed_by = {tuple(b["listed_by"]) for b in doc["batches"]}
    assert listed_by == {(n,) for p in ("anthropic", "openai") for n in key_names(world, p)}
    # Every passthrough request was pinned to one key.
    passthrough = [r for r in world.request_log if r.op == "passthrough_list"]
    assert passthrough and all(
        r.key_id and "x-bf-api-key-id" in r.header_names for r in passthrough
    )


def test_passthrough_refused_falls_back_to_the_batch_routes_and_says_partial(
    world, sim_url, run_cli, cli_env
) -> None:
    world.faults.refuse_passthrough = 404  # an older gateway without the prefixes
    code, out, err = run_cli("batches", "list", "--url", sim_url, "--json")
    assert code == 4, err
    providers = {p["name"]: p for p in json.loads(out)["providers"]}
    for name in ("anthropic", "openai"):
        assert providers[name]["via"] == "batch routes: passthrough refused (404)"
    # What the batch routes give, said honestly: anthropic stops at 1,000 (partial, and why);
    # openai's OpenAI-format cursor reaches the second key.
    assert providers["anthropic"]["listing"] == "partial"
    assert "at most 1000 anthropic batches" in providers["anthropic"]["missing"]
    assert providers["openai"]["listing"] == "complete"
    assert len(json.loads(out)["batches"]) == 1000 + 2 * PER_KEY


def test_keys_call_refused_falls_back_to_the_batch_routes_and_says_why(
    world, sim_url, run_cli, cli_env
) -> None:
    for name in ("anthropic", "openai"):
        world.faults.fail_next(403, "{}", path=f"/api/providers/{name}/keys", times=10)
    code, out, err = run_cli("batches", "list", "--url", sim_url, "--json")
    assert code == 4, err
    providers = {p["name"]: p for p in json.loads(out)["providers"]}
    for name in ("anthropic", "openai"):
        assert providers[name]["via"] == "batch routes: no management access to the keys"
    assert providers["anthropic"]["listing"] == "partial"


def test_the_profile_can_turn_the_passthrough_road_off(
    world, sim_url, run_cli, cli_env, tmp_path
) -> None:
    (tmp_path / "config" / "bifrost-tui").mkdir(parents=True)
    (tmp_path / "config" / "bifrost-tui" / "profiles.toml").write_text(
        f'[profiles.sim]\nurl = "{sim_url}"\nlisting = "batch-routes"\n'
    )
    code, out, err = run_cli("batches", "list", "--profile", "sim", "--json")
    assert code == 4, err
    providers = {p["name"]: p for p in json.loads(out)["providers"]}
    assert providers["anthropic"]["via"] == "batch routes: turned off by the profile"
    assert not [r for r in world.request_log if r.op and r.op.startswith("passthrough")]


async def test_the_console_shows_every_key_and_rereads_a_batch_through_its_own_key() -> None:
    from bifrost_tui.config.connection import DEMO_URL, Connection
    from bifrost_tui.config.resolve import ResolvedConnection
    from bifrost_tui.gateway.client import ClientConfig
    from bifrost_tui.sim import SimTransport
    from bifrost_tui.ui.app import BifrostApp
    from bifrost_tui.ui.widgets.providers import provider_prompt
    from tests.support.clocks import no_sleep

    clock = ManualClock(T0)
    world = two_key_world(clock)
    connection = Connection(
        settings=ResolvedConnection(profile="sim", base_url=DEMO_URL),
        client_config=ClientConfig(base_url=DEMO_URL, retries=0),
        clock=clock,
        transport=SimTransport(world, sleep=no_sleep),
        world=world,
    )
    app = BifrostApp(connection, clock=clock, live_updates=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await app.do_poll(deep=True)
        await pilot.pause()
        store = app.store
        assert len(store.batches) == 4 * PER_KEY  # the same count as `batches list`
        for name in ("anthropic", "openai"):
            prompt = provider_prompt(store.providers[name]).plain
            assert "passthrough, keys" in prompt and "✓" in prompt, prompt
        # Light polls re-read the active batches the first pages missed: each one through the
        # passthrough prefix, pinned to the key that listed it (the second key's to the second).
        keys = {k.name: k.id for k in world.providers["anthropic"].keys or []}
        second = "anthropic-batch-2"
        world.clear_request_log()
        by_id = {k[1]: store.batches[k].listed_by for k in store.batches if k[0] == "anthropic"}
        rotation = -(-len(list(store.active_keys())) // 20)  # polls to re-read every one once
        for _ in range(rotation):
            clock.advance(5)
            await app.do_poll(deep=False)
        rereads = [r for r in world.request_log if r.op == "passthrough_retrieve"]
        rereads = [r for r in rereads if r.path.rsplit("/", 1)[1] in by_id]
        pinned = [(by_id[r.path.rsplit("/", 1)[1]], r.key_id) for r in rereads]
        assert any(names == (second,) for names, _ in pinned)
        assert all(key_id == keys[names[0]] for names, key_id in pinned)
