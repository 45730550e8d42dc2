"""Batch ids: normalisation, the path form, and that any id reaches the gateway as one segment."""

from __future__ import annotations

import base64
from urllib.parse import unquote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bifrost_tui.gateway.client import ClientConfig, GatewayClient
from bifrost_tui.gateway.errors import RequestRejected
from bifrost_tui.gateway.ids import encode_segment, normalise_id, path_id
from tests.support.client_fakes import BASE, FakeGateway, batch_json, json_response

ARN = "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/abc123xyz"
NASTY_IDS = [
    "a/b",
    "../../api/providers",
    "..",
    ".",
    "...",
    "id?x=1",
    "id#frag",
    "100%",
    "%2F",
    "%2e%2e",
    "with space",
    "ünïcødé-批次",
    "tab\there",
    "a\\b",
    "a;b",
    "a+b&c=d",
]


def test_bedrock_base64_arn_normalises_to_the_plain_arn() -> None:
    encoded = base64.b64encode(ARN.encode()).decode()
    urlsafe = base64.urlsafe_b64encode(ARN.encode()).decode().rstrip("=")
    assert normalise_id("bedrock", encoded) == ARN
    assert normalise_id("bedrock", urlsafe) == ARN
    assert normalise_id("bedrock", ARN) == ARN


def test_bedrock_id_that_is_not_base64_of_an_arn_is_kept() -> None:
    assert normalise_id("bedrock", "job-123") == "job-123"
    assert normalise_id("bedrock", base64.b64encode(b"hello").decode()) == "aGVsbG8="


def test_gemini_slash_form_becomes_dash_form() -> None:
    assert normalise_id("gemini", "batches/abc") == "batches-abc"
    assert normalise_id("gemini", "batches-abc") == "batches-abc"
    assert normalise_id("openai", "batches/abc") == "batches/abc"


def test_path_id_uses_the_bedrock_job_suffix_only_for_bedrock_arns() -> None:
    assert path_id("bedrock", ARN) == "abc123xyz"
    assert path_id("openai", ARN) == ARN
    assert path_id("anthropic", "msgbatch_1") == "msgbatch_1"


@pytest.mark.parametrize("raw", NASTY_IDS)
def test_encode_segment_is_one_segment_that_decodes_back(raw: str) -> None:
    segment = encode_segment(raw)
    assert "/" not in segment and "?" not in segment and "#" not in segment
    assert segment not in (".", "..")
    assert unquote(segment) == raw


def test_encode_segment_refuses_an_empty_id() -> None:
    with pytest.raises(ValueError):
        encode_segment("")


def _client(gateway: FakeGateway) -> GatewayClient:
    return GatewayClient(ClientConfig(base_url=BASE + "/prefix"), transport=gateway.transport)


def _assert_one_segment(raw_path: bytes, prefix: bytes, suffix: bytes = b"") -> None:
    assert raw_path.startswith(prefix), raw_path
    rest = raw_path[len(prefix) :]
    if suffix:
        assert rest.endswith(suffix), raw_path
        rest = rest[: -len(suffix)]
    assert rest and b"/" not in rest and b"?" not in rest and b"#" not in rest
    assert rest not in (b".", b"..")


@pytest.mark.parametrize("raw", NASTY_IDS)
async def test_get_and_cancel_put_any_id_in_exactly_one_segment(raw: str) -> None:
    gateway = FakeGateway()
    seen: list[bytes] = []

    def record(request):  # every route answers with a batch; we only look at the path
        seen.append(request.url.raw_path)
        return json_response(200, batch_json("x"))

    gateway.path_of = lambda request: "any"  # type: ignore[method-assign]  # one route for every path
    gateway.on("GET", "any", record).on("POST", "any", record)
    async with _client(gateway) as client:
        await client.get_batch("anthropic", raw)
        await client.cancel_batch("anthropic", raw)
        await client.get_batch("openai", raw)  # openai reads through the OpenAI-format route
    prefix = b"/prefix/anthropic/v1/messages/batches/"
    assert len(seen) == 4  # get, cancel, re-read; then the openai get
    _assert_one_segment(seen[0], prefix)
    _assert_one_segment(seen[1], prefix, b"/cancel")
    _assert_one_segment(seen[2], prefix)
    path, _, query = seen[3].partition(b"?")
    assert query == b"provider=openai"
    _assert_one_segment(path, b"/prefix/openai/v1/batches/")


@settings(
    max_examples=150,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(raw=st.text(min_size=1, max_size=40))
async def test_any_text_id_stays_inside_the_batches_prefix(raw: str) -> None:
    gateway = FakeGateway()
    seen: list[bytes] = []

    def record(request):
        seen.append(request.url.raw_path)
        return json_response(200, batch_json("x"))

    gateway.path_of = lambda request: "any"  # type: ignore[method-assign]  # one route for every path
    gateway.on("GET", "any", record)
    async with _client(gateway) as client:
        await client.get_batch("anthropic", raw)
    _assert_one_segment(seen[0], b"/prefix/anthropic/v1/messages/batches/")
    assert unquote(seen[0].rsplit(b"/", 1)[1].decode()) == raw


async def test_provider_names_are_encoded_in_the_keys_path() -> None:
    gateway = FakeGateway()
    gateway.on(
        "GET",
        "/api/providers",
        json_response(
            200,
            {
                "providers": [
                    {
                        "name": "../evil",
                        "provider_status": "active",
                        "custom_provider_config": {"base_provider_type": "openai"},
                    }
                ]
            },
        ),
    )
    gateway.on("GET", "/api/providers/..%2Fevil/keys", json_response(200, {"keys": []}))
    async with GatewayClient(ClientConfig(base_url=BASE), transport=gateway.transport) as client:
        providers = await client.list_providers()
    assert [r.url.raw_path for r in gateway.requests] == [
        b"/api/providers",
        b"/api/providers/..%2Fevil/keys",
    ]
    assert providers[0].reason == "no batch-enabled key (enable 'Use for Batch APIs' on a key)"


async def test_empty_batch_id_is_refused_before_sending() -> None:
    gateway = FakeGateway()
    async with GatewayClient(ClientConfig(base_url=BASE), transport=gateway.transport) as client:
        with pytest.raises(RequestRejected):
            await client.get_batch("openai", "")
        with pytest.raises(RequestRejected):
            await client.cancel_batch("openai", "")
    assert gateway.requests == []


async def test_bedrock_arn_goes_into_the_path_as_its_job_id() -> None:
    gateway = FakeGateway()
    gateway.on(
        "GET", "/anthropic/v1/messages/batches/abc123xyz", json_response(200, batch_json(ARN))
    )
    async with GatewayClient(ClientConfig(base_url=BASE), transport=gateway.transport) as client:
        batch = await client.get_batch("bedrock", ARN)
    assert batch.id == ARN
    assert gateway.requests[0].headers["x-model-provider"] == "bedrock"
