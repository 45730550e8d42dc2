"""The wire models and Batch: every quirk of what Bifrost emits (docs/gateway.md §3, §10)."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bifrost_tui.gateway.counts import RequestCounts, Source, trusted_count_fields
from bifrost_tui.gateway.list_wire import parse_list_page
from bifrost_tui.gateway.management_models import KeyWire, ProviderWire
from bifrost_tui.gateway.models import (
    Batch,
    State,
    derive_state,
    parse_timestamp,
    to_processing_status,
)

GOLDEN = Path(__file__).parent.parent / "data" / "golden"

# docs/gateway.md §10.1: GET /anthropic/v1/messages/batches with x-model-provider: openai.
LIST_OPENAI: dict[str, Any] = {
    "data": [
        {
            "id": "batch_6823a1f0",
            "type": "message_batch",
            "processing_status": "in_progress",
            "request_counts": {
                "processing": 0,
                "succeeded": 0,
                "errored": 3,
                "canceled": 0,
                "expired": 0,
            },
            "created_at": "2026-05-13T10:30:00Z",
            "expires_at": "2026-05-14T10:30:00Z",
        },
        {
            "id": "batch_6822c2aa",
            "type": "message_batch",
            "processing_status": "ended",
            "request_counts": {
                "processing": 0,
                "succeeded": 0,
                "errored": 0,
                "canceled": 0,
                "expired": 0,
            },
            "ended_at": "2026-05-12T21:06:40Z",
            "created_at": "2026-05-12T10:00:00Z",
            "expires_at": "2026-05-13T10:00:00Z",
        },
        {
            "id": "batch_6821b9c4",
            "type": "message_batch",
            "processing_status": "ended",
            "request_counts": {
                "processing": 0,
                "succeeded": 0,
                "errored": 0,
                "canceled": 0,
                "expired": 0,
            },
            "created_at": "2026-05-11T11:46:40Z",
            "expires_at": "2026-05-12T11:46:40Z",
            "cancel_initiated_at": "2026-05-11T14:33:20Z",
        },
        {
            "id": "batch_6820f00d",
            "type": "message_batch",
            "processing_status": "failed",
            "created_at": "2026-05-10T08:00:00Z",
            "expires_at": "2026-05-11T08:00:00Z",
        },
        {
            "id": "batch_681ffeed",
            "type": "message_batch",
            "processing_status": "finalizing",
            "request_counts": {
                "processing": 0,
                "succeeded": 0,
                "errored": 0,
                "canceled": 0,
                "expired": 0,
            },
            "created_at": "2026-05-13T08:13:20Z",
            "expires_at": "2026-05-14T08:13:20Z",
        },
    ],
    "has_more": False,
}
# docs/gateway.md §10.2: retrieve with x-model-provider: anthropic.
RETRIEVE_ANTHROPIC = {
    "id": "msgbatch_01HkcTjaV5uDC8jWR4ZsDV8d",
    "type": "message_batch",
    "processing_status": "ended",
    "request_counts": {"processing": 0, "succeeded": 95, "errored": 3, "canceled": 0, "expired": 2},
    "ended_at": "2026-05-12T18:12:33Z",
    "created_at": "2026-05-12T10:00:00Z",
    "expires_at": "2026-05-13T10:00:00Z",
    "results_url": "https://api.anthropic.com/v1/messages/batches/msgbatch_01HkcTjaV5uDC8jWR4ZsDV8d/results",
}
# docs/gateway.md §10.3: cancel with x-model-provider: openai.
CANCEL_REPLY = {
    "id": "batch_6823a1f0",
    "type": "message_batch",
    "processing_status": "canceling",
    "request_counts": {"processing": 0, "succeeded": 0, "errored": 3, "canceled": 0, "expired": 0},
    "created_at": "",
    "expires_at": "",
    "cancel_initiated_at": "2026-05-13T11:22:11Z",
}


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


# --------------------------------------------------------------------------- statuses


@pytest.mark.parametrize(
    ("status", "state", "cancellable"),
    [
        ("in_progress", State.ACTIVE, True),
        ("validating", State.ACTIVE, True),
        ("finalizing", State.ACTIVE, True),
        ("canceling", State.CANCELING, False),
        ("cancelling", State.CANCELING, False),
        ("ended", State.ENDED_OK, False),
        ("failed", State.FAILED, False),
        ("expired", State.EXPIRED, False),
        ("deleted", State.ENDED_OK, False),
        ("  In_Progress ", State.ACTIVE, True),
        ("paused_by_gremlins", State.UNKNOWN, False),
        ("", State.UNKNOWN, False),
    ],
)
def test_every_status_in_and_out_of_the_enum_maps_to_a_state(
    status: str, state: State, cancellable: bool
) -> None:
    batch = Batch.from_anthropic(
        {"id": "b1", "processing_status": status}, provider="openai", source=Source.LIST
    )
    assert batch.processing_status == status
    assert batch.state is state
    assert batch.cancellable is cancellable


def test_missing_status_is_unknown_and_not_cancellable() -> None:
    batch = Batch.from_anthropic({"id": "b1"}, provider="anthropic")
    assert batch.state is State.UNKNOWN
    assert not batch.cancellable


def test_terminal_states_are_exactly_the_ended_ones() -> None:
    assert {s for s in State if s.terminal} == {
        State.ENDED_OK,
        State.ENDED_CANCELED,
        State.ENDED_UNSURE,
        State.FAILED,
        State.EXPIRED,
    }


@pytest.mark.parametrize(
    ("bifrost", "anthropic"),
    [
        ("validating", "in_progress"),
        ("cancelling", "canceling"),
        ("completed", "ended"),
        ("cancelled", "ended"),
        ("finalizing", "finalizing"),
        ("failed", "failed"),
        ("brand_new", "brand_new"),
    ],
)
def test_bifrost_status_maps_like_the_gateway(bifrost: str, anthropic: str) -> None:
    assert to_processing_status(bifrost) == anthropic


# --------------------------------------------------------------------------- derive_state


def test_ended_with_cancel_initiated_at_is_ended_canceled() -> None:
    assert derive_state("ended", utc(2026, 5, 1), None) is State.ENDED_CANCELED


def test_ended_with_canceled_requests_is_ended_canceled() -> None:
    counts = RequestCounts(processing=0, succeeded=3, errored=0, canceled=2, expired=0)
    assert derive_state("ended", None, counts) is State.ENDED_CANCELED


def test_ended_with_every_request_errored_is_failed() -> None:
    counts = RequestCounts(processing=0, succeeded=0, errored=5, canceled=0, expired=0)
    assert derive_state("ended", None, counts) is State.FAILED


def test_ended_with_only_expired_requests_is_expired() -> None:
    counts = RequestCounts(processing=0, succeeded=0, errored=0, canceled=0, expired=4)
    assert derive_state("ended", None, counts) is State.EXPIRED


def test_ended_with_partial_success_is_ended_ok() -> None:
    counts = RequestCounts(processing=0, succeeded=95, errored=3, canceled=0, expired=2)
    assert derive_state("ended", None, counts) is State.ENDED_OK


def test_native_cancelled_status_is_ended_canceled() -> None:
    assert derive_state("ended", None, None, native_status="cancelled") is State.ENDED_CANCELED


# --------------------------------------------------------------------------- timestamps


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-05-13T10:30:00Z", utc(2026, 5, 13, 10, 30)),
        ("2026-05-13T10:30:00.123456Z", datetime(2026, 5, 13, 10, 30, 0, 123456, tzinfo=UTC)),
        ("2026-05-13T12:30:00+02:00", utc(2026, 5, 13, 10, 30)),
        ("2026-05-13T10:30:00", utc(2026, 5, 13, 10, 30)),
        (1778668200, datetime.fromtimestamp(1778668200, tz=UTC)),
        (1778668200.5, datetime.fromtimestamp(1778668200.5, tz=UTC)),
        ("", None),
        (None, None),
        (0, None),
        (-5, None),
        (True, None),
        ("yesterday", None),
        (float("nan"), None),
        (float("inf"), None),
        (10**15, None),
        ("x" * 100, None),
        ({"t": 1}, None),
        # Out of range once converted to UTC: unknown, not an OverflowError.
        ("9999-12-31T23:59:59-23:59", None),
        ("0001-01-01T00:00:00+23:59", None),
    ],
)
def test_timestamps_parse_or_are_unknown(raw: Any, expected: datetime | None) -> None:
    assert parse_timestamp(raw) == expected


def test_empty_and_absent_timestamps_are_unknown_on_a_batch() -> None:
    batch = Batch.from_anthropic(
        {"id": "b", "processing_status": "ended", "created_at": "", "expires_at": ""},
        provider="bedrock",
    )
    assert batch.created_at is None and batch.expires_at is None
    assert batch.ended_at is None and batch.cancel_initiated_at is None


# --------------------------------------------------------------------------- counts


def test_missing_request_counts_are_none() -> None:
    batch = Batch.from_anthropic({"id": "b", "processing_status": "failed"}, provider="openai")
    assert batch.request_counts is None


def test_anthropic_counts_are_all_trusted() -> None:
    batch = Batch.from_anthropic(RETRIEVE_ANTHROPIC, provider="anthropic", source=Source.RETRIEVE)
    counts = batch.request_counts
    assert counts is not None and counts.complete
    assert (counts.succeeded, counts.errored, counts.expired, counts.total) == (95, 3, 2, 100)
    assert batch.state is State.ENDED_OK


@pytest.mark.parametrize("provider", ["openai", "azure", "bedrock", "some-custom"])
def test_openai_like_counts_keep_only_errored(provider: str) -> None:
    batch = Batch.from_anthropic(LIST_OPENAI["data"][0], provider=provider)
    counts = batch.request_counts
    assert counts is not None
    assert counts.errored == 3
    assert counts.succeeded is None and counts.processing is None
    assert counts.total is None and not counts.complete


def test_gemini_counts_trusted_on_retrieve_only() -> None:
    raw = {
        "id": "batches-1",
        "processing_status": "in_progress",
        "request_counts": {
            "processing": 5,
            "succeeded": 3,
            "errored": 1,
            "canceled": 0,
            "expired": 0,
        },
    }
    retrieved = Batch.from_anthropic(raw, provider="gemini", source=Source.RETRIEVE)
    listed = Batch.from_anthropic(raw, provider="gemini", source=Source.LIST)
    assert retrieved.request_counts is not None and retrieved.request_counts.total == 9
    assert listed.request_counts is not None and listed.request_counts.processing is None
    assert trusted_count_fields("gemini", Source.LIST) == frozenset({"errored"})


@pytest.mark.parametrize("bad", [-1, 1.5, "7", None, True, float("nan"), 10**13])
def test_absurd_counts_are_unknown(bad: Any) -> None:
    raw = {
        "id": "b",
        "processing_status": "ended",
        "request_counts": {
            "processing": 0,
            "succeeded": bad,
            "errored": 0,
            "canceled": 0,
            "expired": 0,
        },
    }
    counts = Batch.from_anthropic(raw, provider="anthropic").request_counts
    assert counts is not None and counts.succeeded is None and counts.total is None


def test_openai_format_counts_for_openai() -> None:
    active = Batch.from_openai(
        {
            "id": "b",
            "status": "in_progress",
            "request_counts": {"total": 10, "completed": 4, "failed": 1},
        },
        provider="openai",
    )
    counts = active.request_counts
    assert counts is not None
    assert (counts.succeeded, counts.errored, counts.processing, counts.total) == (4, 1, 5, 10)
    assert active.state is State.ACTIVE and active.source is Source.OPENAI


def test_openai_format_zero_total_means_no_counts() -> None:
    batch = Batch.from_openai(
        {"id": "b", "status": "validating", "request_counts": {"total": 0}}, provider="openai"
    )
    assert batch.request_counts is None
    assert batch.state is State.ACTIVE


def test_openai_format_for_anthropic_fills_omitted_zero_buckets() -> None:
    batch = Batch.from_openai(
        {
            "id": "msgbatch_1",
            "status": "ended",
            "request_counts": {"total": 5, "completed": 5, "succeeded": 5, "failed": 0},
            "completed_at": 1778668200,
        },
        provider="anthropic",
    )
    counts = batch.request_counts
    assert counts is not None and counts.complete
    assert (counts.processing, counts.canceled, counts.expired) == (0, 0, 0)
    assert batch.ended_at == datetime.fromtimestamp(1778668200, tz=UTC)


def test_openai_format_cancelled_is_ended_canceled() -> None:
    batch = Batch.from_openai(
        {"id": "b", "status": "cancelled", "cancelled_at": 1778668200}, provider="openai"
    )
    assert batch.processing_status == "ended"
    assert batch.native_status == "cancelled"
    assert batch.state is State.ENDED_CANCELED


# --------------------------------------------------------------------------- cancel replies


def test_cancel_reply_is_partial() -> None:
    reply = Batch.from_anthropic(CANCEL_REPLY, provider="openai", source=Source.CANCEL)
    assert reply.state is State.CANCELING
    assert reply.created_at is None and reply.expires_at is None
    assert reply.cancel_initiated_at == utc(2026, 5, 13, 11, 22, 11)
    assert reply.request_counts is not None and reply.request_counts.errored == 3
    assert reply.request_counts.processing is None


def test_cancel_reply_in_openai_native_shape() -> None:
    native = {
        "id": "batch_6823a1f0",
        "object": "batch",
        "status": "cancelling",
        "request_counts": {"total": 1000, "completed": 420, "failed": 3},
        "created_at": 1778668200,
        "cancelling_at": 1778671331,
    }
    reply = Batch.from_anthropic(native, provider="openai", source=Source.CANCEL)
    assert reply.source is Source.CANCEL
    assert reply.processing_status == "canceling"
    assert reply.native_status == "cancelling"
    assert reply.state is State.CANCELING
    assert reply.cancel_initiated_at == datetime.fromtimestamp(1778671331, tz=UTC)
    assert reply.request_counts is not None and reply.request_counts.errored == 3


# --------------------------------------------------------------------------- merging


def test_cancel_reply_never_erases_what_the_list_knew() -> None:
    listed = Batch.from_anthropic(LIST_OPENAI["data"][0], provider="openai")
    reply = Batch.from_anthropic(CANCEL_REPLY, provider="openai", source=Source.CANCEL)
    merged = listed.updated_by(reply)
    assert merged.processing_status == "canceling"
    assert merged.cancel_initiated_at == reply.cancel_initiated_at
    assert merged.created_at == listed.created_at and merged.expires_at == listed.expires_at
    assert merged.request_counts == listed.request_counts
    assert merged.source is Source.LIST


def test_newer_retrieve_keeps_older_known_fields_it_lacks() -> None:
    full = Batch.from_anthropic(RETRIEVE_ANTHROPIC, provider="anthropic", source=Source.RETRIEVE)
    sparse = Batch.from_anthropic(
        {"id": full.id, "processing_status": "ended", "created_at": "", "expires_at": ""},
        provider="anthropic",
        source=Source.RETRIEVE,
    )
    merged = full.updated_by(sparse)
    assert merged.created_at == full.created_at and merged.ended_at == full.ended_at
    assert merged.results_url == full.results_url
    assert merged.request_counts == full.request_counts


def test_a_lossier_read_never_overwrites_the_faithful_counts() -> None:
    # The OpenAI-format list is faithful for openai; the Anthropic-format retrieve carries only
    # errored for it, so its 2 must not replace the list's failed count (nor anything else).
    listed = Batch.from_openai(
        {
            "id": "b",
            "status": "in_progress",
            "request_counts": {"total": 10, "completed": 4, "failed": 1},
        },
        provider="openai",
    )
    retrieved = Batch.from_anthropic(
        {"id": "b", "processing_status": "in_progress", "request_counts": {"errored": 2}},
        provider="openai",
        source=Source.RETRIEVE,
    )
    merged = listed.updated_by(retrieved)
    counts = merged.request_counts
    assert counts is not None
    assert counts.errored == 1 and counts.succeeded == 4 and counts.known_total == 10
    assert counts.processing == 5


def test_equality_ignores_raw_and_unknown_fields_are_kept_in_raw() -> None:
    raw = dict(RETRIEVE_ANTHROPIC, brand_new_field={"x": 1})
    a = Batch.from_anthropic(raw, provider="anthropic", source=Source.RETRIEVE)
    b = Batch.from_anthropic(RETRIEVE_ANTHROPIC, provider="anthropic", source=Source.RETRIEVE)
    assert a.raw["brand_new_field"] == {"x": 1}
    assert a == b


def test_to_json_has_null_for_unknown_counts_and_rfc3339_times() -> None:
    batch = Batch.from_anthropic(LIST_OPENAI["data"][0], provider="openai")
    out = batch.to_json()
    assert out["request_counts"]["succeeded"] is None
    assert out["request_counts"]["errored"] == 3
    assert out["created_at"] == "2026-05-13T10:30:00Z"
    assert out["state"] == "active" and out["cancellable"] is True
    json.dumps(out)


# --------------------------------------------------------------------------- list pages


def test_list_page_from_the_notes_parses_to_the_expected_states() -> None:
    page = parse_list_page(LIST_OPENAI)
    batches = [Batch.from_anthropic(item, provider="openai") for item in page.data]
    assert [b.state for b in batches] == [
        State.ACTIVE,
        State.ENDED_OK,
        State.ENDED_CANCELED,
        State.FAILED,
        State.ACTIVE,
    ]
    assert [b.cancellable for b in batches] == [True, False, False, False, True]
    assert page.has_more is False


def test_list_page_is_lenient_about_has_more_and_cursors() -> None:
    page = parse_list_page({"data": [], "has_more": "yes", "next_cursor": ""})
    assert page.has_more is False and page.next_cursor is None
    page = parse_list_page({"data": [], "has_more": 1, "next_cursor": "abc", "extra": [1]})
    assert page.has_more is True and page.next_cursor == "abc"


@pytest.mark.parametrize("bad", [None, [], "x", {"has_more": True}, {"data": {"a": 1}}])
def test_a_non_page_is_a_value_error(bad: Any) -> None:
    with pytest.raises(ValueError):
        parse_list_page(bad)


@pytest.mark.parametrize("item", [None, 3, "b", [], {}, {"id": ""}, {"id": None}, {"id": []}])
def test_items_without_an_id_raise_value_error(item: Any) -> None:
    with pytest.raises(ValueError):
        Batch.from_anthropic(item, provider="openai")
    with pytest.raises(ValueError):
        Batch.from_openai(item, provider="openai")


def test_numeric_ids_are_kept_as_text() -> None:
    assert Batch.from_anthropic({"id": 12}, provider="openai").id == "12"


def test_bedrock_ids_from_both_routes_normalise_to_one_key() -> None:
    import base64

    arn = "arn:aws:bedrock:us-east-1:1:model-invocation-job/j1"
    a = Batch.from_anthropic({"id": arn, "processing_status": "in_progress"}, provider="bedrock")
    o = Batch.from_openai(
        {"id": base64.b64encode(arn.encode()).decode(), "status": "in_progress"}, provider="bedrock"
    )
    assert a.key == o.key == ("bedrock", arn)


# --------------------------------------------------------------------------- providers and keys


def test_provider_base_kind_and_allowed_requests() -> None:
    custom = ProviderWire.model_validate(
        {
            "name": "my-claude",
            "custom_provider_config": {
                "base_provider_type": "anthropic",
                "allowed_requests": {
                    "batch_list": True,
                    "batch_retrieve": True,
                    "batch_cancel": False,
                },
            },
        }
    )
    assert custom.base_kind == "anthropic" and not custom.allows_batch()
    assert ProviderWire.model_validate({"name": "openai"}).allows_batch()


def test_key_usable_for_batch_needs_the_flag_and_not_disabled() -> None:
    assert KeyWire.model_validate({"use_for_batch_api": True}).usable_for_batch
    assert not KeyWire.model_validate({}).usable_for_batch
    assert not KeyWire.model_validate(
        {"use_for_batch_api": True, "enabled": False}
    ).usable_for_batch


# --------------------------------------------------------------------------- golden payloads


def golden(name: str) -> Any:
    return json.loads((GOLDEN / name).read_text())


def test_golden_anthropic_list_for_openai() -> None:
    page = parse_list_page(golden("list_openai_10_1.json"))
    batches = [Batch.from_anthropic(item, provider="openai") for item in page.data]
    assert page.has_more is False
    assert [b.id for b in batches] == [
        "batch_6823a1f0",
        "batch_6822c2aa",
        "batch_6821b9c4",
        "batch_6820f00d",
        "batch_681ffeed",
    ]
    assert [b.state for b in batches] == [
        State.ACTIVE,
        State.ENDED_OK,
        State.ENDED_CANCELED,
        State.FAILED,
        State.ACTIVE,
    ]
    first = batches[0]
    assert first.request_counts == RequestCounts(errored=3)
    assert first.created_at == utc(2026, 5, 13, 10, 30)
    assert batches[3].request_counts is None
    assert batches[2].ended_at is None


def test_golden_anthropic_retrieve() -> None:
    batch = Batch.from_anthropic(
        golden("retrieve_anthropic_10_2.json"), provider="anthropic", source=Source.RETRIEVE
    )
    assert batch.id == "msgbatch_01HkcTjaV5uDC8jWR4ZsDV8d"
    assert batch.state is State.ENDED_OK and not batch.cancellable
    assert batch.request_counts == RequestCounts(
        processing=0, succeeded=95, errored=3, canceled=0, expired=2
    )
    assert batch.ended_at == utc(2026, 5, 12, 18, 12, 33)
    assert (batch.results_url or "").startswith("https://api.anthropic.com/")


def test_golden_cancel_reply() -> None:
    reply = Batch.from_anthropic(
        golden("cancel_openai_10_3.json"), provider="openai", source=Source.CANCEL
    )
    assert reply.state is State.CANCELING
    assert reply.created_at is None and reply.expires_at is None
    assert reply.cancel_initiated_at == utc(2026, 5, 13, 11, 22, 11)
    assert reply.request_counts == RequestCounts(errored=3)


def test_golden_openai_format_list() -> None:
    page = parse_list_page(golden("openai_list_10_5.json"))
    assert page.has_more is True and page.next_cursor
    (batch,) = [Batch.from_openai(item, provider="openai") for item in page.data]
    assert batch.id == "batch_6823a1f0" and batch.state is State.ACTIVE
    assert batch.request_counts == RequestCounts(
        processing=577, succeeded=420, errored=3, known_total=1000
    )
    assert batch.created_at == datetime.fromtimestamp(1778668200, tz=UTC)


# --------------------------------------------------------------------------- property tests

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=6)
    ),
    max_leaves=25,
)
batch_like = st.fixed_dictionaries(
    {"id": st.one_of(st.text(max_size=20), st.integers(), st.none())},
    optional={
        "processing_status": json_values | st.sampled_from(["in_progress", "ended", "canceling"]),
        "status": json_values | st.sampled_from(["cancelled", "completed", "cancelling"]),
        "request_counts": json_values
        | st.dictionaries(
            st.sampled_from(["processing", "succeeded", "errored", "total", "completed", "failed"]),
            json_values,
        ),
        "created_at": json_values,
        "expires_at": json_values,
        "ended_at": json_values,
        "cancel_initiated_at": json_values,
        "cancelling_at": json_values,
    },
)
PROPERTY_SETTINGS = settings(max_examples=200, derandomize=True, deadline=None, database=None)


@PROPERTY_SETTINGS
@given(
    data=json_values | batch_like,
    provider=st.sampled_from(["anthropic", "openai", "gemini", "bedrock", "x"]),
    source=st.sampled_from(list(Source)),
)
def test_models_only_ever_raise_value_error(data: Any, provider: str, source: Source) -> None:
    for parse in (Batch.from_anthropic, Batch.from_openai):
        try:
            batch = parse(data, provider=provider, source=source)
        except ValueError:
            continue
        assert isinstance(batch.state, State)
        json.dumps(batch.to_json())
        assert batch.updated_by(batch).id == batch.id
    with contextlib.suppress(ValueError):
        parse_list_page(data)
