"""Bedrock and Gemini against what a real gateway (Bifrost v1.5.1) answered, request by request.

The recordings (``tests/data/recorded/{bedrock,gemini}/``: ``replays.tsv`` has one line per request,
``NAME.body``/``NAME.code`` its answer) decide three things: which id form is sent, that one batch
keeps one id whatever form a route returns, and what ``ended`` and Gemini's ``errored`` mean.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import httpx

from bifrost_tui.core.export import csv_row
from bifrost_tui.core.store import BatchStore
from bifrost_tui.gateway.counts import Source
from bifrost_tui.gateway.ids import normalise_id, openai_path_id, path_id
from bifrost_tui.gateway.models import Batch, State
from bifrost_tui.gateway.outcomes import ListingStatus
from tests.support.client_fakes import FakeGateway, make_client
from tests.support.clocks import T0

RECORDED = Path(__file__).resolve().parents[1] / "data" / "recorded"
LIST = "/anthropic/v1/messages/batches"
DEEP = "/openai/v1/batches"
ARN = "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/"


def replays(provider: str) -> dict[str, tuple[str, str, int]]:
    """``name -> (method, path and query, status)`` of every recorded request."""
    out = {}
    for line in (RECORDED / provider / "replays.tsv").read_text().splitlines():
        name, method, target, _header, status, *_ = line.split("\t")
        out[name] = (method, target, int(status))
    return out


def body(provider: str, name: str) -> Any:
    return json.loads((RECORDED / provider / f"{name}.body").read_bytes())


def answer(provider: str, name: str) -> httpx.Response:
    raw = (RECORDED / provider / f"{name}.body").read_bytes()
    status = int((RECORDED / provider / f"{name}.code").read_text().strip())
    return httpx.Response(status, content=raw, headers={"content-type": "application/json"})


def segment(target: str, prefix: str) -> str:
    """The id segment of a recorded retrieve or cancel path."""
    rest = target.split("?", 1)[0][len(prefix) + 1 :]
    return rest.removesuffix("/cancel")


def item(data: Any, raw_id: str) -> dict[str, Any]:
    return next(x for x in data["data"] if x["id"] == raw_id)


def anth(provider: str, data: Any, source: Source = Source.RETRIEVE) -> Batch:
    return Batch.from_anthropic(data, provider=provider, source=source)


# --------------------------------------------------------------------------- id forms


def test_bedrock_retrieve_path_is_the_trailing_job_id() -> None:
    # The list gives the full ARN; only the trailing job id was answered with the batch (b09,
    # c03): the percent-encoded ARN was encoded again (b06, c01: 400) and a raw "/" never reached
    # the provider (b08: an HTML page with 200; c02: 500).
    runs = replays("bedrock")
    arn = ARN + "job02compxxx"
    assert item(body("bedrock", "b01_list_anth"), arn)["processing_status"] == "ended"
    method, target, status = runs["b09_get_jobid"]
    assert (method, status) == ("GET", 200)
    assert path_id("bedrock", arn) == segment(target, LIST) == "job02compxxx"
    assert anth("bedrock", body("bedrock", "b09_get_jobid")).id == arn
    for failed in ("b06_get_encARN", "b07_get_slashonly_enc", "b08_get_rawslash"):
        assert segment(runs[failed][1], LIST) != path_id("bedrock", arn)
    assert runs["b06_get_encARN"][2] == 400 and runs["b08_get_rawslash"][2] == 200
    _, cancel_target, cancel_status = runs["c03_cancel_jobid"]
    assert cancel_status == 200
    assert segment(cancel_target, LIST) == path_id("bedrock", ARN + "cancelme0001")


def test_bedrock_openai_route_takes_the_base64_arn_never_a_bare_job_id() -> None:
    runs = replays("bedrock")
    arn = ARN + "job02compxxx"
    assert runs["b20_oget_b64"][2] == 200 and runs["b21_oget_jobid"][2] == 400
    assert openai_path_id("bedrock", arn) == segment(runs["b20_oget_b64"][1], DEEP)
    assert openai_path_id("bedrock", arn) != "job02compxxx"
    # Its list's ids are the same ARN, base64-encoded: one batch, one id.
    listed = body("bedrock", "b05_list_openai_limit1000")["data"]
    ids = {normalise_id("bedrock", x["id"]) for x in listed}
    assert ids == {x["id"] for x in body("bedrock", "b01_list_anth")["data"]}


def test_gemini_sends_the_dash_form_never_a_slash() -> None:
    runs = replays("gemini")
    assert runs["g11_get_dash"][2] == 200
    assert runs["g12_get_enc"][2] == 404 and runs["g33_cancel_enc"][2] == 404
    assert runs["g34_cancel_rawslash"][2] == 500
    sent = segment(runs["g11_get_dash"][1], LIST)
    for form in ("g02succeeded", "batches-g02succeeded", "batches/g02succeeded"):
        assert path_id("gemini", form) == sent == "batches-g02succeeded"
        assert openai_path_id("gemini", form) == segment(runs["g15_oget_dash"][1], DEEP)
    assert segment(runs["g30_cancel_dash"][1], LIST) == path_id("gemini", "cancelmegem1")


# --------------------------------------------------------------------------- one batch, one id


def test_a_gemini_batch_keeps_one_id_through_list_retrieve_and_cancel() -> None:
    listed = anth("gemini", item(body("gemini", "g01_list_anth"), "g01running"), Source.LIST)
    read = anth("gemini", body("gemini", "g21_get_dash_g01running"))
    echoed_bare = anth("gemini", body("gemini", "g32_cancel_bare"), Source.CANCEL)
    assert listed.id == read.id == echoed_bare.id == "batches-g01running"
    echoed_slash = anth("gemini", body("gemini", "g30_cancel_dash"), Source.CANCEL)
    listed_too = anth("gemini", item(body("gemini", "g01_list_anth"), "cancelmegem1"), Source.LIST)
    assert echoed_slash.id == listed_too.id == "batches-cancelmegem1"


async def test_a_listed_gemini_batch_and_its_re_read_are_one_row_in_the_store() -> None:
    gateway = FakeGateway()
    gateway.on("GET", LIST, answer("gemini", "g01_list_anth"))
    gateway.on("GET", DEEP, answer("gemini", "g03_list_openai_limit100"))
    gateway.on("GET", f"{LIST}/batches-g01running", answer("gemini", "g21_get_dash_g01running"))
    store = BatchStore()
    async with make_client(gateway) as client:
        store.apply_listing(await client.list_batches("gemini"), T0)
        before = len(store.batches)
        store.apply_batch(await client.get_batch("gemini", "g01running"))
    assert len(store.batches) == before == 10
    kept = store.batches[("gemini", "batches-g01running")]
    assert kept.source is Source.RETRIEVE and kept.request_counts is not None
    # The id a user types is sent in the form the gateway takes, never with a "/".
    assert gateway.calls("GET", f"{LIST}/batches-g01running")


# --------------------------------------------------------------------------- canceled is canceled


def test_a_plain_ended_from_bedrock_or_gemini_is_an_unknown_outcome() -> None:
    stopped = anth("bedrock", body("bedrock", "c08_get_after_stop_jobid"))
    gem = anth("gemini", body("gemini", "g23_get_dash_g04cancelled"))
    for batch in (stopped, gem):
        assert batch.state is State.ENDED_UNSURE and batch.state.terminal
        assert batch.to_json()["state"] == "ended-unknown"
        assert csv_row(batch)["state"] == "ended-unknown"
    # An Anthropic batch's "ended" still means what it says.
    anthropic = Batch.from_anthropic(
        {"id": "msgbatch_1", "processing_status": "ended"}, provider="anthropic"
    )
    assert anthropic.state is State.ENDED_OK


async def _listed(provider: str, first: str, deep: str) -> dict[str, Batch]:
    gateway = FakeGateway()
    gateway.on("GET", LIST, answer(provider, first))
    gateway.on("GET", DEEP, answer(provider, deep))
    async with make_client(gateway) as client:
        listing = await client.list_batches(provider)
    assert listing.status is ListingStatus.COMPLETE
    assert len(gateway.calls("GET", DEEP)) == 1
    return {b.id: b for b in listing.batches}


async def test_the_openai_format_list_tells_canceled_from_completed() -> None:
    gem = await _listed("gemini", "g01_list_anth", "g03_list_openai_limit100")
    assert gem["batches-g04cancelled"].state is State.ENDED_CANCELED
    assert gem["batches-g02succeeded"].state is State.ENDED_OK
    assert gem["batches-g07succeeded"].state is State.ENDED_OK  # JOB_STATE_SUCCEEDED
    assert gem["batches-g06running"].state is State.ACTIVE  # JOB_STATE_RUNNING
    bed = await _listed("bedrock", "b01_list_anth", "b05_list_openai_limit1000")
    assert bed[ARN + "job05stopxxx"].state is State.ENDED_CANCELED
    assert bed[ARN + "job02compxxx"].state is State.ENDED_OK
    # Only the outcome is taken from there: the rest is the Anthropic-format list's.
    assert bed[ARN + "job05stopxxx"].source is Source.LIST


async def test_a_later_anthropic_route_ended_never_turns_a_cancel_into_ok() -> None:
    store = BatchStore()
    gateway = FakeGateway()
    gateway.on("GET", LIST, answer("gemini", "g01_list_anth"))
    gateway.on("GET", DEEP, answer("gemini", "g03_list_openai_limit100"))
    async with make_client(gateway) as client:
        store.apply_listing(await client.list_batches("gemini"), T0)
        key = ("gemini", "batches-g04cancelled")
        assert store.batches[key].state is State.ENDED_CANCELED
        store.apply_batch(anth("gemini", body("gemini", "g23_get_dash_g04cancelled")))
        assert store.batches[key].state is State.ENDED_CANCELED
        store.apply_listing(await client.list_batches("gemini", deep=False), T0)
    assert store.batches[key].state is State.ENDED_CANCELED


async def test_a_cancel_seen_landing_stays_canceled_through_a_light_listing() -> None:
    gateway = FakeGateway()
    gateway.on("POST", f"{LIST}/batches-cancelmegem1/cancel", answer("gemini", "g30_cancel_dash"))
    gateway.on("GET", f"{LIST}/batches-cancelmegem1", answer("gemini", "g31_get_after_cancel"))
    after = body("gemini", "g01_list_anth")
    item(after, "cancelmegem1")["processing_status"] = "ended"
    gateway.on("GET", LIST, httpx.Response(200, json=after))
    store = BatchStore()
    async with make_client(gateway) as client:
        result = await client.cancel_batch("gemini", "cancelmegem1")
        assert result.batch is not None and result.batch.state is State.ENDED_CANCELED
        store.apply_batch(result.batch)
        store.apply_listing(await client.list_batches("gemini", deep=False), T0)
    assert store.batches[("gemini", "batches-cancelmegem1")].state is State.ENDED_CANCELED


async def test_a_retrieve_that_says_ended_asks_the_openai_format_route() -> None:
    gateway = FakeGateway()
    gateway.on("GET", f"{LIST}/job02compxxx", answer("bedrock", "b09_get_jobid"))
    b64 = base64.b64encode((ARN + "job02compxxx").encode()).decode()
    gateway.on("GET", f"{DEEP}/{b64}", answer("bedrock", "b20_oget_b64"))
    async with make_client(gateway) as client:
        batch = await client.get_batch("bedrock", ARN + "job02compxxx")
    assert batch.state is State.ENDED_OK and batch.source is Source.RETRIEVE
    assert len(gateway.calls("GET", f"{DEEP}/{b64}")) == 1


# --------------------------------------------------------------------------- gemini errored


def test_gemini_errored_on_a_canceled_or_expired_batch_is_not_run_or_failed() -> None:
    canceled = anth("gemini", body("gemini", "g23_get_dash_g04cancelled"))
    settled = canceled.updated_by(
        Batch.from_openai(
            item(body("gemini", "g03_list_openai_limit100"), "g04cancelled"), provider="gemini"
        )
    )
    expired = anth("gemini", body("gemini", "g24_get_dash_g05expired"))
    for batch, unsure in ((canceled, 7), (settled, 7), (expired, 15)):
        counts = batch.request_counts
        assert counts is not None
        assert counts.errored is None and counts.canceled is None and counts.expired is None
        assert counts.succeeded is not None and counts.total == counts.succeeded + unsure
        assert batch.not_run_or_failed == unsure
        assert batch.to_json()["request_counts"]["errored"] is None
        assert batch.to_json()["not_run_or_failed"] == unsure
    assert settled.state is State.ENDED_CANCELED and expired.state is State.EXPIRED


def test_gemini_errored_stands_while_active_and_once_completed() -> None:
    running = anth("gemini", body("gemini", "g21_get_dash_g01running"))
    assert running.state is State.ACTIVE and running.not_run_or_failed is None
    assert running.request_counts is not None and running.request_counts.errored is not None
    read = anth("gemini", body("gemini", "g11_get_dash"))
    assert read.state is State.ENDED_UNSURE and read.request_counts is not None
    assert read.request_counts.errored is None
    # Once the OpenAI-format list says completed, the count it hid is shown again.
    listed = Batch.from_openai(
        item(body("gemini", "g03_list_openai_limit100"), "g02succeeded"), provider="gemini"
    )
    completed = listed.updated_by(read)
    assert completed.state is State.ENDED_OK and completed.request_counts is not None
    assert completed.request_counts.errored == 2 and completed.not_run_or_failed is None
