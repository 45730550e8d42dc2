"""Shared fakes for the client tests: a scripted gateway behind httpx.MockTransport (no tests)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
from pydantic import SecretStr

from bifrost_tui.gateway.client import ClientConfig, GatewayClient

BASE = "https://gw.test"
Handler = Callable[[httpx.Request], Any]


def json_response(status: int, body: Any, **headers: str) -> httpx.Response:
    return httpx.Response(
        status,
        content=json.dumps(body).encode(),
        headers={"content-type": "application/json", **headers},
    )


def anthropic_error(
    status: int, message: str, kind: str = "invalid_request_error"
) -> httpx.Response:
    return json_response(status, {"type": "error", "error": {"type": kind, "message": message}})


def batch_json(batch_id: str, status: str = "in_progress", **extra: Any) -> dict[str, Any]:
    return {
        "id": batch_id,
        "type": "message_batch",
        "processing_status": status,
        "created_at": "2026-05-13T10:30:00Z",
        "expires_at": "2026-05-14T10:30:00Z",
        **extra,
    }


def openai_batch_json(batch_id: str, status: str = "in_progress", **extra: Any) -> dict[str, Any]:
    return {
        "id": batch_id,
        "object": "batch",
        "status": status,
        "request_counts": {"total": 10, "completed": 4, "failed": 1},
        "created_at": 1778668200,
        "expires_at": 1778754600,
        **extra,
    }


class FakeGateway:
    """Routes keyed by (method, raw path without the base prefix); every request is recorded.

    A route holds a list of responses (or handlers) used in order; the last one repeats.
    """

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix
        self.requests: list[httpx.Request] = []
        self.routes: dict[tuple[str, str], list[httpx.Response | Handler]] = {}

    def on(self, method: str, path: str, *responses: httpx.Response | Handler) -> FakeGateway:
        self.routes[(method, path)] = list(responses)
        return self

    def calls(self, method: str, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.method == method and self.path_of(r) == path]

    def path_of(self, request: httpx.Request) -> str:
        raw = request.url.raw_path.split(b"?", 1)[0].decode("ascii")
        return raw.removeprefix(self.prefix)

    async def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        key = (request.method, self.path_of(request))
        queue = self.routes.get(key)
        if not queue:
            return json_response(404, {"type": "error", "error": {"message": f"no route {key}"}})
        item = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(item, httpx.Response):
            # A Response object can be returned only once: hand out a copy each time.
            return httpx.Response(item.status_code, headers=item.headers, content=item.content)
        result = item(request)
        if hasattr(result, "__await__"):
            result = await result
        return result

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)


class SleepRecorder:
    """The injected sleep: records each requested delay and returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def make_client(
    gateway: FakeGateway, *, sleep: SleepRecorder | None = None, **overrides: Any
) -> GatewayClient:
    config = ClientConfig(base_url=overrides.pop("base_url", BASE + gateway.prefix), **overrides)
    return GatewayClient(config, transport=gateway.transport, sleep=sleep or SleepRecorder())


def secret(value: str) -> SecretStr:
    return SecretStr(value)
