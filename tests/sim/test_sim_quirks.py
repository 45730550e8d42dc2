"""Each documented gateway quirk, reproduced by the simulator (docs/gateway.md §2-§5)."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from urllib.parse import quote

import pytest
from pydantic import SecretStr

from bifrost_tui.sim import (
    DashboardAuth,
    KeyConfig,
    ProviderConfig,
    SimWorld,
    VirtualKey,
    standard_providers,
)
from bifrost_tui.sim.emit import parse_serial_cursor
from tests.support.clocks import GOLDEN_T0
from tests.support.sim_fixtures import (
    call,
    clock_at,
    native_status,
    openai_world_10_1,
    provider_header,
)

LIST = "/anthropic/v1/messages/batches"


def many(world: SimWorld, provider: str, n: int, **kw) -> list[str]:
    ids = []
    for i in range(n):
        batch = world.add_batch(
            provider, created_at=GOLDEN_T0 - timedelta(minutes=n - i), total=10, succeeded=10, **kw
        )
        ids.append(batch.id)
    return ids[::-1]  # newest first


def alist(world: SimWorld, provider: str | None, query: str = "") -> dict:
    headers = provider_header(provider) if provider is not None else {}
    response = call(world, "GET", LIST, query=query, headers=headers)
    assert response.status == 200, response.body
    return response.json()


# --------------------------------------------------------------------------- Anthropic list paging


class TestAnthropicListFirstPageOnly:
    @pytest.mark.parametrize("provider", ["anthropic", "openai", "azure"])
    def test_first_page_of_20_with_has_more_and_no_cursor(self, provider):
        world = SimWorld(clock_at())
        ids = many(world, provider, 45)
        body = alist(world, provider)
        assert [b["id"] for b in body["data"]] == ids[:20]
        assert body["has_more"] is True
        assert set(body) == {"data", "has_more"}  # never first_id, last_id or a cursor

    def test_bedrock_returns_every_job_in_one_answer(self):
        # Recorded (bedrock b01-b03): no paging parameter reaches Bedrock from this route, so its
        # list holds every job with has_more false, whatever page_size or limit says.
        world = SimWorld(clock_at())
        ids = many(world, "bedrock", 45)
        for query in ("", "page_size=3", "limit=3"):
            body = alist(world, "bedrock", query)
            assert [b["id"] for b in body["data"]] == ids, query
            assert body["has_more"] is False
            assert set(body) == {"data", "has_more"}

    def test_limit_after_id_before_id_and_page_size_are_ignored(self):
        world = SimWorld(clock_at())
        ids = many(world, "anthropic", 45)
        first = alist(world, "anthropic")
        for query in (
            "limit=100",
            f"after_id={ids[19]}",
            f"before_id={ids[30]}",
            "page_size=5",
            "page_token=whatever",
        ):
            assert alist(world, "anthropic", query) == first, query

    def test_gemini_honours_page_size(self):
        world = SimWorld(clock_at())
        ids = many(world, "gemini", 12)
        body = alist(world, "gemini", "page_size=5")
        # The list names each batch by its bare id.
        assert [b["id"] for b in body["data"]] == [i.removeprefix("batches/") for i in ids[:5]]
        assert body["has_more"] is True
        assert len(alist(world, "gemini", "page_size=50")["data"]) == 12
        assert alist(world, "gemini", "page_size=50")["has_more"] is False

    def test_gemini_cursor_from_the_openai_route_works_as_page_token_on_this_route(self):
        world = SimWorld(clock_at())
        ids = [i.removeprefix("batches/") for i in many(world, "gemini", 30)]
        first = call(world, "GET", "/openai/v1/batches", query="provider=gemini&limit=10").json()
        assert [b["id"] for b in first["data"]] == ids[:10]
        query = f"page_size=10&page_token={quote(first['next_cursor'], safe='')}"
        second = alist(world, "gemini", query)
        assert [b["id"] for b in second["data"]] == ids[10:20]
        assert set(second) == {"data", "has_more"}  # ...but no cursor for a third page
        bad = call(world, "GET", LIST, query="page_token=zzz", headers=provider_header("gemini"))
        assert bad.status == 500
        assert bad.json()["error"]["message"] == "invalid pagination cursor"

    def test_second_batch_key_makes_has_more_true_with_nothing_to_page_to(self):
        keys = [KeyConfig("k1", id="a"), KeyConfig("k2", id="b")]
        world = SimWorld(clock_at(), providers=[ProviderConfig("openai", keys=keys)])
        many(world, "openai", 3)
        body = alist(world, "openai")
        assert len(body["data"]) == 3
        assert body["has_more"] is True

    def test_missing_or_empty_header_means_anthropic(self):
        world = SimWorld(clock_at())
        many(world, "anthropic", 2)
        many(world, "openai", 3)
        assert len(alist(world, None)["data"]) == 2
        response = call(world, "GET", LIST, headers={"x-model-provider": ""})
        assert len(response.json()["data"]) == 2
        assert world.request_log[-1].provider == "anthropic"


# --------------------------------------------------------------------------- object conversion


class TestAnthropicShape:
    def test_request_counts_dropped_when_total_is_zero(self):
        world = SimWorld(clock_at())
        validating = world.add_batch("openai", status="validating", total=0)
        item = alist(world, "openai")["data"][0]
        assert item["id"] == validating.id
        assert "request_counts" not in item

    def test_openai_counts_show_only_errored(self):
        world = openai_world_10_1()
        item = alist(world, "openai")["data"][0]
        assert item["request_counts"] == {
            "processing": 0,
            "succeeded": 0,
            "errored": 3,
            "canceled": 0,
            "expired": 0,
        }

    @pytest.mark.parametrize(
        ("provider", "native", "shown"),
        [
            ("openai", "finalizing", "finalizing"),
            ("openai", "failed", "failed"),
            ("openai", "expired", "expired"),
            ("openai", "validating", "in_progress"),
            ("openai", "cancelled", "ended"),
            ("azure", "cancelling", "canceling"),
            ("bedrock", "PartiallyCompleted", "failed"),
            ("bedrock", "Scheduled", "in_progress"),
            ("bedrock", "Stopped", "ended"),
            ("gemini", "BATCH_STATE_EXPIRED", "expired"),
            ("gemini", "BATCH_STATE_PENDING", "in_progress"),
            ("anthropic", "ended", "ended"),
            ("openai", "paused_by_ops", "paused_by_ops"),
            ("gemini", "BATCH_STATE_UNSPECIFIED", "BATCH_STATE_UNSPECIFIED"),
        ],
    )
    def test_status_mapping_passes_unknown_and_odd_statuses_through(self, provider, native, shown):
        world = SimWorld(clock_at())
        world.add_batch(provider, status=native, total=5)
        assert alist(world, provider)["data"][0]["processing_status"] == shown

    def test_timestamps_are_whole_seconds_and_empty_when_unset(self):
        world = SimWorld(clock_at())
        world.add_batch(
            "anthropic", created_at=GOLDEN_T0.replace(microsecond=987654), status="in_progress"
        )
        world.add_batch("openai", created_at=0, expires_at=None)
        assert alist(world, "anthropic")["data"][0]["created_at"] == "2026-05-13T11:00:00Z"
        item = alist(world, "openai")["data"][0]
        assert item["created_at"] == "" and item["expires_at"] == ""

    def test_bedrock_list_has_no_counts_retrieve_only_errored_and_expiry_only_on_retrieve(self):
        world = SimWorld(clock_at())
        job = world.add_batch(
            "bedrock",
            status="Completed",
            total=100,
            succeeded=97,
            errored=3,
            created_at=GOLDEN_T0 - timedelta(hours=3),
            ended_at=GOLDEN_T0 - timedelta(hours=1),
        )
        item = alist(world, "bedrock")["data"][0]
        assert item == {
            "id": job.id,
            "type": "message_batch",
            "processing_status": "ended",
            "created_at": "2026-05-13T08:00:00Z",
            "expires_at": "",
        }
        one = call(
            world,
            "GET",
            f"{LIST}/{job.job_id}",
            headers=provider_header("bedrock"),
        ).json()
        assert one["id"] == job.id  # the full ARN comes back even when asked by job id
        assert one["request_counts"]["errored"] == 3
        assert one["request_counts"]["succeeded"] == 0
        assert one["ended_at"] == "2026-05-13T10:00:00Z"
        assert one["expires_at"] == "2026-05-16T08:00:00Z"  # the job's expiration time

    def test_gemini_list_has_no_counts_retrieve_has_real_ones(self):
        world = SimWorld(clock_at())
        job = world.add_batch(
            "gemini", status="BATCH_STATE_RUNNING", total=100, succeeded=60, errored=5
        )
        item = alist(world, "gemini")["data"][0]
        assert item["id"] == job.id.removeprefix("batches/")  # bare on the list
        assert "request_counts" not in item
        one = call(world, "GET", f"{LIST}/{item['id']}", headers=provider_header("gemini")).json()
        assert one["request_counts"] == {
            "processing": 35,
            "succeeded": 60,
            "errored": 5,
            "canceled": 0,
            "expired": 0,
        }
        assert one["expires_at"] == "" and "ended_at" not in one

    def test_anthropic_round_trips_everything(self):
        world = SimWorld(clock_at())
        world.add_batch(
            "anthropic",
            status="ended",
            succeeded=7,
            errored=1,
            canceled=2,
            expired=0,
            created_at=GOLDEN_T0 - timedelta(days=30),
            ended_at=GOLDEN_T0 - timedelta(days=30) + timedelta(hours=2),
            cancelling_at=GOLDEN_T0 - timedelta(days=30) + timedelta(hours=1),
            archived_at=GOLDEN_T0 - timedelta(days=1),
        )
        item = alist(world, "anthropic")["data"][0]
        assert list(item) == [
            "id",
            "type",
            "processing_status",
            "request_counts",
            "ended_at",
            "created_at",
            "expires_at",
            "archived_at",
            "cancel_initiated_at",
            "results_url",
        ]
        assert item["request_counts"]["canceled"] == 2


# --------------------------------------------------------------------------- cancel


def cancel(world: SimWorld, provider: str, batch_id: str, **headers: str):
    return call(
        world,
        "POST",
        f"{LIST}/{quote(batch_id, safe='')}/cancel",
        headers={**provider_header(provider), **headers},
        body=b'{"ignored": true}',
    )


class TestCancel:
    def test_anthropic_cancel_reply_is_partial_and_lossy(self):
        world = SimWorld(clock_at())
        batch = world.add_batch(
            "anthropic", status="in_progress", processing=4, succeeded=3, errored=2, canceled=1
        )
        response = cancel(world, "anthropic", batch.id)
        assert response.status == 200
        assert response.json() == {
            "id": batch.id,
            "type": "message_batch",
            "processing_status": "canceling",
            "request_counts": {
                "processing": 0,
                "succeeded": 0,
                "errored": 2,
                "canceled": 0,
                "expired": 0,
            },
            "created_at": "",
            "expires_at": "",
            "cancel_initiated_at": "2026-05-13T11:00:00Z",
        }

    def test_bedrock_cancel_returns_full_arn_and_canceling_without_counts(self):
        world = SimWorld(clock_at())
        job = world.add_batch("bedrock", status="InProgress", total=100, succeeded=50)
        response = cancel(world, "bedrock", job.job_id)
        assert response.json() == {
            "id": job.id,
            "type": "message_batch",
            "processing_status": "canceling",
            "created_at": "",
            "expires_at": "",
        }
        assert job.native == "Stopping"

    def test_gemini_cancel_reports_cancelling_as_of_now(self):
        clock = clock_at()
        world = SimWorld(clock)
        job = world.add_batch("gemini", status="BATCH_STATE_RUNNING", total=10)
        wire_id = job.id.replace("batches/", "batches-")
        assert cancel(world, "gemini", wire_id).json()["cancel_initiated_at"] == (
            "2026-05-13T11:00:00Z"
        )
        clock.advance(5)
        again = cancel(world, "gemini", wire_id).json()
        assert again["id"] == job.id  # the form the provider call used: batches/x
        assert again["cancel_initiated_at"] == "2026-05-13T11:00:05Z"  # Bifrost stamps "now"

    def test_gemini_vertex_state_names_move_like_their_own_but_pass_through_raw(self):
        clock = clock_at()
        world = SimWorld(clock)
        running = world.add_batch("gemini", status="JOB_STATE_RUNNING", total=4, succeeded=2)
        done = world.add_batch("gemini", status="JOB_STATE_SUCCEEDED", total=3, succeeded=3)
        assert cancel(world, "gemini", done.id.removeprefix("batches/")).status == 400
        one = call(
            world, "GET", "/openai/v1/batches/" + done.id.replace("/", "-"), query="provider=gemini"
        )
        assert one.json()["status"] == "JOB_STATE_SUCCEEDED" and one.json()["done"] is True
        assert cancel(world, "gemini", running.id.removeprefix("batches/")).status == 200
        clock.advance(60)
        after = call(
            world,
            "GET",
            f"{LIST}/{running.id.replace('/', '-')}",
            headers=provider_header("gemini"),
        )
        # Cancelled: the two unrun requests now count as errored (total - pending - succeeded).
        assert after.json()["processing_status"] == "ended"
        assert after.json()["request_counts"]["errored"] == 2

    def test_bedrock_errors_on_the_openai_route_keep_the_raw_response(self):
        world = SimWorld(clock_at())
        unknown = base64.b64encode(b"zzzzzzzzzzzz").decode()
        response = call(world, "GET", f"/openai/v1/batches/{unknown}", query="provider=bedrock")
        assert response.status == 404
        body = response.json()
        assert body["extra_fields"]["raw_response"] == {"message": body["error"]["message"]}

    def test_cancel_while_canceling_is_idempotent(self):
        clock = clock_at()
        world = SimWorld(clock)
        batch = world.add_batch("openai", status="in_progress", total=10, completed=2)
        first = cancel(world, "openai", batch.id).json()
        clock.advance(7)
        second = cancel(world, "openai", batch.id)
        assert second.status == 200
        assert second.json() == first

    def test_cancel_of_an_ended_openai_batch_is_refused_with_the_upstream_error(self):
        world = openai_world_10_1()
        response = cancel(world, "openai", "batch_6822c2aa")
        assert response.status == 409
        assert response.json() == {
            "type": "error",
            "error": {
                "type": "invalid_request_error",
                "message": "Cannot cancel a batch with status 'completed'.",
            },
        }
        assert native_status(world, "openai", "batch_6822c2aa") == "completed"

    def test_cancel_conflict_status_is_configurable(self):
        world = SimWorld(
            clock_at(), providers=[ProviderConfig("openai", cancel_conflict_status=400)]
        )
        batch = world.add_batch("openai", status="expired", total=3)
        assert cancel(world, "openai", batch.id).status == 400

    def test_cancel_of_an_ended_anthropic_batch_is_a_conflict(self):
        world = SimWorld(clock_at())
        batch = world.add_batch("anthropic", status="ended", succeeded=1)
        response = cancel(world, "anthropic", batch.id)
        assert response.status == 409
        assert response.json()["error"]["type"] == "conflict_error"

    def test_raw_response_mode_returns_the_native_openai_object(self):
        providers = [ProviderConfig("openai", send_back_raw_response=True)]
        world = SimWorld(clock_at(), providers=providers)
        batch = world.add_batch("openai", status="in_progress", total=10, completed=4)
        body = cancel(world, "openai", batch.id).json()
        assert body["status"] == "cancelling"
        assert "processing_status" not in body
        assert body["request_counts"] == {"total": 10, "completed": 4, "failed": 0}
        assert body["output_file_id"] is None

    def test_per_request_raw_override_needs_the_gateway_to_allow_it(self):
        world = SimWorld(clock_at())
        batch = world.add_batch("openai", status="in_progress", total=10)
        header = {"x-bf-send-back-raw-response": "true"}
        assert "processing_status" in cancel(world, "openai", batch.id, **header).json()
        allowing = SimWorld(clock_at(), allow_per_request_raw_override=True)
        other = allowing.add_batch("openai", status="in_progress", total=10)
        assert "status" in cancel(allowing, "openai", other.id, **header).json()


# --------------------------------------------------------------------------- errors


class TestGatewayErrors:
    @pytest.mark.parametrize(
        ("method", "suffix", "op"),
        [
            ("GET", "", "batch_list"),
            ("GET", "/batch_1", "batch_retrieve"),
            ("POST", "/batch_1/cancel", "batch_cancel"),
        ],
    )
    def test_provider_without_batch_support(self, method, suffix, op):
        groq = ProviderConfig("groq", keys=[KeyConfig("g", use_for_batch_api=True)])
        world = SimWorld(clock_at(), providers=[groq])
        response = call(world, method, LIST + suffix, headers=provider_header("groq"))
        assert response.status == 500
        assert response.json() == {
            "type": "error",
            "error": {"type": "api_error", "message": f"{op} is not supported by groq provider"},
        }

    def test_unknown_provider_is_case_sensitive(self):
        world = SimWorld(clock_at())
        response = call(world, "GET", LIST, headers=provider_header("OpenAI"))
        assert response.status == 500
        assert response.json()["error"] == {
            "type": "api_error",
            "message": "failed to get config for provider: not found",
        }

    def test_no_batch_enabled_key(self):
        world = SimWorld(clock_at())  # groq's only key is not batch-enabled, as in the UI
        response = call(world, "GET", LIST, headers=provider_header("groq"))
        assert response.status == 500
        assert response.json()["error"]["message"] == (
            "no batch-enabled keys found for provider: groq and model: "
        )
        disabled = ProviderConfig("openai", keys=[KeyConfig("k", enabled=False)])
        world = SimWorld(clock_at(), providers=[disabled])
        assert call(world, "GET", LIST, headers=provider_header("openai")).status == 500

    def test_unknown_id_carries_the_upstream_status_and_type(self):
        world = SimWorld(clock_at())
        openai = call(world, "GET", f"{LIST}/batch_nope", headers=provider_header("openai"))
        assert openai.status == 404
        assert openai.json()["error"]["type"] == "invalid_request_error"
        anthropic = call(world, "GET", f"{LIST}/msgbatch_nope")
        assert anthropic.status == 404
        assert anthropic.json()["error"]["type"] == "not_found_error"

    def test_unknown_route_and_method(self):
        world = SimWorld(clock_at())
        assert call(world, "GET", "/anthropic/v1/messages/batchez").status == 404
        assert call(world, "DELETE", f"{LIST}/msgbatch_1").status == 405


# --------------------------------------------------------------------------- ids in paths


class TestIdsInPaths:
    def test_bedrock_only_the_job_id_works_on_the_anthropic_route(self):
        world = SimWorld(clock_at())
        job = world.add_batch("bedrock", status="InProgress", total=5)
        header = provider_header("bedrock")
        raw = call(world, "GET", f"{LIST}/{job.id}", headers=header)
        assert raw.status == 200 and raw.body.startswith(b"<html>")  # the web UI's page
        encoded = call(world, "GET", f"{LIST}/{quote(job.id, safe='')}", headers=header)
        assert encoded.status == 400  # the gateway encodes the %2F once more
        message = encoded.json()["error"]["message"]
        assert "at 'jobIdentifier' failed to satisfy constraint" in message
        assert call(world, "GET", f"{LIST}/{job.job_id}", headers=header).json()["id"] == job.id

    def test_path_ids_are_percent_decoded_once(self):
        world = SimWorld(clock_at())
        world.add_batch("openai", id="batch_%41")
        header = provider_header("openai")
        assert call(world, "GET", f"{LIST}/batch_%2541", headers=header).status == 200
        assert call(world, "GET", f"{LIST}/batch_A", headers=header).status == 404


# --------------------------------------------------------------------------- OpenAI-format route


def olist(world: SimWorld, query: str, path: str = "/openai/v1/batches") -> dict:
    response = call(world, "GET", path, query=query)
    assert response.status == 200, response.body
    return response.json()


class TestOpenAIRoute:
    @pytest.mark.parametrize("provider", ["openai", "azure"])
    def test_after_cursor_pages_through_everything_for_openai_and_azure(self, provider):
        world = SimWorld(clock_at())
        ids = many(world, provider, 150)
        first = olist(world, f"provider={provider}&limit=100")
        assert [b["id"] for b in first["data"]] == ids[:100]
        assert first["has_more"] is True
        assert parse_serial_cursor(first["next_cursor"]) == (0, ids[99])
        second = olist(world, f"provider={provider}&limit=100&after={first['next_cursor']}")
        assert [b["id"] for b in second["data"]] == ids[100:]
        assert "has_more" not in second and "next_cursor" not in second

    @pytest.mark.parametrize("provider", ["anthropic", "gemini", "bedrock"])
    def test_after_is_ignored_for_other_providers(self, provider):
        world = SimWorld(clock_at())
        many(world, provider, 30)
        first = olist(world, f"provider={provider}&limit=10")
        again = olist(world, f"provider={provider}&limit=10&after={first['next_cursor']}")
        assert [b["id"] for b in again["data"]] == [b["id"] for b in first["data"]]

    def test_limit_caps_and_non_numeric_limit(self):
        world = SimWorld(clock_at())
        many(world, "openai", 130)
        many(world, "anthropic", 1100)
        assert len(olist(world, "provider=openai&limit=500")["data"]) == 100
        assert len(olist(world, "provider=openai&limit=abc")["data"]) == 30
        assert len(olist(world, "provider=openai")["data"]) == 20
        assert len(olist(world, "provider=anthropic&limit=5000")["data"]) == 1000
        assert len(olist(world, "provider=openai&limit=5", "/openai/batches")["data"]) == 5

    def test_bedrock_ids_are_base64_and_round_trip(self):
        world = SimWorld(clock_at())
        job = world.add_batch("bedrock", status="Completed", total=4, succeeded=4)
        item = olist(world, "provider=bedrock")["data"][0]
        assert base64.b64decode(item["id"]).decode() == job.id
        assert "input_file_id" not in item  # Bedrock's list summaries carry no input
        path = f"/openai/v1/batches/{quote(item['id'], safe='')}"
        one = call(world, "GET", path, query="provider=bedrock")
        assert one.status == 200
        assert one.json()["id"] == item["id"]
        assert base64.b64decode(one.json()["input_file_id"]).decode() == job.input_file_id
        assert one.json()["request_counts"]["total"] == 4

    def test_items_are_bifrost_shaped_with_unix_times_and_extras(self):
        world = openai_world_10_1()
        world.add_batch(
            "anthropic", status="ended", succeeded=2, created_at=GOLDEN_T0, ended_at=GOLDEN_T0
        )
        data = olist(world, "provider=anthropic")["data"][0]
        assert data["status"] == "ended"
        assert data["processing_status"] == "ended"
        assert data["request_counts"] == {"total": 2, "completed": 2, "failed": 0, "succeeded": 2}
        assert data["completed_at"] == int(GOLDEN_T0.timestamp())
        cancelled = next(
            b for b in olist(world, "provider=openai")["data"] if b["id"] == "batch_6821b9c4"
        )
        assert cancelled["status"] == "cancelled"
        assert cancelled["cancelling_at"] == 1778510000

    def test_errors_are_bifrost_shaped(self):
        world = SimWorld(clock_at())
        response = call(world, "GET", "/openai/v1/batches/batch_nope", query="provider=openai")
        assert response.status == 404
        assert response.json() == {
            "is_bifrost_error": False,
            "status_code": 404,
            "error": {
                "type": "invalid_request_error",
                "message": "No batch found with id 'batch_nope'.",
            },
            "extra_fields": {"provider": "openai", "request_type": "batch_retrieve"},
        }
        unknown = call(world, "GET", "/openai/v1/batches", query="provider=nope")
        assert unknown.status == 500
        assert unknown.json()["error"]["message"] == "failed to get config for provider: not found"

    def test_v1_route_requires_provider_and_does_not_rewrite_ids(self):
        world = SimWorld(clock_at())
        job = world.add_batch("bedrock", status="InProgress", total=5)
        missing = call(world, "GET", "/v1/batches")
        assert missing.status == 400
        assert missing.json()["error"]["message"] == "provider query parameter is required"
        assert olist(world, "provider=bedrock", "/v1/batches")["data"][0]["id"] == job.id


# --------------------------------------------------------------------------- auth


VK = "sk-bf-test-0001"


class TestVirtualKeys:
    def test_required_key_missing_is_401_in_the_anthropic_envelope_on_anthropic(self):
        world = SimWorld(clock_at(), require_virtual_key=True, virtual_keys=[VK])
        response = call(world, "GET", LIST)
        assert response.status == 401
        assert response.json() == {
            "type": "error",
            "error": {
                "type": "api_error",
                "message": "virtual key is required. Provide a virtual key via the x-bf-vk header.",
            },
        }
        openai = call(world, "GET", "/openai/v1/batches", query="provider=openai")
        assert openai.status == 401
        assert openai.json()["type"] == "virtual_key_required"
        assert openai.json()["status_code"] == 401
        assert call(world, "GET", LIST, headers={"x-bf-vk": VK}).status == 200
        assert call(world, "GET", LIST, headers={"authorization": f"Bearer {VK}"}).status == 200

    def test_unknown_key_is_401_even_when_keys_are_optional(self):
        world = SimWorld(clock_at(), virtual_keys=[VK])
        assert call(world, "GET", LIST).status == 200
        assert call(world, "GET", LIST, headers={"x-bf-vk": "sk-bf-other"}).status == 401

    def test_key_restricted_to_providers_gets_403_in_the_anthropic_envelope(self):
        vk = VirtualKey(SecretStr(VK), providers=frozenset({"anthropic"}))
        world = SimWorld(clock_at(), require_virtual_key=True, virtual_keys=[vk])
        ok = call(world, "GET", LIST, headers={"x-bf-vk": VK})
        assert ok.status == 200
        denied = call(world, "GET", LIST, headers={"x-bf-vk": VK, **provider_header("openai")})
        assert denied.status == 403
        assert denied.json()["type"] == "error"
        assert denied.json()["error"]["type"] == "api_error"

    def test_key_values_never_reach_the_request_log(self):
        world = SimWorld(clock_at(), require_virtual_key=True, virtual_keys=[VK])
        call(world, "GET", LIST, headers={"x-bf-vk": VK, "authorization": "Basic c2VjcmV0"})
        record = world.request_log[-1]
        assert "x-bf-vk" in record.header_names
        assert VK not in repr(world.request_log) and "c2VjcmV0" not in repr(world.request_log)
        assert VK not in repr(world.virtual_keys)


class TestDashboardAuth:
    @pytest.fixture
    def world(self) -> SimWorld:
        auth = DashboardAuth("admin", SecretStr("pw-123"))
        return SimWorld(clock_at(), dashboard_auth=auth)

    def test_management_routes_need_credentials_except_the_open_ones(self, world):
        denied = call(world, "GET", "/api/providers")
        assert denied.status == 401
        assert denied.json() == {
            "is_bifrost_error": False,
            "status_code": 401,
            "error": {"message": "Unauthorized"},
            "extra_fields": {},
        }
        for path in ("/health", "/api/version", "/api/session/is-auth-enabled"):
            assert call(world, "GET", path).status == 200, path
        basic = base64.b64encode(b"admin:pw-123").decode()
        assert (
            call(world, "GET", "/api/providers", headers={"authorization": f"Basic {basic}"}).status
            == 200
        )
        # Inference routes stay open unless auth is also enforced on inference.
        assert call(world, "GET", LIST).status == 200

    def test_login_sets_a_token_cookie_usable_as_cookie_or_bearer(self, world):
        bad = call(world, "POST", "/api/session/login", body=b'{"username":"admin","password":"x"}')
        assert bad.status == 401
        assert bad.json()["error"]["message"] == "Invalid username or password"
        good = call(
            world, "POST", "/api/session/login", body=b'{"username":"admin","password":"pw-123"}'
        )
        assert good.status == 200
        assert good.json() == {"message": "Login successful"}  # no token in the body
        cookie = dict(good.headers)["set-cookie"]
        token = cookie.split(";")[0].split("=", 1)[1]
        assert "HttpOnly" in cookie and "Path=/" in cookie
        assert (
            call(world, "GET", "/api/providers", headers={"cookie": f"token={token}"}).status == 200
        )
        assert (
            call(
                world, "GET", "/api/providers", headers={"authorization": f"Bearer {token}"}
            ).status
            == 200
        )
        enabled = call(
            world, "GET", "/api/session/is-auth-enabled", headers={"cookie": f"token={token}"}
        )
        assert enabled.json() == {"is_auth_enabled": True, "has_valid_token": True}

    def test_login_when_auth_is_off(self):
        world = SimWorld(clock_at())
        response = call(
            world, "POST", "/api/session/login", body=b'{"username":"a","password":"b"}'
        )
        assert response.status == 403
        assert response.json()["error"]["message"] == "Authentication is not enabled"

    def test_auth_on_inference_guards_batch_routes(self):
        auth = DashboardAuth("admin", SecretStr("pw-123"), on_inference=True)
        world = SimWorld(clock_at(), dashboard_auth=auth)
        assert call(world, "GET", LIST).status == 401
        basic = base64.b64encode(b"admin:pw-123").decode()
        assert call(world, "GET", LIST, headers={"authorization": f"Basic {basic}"}).status == 200


# --------------------------------------------------------------------------- management API


class TestManagement:
    def test_health_version_providers_keys(self):
        world = SimWorld(clock_at())
        assert call(world, "GET", "/health").json() == {
            "status": "ok",
            "components": {"db_pings": "ok"},
        }
        version = call(world, "GET", "/api/version").json()
        assert isinstance(version, str) and "sim" in version
        providers = call(world, "GET", "/api/providers").json()
        names = [p["name"] for p in providers["providers"]]
        assert (
            names == sorted(names) == ["anthropic", "azure", "bedrock", "gemini", "groq", "openai"]
        )
        assert providers["total"] == 6
        assert all(p["provider_status"] == "active" for p in providers["providers"])
        keys = call(world, "GET", "/api/providers/openai/keys").json()
        assert keys["total"] == 1 and keys["keys"][0]["use_for_batch_api"] is True
        assert keys["keys"][0]["value"]["value"].startswith("sk-p****")
        groq = call(world, "GET", "/api/providers/groq/keys").json()
        assert groq["keys"][0]["use_for_batch_api"] is False

    def test_unknown_provider_is_404_bifrost_shaped(self):
        world = SimWorld(clock_at())
        response = call(world, "GET", "/api/providers/nope/keys")
        assert response.status == 404
        # v1.5.1 names the lookup error, not the provider.
        assert response.json()["error"]["message"] == "Provider not found: not found"

    def test_custom_provider_shows_its_base_type_and_missing_batch_flag(self):
        custom = ProviderConfig(
            "openai-eu",
            kind="openai",
            keys=[KeyConfig("eu", use_for_batch_api=None)],
            allowed_requests={"batch_list": True, "batch_retrieve": True, "batch_cancel": False},
        )
        world = SimWorld(clock_at(), providers=[*standard_providers(), custom])
        item = next(
            p
            for p in call(world, "GET", "/api/providers").json()["providers"]
            if p["name"] == "openai-eu"
        )
        assert item["custom_provider_config"]["base_provider_type"] == "openai"
        key = call(world, "GET", "/api/providers/openai-eu/keys").json()["keys"][0]
        assert "use_for_batch_api" not in key  # absent reads as false


class TestRequestLog:
    def test_log_records_operation_provider_and_status(self):
        world = openai_world_10_1()
        call(world, "GET", LIST, headers=provider_header("openai"))
        call(world, "GET", f"{LIST}/batch_nope", headers=provider_header("openai"))
        assert [(r.op, r.provider, r.status) for r in world.requests()] == [
            ("batch_list", "openai", 200),
            ("batch_retrieve", "openai", 404),
        ]
        assert world.requests(op="batch_cancel") == []
        assert json.dumps([r.path for r in world.requests()])
