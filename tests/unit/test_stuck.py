"""Stuck and suspicious batch flags: each rule fires, and stays silent where it cannot be judged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bifrost_tui.clock import ManualClock
from bifrost_tui.config.model import Profile
from bifrost_tui.core.stuck import (
    Finding,
    Flag,
    Thresholds,
    findings,
    forget_phases,
    note_phases,
)
from bifrost_tui.gateway.counts import Source
from bifrost_tui.gateway.models import Batch, State
from tests.support.clocks import T0

T = Thresholds()


def iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def ago(**kw: float) -> datetime:
    return T0 - timedelta(**kw)


def anth(
    kind: str = "anthropic",
    *,
    provider: str | None = None,
    source: Source = Source.LIST,
    **fields: Any,
) -> Batch:
    """An Anthropic-format object as the gateway emits it for ``kind`` (keys always present)."""
    data: dict[str, Any] = {
        "id": fields.pop("id", "msgbatch_1" if kind == "anthropic" else "batch_1"),
        "type": "message_batch",
        "created_at": "",
        "expires_at": "",
    }
    data.update(fields)
    return Batch.from_anthropic(data, provider=provider or kind, provider_kind=kind, source=source)


def oai(kind: str = "openai", **fields: Any) -> Batch:
    """An OpenAI-format object from the deep listing (unix seconds, OpenAI counts)."""
    data: dict[str, Any] = {"id": "batch_1", "object": "batch"}
    data.update(fields)
    return Batch.from_openai(data, provider=kind, provider_kind=kind)


def unix(when: datetime) -> int:
    return int(when.timestamp())


def flags(batch: Batch, now: datetime = T0, t: Thresholds = T, **kw: Any) -> list[Flag]:
    return [f.flag for f in findings(batch, now, t, **kw)]


COUNTS_RUNNING = {"processing": 10, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}


# --------------------------------------------------------------------------- canceling stuck


class TestCancelingStuck:
    def test_fires_past_threshold_timed_from_cancel_initiated_at(self) -> None:
        batch = anth(processing_status="canceling", cancel_initiated_at=iso(ago(minutes=47)))
        assert batch.state is State.CANCELING
        found = findings(batch, T0, T)
        assert [f.flag for f in found] == [Flag.CANCELING_STUCK]
        assert found[0].message == "canceling for 47m (threshold 30m)"

    def test_threshold_edge_is_strictly_greater(self) -> None:
        at = anth(processing_status="canceling", cancel_initiated_at=iso(ago(minutes=30)))
        assert flags(at) == []
        assert flags(at, T0 + timedelta(seconds=1)) == [Flag.CANCELING_STUCK]

    def test_threshold_comes_from_thresholds(self) -> None:
        batch = anth(processing_status="canceling", cancel_initiated_at=iso(ago(minutes=47)))
        assert flags(batch, t=Thresholds(canceling_minutes=60)) == []
        assert flags(batch, t=Thresholds(canceling_minutes=45)) == [Flag.CANCELING_STUCK]

    @pytest.mark.parametrize("kind", ["bedrock", "gemini", "openai", "anthropic"])
    def test_unknown_cancel_time_without_first_seen_is_silent(self, kind: str) -> None:
        # Bedrock/Gemini cancel replies and some list items carry no cancel_initiated_at.
        batch = anth(kind, processing_status="canceling")
        assert batch.cancel_initiated_at is None
        assert flags(batch, T0 + timedelta(days=3)) == []
        assert flags(batch, T0 + timedelta(days=3), first_seen={}) == []

    def test_unknown_cancel_time_falls_back_to_first_seen(self) -> None:
        batch = anth("bedrock", processing_status="canceling")
        seen = {(batch.key, "canceling"): ago(minutes=45)}
        found = findings(batch, T0, T, first_seen=seen)
        assert [f.flag for f in found] == [Flag.CANCELING_STUCK]
        assert "at least 45m" in found[0].message
        assert "first seen" in found[0].message
        # Seen only 10 minutes ago: not yet stuck.
        assert flags(batch, first_seen={(batch.key, "canceling"): ago(minutes=10)}) == []

    def test_first_seen_of_another_batch_or_phase_does_not_apply(self) -> None:
        batch = anth("gemini", processing_status="canceling")
        other = {(("gemini", "other"), "canceling"): ago(hours=5)}
        wrong_phase = {(batch.key, "finalizing"): ago(hours=5)}
        assert flags(batch, first_seen=other) == []
        assert flags(batch, first_seen=wrong_phase) == []

    def test_gateway_stamp_wins_over_first_seen(self) -> None:
        batch = anth(processing_status="canceling", cancel_initiated_at=iso(ago(minutes=5)))
        assert flags(batch, first_seen={(batch.key, "canceling"): ago(hours=5)}) == []

    def test_cancel_time_in_the_future_is_silent(self) -> None:
        batch = anth(
            processing_status="canceling", cancel_initiated_at=iso(T0 + timedelta(hours=1))
        )
        assert flags(batch) == []

    def test_ended_after_cancel_is_not_stuck(self) -> None:
        batch = anth(processing_status="ended", cancel_initiated_at=iso(ago(hours=5)))
        assert batch.state is State.ENDED_CANCELED
        assert Flag.CANCELING_STUCK not in flags(batch)


# --------------------------------------------------------------------------- finalizing stuck


class TestFinalizingStuck:
    def test_openai_shape_fires_from_finalizing_at(self) -> None:
        batch = oai(status="finalizing", finalizing_at=unix(ago(hours=2, minutes=5)))
        assert batch.processing_status == "finalizing"
        found = findings(batch, T0, T)
        assert [f.flag for f in found] == [Flag.FINALIZING_STUCK]
        assert found[0].message == "finalizing for 2h 5m (threshold 60m)"

    def test_threshold_edge(self) -> None:
        batch = oai("azure", status="finalizing", finalizing_at=unix(ago(minutes=60)))
        assert flags(batch) == []
        assert flags(batch, T0 + timedelta(seconds=1)) == [Flag.FINALIZING_STUCK]
        assert flags(batch, T0 + timedelta(hours=1), t=Thresholds(finalizing_minutes=180)) == []

    def test_anthropic_route_has_no_stamp_silent_without_first_seen(self) -> None:
        # docs/gateway.md §10.1: the openai batch "finalizing" through the Anthropic route.
        batch = anth("openai", processing_status="finalizing", created_at=iso(ago(hours=6)))
        assert flags(batch, T0 + timedelta(days=1)) == []

    def test_anthropic_route_falls_back_to_first_seen(self) -> None:
        batch = anth("openai", processing_status="finalizing")
        seen = {(batch.key, "finalizing"): ago(minutes=61)}
        found = findings(batch, T0, T, first_seen=seen)
        assert [f.flag for f in found] == [Flag.FINALIZING_STUCK]
        assert "at least 1h 1m" in found[0].message
        assert flags(batch, first_seen={(batch.key, "finalizing"): ago(minutes=59)}) == []

    @pytest.mark.parametrize("junk", [None, "", 0, "soon", True, [1], {"a": 1}])
    def test_unusable_finalizing_at_falls_back_or_stays_silent(self, junk: Any) -> None:
        batch = oai(status="finalizing", finalizing_at=junk)
        assert flags(batch) == []
        seen = {(batch.key, "finalizing"): ago(hours=3)}
        assert flags(batch, first_seen=seen) == [Flag.FINALIZING_STUCK]

    def test_finalizing_at_ignored_once_no_longer_finalizing(self) -> None:
        done = oai(
            status="completed",
            finalizing_at=unix(ago(hours=5)),
            completed_at=unix(ago(hours=1)),
            request_counts={"total": 5, "completed": 5, "failed": 0},
        )
        running = oai(status="in_progress", finalizing_at=unix(ago(hours=5)))
        assert flags(done) == []
        assert flags(running) == []


# --------------------------------------------------------------------------- past expiry


class TestPastExpiry:
    @pytest.mark.parametrize("kind", ["anthropic", "openai", "azure"])
    def test_active_past_expires_at_fires(self, kind: str) -> None:
        batch = anth(
            kind,
            processing_status="in_progress",
            created_at=iso(ago(hours=26)),
            expires_at=iso(ago(hours=2)),
        )
        found = findings(batch, T0, T)
        assert [f.flag for f in found] == [Flag.PAST_EXPIRY]
        assert found[0].message == "still active 2h past expires_at (grace 5m)"

    def test_openai_shape_unix_expires_at(self) -> None:
        batch = oai(status="in_progress", expires_at=unix(ago(minutes=30)))
        assert flags(batch) == [Flag.PAST_EXPIRY]

    def test_grace_edge(self) -> None:
        batch = anth(processing_status="in_progress", expires_at=iso(ago(minutes=5)))
        assert flags(batch) == []
        assert flags(batch, T0 + timedelta(seconds=1)) == [Flag.PAST_EXPIRY]
        assert flags(batch, T0 + timedelta(seconds=1), t=Thresholds(expiry_grace_minutes=10)) == []

    def test_before_expiry_is_silent(self) -> None:
        batch = anth(processing_status="in_progress", expires_at=iso(T0 + timedelta(hours=3)))
        assert flags(batch) == []

    @pytest.mark.parametrize("kind", ["bedrock", "gemini"])
    def test_providers_without_expires_at_are_silent(self, kind: str) -> None:
        # docs/gateway.md §3.4: Gemini, and Bedrock's listing, leave expires_at "".
        batch = anth(kind, processing_status="in_progress", created_at=iso(ago(days=5)))
        assert batch.expires_at is None
        assert flags(batch) == []
        assert flags(batch, T0 + timedelta(days=30)) == []

    def test_cancel_reply_with_empty_expires_at_is_silent(self) -> None:
        reply = anth(
            "openai",
            source=Source.CANCEL,
            processing_status="canceling",
            cancel_initiated_at=iso(ago(minutes=1)),
        )
        assert flags(reply, T0 + timedelta(minutes=20)) == []

    def test_finalizing_counts_as_still_active(self) -> None:
        batch = anth("openai", processing_status="finalizing", expires_at=iso(ago(hours=1)))
        assert flags(batch) == [Flag.PAST_EXPIRY]

    def test_canceling_past_expiry_fires_after_canceling_stuck(self) -> None:
        batch = anth(
            processing_status="canceling",
            cancel_initiated_at=iso(ago(minutes=47)),
            expires_at=iso(ago(hours=1)),
        )
        found = findings(batch, T0, T)
        assert [f.flag for f in found] == [Flag.CANCELING_STUCK, Flag.PAST_EXPIRY]
        assert found[1].message.startswith("still canceling 1h past expires_at")

    @pytest.mark.parametrize("status", ["ended", "failed", "expired", "something-new"])
    def test_not_running_is_silent(self, status: str) -> None:
        batch = anth(processing_status=status, expires_at=iso(ago(days=1)))
        assert Flag.PAST_EXPIRY not in flags(batch)


# --------------------------------------------------------------------------- ended, zero succeeded


class TestEndedZeroSucceeded:
    def test_openai_deep_listing_all_failed_fires(self) -> None:
        batch = oai(
            status="completed",
            completed_at=unix(ago(hours=1)),
            request_counts={"total": 10, "completed": 0, "failed": 10},
        )
        assert batch.state is State.ENDED_OK
        found = findings(batch, T0, T)
        assert [f.flag for f in found] == [Flag.ENDED_ZERO_SUCCEEDED]
        assert found[0].message == "ended with 0 of 10 requests succeeded, 10 errored"

    def test_anthropic_errored_and_expired_fires(self) -> None:
        batch = anth(
            processing_status="ended",
            created_at=iso(ago(hours=25)),
            request_counts={
                "processing": 0,
                "succeeded": 0,
                "errored": 3,
                "canceled": 0,
                "expired": 2,
            },
        )
        assert batch.state is State.ENDED_OK
        assert flags(batch) == [Flag.ENDED_ZERO_SUCCEEDED]

    def test_gemini_retrieve_fires(self) -> None:
        batch = anth(
            "gemini",
            source=Source.RETRIEVE,
            processing_status="ended",
            request_counts={
                "processing": 0,
                "succeeded": 0,
                "errored": 4,
                "canceled": 0,
                "expired": 1,
            },
        )
        assert flags(batch) == [Flag.ENDED_ZERO_SUCCEEDED]

    @pytest.mark.parametrize("kind", ["openai", "azure", "bedrock"])
    def test_faked_succeeded_through_anthropic_route_is_silent(self, kind: str) -> None:
        # docs/gateway.md §3.4: a fully successful OpenAI batch shows succeeded: 0 on this route.
        for source in (Source.LIST, Source.RETRIEVE):
            batch = anth(
                kind,
                source=source,
                processing_status="ended",
                request_counts={
                    "processing": 0,
                    "succeeded": 0,
                    "errored": 0,
                    "canceled": 0,
                    "expired": 0,
                },
            )
            assert batch.request_counts is not None
            assert batch.request_counts.succeeded is None
            assert flags(batch) == []

    def test_gemini_list_item_without_counts_is_silent(self) -> None:
        assert flags(anth("gemini", processing_status="ended")) == []

    def test_unknown_or_zero_total_is_silent(self) -> None:
        no_counts = anth(processing_status="ended")
        assert no_counts.request_counts is None
        assert flags(no_counts) == []
        empty = oai(status="completed", request_counts={"total": 0, "completed": 0, "failed": 0})
        assert flags(empty) == []

    def test_some_succeeded_is_silent(self) -> None:
        batch = anth(
            processing_status="ended",
            request_counts={
                "processing": 0,
                "succeeded": 1,
                "errored": 3,
                "canceled": 0,
                "expired": 0,
            },
        )
        assert flags(batch) == []

    def test_all_errored_is_already_failed_and_silent(self) -> None:
        batch = anth(
            processing_status="ended",
            request_counts={
                "processing": 0,
                "succeeded": 0,
                "errored": 3,
                "canceled": 0,
                "expired": 0,
            },
        )
        assert batch.state is State.FAILED
        assert flags(batch) == []

    def test_canceled_batch_is_silent(self) -> None:
        batch = anth(
            processing_status="ended",
            cancel_initiated_at=iso(ago(hours=1)),
            request_counts={
                "processing": 0,
                "succeeded": 0,
                "errored": 0,
                "canceled": 5,
                "expired": 0,
            },
        )
        assert batch.state is State.ENDED_CANCELED
        assert flags(batch) == []

    def test_running_anthropic_batch_with_all_zero_is_silent(self) -> None:
        # Anthropic counts stay 0 except processing until the whole batch ends.
        batch = anth(processing_status="in_progress", request_counts=COUNTS_RUNNING)
        assert flags(batch) == []

    def test_counts_read_while_running_do_not_survive_the_end_and_stay_silent(self) -> None:
        # A deep read while running (completed 0), then the Anthropic route says "ended" and, for
        # openai, brings only errored: the running read's figures are dropped (unknown), so the
        # "ended with nothing succeeded" rule has nothing to judge and stays silent.
        running = oai(
            status="in_progress", request_counts={"total": 10, "completed": 0, "failed": 0}
        )
        ended = anth("openai", processing_status="ended", request_counts=COUNTS_RUNNING)
        merged = running.updated_by(ended)
        assert merged.state is State.ENDED_OK
        assert merged.request_counts is not None
        assert merged.request_counts.succeeded is None
        assert merged.request_counts.processing is None
        assert flags(merged) == []


# --------------------------------------------------------------------------- near archive


def ended_anthropic(created: datetime, **fields: Any) -> Batch:
    return anth(
        fields.pop("kind", "anthropic"),
        processing_status="ended",
        created_at=iso(created),
        expires_at=iso(created + timedelta(hours=24)),
        ended_at=iso(created + timedelta(hours=2)),
        request_counts={"processing": 0, "succeeded": 5, "errored": 0, "canceled": 0, "expired": 0},
        **fields,
    )


class TestNearArchive:
    def test_fires_within_warning_window(self) -> None:
        batch = ended_anthropic(ago(days=27, hours=12))
        found = findings(batch, T0, T)
        assert [f.flag for f in found] == [Flag.NEAR_ARCHIVE]
        assert found[0].message.startswith("results archived in 1d 12h")

    def test_window_edges(self) -> None:
        batch = ended_anthropic(ago(days=27))  # exactly 2 days left
        assert flags(batch) == [Flag.NEAR_ARCHIVE]
        assert flags(batch, T0 - timedelta(seconds=1)) == []
        assert flags(batch, T0 + timedelta(days=2) - timedelta(seconds=1)) == [Flag.NEAR_ARCHIVE]
        # At 29 days the results are gone: silent, not a permanent flag.
        assert flags(batch, T0 + timedelta(days=2)) == []
        assert flags(batch, T0 + timedelta(days=40)) == []

    def test_warning_days_come_from_thresholds(self) -> None:
        batch = ended_anthropic(ago(days=25))
        assert flags(batch) == []
        assert flags(batch, t=Thresholds(archive_warn_days=5)) == [Flag.NEAR_ARCHIVE]

    def test_already_archived_is_silent(self) -> None:
        batch = ended_anthropic(ago(days=28), archived_at=iso(ago(minutes=1)))
        assert flags(batch) == []

    @pytest.mark.parametrize("kind", ["openai", "azure", "bedrock", "gemini"])
    def test_other_providers_never_archive(self, kind: str) -> None:
        batch = ended_anthropic(ago(days=28), kind=kind)
        assert flags(batch) == []

    def test_kind_not_provider_name_decides(self) -> None:
        batch = anth(
            "anthropic",
            provider="claude-eu",
            processing_status="ended",
            created_at=iso(ago(days=28)),
        )
        assert flags(batch) == [Flag.NEAR_ARCHIVE]

    @pytest.mark.parametrize(
        "fields",
        [
            {"processing_status": "ended", "cancel_initiated_at": "2026-04-15T13:00:00Z"},
            {"processing_status": "expired"},
            {"processing_status": "failed"},
        ],
    )
    def test_every_ended_state_counts(self, fields: dict[str, Any]) -> None:
        batch = anth(created_at=iso(ago(days=28)), **fields)
        assert batch.state.terminal
        assert flags(batch) == [Flag.NEAR_ARCHIVE]

    def test_unknown_created_at_is_silent(self) -> None:
        batch = anth(processing_status="ended")
        assert batch.created_at is None
        assert flags(batch, T0 + timedelta(days=28)) == []

    def test_running_batch_is_silent(self) -> None:
        batch = anth(processing_status="in_progress", created_at=iso(ago(days=28)))
        assert Flag.NEAR_ARCHIVE not in flags(batch)


# --------------------------------------------------------------------------- helpers


def test_finding_to_json() -> None:
    found = Finding(Flag.PAST_EXPIRY, "still active 2h past expires_at")
    assert found.to_json() == {"flag": "past-expiry", "message": "still active 2h past expires_at"}


def test_healthy_batches_have_no_findings() -> None:
    running = anth(
        processing_status="in_progress",
        created_at=iso(ago(hours=1)),
        expires_at=iso(ago(hours=-23)),
        request_counts=COUNTS_RUNNING,
    )
    done = ended_anthropic(ago(days=3))
    for batch in (running, done):
        assert findings(batch, T0, T) == []


def test_naive_now_is_read_as_utc() -> None:
    batch = anth(processing_status="canceling", cancel_initiated_at=iso(ago(minutes=47)))
    assert flags(batch, T0.replace(tzinfo=None)) == [Flag.CANCELING_STUCK]


def test_thresholds_from_profile_and_defaults() -> None:
    profile = Profile(
        name="p",
        url="http://127.0.0.1:8080",
        canceling_stuck_minutes=45,
        finalizing_stuck_minutes=90,
    )
    t = Thresholds.from_settings(profile)
    assert (t.canceling_minutes, t.finalizing_minutes) == (45, 90)
    assert t.archive_warn_days == Thresholds().archive_warn_days
    assert Thresholds.from_settings(Profile(name="d", url="http://127.0.0.1:1")) == Thresholds()
    assert Thresholds.from_settings(object()) == Thresholds()
    assert (
        Thresholds.from_settings(SimpleNamespace(canceling_stuck_minutes=7)).canceling_minutes == 7
    )


def test_note_phases_times_a_phase_from_first_sighting(clock: ManualClock) -> None:
    seen: dict = {}
    batch = anth("bedrock", processing_status="canceling")
    note_phases(seen, batch, clock.now())
    assert seen == {(batch.key, "canceling"): T0}
    clock.advance(minutes=20)
    note_phases(seen, batch, clock.now())  # a later sighting keeps the first one
    assert seen[(batch.key, "canceling")] == T0
    assert flags(batch, clock.now(), first_seen=seen) == []
    clock.advance(minutes=11)
    assert flags(batch, clock.now(), first_seen=seen) == [Flag.CANCELING_STUCK]
    # It ends: the sighting is forgotten, so a flag can no longer come from it.
    note_phases(seen, anth("bedrock", processing_status="ended"), clock.now())
    assert seen == {}


def test_note_phases_finalizing_and_forget() -> None:
    seen: dict = {}
    batch = anth("azure", processing_status="finalizing")
    note_phases(seen, batch, T0)
    assert seen == {(batch.key, "finalizing"): T0}
    assert flags(batch, T0 + timedelta(minutes=61), first_seen=seen) == [Flag.FINALIZING_STUCK]
    other = anth("azure", processing_status="canceling", id="batch_2")
    note_phases(seen, other, T0)
    forget_phases(seen, batch.key)
    assert seen == {(other.key, "canceling"): T0}


# --------------------------------------------------------------------------- properties

_statuses = st.sampled_from(
    ["in_progress", "canceling", "ended", "finalizing", "failed", "expired", "", "weird"]
)
_stamp = st.one_of(
    st.none(),
    st.just(""),
    st.integers(min_value=-10, max_value=2_000_000_000),
    st.text(max_size=12),
    st.datetimes(
        min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
    ).map(iso),
)
_count = st.one_of(st.none(), st.integers(min_value=0, max_value=50))
_counts = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {
            "processing": _count,
            "succeeded": _count,
            "errored": _count,
            "canceled": _count,
            "expired": _count,
        }
    ),
)
_now = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2031, 1, 1), timezones=st.just(UTC)
)


@given(
    kind=st.sampled_from(["openai", "azure", "bedrock", "gemini"]),
    source=st.sampled_from([Source.LIST, Source.RETRIEVE, Source.CANCEL]),
    status=_statuses,
    created=_stamp,
    cancel=_stamp,
    counts=_counts,
    now=_now,
)
def test_untrusted_fields_never_raise_a_flag(
    kind: str,
    source: Source,
    status: str,
    created: Any,
    cancel: Any,
    counts: Any,
    now: datetime,
) -> None:
    """Whatever the gateway sends: no past-expiry where expires_at is "", no zero-succeeded where
    succeeded is faked, no near-archive off Anthropic, no stuck flag without any time basis."""
    expires = "" if kind in ("bedrock", "gemini") else None
    data: dict[str, Any] = {"processing_status": status, "created_at": created}
    if expires is not None:
        data["expires_at"] = expires
    if counts is not None:
        data["request_counts"] = counts
    batch = anth(kind, source=source, **data)
    got = set(flags(batch, now))
    assert Flag.NEAR_ARCHIVE not in got
    assert Flag.FINALIZING_STUCK not in got  # no finalizing_at and no first sighting
    if kind in ("bedrock", "gemini"):
        assert Flag.PAST_EXPIRY not in got
    if kind != "gemini" or source is not Source.RETRIEVE:
        assert Flag.ENDED_ZERO_SUCCEEDED not in got
    if batch.cancel_initiated_at is None:
        assert Flag.CANCELING_STUCK not in got


@given(
    status=_statuses,
    fin=st.one_of(_stamp, st.floats(allow_nan=True), st.lists(st.integers(), max_size=2)),
    expires=_stamp,
    now=_now,
)
def test_findings_never_raise_on_odd_openai_objects(
    status: str, fin: Any, expires: Any, now: datetime
) -> None:
    batch = oai(status=status, finalizing_at=fin, expires_at=expires)
    found = findings(batch, now, T)
    assert all(isinstance(f, Finding) and f.message for f in found)
