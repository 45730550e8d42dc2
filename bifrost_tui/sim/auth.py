"""Who may ask the simulated gateway: dashboard auth, and where a virtual key is read from.

Dashboard auth takes Basic, Bearer or a session cookie; secrets are compared in constant time.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from typing import TYPE_CHECKING

from bifrost_tui.sim.exchange import RouteContext, SimRequest

if TYPE_CHECKING:
    from bifrost_tui.sim.model import VirtualKey
    from bifrost_tui.sim.world import SimWorld

VK_NOT_FOUND = "virtual key not found. The provided virtual key does not exist or has been revoked."
VK_REQUIRED = "virtual key is required. Provide a virtual key via the x-bf-vk header."


@dataclass(frozen=True)
class Admission:
    """An inference request as the gateway's governance sees it, before any route's own checks."""

    vk: VirtualKey | None = None
    #: The dashboard credentials were refused (the gateway answers its own 401).
    dashboard_refused: bool = False
    #: A governance refusal: Bifrost's error type and message (each route renders its envelope).
    refusal: tuple[str, str] | None = None


def admit(ctx: RouteContext) -> Admission:
    """The dashboard credentials, then the virtual key (``x-bf-vk`` or a bearer ``sk-bf-``)."""
    world = ctx.world
    auth = world.dashboard_auth
    if auth is not None and auth.on_inference and not dashboard_ok(ctx):
        return Admission(dashboard_refused=True)
    value = virtual_key_value(ctx)
    if value is not None:
        vk = world.virtual_key(value)
        if vk is None:
            return Admission(refusal=("virtual_key_not_found", VK_NOT_FOUND))
        return Admission(vk=vk)
    if world.require_virtual_key:
        return Admission(refusal=("virtual_key_required", VK_REQUIRED))
    return Admission()


def dashboard_ok(ctx: RouteContext) -> bool:
    auth = ctx.world.dashboard_auth
    if auth is None:
        return True
    header = ctx.request.header("authorization").strip()
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if scheme.lower() == "basic" and basic_ok(ctx.world, value):
        return True
    if scheme.lower() == "bearer" and (session_ok(ctx.world, value) or basic_ok(ctx.world, value)):
        return True
    token = cookie_value(ctx.request, "token")
    if not token:
        return False
    return session_ok(ctx.world, token)


def basic_ok(world: SimWorld, encoded: str) -> bool:
    auth = world.dashboard_auth
    if auth is None or not encoded:
        return False
    try:
        decoded = base64.b64decode(encoded, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return False
    user, sep, password = decoded.partition(":")
    if not sep:
        return False
    ok_user = hmac.compare_digest(user.encode(), auth.username.encode())
    ok_pass = hmac.compare_digest(password.encode(), auth.password.get_secret_value().encode())
    return ok_user and ok_pass


def session_ok(world: SimWorld, token: str) -> bool:
    return any(hmac.compare_digest(token.encode(), s.encode()) for s in world.sessions)


def cookie_value(request: SimRequest, name: str) -> str | None:
    raw = request.header("cookie")
    if not raw:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(raw)
    except CookieError:
        return None
    morsel = jar.get(name)
    return morsel.value if morsel is not None else None


def virtual_key_value(ctx: RouteContext) -> str | None:
    """Where governance reads a VK: ``x-bf-vk``, or an ``sk-bf-`` value in ``Authorization:
    Bearer`` (unless the auth middleware owns that header), ``x-api-key`` or ``x-goog-api-key``."""
    request = ctx.request
    value = request.header("x-bf-vk").strip()
    if value:
        return value
    auth = ctx.world.dashboard_auth
    if auth is None or not auth.on_inference:
        scheme, _, bearer = request.header("authorization").strip().partition(" ")
        if scheme.lower() == "bearer" and bearer.strip().startswith("sk-bf-"):
            return bearer.strip()
    for name in ("x-api-key", "x-goog-api-key"):
        value = request.header(name).strip()
        if value.startswith("sk-bf-"):
            return value
    return None
