"""The simulated world's state machine: creation, progress, ending, expiry, cancel, determinism."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from bifrost_tui.sim import Phase, ProviderConfig, SimWorld
from bifrost_tui.sim.model import ARCHIVE_AFTER_S
from tests.support.clocks import GOLDEN_T0
from tests.support.sim_fixtures import call, clock_at, provider_header


def retrieve(world: SimWorld, provider: str, batch_id: str) -> dict:
    response = call(
        world,
        "GET",
        f"/anthropic/v1/messages/batches/{batch_id}",
        headers=provider_header(provider),
    )
    assert response.status == 200, response.body
    return response.json()


def openai_retrieve(world: SimWorld, provider: str, batch_id: str) -> dict:
    response = call(world, "GET", f"/openai/v1/batches/{batch_id}", query=f"provider={provider}")
    assert response.status == 200, response.body
    return response.json()


class TestOpenAILifecycle:
    def test_validating_then_running_with_moving_counts_then_finalizing_then_completed(self):
        clock = clock_at()
        world = SimWorld(clock, seed=3)
        batch = world.create_batch(
            "openai", total=1000, duration=1000, start_delay=30, finalize=60, error_ratio=0.01
        )
        start = int(GOLDEN_T0.timestamp())
        assert batch.native == "validating"
        # Validating: OpenAI reports no total yet, so the Anthropic shape has no request_counts.
        assert "request_counts" not in retrieve(world, "openai", batch.id)
        assert retrieve(world, "openai", batch.id)["processing_status"] == "in_progress"

        clock.advance(30)
        item = openai_retrieve(world, "openai", batch.id)
        assert item["status"] == "in_progress"
        assert item["in_progress_at"] == start + 30

        clock.advance(500)
        counts = openai_retrieve(world, "openai", batch.id)["request_counts"]
        done = counts["completed"] + counts["failed"]
        assert counts["total"] == 1000
        assert 400 < done < 600  # halfway through the planned run
        clock.advance(250)
        later = openai_retrieve(world, "openai", batch.id)["request_counts"]
        assert later["completed"] + later["failed"] > done  # counts move for OpenAI

        clock.advance(250)  # finish: 30 s queued + 1000 s running
        item = openai_retrieve(world, "openai", batch.id)
        assert item["status"] == "finalizing"
        assert item["finalizing_at"] == start + 1030
        assert retrieve(world, "openai", batch.id)["processing_status"] == "finalizing"

        clock.advance(60)
        item = openai_retrieve(world, "openai", batch.id)
        assert item["status"] == "completed"
        assert item["completed_at"] == start + 1090
        assert item["request_counts"]["completed"] + item["request_counts"]["failed"] == 1000
        anthropic = retrieve(world, "openai", batch.id)
        assert anthropic["processing_status"] == "ended"
        assert anthropic["ended_at"] == "2026-05-13T11:18:10Z"

    def test_validation_failure_has_no_counts(self):
        clock = clock_at()
        world = SimWorld(clock, seed=3)
        batch = world.create_batch("openai", total=500, start_delay=40, outcome="fail")
        clock.advance(41)
        item = openai_retrieve(world, "openai", batch.id)
        assert item["status"] == "failed"
        assert item["request_counts"] == {"total": 0, "completed": 0, "failed": 0}
        assert "request_counts" not in retrieve(world, "openai", batch.id)


class TestAnthropicLifecycle:
    def test_counts_stay_processing_until_the_batch_ends(self):
        clock = clock_at()
        world = SimWorld(clock, seed=3)
        batch = world.create_batch(
            "anthropic", total=200, duration=600, start_delay=0, error_ratio=0.1
        )
        clock.advance(300)
        mid = retrieve(world, "anthropic", batch.id)
        assert mid["processing_status"] == "in_progress"
        assert mid["request_counts"] == {
            "processing": 200,
            "succeeded": 0,
            "errored": 0,
            "canceled": 0,
            "expired": 0,
        }
        assert "ended_at" not in mid and "results_url" not in mid

        clock.advance(300)
        end = retrieve(world, "anthropic", batch.id)
        assert end["processing_status"] == "ended"
        counts = end["request_counts"]
        assert counts["processing"] == 0
        assert counts["succeeded"] + counts["errored"] == 200
        assert counts["errored"] == 20
        assert end["ended_at"] == "2026-05-13T11:10:00Z"
        assert end["results_url"].startswith("https://api.anthropic.com/v1/messages/batches/")

    def test_archived_after_29_days(self):
        clock = clock_at()
        world = SimWorld(clock, seed=3)
        batch = world.add_batch(
            "anthropic", status="ended", succeeded=5, created_at=GOLDEN_T0, ended_at=GOLDEN_T0
        )
        clock.advance(ARCHIVE_AFTER_S - 1)
        assert "archived_at" not in retrieve(world, "anthropic", batch.id)
        clock.advance(1)
        assert retrieve(world, "anthropic", batch.id)["archived_at"] == "2026-06-11T11:00:00Z"


class TestExpiry:
    def test_openai_batch_expires_at_expires_at_and_shows_expired(self):
        clock = clock_at()
        world = SimWorld(clock, seed=3)
        created = GOLDEN_T0 - timedelta(hours=23)
        batch = world.add_batch(
            "openai", status="in_progress", total=100, completed=40, failed=1, created_at=created
        )
        clock.advance(hours=1, seconds=-1)
        assert retrieve(world, "openai", batch.id)["processing_status"] == "in_progress"
        clock.advance(1)
        body = retrieve(world, "openai", batch.id)
        assert body["processing_status"] == "expired"  # passed through, not "ended"
        assert "ended_at" not in body  # OpenAI only sets completed_at for completed batches
        assert openai_retrieve(world, "openai", batch.id)["expired_at"] == int(
            (created + timedelta(hours=24)).timestamp()
        )

    def test_anthropic_expiry_moves_unfinished_requests_to_expired(self):
        clock = clock_at()
        world = SimWorld(clock, seed=3)
        batch = world.create_batch("anthropic", total=100, duration=48 * 3600, start_delay=0)
        clock.advance(hours=24)
        body = retrieve(world, "anthropic", batch.id)
        assert body["processing_status"] == "ended"
        counts = body["request_counts"]
        assert counts["expired"] == 50 and counts["succeeded"] + counts["errored"] == 50
        assert body["ended_at"] == "2026-05-14T11:00:00Z"


class TestCancel:
    def test_cancel_goes_cancelling_then_cancelled_after_the_delay(self):
        clock = clock_at()
        world = SimWorld(clock, seed=3)
        batch = world.add_batch("openai", status="in_progress", total=100, completed=10)
        assert world.cancel(batch) == "cancelling"
        assert batch.native == "cancelling"
        assert batch.cancelling_at == int(GOLDEN_T0.timestamp())
        clock.advance(19)
        assert retrieve(world, "openai", batch.id)["processing_status"] == "canceling"
        clock.advance(1)
        body = retrieve(world, "openai", batch.id)
        assert body["processing_status"] == "ended"
        assert body["cancel_initiated_at"] == "2026-05-13T11:00:00Z"
        assert "ended_at" not in body  # a cancelled OpenAI batch has no completed_at
        assert batch.cancelled_at == int(GOLDEN_T0.timestamp()) + 20

    def test_cancel_delay_is_configurable_and_anthropic_ends_with_canceled_requests(self):
        clock = clock_at()
        world = SimWorld(clock, seed=3, cancel_delay=5)
        batch = world.create_batch("anthropic", total=100, duration=1000, start_delay=0)
        clock.advance(400)
        assert world.cancel(batch) == "cancelling"
        assert retrieve(world, "anthropic", batch.id)["processing_status"] == "canceling"
        clock.advance(5)
        body = retrieve(world, "anthropic", batch.id)
        assert body["processing_status"] == "ended"
        counts = body["request_counts"]
        assert counts["canceled"] == 60  # 40% was done when the cancel came
        assert counts["succeeded"] + counts["errored"] == 40
        assert body["ended_at"] == "2026-05-13T11:06:45Z"

    def test_cancel_is_idempotent_while_cancelling_and_refused_once_ended(self):
        clock = clock_at()
        world = SimWorld(clock, seed=3)
        batch = world.add_batch("openai", status="in_progress", total=10)
        assert world.cancel(batch) == "cancelling"
        clock.advance(5)
        assert world.cancel(batch) == "already"
        assert batch.cancelling_at == int(GOLDEN_T0.timestamp())  # not moved by the second cancel
        clock.advance(60)
        assert world.cancel(batch) == "ended"
        assert batch.phase is Phase.CANCELLED

    def test_a_planned_cancel_from_history_is_replayed(self):
        clock = clock_at()
        world = SimWorld(clock, seed=3)
        batch = world.add_batch(
            "gemini",
            status="BATCH_STATE_RUNNING",
            total=100,
            created_at=GOLDEN_T0 - timedelta(hours=2),
            finish_at=GOLDEN_T0 + timedelta(hours=2),
            cancel_at=GOLDEN_T0 - timedelta(hours=1),
        )
        world.advance()
        assert batch.native == "BATCH_STATE_CANCELLED"
        assert batch.cancelling_at == int((GOLDEN_T0 - timedelta(hours=1)).timestamp())


def _snapshot(world: SimWorld) -> list[tuple]:
    now = world.now()
    batches = [b for p in world.batch_providers() for b in world.batches(p)]
    return [
        (
            b.provider,
            b.id,
            b.native,
            b.counts_at(now).succeeded,
            b.counts_at(now).errored,
            b.in_progress_at,
            b.completed_at,
            b.cancelled_at,
            b.expired_at,
        )
        for b in batches
    ]


class TestDeterminism:
    def test_state_does_not_depend_on_how_often_the_world_was_observed(self):
        fine_clock, coarse_clock = clock_at(), clock_at()
        fine = SimWorld.demo(fine_clock, seed=11)
        coarse = SimWorld.demo(coarse_clock, seed=11)
        for _ in range(6 * 60):
            fine_clock.advance(60)
            fine.advance()
        coarse_clock.advance(6 * 3600)
        assert _snapshot(fine) == _snapshot(coarse)

    def test_same_seed_same_world_other_seed_other_world(self):
        a = SimWorld.demo(clock_at(), seed=7)
        b = SimWorld.demo(clock_at(), seed=7)
        c = SimWorld.demo(clock_at(), seed=8)
        assert _snapshot(a) == _snapshot(b)
        assert [x[1] for x in _snapshot(a)] != [x[1] for x in _snapshot(c)]

    def test_new_batches_arrive_over_time(self):
        clock = clock_at()
        world = SimWorld.demo(clock, seed=7)
        before = {b.key for b in world.all_batches()}
        clock.advance(hours=6)
        after = {b.key for b in world.all_batches()}
        assert before < after
        newest = world.batches("openai")[0]
        assert newest.created_at > int(GOLDEN_T0.timestamp())


class TestDemoWorld:
    def test_demo_has_a_realistic_mix_per_provider(self):
        world = SimWorld.demo(clock_at(), seed=7)
        assert world.batch_providers() == ["anthropic", "azure", "bedrock", "gemini", "openai"]
        for provider in world.batch_providers():
            batches = world.batches(provider)
            phases = Counter(b.phase for b in batches)
            assert 8 <= len(batches) <= 25, provider
            assert phases[Phase.RUNNING] >= 1, provider
            assert phases[Phase.COMPLETED] >= 1, provider
            assert phases[Phase.CANCELLED] >= 1, provider
            assert phases[Phase.FAILED] + phases[Phase.PARTIAL] + phases[Phase.EXPIRED] >= 1
            assert max(b.total for b in batches) >= 1000, provider
        assert any(b.native == "finalizing" for b in world.batches("openai"))

    def test_demo_ids_use_each_providers_format(self):
        world = SimWorld.demo(clock_at(), seed=7)
        assert all(b.id.startswith("batch_") for b in world.batches("openai"))
        assert all(b.id.startswith("msgbatch_01") for b in world.batches("anthropic"))
        assert all(b.id.startswith("batches/") for b in world.batches("gemini"))
        arn = "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/"
        assert all(b.id.startswith(arn) for b in world.batches("bedrock"))

    def test_scale_knob_makes_exactly_n_batches_per_provider(self):
        # Benchmarks use 10,000; 2,000 proves the knob and keeps the suite fast.
        world = SimWorld.demo(clock_at(), seed=7, batches_per_provider=2_000)
        assert {p: len(world.batches(p)) for p in world.batch_providers()} == dict.fromkeys(
            world.batch_providers(), 2_000
        )
        response = call(world, "GET", "/openai/v1/batches", query="provider=anthropic&limit=1000")
        assert len(response.json()["data"]) == 1000


class TestAddBatch:
    def test_rejects_unknown_and_batchless_providers_and_duplicates(self):
        world = SimWorld(clock_at())
        with pytest.raises(ValueError, match="unknown provider"):
            world.add_batch("mistral")
        with pytest.raises(ValueError, match="no batch API"):
            world.add_batch("groq")
        world.add_batch("openai", id="batch_x")
        with pytest.raises(ValueError, match="already has"):
            world.add_batch("openai", id="batch_x")
        with pytest.raises(ValueError, match="not both"):
            world.add_batch("openai", succeeded=1, completed=1)

    def test_newest_added_is_listed_first(self):
        world = SimWorld(clock_at())
        for n in range(3):
            world.add_batch("openai", id=f"batch_{n}")
        assert [b.id for b in world.batches("openai")] == ["batch_2", "batch_1", "batch_0"]

    def test_naive_datetimes_are_utc(self):
        world = SimWorld(clock_at())
        batch = world.add_batch("openai", created_at=datetime(2026, 5, 13, 10, 30))
        assert batch.created_at == int(datetime(2026, 5, 13, 10, 30, tzinfo=UTC).timestamp())

    def test_custom_provider_inherits_its_base_kind(self):
        world = SimWorld(clock_at(), providers=[ProviderConfig("openai-eu", kind="openai")])
        batch = world.add_batch("openai-eu")
        assert batch.kind == "openai" and batch.id.startswith("batch_")
