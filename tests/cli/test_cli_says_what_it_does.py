"""The command line says what it does: `batches show ID` finds the provider from the id's shape,
prompts accept exactly what they ask for, a re-run on canceling batches says `skipped (already
canceling)`, a local refusal is never "no batches", and `--confirm typed` says what is typed.

Every test runs the command in process against the simulator served on loopback."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from bifrost_tui.cli.parser import build_parser
from bifrost_tui.sim import SimWorld
from bifrost_tui.sim.model import ProviderConfig


@pytest.fixture
def sim_seed() -> int:
    return 23


@pytest.fixture(autouse=True)
def _private_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The audit log lands in this test's folder, and no profile of the real user's is read."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


def first_active(world: SimWorld, provider: str) -> str:
    return next(
        b.id
        for b in world.batches(provider)
        if b.phase.value in ("running", "queued", "finalizing")
    )


def retrieves(world: SimWorld) -> list[str]:
    return sorted(r.provider or "" for r in world.requests(op="batch_retrieve"))


# ------------------------------------------------------------- show without --provider


@pytest.mark.parametrize("provider", ["anthropic", "openai", "azure", "bedrock", "gemini"])
def test_show_without_provider_finds_the_batch_from_its_id_shape(run_cli, world, sim_url, provider):
    batch_id = next(b.id for b in world.batches(provider))
    code, out, err = run_cli("batches", "show", batch_id, "--url", sim_url, "--json")
    assert code == 0, err
    shown = json.loads(out)["batch"]
    assert shown["provider"] == provider
    # Only the providers whose kind fits the shape were asked.
    expected = {"openai": {"openai", "azure"}, "azure": {"openai", "azure"}}.get(
        provider, {provider}
    )
    assert set(retrieves(world)) == expected


def test_a_custom_provider_of_kind_openai_is_a_candidate_for_batch_ids(run_cli, world, sim_url):
    world.add_provider(ProviderConfig("openai-eu", kind="openai"))
    world.add_batch("openai-eu", id="batch_eu_only", status="in_progress", total=5, processing=5)
    code, out, err = run_cli("batches", "show", "batch_eu_only", "--url", sim_url)
    assert code == 0, err
    assert "openai-eu" in out and "batch_eu_only" in out
    assert set(retrieves(world)) == {"openai", "azure", "openai-eu"}


def test_an_id_on_several_providers_exits_2_naming_them(run_cli, world, sim_url):
    world.add_provider(ProviderConfig("openai-eu", kind="openai"))
    for provider in ("openai", "openai-eu"):
        world.add_batch(provider, id="batch_twice", status="in_progress", total=5, processing=5)
    code, out, err = run_cli("batches", "show", "batch_twice", "--url", sim_url)
    assert code == 2
    assert out == ""
    assert "on several providers (openai, openai-eu)" in err and "--provider" in err


def test_an_id_found_nowhere_exits_2_naming_the_providers_asked(run_cli, world, sim_url):
    code, out, err = run_cli("batches", "show", "msgbatch_01nowhere", "--url", sim_url, "--json")
    assert code == 2
    payload = json.loads(out)
    assert payload["error"]["providers"] == ["anthropic"]
    assert "not found on anthropic" in err


def test_an_id_of_no_known_shape_asks_every_batch_provider(run_cli, world, sim_url):
    code, _, err = run_cli("batches", "show", "job-42", "--url", sim_url)
    assert code == 2
    assert "not found on anthropic, azure, bedrock, gemini, openai" in err
    assert set(retrieves(world)) == {"anthropic", "azure", "bedrock", "gemini", "openai"}


def test_with_provider_only_that_provider_is_asked(run_cli, world, sim_url):
    batch_id = next(b.id for b in world.batches("azure"))
    code, out, _ = run_cli("batches", "show", batch_id, "--provider", "azure", "--url", sim_url)
    assert code == 0 and "azure" in out
    assert retrieves(world) == ["azure"]


def test_cancel_still_requires_a_provider(run_cli, world, sim_url):
    batch_id = first_active(world, "anthropic")
    code, _, err = run_cli("batches", "cancel", batch_id, "--yes", "--url", sim_url)
    assert code == 2
    assert "--provider" in err
    assert world.requests(op="batch_cancel") == []


# --------------------------------------------------------------------------- prompts


def answering(prompts: list[str], answer: str) -> Callable[[str], str]:
    """An ``input`` that notes each prompt and gives ``answer``."""

    def ask(prompt: str) -> str:
        prompts.append(prompt)
        return answer

    return ask


@pytest.mark.parametrize(("answer", "sent"), [("y", False), ("Y", False), ("yes", True)])
def test_the_single_prompt_accepts_exactly_what_it_asks_for(
    run_cli, world, sim_url, monkeypatch, answer, sent
):
    batch_id = first_active(world, "openai")
    prompts: list[str] = []
    monkeypatch.setattr("bifrost_tui.cli.cancel._interactive", lambda: True)
    monkeypatch.setattr("builtins.input", answering(prompts, answer))
    code, out, _ = run_cli("batches", "cancel", batch_id, "--provider", "openai", "--url", sim_url)
    assert prompts == ["Type 'yes' to cancel [no]: "]
    assert bool(world.requests(op="batch_cancel")) is sent
    assert code == (0 if sent else 5)
    assert ("not cancelled" in out) is not sent


@pytest.mark.parametrize(("answer", "sent"), [("y", False), ("no", False), (" YES ", True)])
def test_the_bulk_prompt_accepts_exactly_what_it_asks_for(
    run_cli, world, sim_url, monkeypatch, answer, sent
):
    ids = [b.id for b in world.batches("openai") if b.phase.value == "running"][:2]
    assert len(ids) == 2
    prompts: list[str] = []
    monkeypatch.setattr("bifrost_tui.cli.cancel._interactive", lambda: True)
    monkeypatch.setattr("builtins.input", answering(prompts, answer))
    code, _, _ = run_cli("batches", "cancel", *ids, "--provider", "openai", "--url", sim_url)
    assert prompts == ["Cancel 2 batches? Type 'yes' to cancel [no]: "]
    assert len(world.requests(op="batch_cancel")) == (2 if sent else 0)
    assert code == (0 if sent else 5)


# --------------------------------------------------------- skipped (already canceling)


def test_a_bulk_rerun_on_canceling_batches_says_skipped_already_canceling(run_cli, world, sim_url):
    ids = [b.id for b in world.batches("anthropic") if b.phase.value == "running"][:2]
    assert len(ids) == 2
    first = run_cli("batches", "cancel", *ids, "--provider", "anthropic", "--yes", "--url", sim_url)
    assert first[0] == 0
    sent = len(world.requests(op="batch_cancel"))
    code, out, _ = run_cli(
        "batches", "cancel", *ids, "--provider", "anthropic", "--yes", "--url", sim_url
    )
    assert code == 0
    assert len(world.requests(op="batch_cancel")) == sent  # nothing sent the second time
    assert "2/2: 0 accepted, 0 refused, 0 unknown, 2 skipped (already canceling)" in out
    assert "already ended" not in out
    assert out.count("skipped  anthropic") == 2 and "already canceling" in out


def test_a_single_rerun_on_a_canceling_batch_says_skipped_already_canceling(
    run_cli, world, sim_url
):
    batch_id = first_active(world, "openai")
    argv = ("batches", "cancel", batch_id, "--provider", "openai", "--yes", "--url", sim_url)
    assert run_cli(*argv)[0] == 0
    code, out, err = run_cli(*argv, "--json")
    assert len(world.requests(op="batch_cancel")) == 1
    assert code == 5
    assert "skipped (already canceling)" in err and "nothing sent" in err
    line = json.loads(out.splitlines()[0])["cancel"]
    assert line["outcome"] == "skipped" and line["error"] == "already canceling"


# --------------------------------------------------------------------------- a local refusal


def test_a_local_refusal_never_prints_no_batches(run_cli, monkeypatch):
    # Plain http to a host that is not loopback, with a key: refused before anything is sent.
    monkeypatch.setenv("BIFROST_VK", "sk-bf-local-refusal-test")
    code, out, err = run_cli(
        "batches", "list", "--url", "http://192.0.2.10:9", "--provider", "openai"
    )
    assert code != 0
    assert "no batches" not in (out + err).lower()
    assert "nothing listed: 1 of 1 providers could not be listed" in err
    assert "refusing to send credentials over plain http://" in err


def test_an_empty_gateway_still_says_no_batches(run_cli, clock):
    from bifrost_tui.sim import serve

    server = serve(SimWorld(clock, seed=1))
    try:
        code, out, _ = run_cli("batches", "list", "--url", server.url, "--provider", "openai")
    finally:
        server.stop()
    assert code == 0
    assert out.strip() == "no batches"


# --------------------------------------------------------------------------- help


@pytest.mark.parametrize("action", ["add", "edit"])
def test_confirm_typed_help_says_what_is_typed(action, capsys):
    parser = build_parser(["profiles", action, "--help"])
    with pytest.raises(SystemExit):
        parser.parse_args(["profiles", action, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "typed (type the profile's name to confirm every cancel)" in text
    assert "type 'yes'" in text
