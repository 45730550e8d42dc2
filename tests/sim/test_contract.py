"""Contract: the simulator and the client against Bifrost's own OpenAPI spec (batch subset).

Every route the simulator serves and every route the client calls must exist in the spec with that
method, with the parameters we use declared. Responses the simulator returns are validated
structurally against the spec's schemas by the small checker below. Where the spec and the gateway's
documented real behaviour (docs/gateway.md) disagree, the test asserts the *real* behaviour
and names the deviation; the code wins over the spec.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

import pytest
from pydantic import SecretStr

from bifrost_tui.sim import DashboardAuth, KeyConfig, ProviderConfig, SimWorld
from bifrost_tui.sim.routes import ROUTES
from tests.support.clocks import GOLDEN_T0
from tests.support.sim_fixtures import DATA, call, clock_at, openai_world_10_1, provider_header

SPEC: dict[str, Any] = json.loads((DATA / "openapi-batch-subset.json").read_text(encoding="utf-8"))

#: The routes the gateway client calls (bifrost_tui/gateway/client.py).
CLIENT_ROUTES = [
    ("GET", "/anthropic/v1/messages/batches"),
    ("GET", "/anthropic/v1/messages/batches/{batch_id}"),
    ("POST", "/anthropic/v1/messages/batches/{batch_id}/cancel"),
    ("GET", "/openai/v1/batches"),
    ("GET", "/openai/v1/batches/{batch_id}"),
    ("GET", "/health"),
    ("GET", "/api/version"),
    ("GET", "/api/providers"),
    ("GET", "/api/providers/{provider}/keys"),
    ("POST", "/api/session/login"),
]
#: Aliases Bifrost registers for the same handlers; the spec documents them only in prose
#: ("also works without the /v1 prefix"), so they are checked against the canonical path.
ALIASES = {"/openai/batches": "/openai/v1/batches", "/openai/openai/batches": "/openai/v1/batches"}


def spec_path(path: str) -> str:
    for alias, canonical in ALIASES.items():
        if path == alias or path.startswith(alias + "/"):
            return canonical + path[len(alias) :]
    return path


def operation(method: str, path: str) -> dict[str, Any]:
    return SPEC["paths"][spec_path(path)][method.lower()]


# --------------------------------------------------------------------------- a small schema checker


@dataclass(frozen=True)
class Issue:
    path: str
    kind: str  # type, required, enum, format, additional, anyOf, oneOf, minLength
    detail: str

    def __str__(self) -> str:
        return f"{self.path}: {self.kind}: {self.detail}"


_TYPES = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
    "null": lambda v: v is None,
}


def resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        ref = schema["$ref"]
        assert ref.startswith("#/"), ref
        node: Any = SPEC
        for part in ref[2:].split("/"):
            node = node[part]
        schema = node
    return schema


def check(value: Any, schema: dict[str, Any], path: str = "$") -> list[Issue]:
    """Structural validation: type (incl. 3.1 type lists), nullable, required, properties,
    additionalProperties, items, enum, format date-time, minLength, $ref, allOf/anyOf/oneOf."""
    schema = resolve(schema)
    issues: list[Issue] = []
    if value is None and schema.get("nullable"):
        return issues
    for sub in schema.get("allOf", []):
        issues += check(value, sub, path)
    if "anyOf" in schema and not any(not check(value, s, path) for s in schema["anyOf"]):
        issues.append(Issue(path, "anyOf", "no alternative matches"))
    if "oneOf" in schema and sum(not check(value, s, path) for s in schema["oneOf"]) != 1:
        issues.append(Issue(path, "oneOf", "not exactly one alternative matches"))
    wanted = schema.get("type")
    if wanted is not None:
        types = wanted if isinstance(wanted, list) else [wanted]
        if not any(_TYPES[t](value) for t in types):
            return [*issues, Issue(path, "type", f"{type(value).__name__} is not {wanted}")]
    if "enum" in schema and value not in schema["enum"]:
        issues.append(Issue(path, "enum", f"{value!r} not in {schema['enum']}"))
    if isinstance(value, str):
        if schema.get("format") == "date-time" and not _is_datetime(value):
            issues.append(Issue(path, "format", f"{value!r} is not a date-time"))
        if len(value) < schema.get("minLength", 0):
            issues.append(Issue(path, "minLength", repr(value)))
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                issues.append(Issue(path, "required", name))
        extra = schema.get("additionalProperties", True)
        for name, item in value.items():
            if name in props:
                issues += check(item, props[name], f"{path}.{name}")
            elif extra is False:
                issues.append(Issue(path, "additional", name))
            elif isinstance(extra, dict):
                issues += check(item, extra, f"{path}.{name}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            issues += check(item, schema["items"], f"{path}[{i}]")
    return issues


def _is_datetime(text: str) -> bool:
    if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", text):
        return False
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def response_schema(method: str, path: str, status: int) -> dict[str, Any]:
    responses = operation(method, path)["responses"]
    # The spec declares only 200/400/500 on the batch routes; the gateway also passes upstream
    # statuses (404, 409, 403) through with the same error envelope, so those use the 400 schema.
    entry = responses.get(str(status)) or responses.get("400") or responses["500"]
    return entry["content"]["application/json"]["schema"]


def issues_for(method: str, path: str, status: int, body: Any) -> list[Issue]:
    return check(body, response_schema(method, path, status))


# Documented deviations (the code wins over the spec), as (path regex, issue kind).
PROCESSING_STATUS_OUTSIDE_ENUM = (r"processing_status$", "enum")  # failed/expired/finalizing...
EMPTY_TIMESTAMP = (r"(created_at|expires_at)$", "format")  # "" when Bifrost has no time
CANCELLED_NOT_IN_STATUS_ENUM = (r"\.status$", "enum")  # Bifrost says "cancelled"; spec "canceled"
PROXY_CONFIG_NULL = (r"proxy_config$", "type")  # null when no proxy is set
CUSTOM_PROVIDER_NAME = (r"providers\[\d+\]\.name$", "enum")  # custom providers have any name


def unexpected(issues: list[Issue], *allowed: tuple[str, str]) -> list[str]:
    return [
        str(i)
        for i in issues
        if not any(re.search(rx, i.path) and i.kind == kind for rx, kind in allowed)
    ]


# --------------------------------------------------------------------------- routes and parameters


@pytest.mark.parametrize(("method", "path", "name"), ROUTES)
def test_every_simulated_route_is_in_the_spec(method: str, path: str, name: str):
    assert spec_path(path) in SPEC["paths"], path
    assert method.lower() in SPEC["paths"][spec_path(path)], (method, path)


@pytest.mark.parametrize(("method", "path"), CLIENT_ROUTES)
def test_every_client_route_is_in_the_spec_and_served_by_the_simulator(method: str, path: str):
    assert method.lower() in SPEC["paths"][path], (method, path)
    assert (method, path) in {(m, p) for m, p, _ in ROUTES}


def _params(method: str, path: str) -> set[tuple[str, str]]:
    return {(p["name"], p["in"]) for p in operation(method, path).get("parameters", [])}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/anthropic/v1/messages/batches"),
        ("GET", "/anthropic/v1/messages/batches/{batch_id}"),
        ("POST", "/anthropic/v1/messages/batches/{batch_id}/cancel"),
    ],
)
def test_x_model_provider_header_is_declared(method: str, path: str):
    assert ("x-model-provider", "header") in _params(method, path)


def test_openai_route_query_parameters_are_declared():
    assert {("provider", "query"), ("limit", "query"), ("after", "query")} <= _params(
        "GET", "/openai/v1/batches"
    )
    assert ("provider", "query") in _params("GET", "/openai/v1/batches/{batch_id}")


def test_virtual_key_header_matches_the_spec_security_scheme():
    assert SPEC["components"]["securitySchemes"]["VirtualKeyAuth"]["name"] == "x-bf-vk"
    world = SimWorld(clock_at(), require_virtual_key=True, virtual_keys=["sk-bf-c1"])
    assert call(world, "GET", "/anthropic/v1/messages/batches").status == 401
    ok = call(world, "GET", "/anthropic/v1/messages/batches", headers={"x-bf-vk": "sk-bf-c1"})
    assert ok.status == 200


def test_anthropic_list_paging_params_spec_says_page_size_real_gateway_ignores_limit():
    declared = _params("GET", "/anthropic/v1/messages/batches")
    # Spec and code agree the route reads page_size/page_token, not Anthropic's own limit/after_id.
    assert {("page_size", "query"), ("page_token", "query")} <= declared
    assert ("limit", "query") not in declared and ("after_id", "query") not in declared
    world = SimWorld(clock_at())
    for i in range(25):
        world.add_batch("anthropic", id=f"msgbatch_{i:02d}")
    for query in ("", "limit=5", "page_size=5"):
        body = call(world, "GET", "/anthropic/v1/messages/batches", query=query).json()
        # Real behaviour: only Gemini honours page_size; everyone else gets the first 20.
        assert len(body["data"]) == 20, query


# ------------------------------------------------------------------------ Anthropic-format shapes

A_LIST = "/anthropic/v1/messages/batches"
A_ONE = "/anthropic/v1/messages/batches/{batch_id}"
A_CANCEL = "/anthropic/v1/messages/batches/{batch_id}/cancel"


def demo_world() -> SimWorld:
    return SimWorld.demo(clock_at(), seed=7, arrival_interval=None)


@pytest.mark.parametrize("provider", ["anthropic", "openai", "azure", "bedrock", "gemini"])
def test_anthropic_list_and_retrieve_match_the_spec_apart_from_documented_deviations(provider):
    world = demo_world()
    listed = call(world, "GET", A_LIST, headers=provider_header(provider))
    body = listed.json()
    bad = unexpected(
        issues_for("GET", A_LIST, 200, body), PROCESSING_STATUS_OUTSIDE_ENUM, EMPTY_TIMESTAMP
    )
    assert not bad, bad
    # The spec lists first_id/last_id; Bifrost's converter never fills them.
    assert "first_id" not in body and "last_id" not in body
    for item in body["data"]:
        response = call(world, "GET", f"{A_LIST}/{item['id']}", headers=provider_header(provider))
        if provider == "bedrock":
            # A raw ARN cannot be one path segment: the web UI's page answers, with 200.
            assert response.status == 200
            assert response.headers[0][1].startswith("text/html")
            job_id = item["id"].rsplit("/", 1)[1]
            response = call(world, "GET", f"{A_LIST}/{job_id}", headers=provider_header(provider))
        assert response.status == 200
        issues = issues_for("GET", A_ONE, 200, response.json())
        assert not unexpected(issues, PROCESSING_STATUS_OUTSIDE_ENUM, EMPTY_TIMESTAMP), issues


def test_documented_deviations_really_occur():
    world = demo_world()
    statuses = set()
    for provider in world.batch_providers():
        body = call(world, "GET", A_LIST, headers=provider_header(provider)).json()
        statuses |= {item["processing_status"] for item in body["data"]}
    # processing_status goes beyond the spec's [in_progress, ended, canceling].
    assert statuses - {"in_progress", "ended", "canceling"} >= {"failed", "finalizing"}
    bedrock = call(world, "GET", A_LIST, headers=provider_header("bedrock")).json()
    issues = issues_for("GET", A_LIST, 200, bedrock)
    # expires_at is "" for Bedrock: not a date-time, as the spec would have it.
    assert any(i.kind == "format" and i.path.endswith("expires_at") for i in issues)


def test_cancel_reply_matches_the_spec_except_its_empty_timestamps():
    world = openai_world_10_1()
    response = call(
        world, "POST", f"{A_LIST}/batch_6823a1f0/cancel", headers=provider_header("openai")
    )
    issues = issues_for("POST", A_CANCEL, 200, response.json())
    assert {(i.path, i.kind) for i in issues} == {
        ("$.created_at", "format"),
        ("$.expires_at", "format"),
    }


@pytest.mark.parametrize(
    ("method", "path", "headers", "status"),
    [
        ("GET", f"{A_LIST}/batch_nope", {"x-model-provider": "openai"}, 404),
        ("GET", A_LIST, {"x-model-provider": "OpenAI"}, 500),
        ("GET", A_LIST, {"x-model-provider": "groq"}, 500),
        ("POST", f"{A_LIST}/batch_6822c2aa/cancel", {"x-model-provider": "openai"}, 409),
    ],
)
def test_anthropic_error_envelopes_match_the_spec(method, path, headers, status):
    world = openai_world_10_1()
    response = call(world, method, path, headers=headers)
    assert response.status == status
    template = A_CANCEL if path.endswith("/cancel") else (A_ONE if path != A_LIST else A_LIST)
    issues = issues_for(method, template, status, response.json())
    assert not issues, issues
    assert set(response.json()) == {"type", "error"}


def test_auth_rejection_on_anthropic_routes_is_bifrost_shaped_not_the_declared_envelope():
    auth = DashboardAuth("admin", SecretStr("pw"), on_inference=True)
    world = SimWorld(clock_at(), dashboard_auth=auth)
    body = call(world, "GET", A_LIST).json()
    # The spec only shows the Anthropic envelope; the auth middleware answers in BifrostError shape.
    assert "type" not in body
    assert not check(body, {"$ref": "#/components/schemas/BifrostError"})


# --------------------------------------------------------------------------- OpenAI-format shapes

O_LIST = "/openai/v1/batches"
O_ONE = "/openai/v1/batches/{batch_id}"


@pytest.mark.parametrize("provider", ["anthropic", "openai", "azure", "bedrock", "gemini"])
def test_openai_list_and_retrieve_match_the_spec(provider):
    world = demo_world()
    body = call(world, "GET", O_LIST, query=f"provider={provider}&limit=100").json()
    issues = issues_for("GET", O_LIST, 200, body)
    assert not unexpected(issues, CANCELLED_NOT_IN_STATUS_ENUM), issues
    for issue in issues:  # the only deviation: the spec spells Bifrost's "cancelled" "canceled"
        assert "'cancelled'" in issue.detail
    for item in body["data"][:5]:
        one = call(
            world, "GET", f"{O_LIST}/{quote(item['id'], safe='')}", query=f"provider={provider}"
        )
        assert one.status == 200
        assert not unexpected(
            issues_for("GET", O_ONE, 200, one.json()), CANCELLED_NOT_IN_STATUS_ENUM
        )


def test_openai_errors_match_bifrost_error():
    world = SimWorld(clock_at())
    for query in ("provider=openai", "provider=groq"):
        response = call(world, "GET", f"{O_LIST}/batch_nope", query=query)
        assert not issues_for("GET", O_ONE, response.status, response.json())
    unknown = call(world, "GET", O_LIST, query="provider=nope")
    # Real behaviour: the unknown name is echoed in extra_fields.provider, outside the spec's enum.
    issues = issues_for("GET", O_LIST, unknown.status, unknown.json())
    assert [(i.path, i.kind) for i in issues] == [("$.extra_fields.provider", "enum")]


# --------------------------------------------------------------------------- management shapes


def test_management_responses_match_the_spec():
    custom = ProviderConfig(
        "openai-eu",
        kind="openai",
        keys=[KeyConfig("eu")],
        allowed_requests={"batch_list": True, "batch_retrieve": True, "batch_cancel": True},
    )
    world = SimWorld(
        clock_at(GOLDEN_T0), providers=[*SimWorld(clock_at()).providers.values(), custom]
    )
    health = call(world, "GET", "/health")
    assert not issues_for("GET", "/health", 200, health.json())
    version = call(world, "GET", "/api/version")
    assert not issues_for("GET", "/api/version", 200, version.json())
    providers = call(world, "GET", "/api/providers").json()
    # proxy_config is null when no proxy is set (Go nil pointer); the spec types it object only.
    # A custom provider's name is the operator's choice, outside the ModelProvider enum.
    issues = issues_for("GET", "/api/providers", 200, providers)
    bad = unexpected(issues, PROXY_CONFIG_NULL, CUSTOM_PROVIDER_NAME)
    assert not bad, bad
    assert any("'openai-eu'" in i.detail for i in issues)
    for name in world.providers:
        keys = call(world, "GET", f"/api/providers/{name}/keys")
        assert not issues_for("GET", "/api/providers/{provider}/keys", 200, keys.json()), name
    missing = call(world, "GET", "/api/providers/nope/keys")
    assert missing.status == 404
    assert not issues_for("GET", "/api/providers/{provider}/keys", 404, missing.json())


def test_login_matches_the_spec_but_the_token_is_only_in_the_cookie():
    world = SimWorld(clock_at(), dashboard_auth=DashboardAuth("admin", SecretStr("pw")))
    ok = call(world, "POST", "/api/session/login", body=b'{"username":"admin","password":"pw"}')
    assert not issues_for("POST", "/api/session/login", 200, ok.json())
    # The spec's LoginResponse has a token; the real handler sends it only as Set-Cookie.
    assert "token" not in ok.json()
    assert dict(ok.headers)["set-cookie"].startswith("token=")
    for body, status in ((b'{"username":"admin","password":"no"}', 401), (b"{", 400)):
        response = call(world, "POST", "/api/session/login", body=body)
        assert response.status == status
        assert not issues_for("POST", "/api/session/login", status, response.json())
    off = call(SimWorld(clock_at()), "POST", "/api/session/login", body=b"{}")
    assert off.status == 403
    assert not issues_for("POST", "/api/session/login", 403, off.json())
    enabled = call(world, "GET", "/api/session/is-auth-enabled")
    assert not issues_for("GET", "/api/session/is-auth-enabled", 200, enabled.json())


def test_the_checker_catches_what_it_should():
    schema = {"$ref": "#/components/schemas/Key"}
    assert check({"id": "k", "weight": 1, "enabled": True}, schema) == []
    assert [i.kind for i in check({"weight": "heavy"}, schema)] == ["type"]
    assert [
        i.kind
        for i in check(
            {"name": None},
            {"type": "object", "properties": {"name": {"type": "string", "nullable": True}}},
        )
    ] == []
    assert [i.kind for i in check({}, {"type": "object", "required": ["x"]})] == ["required"]
    assert [i.kind for i in check("x", {"type": "string", "enum": ["y"]})] == ["enum"]
    assert [i.kind for i in check("", {"type": "string", "format": "date-time"})] == ["format"]
    assert [i.kind for i in check(1, {"anyOf": [{"type": "string"}, {"type": "boolean"}]})] == [
        "anyOf"
    ]
    assert check(None, {"type": ["string", "null"]}) == []
