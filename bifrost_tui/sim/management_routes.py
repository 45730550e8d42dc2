"""The simulated gateway's management routes: health, version, providers, keys and sessions."""

from __future__ import annotations

import base64
import json
import random
from typing import TYPE_CHECKING, Any

from bifrost_tui.sim import emit
from bifrost_tui.sim.auth import basic_ok, cookie_value, dashboard_ok
from bifrost_tui.sim.emit import GatewayFailure
from bifrost_tui.sim.exchange import Answer, RouteContext, RouteHandler, json_answer
from bifrost_tui.sim.model import ProviderConfig

if TYPE_CHECKING:
    from bifrost_tui.sim.world import SimWorld


def _health(ctx: RouteContext) -> Answer:
    return json_answer(200, {"status": "ok", "components": {"db_pings": "ok"}})


def _version(ctx: RouteContext) -> Answer:
    return json_answer(200, ctx.world.version)


def _provider_response(world: SimWorld, config: ProviderConfig) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": config.name,
        "network_config": {
            "default_request_timeout_in_seconds": 30,
            "max_retries": 0,
            "retry_backoff_initial": 500,
            "retry_backoff_max": 5000,
        },
        "concurrency_and_buffer_size": {"concurrency": 1000, "buffer_size": 5000},
        "proxy_config": None,
        "send_back_raw_request": False,
        "send_back_raw_response": config.send_back_raw_response,
        "store_raw_request_response": False,
    }
    if config.is_custom:
        custom: dict[str, Any] = {"is_key_less": False, "base_provider_type": config.base}
        if config.allowed_requests is not None:
            custom["allowed_requests"] = dict(config.allowed_requests)
        out["custom_provider_config"] = custom
    out["provider_status"] = config.provider_status
    # The health of the provider's model listing, as v1.5.1 reports it before any check ran.
    out["status"] = "unknown"
    out["config_hash"] = _config_hash(world, config.name)
    return out


def _config_hash(world: SimWorld, name: str) -> str:
    """A stable 64-hex-digit hash, shaped like the gateway's SHA-256 config hashes."""
    return f"{random.Random(f'{world.seed}:hash:{name}').getrandbits(256):064x}"


def _providers(ctx: RouteContext) -> Answer:
    world = ctx.world
    providers = [_provider_response(world, world.providers[n]) for n in sorted(world.providers)]
    return json_answer(200, {"providers": providers, "total": len(providers)})


def _not_found_provider() -> Answer:
    # v1.5.1 names the lookup error, not the provider ("Provider not found: not found").
    return json_answer(
        404, emit.bifrost_error_body(GatewayFailure("Provider not found: not found", status=404))
    )


def _provider(ctx: RouteContext) -> Answer:
    name = ctx.params["provider"]
    config = ctx.world.providers.get(name)
    if config is None:
        return _not_found_provider()
    return json_answer(200, _provider_response(ctx.world, config))


def _env(value: str) -> dict[str, Any]:
    return {"value": value, "env_var": "", "from_env": False}


def _keys(ctx: RouteContext) -> Answer:
    name = ctx.params["provider"]
    config = ctx.world.providers.get(name)
    if config is None:
        return _not_found_provider()
    keys = []
    for key in config.keys or []:
        item: dict[str, Any] = {
            "id": key.id,
            "name": key.name,
            "value": _env(key.redacted),
            "models": list(key.models),
            "blacklisted_models": [],
            "weight": int(key.weight) if float(key.weight).is_integer() else key.weight,
        }
        if config.base == "azure":
            item["azure_key_config"] = {
                "endpoint": _env("https://bifrost-sim.openai.azure.com"),
                "api_version": _env("2024-10-21"),
            }
        elif config.base == "bedrock":
            item["bedrock_key_config"] = {
                "access_key": _env("AKIA************7XKQ"),
                "secret_key": _env("****************************"),
                "region": _env("us-east-1"),
            }
        if key.enabled is not None:
            item["enabled"] = key.enabled
        if key.use_for_batch_api is not None:
            item["use_for_batch_api"] = key.use_for_batch_api
        item["config_hash"] = _config_hash(ctx.world, f"{name}:{key.id or key.name}")
        item["status"] = "unknown"
        keys.append(item)
    return json_answer(200, {"keys": keys, "total": len(keys)})


def _message_error(status: int, message: str) -> Answer:
    return json_answer(status, emit.bifrost_error_body(GatewayFailure(message, status=status)))


def _login(ctx: RouteContext) -> Answer:
    world = ctx.world
    auth = world.dashboard_auth
    if auth is None:
        return _message_error(403, "Authentication is not enabled")
    try:
        data = json.loads(ctx.request.body or b"null")
    except ValueError:
        return _message_error(400, "Invalid request format")
    if not isinstance(data, dict):
        return _message_error(400, "Invalid request format")
    user, password = data.get("username"), data.get("password")
    if not isinstance(user, str) or not isinstance(password, str):
        return _message_error(400, "Invalid request format")
    encoded = base64.b64encode(f"{user}:{password}".encode()).decode()
    if not basic_ok(world, encoded):
        return _message_error(401, "Invalid username or password")
    token = world.new_session()
    secure = "; Secure" if ctx.request.header("x-forwarded-proto").lower() == "https" else ""
    cookie = f"token={token}; Max-Age=2592000; Path=/; HttpOnly; SameSite=Lax{secure}"
    return json_answer(200, {"message": "Login successful"}, [("set-cookie", cookie)])


def _logout(ctx: RouteContext) -> Answer:
    token = cookie_value(ctx.request, "token")
    scheme, _, bearer = ctx.request.header("authorization").partition(" ")
    if not token and scheme.lower() == "bearer":
        token = bearer.strip()
    if token:
        ctx.world.sessions.discard(token)
    cookie = "token=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax"
    return json_answer(200, {"message": "Logout successful"}, [("set-cookie", cookie)])


def _is_auth_enabled(ctx: RouteContext) -> Answer:
    enabled = ctx.world.dashboard_auth is not None
    valid = enabled and dashboard_ok(ctx)
    return json_answer(200, {"is_auth_enabled": enabled, "has_valid_token": valid})


MANAGEMENT_ROUTES: dict[str, RouteHandler] = {
    "health": _health,
    "version": _version,
    "providers": _providers,
    "provider": _provider,
    "keys": _keys,
    "login": _login,
    "logout": _logout,
    "is_auth_enabled": _is_auth_enabled,
}
