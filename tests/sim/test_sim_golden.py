"""The simulator reproduces docs/gateway.md §10's JSON examples exactly (tests/data/golden)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

from pydantic import SecretStr

from bifrost_tui.sim import DashboardAuth, KeyConfig, ProviderConfig, SimWorld
from tests.support.sim_fixtures import (
    anthropic_world_10_2,
    call,
    clock_at,
    golden,
    openai_world_10_1,
    provider_header,
    same_json,
)

LIST = "/anthropic/v1/messages/batches"


def test_10_1_anthropic_list_for_openai():
    world = openai_world_10_1()
    response = call(world, "GET", LIST, headers=provider_header("openai"))
    assert response.status == 200
    assert same_json(response.json(), golden("list_openai_10_1.json"))


def test_10_2_anthropic_retrieve_for_anthropic():
    world = anthropic_world_10_2()
    response = call(
        world,
        "GET",
        f"{LIST}/msgbatch_01HkcTjaV5uDC8jWR4ZsDV8d",
        headers=provider_header("anthropic"),
    )
    assert response.status == 200
    assert same_json(response.json(), golden("retrieve_anthropic_10_2.json"))


def test_10_3_cancel_reply_for_openai():
    clock = clock_at(datetime(2026, 5, 13, 11, 22, 11, tzinfo=UTC))
    world = openai_world_10_1(clock)
    response = call(
        world, "POST", f"{LIST}/batch_6823a1f0/cancel", headers=provider_header("openai")
    )
    assert response.status == 200
    assert same_json(response.json(), golden("cancel_openai_10_3.json"))


def test_10_4_unknown_id():
    world = openai_world_10_1()
    response = call(world, "GET", f"{LIST}/batch_nope", headers=provider_header("openai"))
    assert response.status == 404
    assert same_json(response.json(), golden("error_404_unknown_id_10_4.json"))


def test_10_4_no_batch_enabled_key():
    config = ProviderConfig("openai", keys=[KeyConfig("plain", use_for_batch_api=False)])
    world = SimWorld(clock_at(), providers=[config])
    response = call(world, "GET", LIST, headers=provider_header("openai"))
    assert response.status == 500
    assert same_json(response.json(), golden("error_500_no_batch_key_10_4.json"))


def test_10_4_unknown_provider():
    world = SimWorld(clock_at())
    response = call(world, "GET", LIST, headers=provider_header("openia"))
    assert response.status == 500
    assert same_json(response.json(), golden("error_500_unknown_provider_10_4.json"))


def test_10_4_provider_without_batch_support():
    groq = ProviderConfig("groq", keys=[KeyConfig("groq-batch", use_for_batch_api=True)])
    world = SimWorld(clock_at(), providers=[groq])
    response = call(world, "POST", f"{LIST}/batch_1/cancel", headers=provider_header("groq"))
    assert response.status == 500
    assert same_json(response.json(), golden("error_500_unsupported_10_4.json"))


def test_10_4_auth_middleware_rejection_is_bifrost_shaped_on_anthropic_routes():
    auth = DashboardAuth("admin", SecretStr("s3cret"), on_inference=True)
    world = openai_world_10_1(dashboard_auth=auth)
    response = call(world, "GET", LIST, headers=provider_header("openai"))
    assert response.status == 401
    assert same_json(response.json(), golden("error_401_unauthorized_10_4.json"))


def _without_latency(body: dict) -> dict:
    """The latency figures are per call; everything else is compared exactly."""
    body = copy.deepcopy(body)
    body["extra_fields"].pop("latency")
    for item in body["data"]:
        item["extra_fields"].pop("latency")
    return body


def test_10_5_openai_format_list():
    world = openai_world_10_1()
    response = call(world, "GET", "/openai/v1/batches", query="provider=openai&limit=1")
    assert response.status == 200
    body = response.json()
    expected = golden("openai_list_10_5.json")
    assert same_json(_without_latency(body), _without_latency(expected))
    assert isinstance(body["extra_fields"]["latency"], int)
    # The cursor is not volatile: it is exactly the documented one.
    assert body["next_cursor"] == expected["next_cursor"]
