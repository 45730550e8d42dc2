"""Contract: every Bedrock and Gemini request a real Bifrost v1.5.1 gateway answered
(``tests/data/recorded/bedrock``, ``.../gemini``: ``replays.tsv`` lists them, ``NAME.code`` and
``NAME.body`` hold each answer) replayed, in the recorded order, against a simulator world seeded
with the stand-in upstream's jobs: the same ids, states and counts (read from the recorded list and
retrieve answers and the upstream calls the gateway made).

Compared, per request: the status; the error envelope (who failed, the Anthropic envelope's
``api_error``) and, where the gateway wrote it, the message; the set of key paths of the body; and,
for the body and every list item, the id (its exact form: full ARN, base64 ARN, bare, ``batches-``
or ``batches/``), the status word, the counts, ``expires_at`` and ``has_more``. What is not
compared: times and next-page cursors the stand-in chose, and the stand-in's own error wording.
``LOOSE`` lists the requests compared with less, and why.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from bifrost_tui.clock import ManualClock
from bifrost_tui.sim import ProviderConfig, SimWorld
from bifrost_tui.sim.model import BEDROCK_ARN_PREFIX
from tests.sim.test_recorded_contract import envelope, key_paths
from tests.support.sim_fixtures import DATA, call

RECORDED = DATA / "recorded"
#: The bedrock and gemini sets were recorded at about 14:50 UTC on 2026-12-01.
RECORDED_AT = datetime(2026, 12, 1, 14, 50, 30, tzinfo=UTC)
#: Seconds the clock moves on before a read-after-cancel (the stand-in stopped its jobs at once).
AFTER_CANCEL = 60

#: Requests compared by less than everything, and why.
LOOSE: dict[str, str] = {
    "b08_get_rawslash": "status only: the body is the stand-in's HTML page, not the gateway's",
    "g13_get_rawslash": "status only: the body is the stand-in's HTML page, not the gateway's",
    "b12_get_jobid_job01inprxxx": (
        "no counts: the stand-in wrote a job manifest for a running job; the simulator's Bedrock "
        "writes it when the job ends"
    ),
    "b14_get_jobid_job04stopxxx": (
        "no counts: the stand-in wrote a job manifest for a stopping job; the simulator's Bedrock "
        "writes it when the job ends"
    ),
}
#: Messages the gateway itself wrote (or built from what it passed on), compared word for word.
GATEWAY_MESSAGES = (
    "failed to get config",
    "responses not provided",
    "1 validation error detected",
)


@dataclass(frozen=True)
class Replay:
    name: str
    method: str
    path: str
    query: str
    headers: dict[str, str]
    status: int


def replays(provider: str) -> list[Replay]:
    """``replays.tsv``: NAME, METHOD, PATH[?QUERY], ``x-model-provider=P`` or ``-``, STATUS, the
    upstream calls."""
    out = []
    for line in (RECORDED / provider / "replays.tsv").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        name, method, target, header, status, *_ = line.split("\t")
        path, _, query = target.partition("?")
        headers = {}
        if header != "-":
            key, _, value = header.partition("=")
            headers[key] = value
        out.append(Replay(name, method, path, query, headers, int(status)))
    return out


def _recorded(provider: str, name: str) -> tuple[int, Any]:
    status = int((RECORDED / provider / f"{name}.code").read_text().strip())
    raw = (RECORDED / provider / f"{name}.body").read_bytes()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode()


# --------------------------------------------------------------------------- the stand-in's jobs

#: Bedrock: job id -> (native status, total, succeeded, errored). Counts as the job manifests the
#: gateway read (``b09``..``b19``, ``c08``); a job without a manifest has none.
BEDROCK_JOBS: dict[str, tuple[str, int, int, int]] = {
    "cancelme0001": ("InProgress", 2, 0, 2),
    "job00submxxx": ("Submitted", 0, 0, 0),
    "job01inprxxx": ("InProgress", 1, 0, 1),
    "job02compxxx": ("Completed", 102, 99, 3),
    "job03failxxx": ("Failed", 4, 4, 0),
    "job04stopxxx": ("Stopping", 1, 0, 1),
    "job05stopxxx": ("Stopped", 2, 0, 2),
    "job06partxxx": ("PartiallyCompleted", 10, 3, 7),
    "job07expixxx": ("Expired", 0, 0, 0),
    "job08valixxx": ("Validating", 0, 0, 0),
    "job09schexxx": ("Scheduled", 0, 0, 0),
}
#: Gemini: name -> (native state, total, succeeded, failed, canceled, expired), from the
#: upstream's batchStats; a finished batch reports no pending requests.
GEMINI_BATCHES: dict[str, tuple[str, int, int, int, int, int]] = {
    "cancelmegem1": ("BATCH_STATE_RUNNING", 20, 10, 1, 0, 0),
    "g00pending": ("BATCH_STATE_PENDING", 10, 0, 0, 0, 0),
    "g01running": ("BATCH_STATE_RUNNING", 11, 5, 1, 0, 0),
    "g02succeeded": ("BATCH_STATE_SUCCEEDED", 12, 10, 2, 0, 0),
    "g03failed": ("BATCH_STATE_FAILED", 13, 0, 13, 0, 0),
    "g04cancelled": ("BATCH_STATE_CANCELLED", 14, 7, 1, 6, 0),
    "g05expired": ("BATCH_STATE_EXPIRED", 15, 0, 0, 0, 15),
    "g06running": ("JOB_STATE_RUNNING", 16, 8, 0, 0, 0),
    "g07succeeded": ("JOB_STATE_SUCCEEDED", 17, 17, 0, 0, 0),
    "g08unspecified": ("BATCH_STATE_UNSPECIFIED", 18, 0, 0, 0, 0),
}


def _ended_at(provider: str, name: str) -> int | None:
    """The end time a recorded retrieve showed (``ended_at``), as unix seconds."""
    _, body = _recorded(provider, name)
    text = body.get("ended_at") if isinstance(body, dict) else None
    if not text:
        return None
    return int(datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp())


def bedrock_world(clock: ManualClock) -> SimWorld:
    """Only bedrock is configured, as on the recorded gateway (no header: no provider config)."""
    world = SimWorld(clock, providers=[ProviderConfig("bedrock")])
    listed = _recorded("bedrock", "b05_list_openai_limit1000")[1]["data"]
    retrieves = {
        r.name.rsplit("_", 1)[-1]: r.name for r in replays("bedrock") if "get_jobid_" in r.name
    }
    retrieves["job02compxxx"] = "b09_get_jobid"
    for item in reversed(listed):  # oldest first: the list shows them newest first
        job_id = item["metadata"]["job_name"].removeprefix("job-")
        native, total, succeeded, errored = BEDROCK_JOBS[job_id]
        world.add_batch(
            "bedrock",
            id=BEDROCK_ARN_PREFIX + job_id,
            status=native,
            total=total,
            succeeded=succeeded,
            errored=errored,
            created_at=item["created_at"],
            ended_at=_ended_at("bedrock", retrieves[job_id]) if job_id in retrieves else None,
            metadata=item["metadata"],
        )
    return world


def gemini_world(clock: ManualClock) -> SimWorld:
    world = SimWorld(clock, providers=[ProviderConfig("gemini")])
    listed = _recorded("gemini", "g03_list_openai_limit100")[1]["data"]
    for item in reversed(listed):
        native, total, succeeded, failed, canceled, expired = GEMINI_BATCHES[item["id"]]
        world.add_batch(
            "gemini",
            id=item["operation_name"],
            status=native,
            total=total,
            succeeded=succeeded,
            errored=failed,
            canceled=canceled,
            expired=expired,
            created_at=item["created_at"],
        )
    return world


WORLDS = {"bedrock": bedrock_world, "gemini": gemini_world}
ALL = [(provider, replay) for provider in WORLDS for replay in replays(provider)]


@pytest.fixture(scope="module")
def worlds() -> dict[str, tuple[SimWorld, ManualClock]]:
    """One world per provider, replayed in the recorded order (cancels change later answers)."""
    out = {}
    for provider, build in WORLDS.items():
        clock = ManualClock(RECORDED_AT)
        out[provider] = (build(clock), clock)
    return out


# --------------------------------------------------------------------------- comparing

_COMPARED = ("id", "processing_status", "status", "request_counts", "expires_at", "has_more")


def facts(body: dict[str, Any], *, counts: bool = True) -> list[dict[str, Any]]:
    """What is compared exactly: for the body and each list item, the fields of ``_COMPARED``."""
    out = []
    for part in [body, *body.get("data", [])]:
        seen = {k: part[k] for k in _COMPARED if k in part}
        if not counts:
            seen.pop("request_counts", None)
        out.append(seen)
    return out


@pytest.mark.parametrize(("provider", "replay"), ALL, ids=[r.name for _, r in ALL])
def test_the_simulator_answers_bedrock_and_gemini_as_the_recorded_gateway(
    worlds: dict[str, tuple[SimWorld, ManualClock]], provider: str, replay: Replay
) -> None:
    world, clock = worlds[provider]
    if "after_cancel" in replay.name or "after_stop" in replay.name:
        clock.advance(AFTER_CANCEL)
    answer = call(world, replay.method, replay.path, query=replay.query, headers=replay.headers)
    status, body = _recorded(provider, replay.name)
    assert answer.status == status == replay.status
    if LOOSE.get(replay.name, "").startswith("status only"):
        return
    got = answer.json()
    assert envelope(got) == envelope(body)
    if "error" in body:
        message = body["error"]["message"]
        if message.startswith(GATEWAY_MESSAGES):
            assert got["error"]["message"] == message
        assert key_paths(got) == key_paths(body)
        return
    loose_counts = replay.name in LOOSE
    missing = key_paths(body) - key_paths(got)
    extra = key_paths(got) - key_paths(body)
    if loose_counts:
        missing = {p for p in missing if not p.startswith("request_counts")}
    assert (missing, extra) == (set(), set())
    assert facts(got, counts=not loose_counts) == facts(body, counts=not loose_counts)


def test_every_recorded_request_is_replayed() -> None:
    for provider in WORLDS:
        names = {r.name for r in replays(provider)}
        for path in (RECORDED / provider).glob("[bcg][0-9][0-9]_*.body"):
            assert path.stem in names, path.name
        assert len(names) == len(replays(provider))


def test_loose_requests_exist() -> None:
    names = {r.name for _, r in ALL}
    assert set(LOOSE) <= names
