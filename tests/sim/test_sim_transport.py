"""SimTransport under httpx, and the fault knobs acted out as real transport behaviour."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr

from bifrost_tui.sim import DashboardAuth, Faults, ProviderConfig, SimTransport, SimWorld
from tests.support.clocks import GOLDEN_T0
from tests.support.sim_fixtures import (
    clock_at,
    golden,
    native_status,
    openai_world_10_1,
    same_json,
)

LIST = "/anthropic/v1/messages/batches"
CANCEL = f"{LIST}/batch_6823a1f0/cancel"
OPENAI = {"x-model-provider": "openai"}


class SleepRecorder:
    """An async sleep that only records: tests never wait."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


@pytest.fixture
def world() -> SimWorld:
    return openai_world_10_1()


@pytest.fixture
async def client(world: SimWorld, sleeps: SleepRecorder) -> AsyncIterator[httpx.AsyncClient]:
    transport = SimTransport(world, sleep=sleeps)
    async with httpx.AsyncClient(transport=transport, base_url="http://bifrost.sim") as c:
        yield c


async def test_requests_through_httpx_get_the_handlers_answers(client: httpx.AsyncClient):
    response = await client.get(LIST, headers=OPENAI)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert same_json(response.json(), golden("list_openai_10_1.json"))
    response = await client.get("/openai/v1/batches", params={"provider": "openai", "limit": 2})
    assert len(response.json()["data"]) == 2


async def test_gateway_down_raises_connect_error_and_nothing_happens(
    client: httpx.AsyncClient, world: SimWorld
):
    world.faults.down = True
    with pytest.raises(httpx.ConnectError):
        await client.post(CANCEL, headers=OPENAI)
    assert native_status(world, "openai", "batch_6823a1f0") == "in_progress"
    [record] = world.requests(op="batch_cancel")
    assert record.handled is False and record.status is None


async def test_drop_after_send_applies_the_cancel_but_loses_the_answer(
    client: httpx.AsyncClient, world: SimWorld
):
    world.faults.drop_next()
    with pytest.raises(httpx.RemoteProtocolError):
        await client.post(CANCEL, headers=OPENAI)
    assert native_status(world, "openai", "batch_6823a1f0") == "cancelling"
    # The answer for the next call is normal again (a one-shot fault).
    response = await client.get(f"{LIST}/batch_6823a1f0", headers=OPENAI)
    assert response.json()["processing_status"] == "canceling"


async def test_drop_can_be_a_read_error_and_persistent_for_every_cancel(
    client: httpx.AsyncClient, world: SimWorld
):
    world.faults.drop_next(error="read_error")
    with pytest.raises(httpx.ReadError):
        await client.post(CANCEL, headers=OPENAI)
    world.add_batch("openai", id="batch_two", status="in_progress", total=3)
    world.faults.drop_cancel_after_send = True
    with pytest.raises(httpx.RemoteProtocolError):
        await client.post(f"{LIST}/batch_two/cancel", headers=OPENAI)
    assert native_status(world, "openai", "batch_two") == "cancelling"
    assert (await client.get(LIST, headers=OPENAI)).status_code == 200  # lists are unaffected


async def test_malformed_json(client: httpx.AsyncClient, world: SimWorld):
    world.faults.malformed_json = True
    response = await client.get(LIST, headers=OPENAI)
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        response.json()


async def test_latency_goes_through_the_injected_sleep(
    client: httpx.AsyncClient, world: SimWorld, sleeps: SleepRecorder
):
    world.faults.latency = 2.5
    response = await client.get(LIST, headers=OPENAI)
    assert response.status_code == 200
    assert sleeps.calls == [2.5]


async def test_latency_beyond_the_read_timeout_times_out_without_waiting(
    client: httpx.AsyncClient, world: SimWorld, sleeps: SleepRecorder
):
    world.faults.latency = 30
    with pytest.raises(httpx.ReadTimeout):
        await client.get(LIST, headers=OPENAI, timeout=httpx.Timeout(5.0, read=1.5))
    assert sleeps.calls == [1.5]


async def test_slow_body_trickles_in_chunks(
    client: httpx.AsyncClient, world: SimWorld, sleeps: SleepRecorder
):
    world.faults.slow_body = 0.2
    world.faults.slow_body_chunk = 100
    response = await client.get(LIST, headers=OPENAI)
    assert same_json(response.json(), golden("list_openai_10_1.json"))
    assert len(sleeps.calls) == -(-len(response.content) // 100)
    assert set(sleeps.calls) == {0.2}
    world.faults.slow_body = 10
    with pytest.raises(httpx.ReadTimeout):
        await client.get(LIST, headers=OPENAI, timeout=httpx.Timeout(5.0, read=1.0))


async def test_error_rate_answers_from_a_reverse_proxy_with_html(
    client: httpx.AsyncClient, world: SimWorld
):
    world.faults.error_rate = 1.0
    statuses = []
    for _ in range(12):
        response = await client.post(CANCEL, headers=OPENAI)
        statuses.append(response.status_code)
        assert response.headers["content-type"] == "text/html"
        assert b"nginx" in response.content
    assert set(statuses) <= {500, 502, 503} and len(set(statuses)) > 1
    # The gateway never saw them: the batch is untouched.
    assert native_status(world, "openai", "batch_6823a1f0") == "in_progress"
    assert all(not r.handled for r in world.requests())


async def test_error_rate_is_seeded():
    async def run() -> list[int]:
        world = openai_world_10_1()
        world.faults.error_rate = 0.5
        async with httpx.AsyncClient(
            transport=SimTransport(world, sleep=SleepRecorder()), base_url="http://x"
        ) as c:
            return [(await c.get("/health")).status_code for _ in range(20)]

    first, second = await run(), await run()
    assert first == second and 200 in first and any(s >= 500 for s in first)


async def test_fail_next_scripts_one_exact_response(client: httpx.AsyncClient, world: SimWorld):
    world.faults.fail_next(
        429, b'{"error":"slow down"}', {"retry-after": "7"}, method="GET", path=LIST
    )
    scripted = await client.get(LIST, headers=OPENAI)
    assert scripted.status_code == 429
    assert scripted.headers["retry-after"] == "7"
    assert scripted.content == b'{"error":"slow down"}'
    assert (await client.get(LIST, headers=OPENAI)).status_code == 200


async def test_fail_next_with_apply_lets_the_cancel_land(
    client: httpx.AsyncClient, world: SimWorld
):
    world.faults.fail_next(502, "<html>bad gateway</html>", path="/cancel", apply=True)
    response = await client.post(CANCEL, headers=OPENAI)
    assert response.status_code == 502
    assert native_status(world, "openai", "batch_6823a1f0") == "cancelling"


async def test_refuse_next_refuses_once(client: httpx.AsyncClient, world: SimWorld):
    world.faults.refuse_next(path="/health")
    with pytest.raises(httpx.ConnectError):
        await client.get("/health")
    assert (await client.get("/health")).status_code == 200


async def test_provider_faults_touch_only_that_provider(sleeps: SleepRecorder):
    providers = [ProviderConfig("openai", faults=Faults(down=True)), ProviderConfig("anthropic")]
    world = SimWorld(clock_at(), providers=providers)
    async with httpx.AsyncClient(
        transport=SimTransport(world, sleep=sleeps), base_url="http://x"
    ) as c:
        with pytest.raises(httpx.ConnectError):
            await c.get(LIST, headers=OPENAI)
        assert (await c.get(LIST)).status_code == 200


async def test_login_cookie_is_kept_by_the_client(sleeps: SleepRecorder):
    world = SimWorld(clock_at(GOLDEN_T0), dashboard_auth=DashboardAuth("admin", SecretStr("pw")))
    async with httpx.AsyncClient(
        transport=SimTransport(world, sleep=sleeps), base_url="http://bifrost.sim"
    ) as c:
        assert (await c.get("/api/providers")).status_code == 401
        login = await c.post("/api/session/login", json={"username": "admin", "password": "pw"})
        assert login.status_code == 200
        assert (await c.get("/api/providers")).status_code == 200
