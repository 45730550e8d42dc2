"""The client's secrets and the headers that carry them: the only code that unwraps a secret.

``Credentials.headers_for`` builds a request's auth headers (the one place secrets are unwrapped);
``Credentials.redact`` scrubs them from any text the gateway echoes back before that text becomes
an error message. ``check_extra_headers`` vets a profile's extra headers, whose values are secrets.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from enum import Enum
from typing import Any

from pydantic import SecretStr

from bifrost_tui.gateway.errors import GatewayConfigError
from bifrost_tui.gateway.reply import CONTROL_CHARS
from bifrost_tui.redaction import Redactor

#: Header the client must never send: it makes Bifrost return provider-native bodies.
FORBIDDEN_HEADERS = frozenset({"x-bf-send-back-raw-response"})
#: Headers the client owns; ``extra_headers`` may not override them. (``authorization`` is allowed
#: for a reverse proxy's own token, unless dashboard auth already uses it.)
PROTOCOL_HEADERS = frozenset(
    {"x-model-provider", "x-bf-vk", "content-length", "transfer-encoding", "host"}
)

_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


class Route(Enum):
    """Which auth a route gets (docs/gateway.md §4)."""

    INFERENCE = "inference"  # /anthropic, /openai: virtual key + dashboard auth + extra headers
    MANAGEMENT = "management"  # /api/*: dashboard auth + extra headers, never the virtual key
    PUBLIC = "public"  # /health: extra headers only


def as_secret(value: SecretStr | str | None) -> SecretStr | None:
    """Accept a plain string where a secret is expected, and wrap it at once."""
    if value is None or isinstance(value, SecretStr):
        return value
    return SecretStr(str(value))


class Credentials:
    """Holds the secrets; the only code that unwraps them. Its repr never shows them."""

    __slots__ = ("_basic", "_extra", "_redactor", "_vk")

    def __init__(
        self,
        *,
        virtual_key: SecretStr | None,
        username: str | None,
        password: SecretStr | None,
        extra_headers: Mapping[str, SecretStr],
    ) -> None:
        self._vk = virtual_key
        self._basic: SecretStr | None = None
        if password is not None:
            pair = f"{username or ''}:{password.get_secret_value()}".encode()
            self._basic = SecretStr("Basic " + base64.b64encode(pair).decode("ascii"))
        self._extra = dict(extra_headers)
        self._redactor = Redactor(self.secret_values())

    def __repr__(self) -> str:
        return "Credentials(<redacted>)"

    def sends_secret(self, route: Route) -> bool:
        if self._extra:
            return True
        if route is Route.PUBLIC:
            return False
        if route is Route.INFERENCE and self._vk is not None:
            return True
        return self._basic is not None

    def headers_for(self, route: Route) -> dict[str, str]:
        """The auth headers of one request: the single place where secrets are unwrapped.

        Dashboard Basic auth goes on inference routes too: Bifrost's auth middleware guards them as
        well when ``disable_auth_on_inference`` is false, and it consumes ``Authorization`` while
        governance reads the virtual key from ``x-bf-vk``, so the two never collide
        (docs/gateway.md §4.1).
        """
        headers = {name: value.get_secret_value() for name, value in self._extra.items()}
        if route is Route.PUBLIC:
            return headers
        if self._basic is not None:
            headers["authorization"] = self._basic.get_secret_value()
        if route is Route.INFERENCE and self._vk is not None:
            headers["x-bf-vk"] = self._vk.get_secret_value()
        return headers

    def secret_values(self) -> list[str]:
        """Every secret these credentials send: the key, the password, its Basic token, headers."""
        secrets = [s.get_secret_value() for s in self._extra.values()]
        if self._vk is not None:
            secrets.append(self._vk.get_secret_value())
        if self._basic is not None:
            token = self._basic.get_secret_value()
            secrets += [token, token.removeprefix("Basic ")]
            secrets.append(base64.b64decode(token.removeprefix("Basic ")).decode().split(":", 1)[1])
        return [s for s in secrets if s]

    def redact(self, text: str) -> str:
        """``text`` with every secret value, and any 8+ character piece of one, as ``***``."""
        return self._redactor(text)


def check_extra_headers(
    headers: Mapping[str, Any], *, dashboard_auth: bool = False
) -> dict[str, SecretStr]:
    """Validate names and values of ``extra_headers`` (values are secrets: never echoed)."""
    checked: dict[str, SecretStr] = {}
    for name, value in headers.items():
        if not isinstance(name, str) or not _HEADER_NAME.match(name):
            raise GatewayConfigError("an extra header has an invalid name")
        lowered = name.lower()
        if lowered in FORBIDDEN_HEADERS:
            raise GatewayConfigError(
                f"extra header {name} is not allowed: the console reads Bifrost's converted bodies"
            )
        if lowered in PROTOCOL_HEADERS or (lowered == "authorization" and dashboard_auth):
            raise GatewayConfigError(
                f"extra header {name} is set by the console itself; use the profile's own setting"
            )
        secret = as_secret(value)
        if secret is None or not isinstance(secret.get_secret_value(), str):
            raise GatewayConfigError(f"extra header {name} has no value")
        if CONTROL_CHARS.search(secret.get_secret_value().replace("\t", " ")):
            raise GatewayConfigError(f"extra header {name} has a value with control characters")
        checked[lowered] = secret
    return checked
