"""The simulator's passthrough prefixes: native paging, several keys each with its own account,
pinning by ``x-bf-api-key-id``, a key drawn per unpinned request, and the refusals a client must
fall back from (an older gateway's 404, a proxy's 403, ``provider_blocked``)."""

from __future__ import annotations

import argparse
import io
import threading
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from bifrost_tui.sim import Faults, KeyConfig, ProviderConfig, SimWorld, VirtualKey
from bifrost_tui.sim.cli import add_arguments, run
from bifrost_tui.sim.exchange import SimResponse
from tests.support.sim_fixtures import call, clock_at

A_LIST = "/anthropic_passthrough/v1/messages/batches"
O_LIST = "/openai_passthrough/v1/batches"
PIN = "x-bf-api-key-id"
PER_KEY = 1_100


def two_key_world(*, shared: bool = False, per_key: int = PER_KEY, **opts: Any) -> SimWorld:
    return SimWorld.demo(
        clock_at(),
        seed=11,
        keys_per_provider=2,
        shared_account=shared,
        batches_per_provider=per_key,
        arrival_interval=None,
        **opts,
    )


@pytest.fixture(scope="module")
def world() -> SimWorld:
    return two_key_world()


def key_ids(world: SimWorld, provider: str) -> list[str]:
    return [k.id or "" for k in world.provider(provider).batch_keys()]


def get(world: SimWorld, path: str, query: str = "", **headers: str) -> SimResponse:
    return call(world, "GET", path, query=query, headers=headers)


def walk(world: SimWorld, path: str, key_id: str, limit: int, cursor: str) -> tuple[list[str], int]:
    """Follow the native cursor to the end, pinned; (ids in order, requests made)."""
    ids: list[str] = []
    query = f"limit={limit}"
    requests = 0
    while True:
        reply = get(world, path, query, **{PIN: key_id})
        requests += 1
        assert reply.status == 200, reply.content()
        page = reply.json()
        data = [b["id"] for b in page["data"]]
        assert len(data) <= limit
        if data:
            assert (page["first_id"], page["last_id"]) == (data[0], data[-1])
        ids += data
        if not page["has_more"]:
            return ids, requests
        query = f"limit={limit}&{cursor}={page['last_id']}"


# --------------------------------------------------------------------------- native paging, pinned


@pytest.mark.parametrize(
    ("provider", "path", "limit", "cursor", "pages"),
    [("anthropic", A_LIST, 1000, "after_id", 2), ("openai", O_LIST, 100, "after", 11)],
)
def test_each_pinned_key_pages_natively_to_the_end_of_its_own_account(
    world: SimWorld, provider: str, path: str, limit: int, cursor: str, pages: int
) -> None:
    seen: list[set[str]] = []
    for index, key_id in enumerate(key_ids(world, provider)):
        ids, requests = walk(world, path, key_id, limit, cursor)
        assert requests == pages
        assert len(ids) == len(set(ids)) == PER_KEY
        assert ids == [b.id for b in world.batches(provider, index)]  # newest first, all of them
        seen.append(set(ids))
    assert not seen[0] & seen[1]
    assert len(seen[0] | seen[1]) == len(world.batches(provider)) == 2 * PER_KEY


def test_before_id_pages_back_towards_the_newest(world: SimWorld) -> None:
    key = key_ids(world, "anthropic")[1]
    newest = [b.id for b in world.batches("anthropic", 1)]
    page = get(world, A_LIST, f"limit=5&before_id={newest[12]}", **{PIN: key}).json()
    assert [b["id"] for b in page["data"]] == newest[7:12] and page["has_more"] is True
    page = get(world, A_LIST, f"limit=5&before_id={newest[3]}", **{PIN: key}).json()
    assert [b["id"] for b in page["data"]] == newest[:3] and page["has_more"] is False


def test_the_native_object_is_the_providers_own(world: SimWorld) -> None:
    key = key_ids(world, "anthropic")[0]
    item = get(world, A_LIST, "limit=1", **{PIN: key}).json()["data"][0]
    assert item["type"] == "message_batch"
    assert {"ended_at", "cancel_initiated_at", "archived_at", "results_url"} <= set(item)
    oai = get(world, O_LIST, "limit=1", **{PIN: key_ids(world, "openai")[0]}).json()
    assert oai["object"] == "list" and oai["data"][0]["object"] == "batch"


@pytest.mark.parametrize(
    ("path", "query", "status"),
    [
        (A_LIST, "limit=1001", 400),
        (A_LIST, "limit=0", 400),
        (A_LIST, "limit=x", 400),
        (A_LIST, "limit=1000", 200),
        (O_LIST, "limit=101", 400),
        (O_LIST, "limit=100", 200),
        (A_LIST, "after_id=a&before_id=b", 400),
    ],
)
def test_page_limits_are_the_providers(world: SimWorld, path: str, query: str, status: int) -> None:
    provider = "anthropic" if path == A_LIST else "openai"
    reply = get(world, path, query, **{PIN: key_ids(world, provider)[0]})
    assert reply.status == status
    if status == 400:
        assert reply.json()["error"]["type"] == "invalid_request_error"


def test_without_a_limit_a_page_holds_twenty(world: SimWorld) -> None:
    for path, provider in ((A_LIST, "anthropic"), (O_LIST, "openai")):
        page = get(world, path, **{PIN: key_ids(world, provider)[0]}).json()
        assert len(page["data"]) == 20 and page["has_more"] is True


def test_a_pinned_retrieve_sees_only_its_own_accounts_batches(world: SimWorld) -> None:
    first, second = key_ids(world, "anthropic")
    theirs = world.batches("anthropic", 1)[5].id
    own = get(world, f"{A_LIST}/{theirs}", **{PIN: second})
    assert own.status == 200 and own.json()["id"] == theirs
    other = get(world, f"{A_LIST}/{theirs}", **{PIN: first})
    assert other.status == 404
    assert other.json()["error"]["type"] == "not_found_error"
    assert world.requests(op="passthrough_retrieve")[-1].key_id == first


def test_an_unknown_path_under_a_prefix_is_the_providers_404(world: SimWorld) -> None:
    reply = get(world, "/anthropic_passthrough/v1/nothing_here")
    assert reply.status == 404 and reply.json()["error"]["message"] == "unknown route"


def test_azure_pages_under_its_own_prefix() -> None:
    world = two_key_world(per_key=30)
    key = key_ids(world, "azure")[1]
    ids, requests = walk(world, "/azure_passthrough/openai/batches", key, 100, "after")
    assert requests == 1 and ids == [b.id for b in world.batches("azure", 1)]


def test_a_cancel_through_the_prefix_acts_on_the_pinned_accounts_batch() -> None:
    world = two_key_world(per_key=30)
    key = key_ids(world, "anthropic")[1]
    batch = next(b for b in world.batches("anthropic", 1) if b.phase.active)
    reply = call(world, "POST", f"{A_LIST}/{batch.id}/cancel", headers={PIN: key})
    assert reply.status == 200 and reply.json()["processing_status"] == "canceling"


# --------------------------------------------------------------------------- which key


def test_unpinned_requests_draw_a_key_per_request_from_the_seed() -> None:
    def keys_used(world: SimWorld) -> list[str | None]:
        for _ in range(16):
            assert get(world, A_LIST, "limit=1").status == 200
        return [r.key_id for r in world.requests(op="passthrough_list")]

    first = keys_used(two_key_world(per_key=5))
    again = keys_used(two_key_world(per_key=5))
    assert first == again  # seeded: the same world draws the same keys
    assert set(first) == set(key_ids(two_key_world(per_key=5), "anthropic"))


def test_unpinned_listings_mix_accounts() -> None:
    world = two_key_world(per_key=5)
    firsts = {get(world, A_LIST, "limit=5").json()["first_id"] for _ in range(16)}
    assert len(firsts) == 2  # one listing per account, depending on the key drawn


def test_with_a_shared_account_both_keys_list_the_same_batches() -> None:
    world = two_key_world(shared=True, per_key=150)
    assert len(world.batches("anthropic")) == 150
    listings = [
        walk(world, A_LIST, key, 1000, "after_id")[0] for key in key_ids(world, "anthropic")
    ]
    assert listings[0] == listings[1] and len(listings[0]) == 150


def test_an_unknown_key_id_is_bifrosts_400(world: SimWorld) -> None:
    reply = get(world, A_LIST, "limit=1", **{PIN: "no-such-key"})
    body = reply.json()
    assert reply.status == 400
    assert "no-such-key" in body["error"]["message"]
    assert body["extra_fields"] == {"provider": "anthropic", "request_type": "passthrough"}
    batch_route = get(world, "/anthropic/v1/messages/batches", **{PIN: "no-such-key"})
    assert batch_route.status == 400 and batch_route.json()["type"] == "error"


def test_the_batch_routes_honour_the_pin(world: SimWorld) -> None:
    second = key_ids(world, "anthropic")[1]
    page = get(world, "/anthropic/v1/messages/batches", **{PIN: second}).json()
    assert [b["id"] for b in page["data"]] == [b.id for b in world.batches("anthropic", 1)[:20]]
    theirs = world.batches("anthropic", 0)[0].id
    assert get(world, f"/anthropic/v1/messages/batches/{theirs}", **{PIN: second}).status == 404
    assert get(world, f"/anthropic/v1/messages/batches/{theirs}").status == 200
    # Unpinned, the Anthropic route still lists the first key's first page only.
    unpinned = get(world, "/anthropic/v1/messages/batches").json()
    assert [b["id"] for b in unpinned["data"]] == [b.id for b in world.batches("anthropic", 0)[:20]]


# --------------------------------------------------------------------------- refusals


def test_an_older_gateway_answers_the_prefix_with_a_plain_404() -> None:
    world = two_key_world(per_key=5, faults=Faults(refuse_passthrough=404))
    reply = get(world, A_LIST, "limit=1", **{PIN: key_ids(world, "anthropic")[0]})
    assert (reply.status, reply.content()) == (404, b"Not Found")
    assert world.requests()[-1].handled is False
    assert get(world, "/anthropic/v1/messages/batches").status == 200  # batch routes unharmed


def test_a_proxy_blocks_one_providers_prefix_with_a_403_page() -> None:
    world = two_key_world(per_key=5)
    config = world.provider("openai")
    config.faults = Faults(refuse_passthrough=403)
    reply = get(world, O_LIST, "limit=1", **{PIN: key_ids(world, "openai")[0]})
    assert reply.status == 403 and b"403 Forbidden" in reply.content()
    assert dict(reply.headers)["content-type"] == "text/html"
    assert get(world, A_LIST, "limit=1", **{PIN: key_ids(world, "anthropic")[0]}).status == 200


def test_governance_refuses_in_bifrosts_own_shape() -> None:
    vk = "sk-bf-anthropic-only"
    world = two_key_world(
        per_key=5,
        require_virtual_key=True,
        virtual_keys=[VirtualKey(SecretStr(vk), providers=frozenset({"anthropic"}))],
    )
    blocked = get(world, O_LIST, "limit=1", **{"x-bf-vk": vk})
    assert blocked.status == 403
    assert blocked.json()["type"] == "provider_blocked"
    assert blocked.json()["extra_fields"]["request_type"] == "passthrough"
    assert get(world, A_LIST, "limit=1").json()["type"] == "virtual_key_required"
    assert get(world, A_LIST, "limit=1", **{"x-bf-vk": "sk-bf-nope"}).status == 401
    assert get(world, A_LIST, "limit=1", **{"x-bf-vk": vk}).status == 200


def test_a_key_not_batch_enabled_reaches_no_batches() -> None:
    provider = ProviderConfig(
        "anthropic",
        keys=[KeyConfig("chat", id="k-chat", use_for_batch_api=False), KeyConfig("b", id="k-b")],
    )
    world = SimWorld(clock_at(), providers=[provider])
    world.add_batch("anthropic", id="msgbatch_one", status="in_progress", processing=3)
    assert get(world, A_LIST, **{PIN: "k-chat"}).json()["data"] == []
    assert get(world, A_LIST, **{PIN: "k-b"}).json()["first_id"] == "msgbatch_one"


# --------------------------------------------------------------------------- the CLI


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(list(argv))


def test_cli_serves_several_keys_per_provider_on_loopback() -> None:
    args = _args("--keys-per-provider", "2", "--batches-per-provider", "30")
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
            run(args, env={}, out=out, err=io.StringIO(), ready=on_ready, stop=stop)
        )
    )
    thread.start()
    try:
        assert ready.wait(20)
        with httpx.Client(base_url=urls[0], timeout=5) as client:
            keys = client.get("/api/providers/anthropic/keys").json()["keys"]
            assert [k["name"] for k in keys] == ["anthropic-batch", "anthropic-batch-2"]
            for key in keys:
                page = client.get(A_LIST, params={"limit": 1000}, headers={PIN: key["id"]}).json()
                assert len(page["data"]) == 30 and page["has_more"] is False
    finally:
        stop.set()
        thread.join(10)
    assert result == [0]
    assert "2 batch keys per provider" in out.getvalue()


def test_cli_rejects_a_bad_key_count() -> None:
    err = io.StringIO()
    assert run(_args("--keys-per-provider", "0"), env={}, out=io.StringIO(), err=err) == 2
    assert "--keys-per-provider" in err.getvalue()
