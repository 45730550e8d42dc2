"""`batches list`: every `listing` value, and an exit code that is 0 only when every
batch-capable provider listed completely.

Against the simulated gateway on loopback, with faults on the management routes only (a failed
management call never skips a provider) or on one provider's batch routes.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bifrost_tui.cli import main
from bifrost_tui.clock import ManualClock
from bifrost_tui.gateway.ids import normalise_id
from bifrost_tui.sim import SimWorld
from bifrost_tui.sim.faults import proxy_error_body
from tests.support.clocks import T0

BATCH_KINDS = ("anthropic", "azure", "bedrock", "gemini", "openai")


@pytest.fixture
def sim_seed() -> int:
    return 31


@pytest.fixture
def url(sim_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return sim_url


def list_json(capsys: pytest.CaptureFixture[str], url: str, *extra: str) -> tuple[int, dict, str]:
    code = main(["batches", "list", "--url", url, "--json", *extra])
    out, err = capsys.readouterr()
    return code, json.loads(out), err


def listings(payload: dict) -> dict[str, dict]:
    return {p["name"]: p for p in payload["providers"]}


def fail_keys(world: SimWorld, *providers: str) -> None:
    for name in providers:
        world.faults.fail_next(500, proxy_error_body(500), path="/keys", provider=name, times=50)


def expected_ids(world: SimWorld) -> set[tuple[str, str]]:
    return {
        (b.provider, normalise_id(world.provider(b.provider).base, b.id))
        for b in world.all_batches()
        if b.provider != "groq"
    }


def test_failed_keys_calls_skip_no_provider(capsys, world, url):
    # Under `sim --error-rate 0.5` four keys calls failed: those providers were "skipped", a
    # quarter of the batches were listed and the exit code said 0.
    fail_keys(world, "anthropic", "azure", "bedrock", "gemini")
    code, payload, _ = list_json(capsys, url)
    by_name = listings(payload)
    for name in BATCH_KINDS:
        assert by_name[name]["listing"] == "complete", by_name[name]
    assert {(b["provider"], b["id"]) for b in payload["batches"]} == expected_ids(world)
    assert code == 0


def test_a_failed_provider_list_still_lists_every_batch_provider(capsys, world, url):
    world.faults.fail_next(500, proxy_error_body(500), path="/api/providers", times=200)
    code, payload, err = list_json(capsys, url)
    by_name = listings(payload)
    assert sorted(by_name) == sorted(BATCH_KINDS)
    assert all(p["listing"] == "complete" for p in payload["providers"])
    assert {(b["provider"], b["id"]) for b in payload["batches"]} == expected_ids(world)
    assert code == 0
    # The human form says why the list is the standard one.
    main(["batches", "list", "--url", url])
    _, err = capsys.readouterr()
    assert "could not read the provider list" in err


def test_a_provider_that_did_not_answer_is_an_error_and_exits_4(capsys, world, url):
    fail_keys(world, "azure")
    world.faults.fail_next(503, proxy_error_body(503), path="/batches", provider="azure", times=50)
    code, payload, _ = list_json(capsys, url)
    by_name = listings(payload)
    assert by_name["azure"]["listing"] == "error" and "HTTP 503" in by_name["azure"]["error"]
    assert all(by_name[n]["listing"] == "complete" for n in BATCH_KINDS if n != "azure")
    assert code == 4


def test_unsupported_never_changes_the_exit_code(capsys, url):
    code, payload, err = list_json(capsys, url)
    groq = listings(payload)["groq"]
    assert groq["listing"] == "unsupported" and groq["reason"] and groq["error"] is None
    assert code == 0
    main(["batches", "list", "--url", url])
    _, err = capsys.readouterr()
    assert "groq: listing unsupported:" in err


def test_a_provider_named_with_provider_that_is_unsupported_exits_1(capsys, url):
    code, payload, _ = list_json(capsys, url, "--provider", "openai", "--provider", "groq")
    by_name = listings(payload)
    assert by_name["openai"]["listing"] == "complete"
    assert by_name["groq"]["listing"] == "unsupported"
    # The management API, read beside the named providers, says so before any listing can.
    assert by_name["groq"]["reason"] == "unsupported provider for batches"
    assert code == 1


def test_every_provider_unreachable_is_the_shared_cause_3(capsys, world, url):
    world.faults.refuse_next(path="/batches", times=500)
    code, payload, _ = list_json(capsys, url)
    assert all(p["listing"] == "error" for p in payload["providers"] if p["name"] in BATCH_KINDS)
    assert code == 3


def test_every_provider_refused_is_the_shared_cause_1(capsys, world, url):
    body = '{"type":"error","error":{"type":"api_error","message":"virtual key required"}}'
    world.faults.fail_next(401, body, path="/batches", times=500)
    code, _, _ = list_json(capsys, url)
    assert code == 1


def test_profiles_test_says_skip_for_a_provider_the_gateway_calls_unsupported(
    tmp_path, monkeypatch
):
    import argparse
    import io

    from bifrost_tui.cli.profiles import add_profile_commands, run_profiles
    from bifrost_tui.config import paths
    from bifrost_tui.config.store import ProfileStore
    from bifrost_tui.gateway.client import ClientConfig, GatewayClient
    from bifrost_tui.sim import SimTransport
    from bifrost_tui.sim.world import standard_providers

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.delenv(paths.CONFIG_DIR_ENV, raising=False)
    ProfileStore(paths.config_file({})).add("prod", {"url": "http://127.0.0.1:9"})
    configs = standard_providers(groq=False)
    for config in configs:
        if config.name == "gemini":
            for key in config.keys or []:
                key.use_for_batch_api = False
    world = SimWorld(ManualClock(T0), seed=3, providers=configs)
    fail_keys(world, "gemini")  # so only the batch route can say why gemini cannot list

    async def no_sleep(_: float) -> None:
        return None

    def factory(config: ClientConfig) -> GatewayClient:
        return GatewayClient(config, transport=SimTransport(world, sleep=no_sleep), sleep=no_sleep)

    parser = argparse.ArgumentParser()
    add_profile_commands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["profiles", "test", "prod"])
    out, err = io.StringIO(), io.StringIO()
    code = run_profiles(args, env={}, stdout=out, stderr=err, client_factory=factory)
    gemini = next(x for x in out.getvalue().splitlines() if " list gemini " in x + " ")
    assert gemini.lstrip().startswith("SKIP") and "no batch-enabled keys found" in gemini
    assert code == 0, out.getvalue()
