"""Contract: what a real Bifrost v1.5.1 answered on the passthrough prefixes
(``tests/data/recorded/passthrough``) replayed against the simulator configured the same way.

Compared: the status, the media type, the error envelope (Bifrost's own governance ``type`` with
``extra_fields.request_type: "passthrough"``, or the provider's own error) and the set of key paths
of the body. Ids, times and counts are the stand-in upstream's choices and are not compared, except
where paging depends on them (the cursor ids of each page).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import SecretStr

from bifrost_tui.clock import ManualClock
from bifrost_tui.sim import KeyConfig, ProviderConfig, SimWorld, VirtualKey
from tests.support.sim_fixtures import DATA, call

RECORDED = DATA / "recorded" / "passthrough"
RECORDED_AT = datetime(2026, 12, 1, 14, 44, 0, tzinfo=UTC)
#: The virtual keys of the governance run: one for every provider, one for anthropic only.
VK_ALL = "sk-bf-ops-test-0001"
VK_ANTHROPIC_ONLY = "sk-bf-anth-only-0001"
#: The recorded gateway's two anthropic batch keys (``two_keys_keys``), the index line shortens ids.
KEY_IDS = ("953eb239-75ec-4a6b-a672-92dd0c50932f", "66d19ed8-bac7-4bcb-9e35-35ea55629346")
#: Key paths the simulator does not reproduce, with why.
KNOWN_DIFFERENCES = {
    "keys[].description": "the recorded gateway could not list the stand-in's models",
}


@dataclass(frozen=True)
class Replay:
    name: str
    method: str
    path: str
    query: str
    headers: dict[str, str] = field(default_factory=dict)
    status: int = 200

    @property
    def world(self) -> str:
        """Which gateway answered it: the governance run, or the open one with two keys."""
        return "governance" if self.name.startswith("gov_") else "open"


def replays() -> list[Replay]:
    """``INDEX.txt``: ``NAME  METHOD TARGET [-H name: value] -> STATUS``."""
    out = []
    for line in (RECORDED / "INDEX.txt").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        head, _, status = line.rpartition("->")
        name, method, target, *rest = head.split()
        headers = {}
        if rest and rest[0] == "-H":
            header = rest[1].rstrip(":").lower()
            value = rest[2]
            if header == "x-bf-api-key-id":
                value = next(k for k in KEY_IDS if k.startswith(value.rstrip("…")))
            headers[header] = value
        path, _, query = target.partition("?")
        out.append(Replay(name, method, path, query, headers, int(status)))
    return out


def _anthropic_batches(world: SimWorld) -> None:
    """The stand-in's 251 anthropic batches: ``msgbatch_01UP0249`` oldest ... ``REALCANCELME``."""
    t0 = int(RECORDED_AT.timestamp())
    for n in range(249, -1, -1):
        ended = n % 3 != 0
        world.add_batch(
            "anthropic",
            id=f"msgbatch_01UP{n:04d}",
            status="ended" if ended else "in_progress",
            succeeded=100 + n if ended else 0,
            errored=1 if ended else 0,
            processing=0 if ended else 100 + n,
            created_at=t0 - 400 * (n + 1),
            ended_at=t0 - 400 * n if ended else None,
        )
    world.add_batch("anthropic", id="msgbatch_01REALCANCELME", status="in_progress", processing=500)


def _openai_batches(world: SimWorld) -> None:
    t0 = int(RECORDED_AT.timestamp())
    for n in range(249, -1, -1):
        world.add_batch(
            "openai",
            id=f"batch_up{n:04d}",
            status="completed",
            total=100 + n,
            completed=100 + n,
            created_at=t0 - 500 * (n + 1),
            completed_at=t0 - 500 * n,
            output_file_id=f"file-out-batch_up{n:04d}",
            error_file_id=f"file-err-batch_up{n:04d}",
        )


def recorded_world(kind: str) -> SimWorld:
    """The open gateway: anthropic with the two recorded keys reaching one stand-in account (the
    stand-in served every key the same batches), openai with one key. The governance run: virtual
    keys required, one of them limited to anthropic."""
    providers = [
        ProviderConfig(
            "anthropic",
            keys=[KeyConfig("anth-batch", id=KEY_IDS[0]), KeyConfig("anth-batch-2", id=KEY_IDS[1])],
            shared_account=True,
        ),
        ProviderConfig("openai", keys=[KeyConfig("oai-batch", id="oai-key-1")]),
    ]
    governance: dict[str, Any] = {}
    if kind == "governance":
        governance = {
            "require_virtual_key": True,
            "virtual_keys": [
                VirtualKey(SecretStr(VK_ALL)),
                VirtualKey(SecretStr(VK_ANTHROPIC_ONLY), providers=frozenset({"anthropic"})),
            ],
        }
    world = SimWorld(ManualClock(RECORDED_AT), providers=providers, **governance)
    _anthropic_batches(world)
    _openai_batches(world)
    return world


def key_paths(value: Any, prefix: str = "") -> set[str]:
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
    """Who failed and how: Bifrost's governance ``type`` and request type, or the provider's
    own error type."""
    if not isinstance(body, dict) or "error" not in body:
        return {}
    error = body["error"]
    return {
        "top_type": body.get("type"),
        "error_type": error.get("type") if isinstance(error, dict) else None,
        "request_type": body.get("extra_fields", {}).get("request_type"),
        "provider": body.get("extra_fields", {}).get("provider"),
    }


def media_type(replay: Replay) -> str:
    for line in (RECORDED / f"{replay.name}.hdr").read_text(encoding="utf-8").splitlines():
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-type":
            return value.split(";")[0].strip()
    raise AssertionError(f"{replay.name}: no content type recorded")


ALL = replays()


@pytest.mark.parametrize("replay", ALL, ids=[r.name for r in ALL])
def test_the_simulator_answers_the_passthrough_prefixes_as_recorded(replay: Replay) -> None:
    world = recorded_world(replay.world)
    got = call(world, replay.method, replay.path, query=replay.query, headers=replay.headers)
    recorded = json.loads((RECORDED / f"{replay.name}.body").read_bytes())
    assert int((RECORDED / f"{replay.name}.code").read_text().strip()) == replay.status
    assert got.status == replay.status
    content_type = dict(got.headers)["content-type"]
    assert content_type.split(";")[0] == media_type(replay)
    body = got.json()
    assert envelope(body) == envelope(recorded)
    missing = key_paths(recorded) - key_paths(body) - set(KNOWN_DIFFERENCES)
    extra = key_paths(body) - key_paths(recorded) - set(KNOWN_DIFFERENCES)
    assert not missing and not extra, (sorted(missing), sorted(extra))
    if "data" in recorded:
        # Paging is the point: the same page holds the same ids, and says the same about more.
        assert [b["id"] for b in body["data"]] == [b["id"] for b in recorded["data"]]
        for name in ("has_more", "first_id", "last_id"):
            assert body[name] == recorded[name], name


def test_every_recorded_passthrough_request_is_replayed() -> None:
    names = {p.stem for p in RECORDED.glob("*.body")}
    assert names == {r.name for r in ALL}


def test_the_recorded_pages_walk_every_anthropic_batch_once() -> None:
    pages = ["list_page1_limit100", "list_page2_after", "list_last_page"]
    ids = [
        b["id"]
        for name in pages
        for b in json.loads((RECORDED / f"{name}.body").read_bytes())["data"]
    ]
    world = recorded_world("open")
    assert len(ids) == len(set(ids)) == len(world.batches("anthropic")) == 251
