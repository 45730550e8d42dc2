"""The loopback server and ``bifrost-tui sim``: real HTTP on 127.0.0.1, port 0."""

from __future__ import annotations

import argparse
import io
import threading
from urllib.parse import urlsplit

import httpx
import pytest

from bifrost_tui.sim import SimServer, SimWorld
from bifrost_tui.sim.cli import add_arguments, run
from tests.support.sim_fixtures import golden, native_status, openai_world_10_1, same_json

LIST = "/anthropic/v1/messages/batches"
OPENAI = {"x-model-provider": "openai"}


@pytest.fixture
def world() -> SimWorld:
    return openai_world_10_1()


def test_serves_real_http_on_a_free_loopback_port(world: SimWorld):
    server = SimServer(world)
    url = server.start()
    try:
        parts = urlsplit(url)
        assert parts.hostname == "127.0.0.1"
        assert parts.port not in (None, 0, 8080)
        with httpx.Client(base_url=url, timeout=5) as client:
            assert client.get("/health").json()["status"] == "ok"
            listed = client.get(LIST, headers=OPENAI)
            assert listed.status_code == 200
            assert same_json(listed.json(), golden("list_openai_10_1.json"))
            cancelled = client.post(f"{LIST}/batch_6823a1f0/cancel", headers=OPENAI)
            assert cancelled.json()["processing_status"] == "canceling"
            assert client.get("/nope").status_code == 404
    finally:
        server.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/health", timeout=2)


def test_down_and_drop_after_send_close_the_connection(world: SimWorld):
    with SimServer(world) as server, httpx.Client(base_url=server.url, timeout=5) as client:
        world.faults.drop_next()
        with pytest.raises(httpx.TransportError):
            client.post(f"{LIST}/batch_6823a1f0/cancel", headers=OPENAI)
        assert native_status(world, "openai", "batch_6823a1f0") == "cancelling"
        world.faults.down = True
        with pytest.raises(httpx.TransportError):
            client.get("/health")
        world.faults.down = False
        assert client.get("/health").status_code == 200


def test_trickled_body_arrives_whole(world: SimWorld):
    world.faults.slow_body = 0.001
    world.faults.slow_body_chunk = 256
    with SimServer(world) as server, httpx.Client(base_url=server.url, timeout=5) as client:
        assert same_json(client.get(LIST, headers=OPENAI).json(), golden("list_openai_10_1.json"))


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(list(argv))


def _serve_in_thread(args: argparse.Namespace, env: dict[str, str]):
    out = io.StringIO()
    ready = threading.Event()
    stop = threading.Event()
    urls: list[str] = []
    result: list[int] = []

    def on_ready(url: str) -> None:
        urls.append(url)
        ready.set()

    thread = threading.Thread(
        target=lambda: result.append(
            run(args, env=env, out=out, err=io.StringIO(), ready=on_ready, stop=stop)
        )
    )
    thread.start()
    assert ready.wait(20)
    return thread, stop, urls[0], out, result


def test_cli_serves_until_stopped_and_says_it_is_a_simulator():
    secret = "sk-bf-cli-test-secret-42"
    args = _args("--seed", "3", "--require-virtual-key", "--batches-per-provider", "9")
    thread, stop, url, out, result = _serve_in_thread(args, {"BIFROST_SIM_VK": secret})
    try:
        with httpx.Client(base_url=url, timeout=5) as client:
            assert client.get(LIST).status_code == 401
            listed = client.get(LIST, headers={"x-bf-vk": secret})
            assert listed.status_code == 200 and len(listed.json()["data"]) == 9
            assert "sim" in client.get("/api/version").json()
    finally:
        stop.set()
        thread.join(10)
    assert result == [0]
    banner = out.getvalue()
    assert url in banner and "simulat" in banner.lower()
    assert secret not in banner  # the key is never printed


def test_cli_rejects_bad_arguments_with_exit_2():
    err = io.StringIO()
    assert run(_args("--time-scale", "0"), env={}, out=io.StringIO(), err=err) == 2
    assert "--time-scale" in err.getvalue()
    err = io.StringIO()
    assert run(_args("--dashboard-auth", "admin"), env={}, out=io.StringIO(), err=err) == 2
    assert "BIFROST_SIM_PASSWORD" in err.getvalue()
