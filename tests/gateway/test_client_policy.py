"""Client policies vs MockTransport: retries, size cap, deadline, redirects, auth, secrets."""

from __future__ import annotations

import asyncio
import logging

import httpx
import pytest
from pydantic import SecretStr

from bifrost_tui.gateway.client import ClientConfig, GatewayClient
from bifrost_tui.gateway.errors import (
    BadResponse,
    GatewayConfigError,
    GatewayError,
    GatewayTimeout,
    NotFound,
    RateLimited,
    ServerError,
    Unreachable,
)
from bifrost_tui.gateway.http import BACKOFF_CAP_SECONDS, RETRY_AFTER_CAP_SECONDS
from bifrost_tui.gateway.outcomes import CancelOutcome, ListingStatus
from tests.support.client_fakes import (
    BASE,
    FakeGateway,
    Handler,
    SleepRecorder,
    anthropic_error,
    batch_json,
    json_response,
    make_client,
)

BATCH_PATH = "/anthropic/v1/messages/batches/b1"
CANCEL_PATH = BATCH_PATH + "/cancel"
LIST_PATH = "/anthropic/v1/messages/batches"


def unavailable() -> httpx.Response:
    return anthropic_error(503, "upstream unavailable", "overloaded_error")


def refuse_connection(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("[Errno 111] Connection refused", request=request)


def drop_connection(request: httpx.Request) -> httpx.Response:
    raise httpx.RemoteProtocolError(
        "Server disconnected without sending a response.", request=request
    )


# --------------------------------------------------------------------------- retries


@pytest.mark.parametrize("status", [502, 503, 504])
async def test_get_retries_on_gateway_statuses_with_exponential_backoff(status: int) -> None:
    gateway = FakeGateway().on(
        "GET",
        BATCH_PATH,
        anthropic_error(status, "x"),
        anthropic_error(status, "x"),
        json_response(200, batch_json("b1")),
    )
    sleep = SleepRecorder()
    async with make_client(gateway, sleep=sleep) as client:
        batch = await client.get_batch("anthropic", "b1")
    assert batch.id == "b1"
    assert len(gateway.requests) == 3
    assert sleep.delays == [0.5, 1.0]


async def test_get_gives_up_after_the_configured_retries() -> None:
    gateway = FakeGateway().on("GET", BATCH_PATH, unavailable())
    sleep = SleepRecorder()
    async with make_client(gateway, sleep=sleep, retries=3, backoff=0.25) as client:
        with pytest.raises(ServerError, match="upstream unavailable"):
            await client.get_batch("anthropic", "b1")
    assert len(gateway.requests) == 4
    assert sleep.delays == [0.25, 0.5, 1.0]


async def test_backoff_is_capped() -> None:
    gateway = FakeGateway().on("GET", BATCH_PATH, unavailable())
    sleep = SleepRecorder()
    async with make_client(gateway, sleep=sleep, retries=6, backoff=1.0) as client:
        with pytest.raises(ServerError):
            await client.get_batch("anthropic", "b1")
    assert sleep.delays == [1.0, 2.0, 4.0, 8.0, BACKOFF_CAP_SECONDS, BACKOFF_CAP_SECONDS]


async def test_get_retries_on_connect_error() -> None:
    gateway = FakeGateway().on(
        "GET", BATCH_PATH, refuse_connection, json_response(200, batch_json("b1"))
    )
    sleep = SleepRecorder()
    async with make_client(gateway, sleep=sleep) as client:
        assert (await client.get_batch("anthropic", "b1")).id == "b1"
    assert len(gateway.requests) == 2 and sleep.delays == [0.5]


async def test_connect_error_every_time_is_unreachable_after_retries() -> None:
    gateway = FakeGateway().on("GET", BATCH_PATH, refuse_connection)
    sleep = SleepRecorder()
    async with make_client(gateway, sleep=sleep) as client:
        with pytest.raises(Unreachable):
            await client.get_batch("anthropic", "b1")
    assert len(gateway.requests) == 3 and sleep.delays == [0.5, 1.0]


async def test_429_honours_retry_after_and_caps_it() -> None:
    limited = httpx.Response(429, text="slow", headers={"retry-after": "2"})
    too_long = httpx.Response(429, text="slow", headers={"retry-after": "3600"})
    gateway = FakeGateway().on(
        "GET", BATCH_PATH, limited, too_long, json_response(200, batch_json("b1"))
    )
    sleep = SleepRecorder()
    async with make_client(gateway, sleep=sleep) as client:
        await client.get_batch("anthropic", "b1")
    assert sleep.delays == [2.0, RETRY_AFTER_CAP_SECONDS]


async def test_429_without_retry_after_uses_backoff_then_raises_rate_limited() -> None:
    gateway = FakeGateway().on("GET", BATCH_PATH, httpx.Response(429, text="slow"))
    sleep = SleepRecorder()
    async with make_client(gateway, sleep=sleep) as client:
        with pytest.raises(RateLimited):
            await client.get_batch("anthropic", "b1")
    assert sleep.delays == [0.5, 1.0]


@pytest.mark.parametrize(
    "response",
    [
        anthropic_error(500, "boom", "overloaded_error"),
        anthropic_error(404, "nope"),
        anthropic_error(400, "bad"),
    ],
)
async def test_other_statuses_are_not_retried(response: httpx.Response) -> None:
    gateway = FakeGateway().on("GET", BATCH_PATH, response)
    sleep = SleepRecorder()
    async with make_client(gateway, sleep=sleep) as client:
        with pytest.raises(GatewayError):
            await client.get_batch("anthropic", "b1")
    assert len(gateway.requests) == 1 and sleep.delays == []


async def test_read_timeout_is_not_retried() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    gateway = FakeGateway().on("GET", BATCH_PATH, slow)
    async with make_client(gateway) as client:
        with pytest.raises(GatewayTimeout):
            await client.get_batch("anthropic", "b1")
    assert len(gateway.requests) == 1


async def test_retries_zero_means_one_request() -> None:
    gateway = FakeGateway().on("GET", BATCH_PATH, unavailable())
    async with make_client(gateway, retries=0) as client:
        with pytest.raises(ServerError):
            await client.get_batch("anthropic", "b1")
    assert len(gateway.requests) == 1


@pytest.mark.parametrize("failure", [unavailable(), drop_connection, httpx.Response(429, text="x")])
async def test_cancel_is_never_retried(failure) -> None:
    gateway = FakeGateway().on("POST", CANCEL_PATH, failure)
    gateway.on("GET", BATCH_PATH, json_response(200, batch_json("b1")))
    sleep = SleepRecorder()
    async with make_client(gateway, sleep=sleep) as client:
        result = await client.cancel_batch("anthropic", "b1")
    assert len(gateway.calls("POST", CANCEL_PATH)) == 1
    assert sleep.delays == []
    assert result.outcome in (CancelOutcome.UNKNOWN, CancelOutcome.REFUSED)


async def test_cancel_never_sent_is_not_retried_either() -> None:
    gateway = FakeGateway().on("POST", CANCEL_PATH, refuse_connection)
    async with make_client(gateway) as client:
        with pytest.raises(Unreachable):
            await client.cancel_batch("anthropic", "b1")
    assert len(gateway.requests) == 1


# --------------------------------------------------------------------------- size cap and deadline


async def test_declared_content_length_above_the_cap_is_refused_unread() -> None:
    consumed: list[int] = []

    async def body():
        for i in range(100):
            consumed.append(i)
            yield b"x" * 1000

    def big(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body(), headers={"content-length": "100000"})

    gateway = FakeGateway().on("GET", BATCH_PATH, big)
    async with make_client(gateway, max_response_bytes=4096) as client:
        with pytest.raises(BadResponse, match="response larger than 4096 bytes"):
            await client.get_batch("anthropic", "b1")
    assert consumed == []


async def test_streamed_body_above_the_cap_stops_reading() -> None:
    consumed: list[int] = []

    async def endless():
        i = 0
        while True:
            consumed.append(i)
            i += 1
            yield b"x" * 1000

    gateway = FakeGateway().on("GET", BATCH_PATH, lambda r: httpx.Response(200, content=endless()))
    async with make_client(gateway, max_response_bytes=4096) as client:
        with pytest.raises(BadResponse, match="response larger than 4096 bytes"):
            await client.get_batch("anthropic", "b1")
    assert len(consumed) == 5  # 5000 bytes crossed the 4096 cap; nothing more was read


async def test_body_exactly_at_the_cap_is_fine() -> None:
    body = json_response(200, batch_json("b1")).content
    gateway = FakeGateway().on("GET", BATCH_PATH, httpx.Response(200, content=body))
    async with make_client(gateway, max_response_bytes=len(body)) as client:
        assert (await client.get_batch("anthropic", "b1")).id == "b1"


async def test_default_cap_is_16_mib() -> None:
    assert ClientConfig(base_url=BASE).max_response_bytes == 16 * 1024 * 1024


async def test_a_trickling_body_hits_the_total_deadline() -> None:
    never = asyncio.Event()

    async def trickle():
        yield b'{"id": "b1", '
        await never.wait()  # the rest never comes; the read timeout alone would not notice
        yield b"}"

    gateway = FakeGateway().on("GET", BATCH_PATH, lambda r: httpx.Response(200, content=trickle()))
    async with make_client(gateway, total_timeout=0.2, retries=0) as client:
        with pytest.raises(GatewayTimeout, match=r"within 0\.2 s"):
            await client.get_batch("anthropic", "b1")


async def test_a_gateway_that_never_answers_hits_the_total_deadline() -> None:
    async def hang(request: httpx.Request) -> httpx.Response:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    gateway = FakeGateway().on("GET", LIST_PATH, hang)
    async with make_client(gateway, total_timeout=0.2, retries=0) as client:
        listing = await client.list_batches("anthropic")
    assert listing.status is ListingStatus.ERROR
    assert isinstance(listing.error, GatewayTimeout)


async def test_client_timeouts_are_passed_to_httpx() -> None:
    client = make_client(FakeGateway(), connect_timeout=3.0, read_timeout=7.0)
    timeout = client._core._client.timeout
    assert (timeout.connect, timeout.read) == (3.0, 7.0)
    await client.aclose()


# --------------------------------------------------------------------------- redirects


async def test_redirect_is_not_followed_and_names_only_the_host() -> None:
    redirect = httpx.Response(302, headers={"location": "https://evil.example/steal?token=abc"})
    gateway = FakeGateway().on("GET", BATCH_PATH, redirect)
    async with make_client(gateway, virtual_key=SecretStr("sk-bf-secret-vk")) as client:
        with pytest.raises(GatewayConfigError) as info:
            await client.get_batch("anthropic", "b1")
    assert len(gateway.requests) == 1
    assert all(r.url.host == "gw.test" for r in gateway.requests)
    message = info.value.message
    assert message == "gateway answered with a redirect to evil.example; check the base URL"


async def test_redirect_on_listing_is_an_error_listing() -> None:
    gateway = FakeGateway().on("GET", LIST_PATH, httpx.Response(301, headers={"location": "/ui/"}))
    async with make_client(gateway) as client:
        listing = await client.list_batches("anthropic")
    assert listing.status is ListingStatus.ERROR
    assert isinstance(listing.error, GatewayConfigError)
    assert listing.requests == 1


# --------------------------------------------------------------------------- headers and auth


async def _exercise_every_route(client: GatewayClient, gateway: FakeGateway) -> None:
    gateway.on("GET", "/health", json_response(200, {"status": "ok"}))
    gateway.on("GET", "/api/version", json_response(200, "v1.5.1"))
    gateway.on("GET", "/api/providers", json_response(200, {"providers": [{"name": "anthropic"}]}))
    gateway.on("GET", "/api/providers/openai/keys", json_response(200, {"keys": []}))
    gateway.on("GET", LIST_PATH, json_response(200, {"data": [], "has_more": True}))
    gateway.on("GET", "/openai/v1/batches", json_response(200, {"data": []}))
    gateway.on("GET", BATCH_PATH, json_response(200, batch_json("b1")))
    gateway.on("POST", CANCEL_PATH, json_response(200, batch_json("b1", "canceling")))
    await client.health()
    await client.version()
    await client.list_providers()
    await client.list_batches("anthropic")
    await client.get_batch("anthropic", "b1")
    await client.cancel_batch("anthropic", "b1")


async def test_auth_headers_per_route() -> None:
    gateway = FakeGateway()
    client = make_client(
        gateway,
        virtual_key=SecretStr("sk-bf-vk-1"),
        dashboard_username="admin",
        dashboard_password=SecretStr("hunter22"),
        extra_headers={"X-Proxy-Token": SecretStr("proxy-secret")},
    )
    async with client:
        await _exercise_every_route(client, gateway)
    basic = httpx.BasicAuth("admin", "hunter22")._auth_header
    for request in gateway.requests:
        path = gateway.path_of(request)
        assert request.headers["x-proxy-token"] == "proxy-secret", path
        assert "x-bf-send-back-raw-response" not in request.headers
        assert request.headers["user-agent"].startswith("bifrost-tui/")
        if path.startswith(("/anthropic/", "/openai/")):
            assert request.headers["x-bf-vk"] == "sk-bf-vk-1"
            assert request.headers["authorization"] == basic
        elif path.startswith("/api/"):
            assert "x-bf-vk" not in request.headers
            assert request.headers["authorization"] == basic
        else:
            assert path == "/health"
            assert "x-bf-vk" not in request.headers and "authorization" not in request.headers
        if path.startswith("/anthropic/"):
            assert request.headers["x-model-provider"] == "anthropic"
        else:
            assert "x-model-provider" not in request.headers


async def test_cancel_sends_an_empty_body() -> None:
    gateway = FakeGateway()
    gateway.on("POST", CANCEL_PATH, json_response(200, batch_json("b1", "canceling")))
    gateway.on("GET", BATCH_PATH, json_response(200, batch_json("b1", "canceling")))
    async with make_client(gateway) as client:
        await client.cancel_batch("anthropic", "b1")
    post = gateway.calls("POST", CANCEL_PATH)[0]
    assert post.content == b""
    assert post.headers["x-model-provider"] == "anthropic"


async def test_base_url_path_prefix_is_kept() -> None:
    for base in ("https://gw.test/bifrost", "https://gw.test/bifrost/"):
        gateway = FakeGateway(prefix="/bifrost")
        gateway.on("GET", BATCH_PATH, json_response(200, batch_json("b1")))
        async with make_client(gateway, base_url=base) as client:
            await client.get_batch("anthropic", "b1")
        assert gateway.requests[0].url.raw_path == b"/bifrost" + BATCH_PATH.encode()


# --------------------------------------------------------------------------- configuration refusals


@pytest.mark.parametrize("host", ["gw.example", "10.0.0.5", "[2001:db8::1]"])
async def test_secrets_over_plain_http_to_a_remote_host_are_refused(host: str) -> None:
    gateway = FakeGateway()
    client = make_client(
        gateway, base_url=f"http://{host}:8080", virtual_key=SecretStr("sk-bf-vk-2")
    )
    async with client:
        with pytest.raises(GatewayConfigError, match="plain http://"):
            await client.get_batch("anthropic", "b1")
        with pytest.raises(GatewayConfigError):
            await client.cancel_batch("anthropic", "b1")
        listing = await client.list_batches("anthropic")
        assert listing.status is ListingStatus.ERROR
        assert isinstance(listing.error, GatewayConfigError)
    assert gateway.requests == []


@pytest.mark.parametrize(
    "base",
    ["http://127.0.0.1:8080", "http://127.8.9.10", "http://localhost:8080", "http://[::1]:8080"],
)
async def test_plain_http_to_loopback_is_fine(base: str) -> None:
    gateway = FakeGateway().on("GET", BATCH_PATH, json_response(200, batch_json("b1")))
    async with make_client(gateway, base_url=base, virtual_key=SecretStr("sk-bf-vk-3")) as client:
        await client.get_batch("anthropic", "b1")
    assert len(gateway.requests) == 1


async def test_plain_http_remote_allowed_when_opted_in_or_without_secrets() -> None:
    gateway = FakeGateway().on("GET", BATCH_PATH, json_response(200, batch_json("b1")))
    gateway.on("GET", "/health", json_response(200, {"status": "ok"}))
    opted = make_client(
        gateway,
        base_url="http://gw.example",
        virtual_key=SecretStr("sk-bf-vk-4"),
        allow_insecure_http=True,
    )
    async with opted:
        await opted.get_batch("anthropic", "b1")
    async with make_client(gateway, base_url="http://gw.example") as plain:
        await plain.get_batch("anthropic", "b1")
    async with make_client(
        gateway, base_url="http://gw.example", virtual_key=SecretStr("sk-bf-vk-5")
    ) as vk_only:
        await vk_only.health()  # /health never carries the virtual key
    assert len(gateway.requests) == 3


async def test_extra_headers_make_every_plain_http_request_a_secret_one() -> None:
    gateway = FakeGateway()
    client = make_client(
        gateway, base_url="http://gw.example", extra_headers={"x-token": SecretStr("t0ken-val")}
    )
    async with client:
        with pytest.raises(GatewayConfigError):
            await client.health()
    assert gateway.requests == []


@pytest.mark.parametrize(
    ("base", "leak"),
    [
        ("https://admin:pa55word@gw.example", "pa55word"),
        ("https://gw.example/?token=t0psecret", "t0psecret"),
        ("https://gw.example/#access_token=t0psecret", "t0psecret"),
    ],
)
def test_credentials_in_the_url_are_refused_without_echoing_them(base: str, leak: str) -> None:
    config = ClientConfig(base_url=base)
    with pytest.raises(GatewayConfigError) as info:
        GatewayClient(config, transport=FakeGateway().transport)
    error = info.value
    assert "environment variable" in error.message
    for text in (str(error), repr(error), error.describe(), repr(config), str(config)):
        assert leak not in text


@pytest.mark.parametrize("base", ["ftp://gw.example", "gw.example", "https://", "http:///x"])
def test_unusable_base_urls_are_refused(base: str) -> None:
    with pytest.raises(GatewayConfigError):
        GatewayClient(ClientConfig(base_url=base), transport=FakeGateway().transport)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("x-bf-send-back-raw-response", "true"),
        ("x-model-provider", "anthropic"),
        ("Host", "zzz-secret.example"),
        ("bad header", "v"),
        ("x-ok", "line1\r\nx-injected: zzz-secret"),
    ],
)
def test_bad_extra_headers_are_refused_without_echoing_values(name: str, value: str) -> None:
    config = ClientConfig(base_url=BASE, extra_headers={name: SecretStr(value)})
    with pytest.raises(GatewayConfigError) as info:
        GatewayClient(config, transport=FakeGateway().transport)
    assert "zzz-secret" not in str(info.value)


async def test_authorization_extra_header_only_without_dashboard_auth() -> None:
    proxy = {"Authorization": SecretStr("Bearer zzz-proxy-token")}
    gateway = FakeGateway().on("GET", "/health", json_response(200, {"status": "ok"}))
    async with make_client(gateway, extra_headers=proxy) as client:
        await client.health()
    assert gateway.requests[0].headers["authorization"] == "Bearer zzz-proxy-token"
    both = ClientConfig(
        base_url=BASE, extra_headers=proxy, dashboard_password=SecretStr("zzz-dash-pass")
    )
    with pytest.raises(GatewayConfigError) as info:
        GatewayClient(both, transport=FakeGateway().transport)
    assert "zzz" not in str(info.value)


@pytest.mark.parametrize(
    "overrides",
    [{"total_timeout": 0}, {"connect_timeout": -1}, {"max_response_bytes": 0}, {"retries": -1}],
)
def test_nonsense_numbers_are_refused(overrides: dict) -> None:
    with pytest.raises(GatewayConfigError):
        GatewayClient(ClientConfig(base_url=BASE, **overrides), transport=FakeGateway().transport)


def test_a_missing_ca_bundle_is_a_config_error() -> None:
    with pytest.raises(GatewayConfigError, match="CA bundle"):
        GatewayClient(ClientConfig(base_url=BASE, verify="/nonexistent/ca.pem"))


# --------------------------------------------------------------------------- secrets never leak

VK = "sk-bf-PLANTED-vk-0123456789"
PASSWORD = "PLANTED-dashboard-pass-42"
HEADER_VALUE = "PLANTED-proxy-token-77"
PLANTED = (VK, PASSWORD, HEADER_VALUE)


def _planted_client(gateway: FakeGateway, **kw) -> GatewayClient:
    return make_client(
        gateway,
        virtual_key=SecretStr(VK),
        dashboard_username="admin",
        dashboard_password=SecretStr(PASSWORD),
        extra_headers={"x-proxy-token": SecretStr(HEADER_VALUE)},
        **kw,
    )


def _assert_clean(*objects: object) -> None:
    for obj in objects:
        texts = [str(obj), repr(obj)]
        if isinstance(obj, GatewayError):
            texts += [obj.describe(), obj.message, repr(obj.__dict__)]
        for text in texts:
            for secret in PLANTED:
                assert secret not in text, (type(obj).__name__, text)


async def test_repr_and_str_of_client_and_config_hide_secrets() -> None:
    client = _planted_client(FakeGateway())
    _assert_clean(client, client.config, client._core, client._core._credentials)
    assert "**********" in repr(client.config)
    await client.aclose()


async def test_no_raised_error_or_log_line_contains_a_secret(caplog) -> None:
    echo = f"virtual key {VK} refused; Authorization was Basic admin:{PASSWORD}; {HEADER_VALUE}"
    scenarios: list[httpx.Response | Handler] = [
        anthropic_error(401, echo),
        anthropic_error(404, echo),
        anthropic_error(409, echo),
        json_response(500, {"type": "error", "error": {"type": "api_error", "message": echo}}),
        httpx.Response(502, text=echo),
        httpx.Response(400, text=f"<html><title>{echo}</title></html>"),
        httpx.Response(200, text=echo),
        refuse_connection,
        drop_connection,
        lambda r: (_ for _ in ()).throw(httpx.ReadTimeout(echo, request=r)),
        lambda r: (_ for _ in ()).throw(httpx.ConnectError(echo, request=r)),
    ]
    caplog.set_level(logging.DEBUG)
    errors: list[object] = []
    for response in scenarios:
        gateway = FakeGateway()
        for method, path in (
            ("GET", BATCH_PATH),
            ("POST", CANCEL_PATH),
            ("GET", LIST_PATH),
            ("GET", "/api/providers"),
            ("GET", "/health"),
        ):
            gateway.on(method, path, response)
        async with _planted_client(gateway, retries=0) as client:
            for call in (
                lambda c=client: c.get_batch("anthropic", "b1"),
                lambda c=client: c.list_providers(),
                lambda c=client: c.health(),
            ):
                try:
                    await call()
                except GatewayError as exc:
                    errors.append(exc)
            listing = await client.list_batches("anthropic")
            errors.append(listing.error)
            errors.append(listing.missing)
            try:
                result = await client.cancel_batch("anthropic", "b1")
                errors += [result.error, result.reread_error, result.message]
            except GatewayError as exc:
                errors.append(exc)
        assert gateway.requests  # the scenario really ran
    assert any(isinstance(e, GatewayError) and "***" in e.message for e in errors)
    _assert_clean(*errors)
    for record in caplog.records:
        _assert_clean(record.getMessage())


async def test_insecure_refusal_and_url_errors_do_not_leak() -> None:
    client = _planted_client(FakeGateway(), base_url="http://gw.example")
    with pytest.raises(GatewayConfigError) as info:
        await client.get_batch("anthropic", "b1")
    _assert_clean(info.value, client)
    await client.aclose()


async def test_plain_string_secrets_are_accepted_and_wrapped() -> None:
    gateway = FakeGateway().on("GET", BATCH_PATH, json_response(200, batch_json("b1")))
    client = make_client(gateway, virtual_key=VK, extra_headers={"x-proxy-token": HEADER_VALUE})
    async with client:
        await client.get_batch("anthropic", "b1")
    assert gateway.requests[0].headers["x-bf-vk"] == VK
    _assert_clean(client)


async def test_not_found_from_a_misrouted_prefix_is_not_found() -> None:
    gateway = FakeGateway()  # no routes: every path answers 404
    async with make_client(gateway) as client:
        with pytest.raises(NotFound):
            await client.get_batch("anthropic", "b1")
