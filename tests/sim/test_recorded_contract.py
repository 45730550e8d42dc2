"""Contract: every request a real Bifrost v1.5.1 gateway answered (``tests/data/recorded``: basic,
governance, unsupported, two-keys) replayed against the simulator configured the same way.

Compared: the status, the error envelope (the key layout, the Anthropic envelope's ``api_error``
where the gateway itself failed, Bifrost's top-level governance ``type``) and the set of key paths
of the body. Ids, times, counts and the stand-in upstream's own words are not compared: they are
that upstream's choices, not facts about the gateway. The differences that remain are listed in
``KNOWN_DIFFERENCES`` and in the README.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from bifrost_tui.clock import ManualClock
from bifrost_tui.sim import KeyConfig, ProviderConfig, SimWorld, VirtualKey
from bifrost_tui.sim.emit import parse_serial_cursor
from tests.support.sim_fixtures import DATA, call

RECORDED = DATA / "recorded"
#: The recordings were made on 2026-12-01 in the afternoon (UTC); the stand-in's batches are dated
#: around it.
RECORDED_AT = datetime(2026, 12, 1, 15, 0, 0, tzinfo=UTC)
LIST = "/anthropic/v1/messages/batches"
VK_ALL = "sk-bf-recorded-all"
VK_ANTHROPIC_ONLY = "sk-bf-recorded-anthropic"

#: Key paths the simulator does not reproduce, with why (the README lists the same).
KNOWN_DIFFERENCES: dict[str, str] = {
    "providers[].network_config.base_url": "shown only for a provider with a custom base URL",
    "network_config.base_url": "shown only for a provider with a custom base URL",
    "keys[].description": "the recorded gateway could not list the stand-in's models",
    "data[].output_file_id": "the stand-in upstream gave its canceled batch no files",
    "data[].error_file_id": "the stand-in upstream gave its canceled batch no files",
}


@dataclass(frozen=True)
class Replay:
    name: str
    method: str
    path: str
    query: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    status: int = 200
    #: Seconds the clock moves on before this request (the recording waited for a cancel to end).
    wait: int = 0


# --------------------------------------------------------------------------- the recorded requests


def _basic() -> list[Replay]:
    """``basic/INDEX.txt``: ``NAME  METHOD PATH[?QUERY]  [x-model-provider: P] -> STATUS``."""
    replays = []
    for line in (RECORDED / "basic" / "INDEX.txt").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        head, _, status = line.rpartition("->")
        parts = head.split()
        name, method, target = parts[0], parts[1], parts[2]
        headers = {}
        if "x-model-provider:" in parts:
            headers["x-model-provider"] = parts[parts.index("x-model-provider:") + 1]
        path, _, query = target.partition("?")
        replays.append(
            Replay(
                f"basic/{name}",
                method,
                path,
                query,
                headers,
                int(status),
                wait=3600 if name.endswith("after_wait") else 0,
            )
        )
    return replays


def _governance() -> list[Replay]:
    """The Anthropic-format list with each way of presenting (or not) a virtual key."""
    ways = {
        "none": ({}, 401, 401),
        "badvk": ({"x-bf-vk": "sk-bf-revoked"}, 401, 401),
        "anthonly_oai": ({"x-bf-vk": VK_ANTHROPIC_ONLY}, 200, 403),
        "vk": ({"x-bf-vk": VK_ALL}, 200, 200),
        "bearer": ({"authorization": f"Bearer {VK_ALL}"}, 200, 200),
    }
    replays = []
    for way, (headers, anthropic, openai) in ways.items():
        for provider, status in (("anthropic", anthropic), ("openai", openai)):
            replays.append(
                Replay(
                    f"governance/list_{way}_{provider}.body",
                    "GET",
                    LIST,
                    headers={**headers, "x-model-provider": provider},
                    status=status,
                )
            )
    return replays


def _unsupported() -> list[Replay]:
    replays = []
    for provider in ("gemini", "groq"):
        header = {"x-model-provider": provider}
        replays += [
            Replay(f"unsupported/list_{provider}.txt", "GET", LIST, headers=header, status=500),
            Replay(
                f"unsupported/cancel_{provider}.txt",
                "POST",
                f"{LIST}/batch_any/cancel",
                headers=header,
                status=500,
            ),
            Replay(
                f"unsupported/oaiapi_list_{provider}.txt",
                "GET",
                "/openai/v1/batches",
                f"provider={provider}",
                status=500,
            ),
            Replay(f"unsupported/keys_{provider}.json", "GET", f"/api/providers/{provider}/keys"),
        ]
    return replays


def _two_keys() -> list[Replay]:
    replays = []
    for provider in ("anthropic", "openai"):
        replays += [
            Replay(
                f"two-keys/list_{provider}.json",
                "GET",
                LIST,
                headers={"x-model-provider": provider},
            ),
            Replay(
                f"two-keys/oaiapi_{provider}.json",
                "GET",
                "/openai/v1/batches",
                f"provider={provider}&limit=100",
            ),
        ]
    return replays


SETS = {"basic": _basic, "governance": _governance, "unsupported": _unsupported}
SETS["two-keys"] = _two_keys


# --------------------------------------------------------------------------- the recorded worlds


def _stand_in_batches(world: SimWorld, provider: str, key_index: int, suffix: str = "") -> None:
    """The stand-in upstream's batches, read back from the OpenAI-format list that recorded them
    with full counts and times (added oldest first, so the list shows them in the same order)."""
    items = json.loads((RECORDED / "two-keys" / f"oaiapi_{provider}.json").read_bytes())["data"]
    for item in reversed(items):
        counts = item.get("request_counts", {})
        common: dict[str, Any] = {
            "id": item["id"] + suffix,
            "key_index": key_index,
            "created_at": item["created_at"],
            "expires_at": item.get("expires_at"),
        }
        if provider == "anthropic":
            world.add_batch(
                provider,
                status=item["processing_status"],
                succeeded=counts.get("succeeded", 0),
                errored=counts.get("failed", 0),
                expired=counts.get("expired", 0),
                canceled=counts.get("canceled", 0),
                processing=counts.get("pending", 0),
                ended_at=item.get("completed_at"),
                results_url=item.get("results_url"),
                **common,
            )
            continue
        times = (
            "in_progress_at",
            "finalizing_at",
            "completed_at",
            "failed_at",
            "expired_at",
            "cancelling_at",
            "cancelled_at",
        )
        world.add_batch(
            provider,
            status=item["status"],
            total=counts.get("total", 0),
            completed=counts.get("completed", 0),
            failed=counts.get("failed", 0),
            endpoint=item.get("endpoint"),
            input_file_id=item.get("input_file_id"),
            completion_window=item.get("completion_window"),
            **{name: item.get(name) for name in times},
            **common,
        )


def recorded_world(recording: str, clock: ManualClock) -> SimWorld:
    """The gateway each recording ran against, as a simulator world."""
    if recording == "unsupported":
        providers = [
            ProviderConfig("gemini", keys=[KeyConfig("gem-nobatch", use_for_batch_api=False)]),
            ProviderConfig("groq", keys=[KeyConfig("groq-batch", use_for_batch_api=True)]),
        ]
        return SimWorld(clock, providers=providers)
    n_keys = 2 if recording == "two-keys" else 1
    providers = [
        ProviderConfig(
            name, keys=[KeyConfig(f"{name}-{i}", id=f"{name}-key-{i}") for i in range(n_keys)]
        )
        for name in ("anthropic", "openai")
    ]
    governance: dict[str, Any] = {}
    if recording == "governance":
        governance = {
            "require_virtual_key": True,
            "virtual_keys": [
                VirtualKey(SecretStr(VK_ALL)),
                VirtualKey(SecretStr(VK_ANTHROPIC_ONLY), providers=frozenset({"anthropic"})),
            ],
        }
    world = SimWorld(clock, providers=providers, **governance)
    for name in ("anthropic", "openai"):
        for key_index in range(n_keys):
            _stand_in_batches(world, name, key_index, suffix="" if key_index == 0 else "_k2")
    return world


# --------------------------------------------------------------------------- comparing


def recorded_answer(replay: Replay) -> tuple[int, Any]:
    path = RECORDED / replay.name
    if replay.name.startswith("basic/"):
        status = int((RECORDED / f"{replay.name}.code").read_text().strip())
        raw = (RECORDED / f"{replay.name}.body").read_bytes()
    elif path.suffix == ".txt":
        text = path.read_text(encoding="utf-8").strip()
        body_text, _, status_text = text.rpartition("->")
        status, raw = int(status_text), body_text.strip().encode()
    else:
        status, raw = replay.status, path.read_bytes()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode()


def key_paths(value: Any, prefix: str = "") -> set[str]:
    """Every key path of a JSON value; list items merge under ``[]``."""
    paths: set[str] = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            path = f"{prefix}.{key}" if prefix else key
            paths.add(path)
            paths |= key_paths(inner, path)
    elif isinstance(value, list):
        for inner in value:
            paths |= key_paths(inner, f"{prefix}[]")
    return paths


def envelope(body: Any) -> dict[str, Any]:
    """What an error body says about who failed: the gateway's own words of type."""
    if not isinstance(body, dict) or "error" not in body:
        return {}
    out: dict[str, Any] = {"top_type": body.get("type")}
    error = body["error"]
    if body.get("type") == "error" and isinstance(error, dict):
        out["gateway_failed"] = error.get("type") == "api_error"
    return out


ALL = [(recording, replay) for recording, build in SETS.items() for replay in build()]


@pytest.fixture(scope="module")
def worlds() -> dict[str, tuple[SimWorld, ManualClock]]:
    """One world per recording, replayed in the recording's order (cancels change later answers)."""
    out = {}
    for recording in SETS:
        clock = ManualClock(RECORDED_AT)
        out[recording] = (recorded_world(recording, clock), clock)
    return out


@pytest.mark.parametrize(("recording", "replay"), ALL, ids=[r.name for _, r in ALL])
def test_the_simulator_answers_as_the_recorded_gateway(
    worlds: dict[str, tuple[SimWorld, ManualClock]], recording: str, replay: Replay
) -> None:
    world, clock = worlds[recording]
    if replay.wait:
        clock.advance(replay.wait)
    answer = call(world, replay.method, replay.path, query=replay.query, headers=replay.headers)
    status, body = recorded_answer(replay)
    assert answer.status == status
    try:
        got: Any = answer.json()
    except ValueError:
        got = answer.body.decode()
    if not isinstance(body, dict | list):
        # A bare JSON value (the version: whatever the binary was built with) or a plain-text body.
        assert type(got) is type(body)
        assert isinstance(body, str) and (got == body or replay.name == "basic/version")
        return
    assert envelope(got) == envelope(body)
    missing = key_paths(body) - key_paths(got) - set(KNOWN_DIFFERENCES)
    extra = key_paths(got) - key_paths(body) - set(KNOWN_DIFFERENCES)
    assert (missing, extra) == (set(), set())


def test_every_recorded_request_is_replayed() -> None:
    """No recording of the four sets is left out of the replay."""
    names = {replay.name for _, replay in ALL}
    for recording in SETS:
        for path in sorted((RECORDED / recording).iterdir()):
            if path.name == "INDEX.txt":
                continue
            stem = (
                f"{recording}/{path.stem}" if recording == "basic" else f"{recording}/{path.name}"
            )
            assert stem in names, path.name


def test_the_two_key_cursor_means_another_key_and_loops_for_anthropic() -> None:
    world = recorded_world("two-keys", ManualClock(RECORDED_AT))
    query = "provider=anthropic&limit=100"
    first = call(world, "GET", "/openai/v1/batches", query=query).json()
    cursor = first["next_cursor"]
    assert first["has_more"] is True and parse_serial_cursor(cursor) == (1, "")
    again = call(world, "GET", "/openai/v1/batches", query=f"{query}&after={cursor}").json()
    assert again["next_cursor"] == cursor
    assert [b["id"] for b in again["data"]] == [b["id"] for b in first["data"]]


def test_no_recording_is_read_from_outside_the_tests() -> None:
    assert RECORDED.is_dir() and Path(__file__).resolve().parents[1] in RECORDED.resolve().parents
