"""The Profile model: settings of one gateway, validated with messages that never hold a secret.

Also the environment variables the program reads, their one true/false vocabulary, and the
validation helpers (names, URLs, headers) the store and the resolver share.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from bifrost_tui.config import paths
from bifrost_tui.config.errors import ConfigError
from bifrost_tui.textsafe import quoted

REDACTED = "••••"

ENV_VK = "BIFROST_VK"
ENV_URL = "BIFROST_URL"
ENV_PROFILE = "BIFROST_PROFILE"
ENV_READ_ONLY = "BIFROST_READ_ONLY"
ENV_DASHBOARD_USER = "BIFROST_DASHBOARD_USER"
ENV_DASHBOARD_PASSWORD = "BIFROST_DASHBOARD_PASSWORD"  # noqa: S105 (a variable name)

#: Every environment variable the program reads, for ``--help``, ``paths`` and the README.
ENVIRONMENT_VARIABLES: dict[str, str] = {
    ENV_PROFILE: "profile to use when --profile is not given",
    ENV_URL: "gateway URL when neither --profile/--url nor BIFROST_PROFILE is given "
    "(never overrides a profile's URL)",
    ENV_VK: "virtual key, for --url and for profiles that do not name their own variable",
    ENV_DASHBOARD_USER: "dashboard user name, unless the profile names its own variable",
    ENV_DASHBOARD_PASSWORD: "dashboard password, unless the profile names its own variable",
    ENV_READ_ONLY: "1/true/yes/on makes the console read-only (can only tighten, never loosen)",
    paths.CONFIG_DIR_ENV: "directory holding profiles.toml (default: the platform config dir)",
    "XDG_CONFIG_HOME": "Linux: base of the default config dir (XDG_STATE_HOME/XDG_DATA_HOME "
    "likewise for state, logs and exports)",
    "NO_COLOR": "read by Textual: no colours",
    "TEXTUAL_THEME": "read by Textual: default theme",
}

#: The one vocabulary of boolean environment values (case and surrounding spaces ignored).
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"", "0", "false", "no", "off"})

_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_ENV_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
_HEADER_NAME_RE = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,128}")
_PROVIDER_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
_ACCENT_RE = re.compile(r"#[0-9a-f]{3}|#[0-9a-f]{6}|[a-z][a-z0-9_]{0,31}")
#: Headers the client owns: letting a profile set them would break framing or bypass the key rules.
_FORBIDDEN_HEADERS = frozenset(
    {
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "upgrade",
        "x-bf-vk",
        "x-model-provider",
        "authorization",
        "x-bf-send-back-raw-response",
    }
)
_CREDENTIALS_HINT = (
    "put the virtual key in an environment variable named by virtual_key_env, and dashboard "
    "credentials in dashboard_username_env / dashboard_password_env"
)


def validate_profile_name(name: object) -> str:
    """A profile name: letters, digits, ``.``, ``_``, ``-``; 1-64 characters; starts alnum."""
    if not isinstance(name, str):
        raise ValueError("a profile name must be a string")
    if not _NAME_RE.fullmatch(name):
        raise ValueError(
            f"invalid profile name {quoted(name)}: use 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit (no spaces, slashes or control characters)"
        )
    return name


def normalize_url(url: object) -> str:
    """Validate a gateway base URL and return it normalised (lower-case scheme/host, no slash).

    Messages never repeat the URL: it might carry the very credentials being refused.
    """
    if not isinstance(url, str):
        raise ValueError("the URL must be a string")
    url = url.strip()
    if not url:
        raise ValueError("the URL is empty")
    if any(ch.isspace() or ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F for ch in url):
        raise ValueError("the URL contains spaces or control characters")
    try:
        parts = urlsplit(url)
    except ValueError:
        raise ValueError("the URL cannot be parsed") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise ValueError("the URL must start with http:// or https://")
    if "@" in parts.netloc:
        raise ValueError(f"the URL must not carry user:password@ credentials; {_CREDENTIALS_HINT}")
    if parts.query or "?" in url:
        raise ValueError(
            f"the URL must not carry a query string (tokens do not belong in URLs); "
            f"{_CREDENTIALS_HINT}; extra headers go in extra_headers_env"
        )
    if parts.fragment or "#" in url:
        raise ValueError("the URL must not carry a #fragment")
    try:
        host = parts.hostname
        _ = parts.port
    except ValueError:
        raise ValueError("the URL has an invalid host or port") from None
    if not host:
        raise ValueError("the URL has no host")
    path = parts.path.rstrip("/")
    return f"{scheme}://{parts.netloc.lower()}{path}"


def _check_env_name(value: str | None, what: str) -> str | None:
    if value is None:
        return None
    if not _ENV_NAME_RE.fullmatch(value):
        raise ValueError(
            f"{what} must be an environment variable name (letters, digits, '_'), "
            f"got {quoted(value, 40)}"
        )
    return value


def env_flag(value: str | None) -> bool | None:
    """A boolean env var: True, False, or None when the word is not one we know."""
    if value is None:
        return False
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    return None


class Profile(BaseModel):
    """Everything needed to reach one gateway. Secrets are references to env vars when possible."""

    model_config = ConfigDict(
        strict=True, extra="ignore", frozen=True, hide_input_in_errors=True, validate_default=False
    )

    name: str
    url: str
    #: Variable holding the virtual key; ``None`` (``""`` in the file) means send no key.
    virtual_key_env: str | None = ENV_VK
    #: The key itself, stored in the file: weaker than an env var, warned about.
    virtual_key: SecretStr | None = None
    dashboard_username: str | None = None
    dashboard_username_env: str | None = ENV_DASHBOARD_USER
    dashboard_password: SecretStr | None = None
    dashboard_password_env: str | None = ENV_DASHBOARD_PASSWORD
    #: Header name -> value, stored in the file; values are secrets.
    extra_headers: dict[str, SecretStr] = Field(default_factory=dict)
    #: Header name -> environment variable holding its value.
    extra_headers_env: dict[str, str] = Field(default_factory=dict)
    #: Providers to show; ``None`` means discover them from the gateway.
    providers: list[str] | None = None
    refresh: float = Field(default=5.0, ge=1, le=86400)
    connect_timeout: float = Field(default=5.0, gt=0, le=600)
    read_timeout: float = Field(default=15.0, gt=0, le=3600)
    total_timeout: float = Field(default=30.0, gt=0, le=3600)
    verify_tls: bool = True
    ca_bundle: str | None = None
    read_only: bool = False
    accent: str | None = None
    note: str | None = Field(default=None, max_length=500)
    confirm: Literal["simple", "typed"] = "simple"
    allow_insecure_http: bool = False
    canceling_stuck_minutes: int = Field(default=30, ge=1, le=100_000)
    finalizing_stuck_minutes: int = Field(default=60, ge=1, le=100_000)
    bulk_concurrency: int = Field(default=8, ge=1, le=32)
    #: How batches are listed: ``auto`` (each batch key pinned through the passthrough prefix
    #: when the keys can be read, else the batch routes) or ``batch-routes`` (never passthrough).
    listing: Literal["auto", "batch-routes"] = "auto"

    @model_validator(mode="before")
    @classmethod
    def _secret_sources(cls, data: Any) -> Any:
        """A stored value replaces the default env reference; naming both is a mistake."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for env_key, value_key in (
            ("virtual_key_env", "virtual_key"),
            ("dashboard_username_env", "dashboard_username"),
            ("dashboard_password_env", "dashboard_password"),
        ):
            if data.get(env_key) == "":
                data[env_key] = None
            stored = data.get(value_key)
            if stored == "" or (isinstance(stored, SecretStr) and not stored.get_secret_value()):
                data[value_key] = None
                stored = None
            if stored is not None and env_key not in data:
                data[env_key] = None  # only the default was there: the stored value replaces it
        return data

    @field_validator("virtual_key", "dashboard_username_env", "dashboard_password_env")
    @classmethod
    def _not_both(cls, v: Any, info: ValidationInfo) -> Any:
        """Naming a variable and storing a value for the same secret is a mistake: say so."""
        pairs = {
            "virtual_key": ("virtual_key_env", "virtual_key"),
            "dashboard_username_env": ("dashboard_username_env", "dashboard_username"),
            "dashboard_password_env": ("dashboard_password_env", "dashboard_password"),
        }
        env_key, value_key = pairs[str(info.field_name)]
        other = info.data.get(env_key if info.field_name == value_key else value_key)
        if v is not None and other is not None:
            raise ValueError(
                f"set either {env_key} or {value_key}, not both (an environment variable is safer)"
            )
        return v

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return validate_profile_name(v)

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        return normalize_url(v)

    @field_validator("virtual_key_env", "dashboard_username_env", "dashboard_password_env")
    @classmethod
    def _env_names(cls, v: str | None) -> str | None:
        return _check_env_name(v, "the setting")

    @field_validator("dashboard_username")
    @classmethod
    def _username(cls, v: str | None) -> str | None:
        if v is not None and any(ord(ch) < 0x20 or ord(ch) == 0x7F or ch == ":" for ch in v):
            raise ValueError("the user name must not contain ':' or control characters")
        return v

    @field_validator("extra_headers")
    @classmethod
    def _headers(cls, v: dict[str, SecretStr]) -> dict[str, SecretStr]:
        for name, value in v.items():
            _check_header_name(name)
            if has_control(value.get_secret_value()):
                # The value is a secret: name the header, never the value.
                raise ValueError(f"header {quoted(name)} has control characters in its value")
        return v

    @field_validator("extra_headers_env")
    @classmethod
    def _headers_env(cls, v: dict[str, str]) -> dict[str, str]:
        for name, var in v.items():
            _check_header_name(name)
            _check_env_name(var, f"header {quoted(name)}")
        return v

    @field_validator("providers")
    @classmethod
    def _providers(cls, v: list[str] | None) -> list[str] | None:
        if v is None:
            return None
        if not v:
            raise ValueError(
                "list at least one provider, or remove the setting to discover them from the "
                "gateway"
            )
        seen: list[str] = []
        for name in v:
            if not _PROVIDER_RE.fullmatch(name):
                raise ValueError(f"invalid provider name {quoted(name, 40)}")
            if name not in seen:
                seen.append(name)
        return seen

    @field_validator("ca_bundle")
    @classmethod
    def _ca_bundle(cls, v: str | None) -> str | None:
        if v is not None and (not v.strip() or any(ord(ch) < 0x20 for ch in v)):
            raise ValueError("ca_bundle must be a file path")
        return v

    @field_validator("accent")
    @classmethod
    def _accent(cls, v: str | None) -> str | None:
        if v is None:
            return None
        v = v.strip().lower()
        if not _ACCENT_RE.fullmatch(v):
            raise ValueError(
                "accent must be a colour name (e.g. 'red', 'dark_orange') or #rgb / #rrggbb"
            )
        return v

    @model_validator(mode="after")
    def _consistency(self) -> Profile:
        if not self.verify_tls and self.ca_bundle is not None:
            raise ValueError("verify_tls = false and a ca_bundle contradict each other")
        stored = {h.lower() for h in self.extra_headers}
        for name in self.extra_headers_env:
            if name.lower() in stored:
                raise ValueError(
                    f"header {quoted(name)} is in both extra_headers and extra_headers_env"
                )
        return self

    def redacted(self, env: Mapping[str, str] | None = None) -> dict[str, Any]:
        """Every setting, JSON-ready, secrets replaced by where they come from.

        With ``env``, env references say whether the variable is set (never its value).
        """

        def source(env_name: str | None, stored: SecretStr | str | None, secret: bool) -> Any:
            if stored is not None:
                shown = REDACTED if secret else stored
                return {"source": "file", "value": shown}
            if env_name is None:
                return {"source": "none"}
            out: dict[str, Any] = {"source": "env", "env": env_name}
            if env is not None:
                out["set"] = bool(env.get(env_name))
            return out

        headers: dict[str, Any] = {
            h: {"source": "file", "value": REDACTED} for h in self.extra_headers
        }
        for h, var in self.extra_headers_env.items():
            headers[h] = source(var, None, True)
        return {
            "name": self.name,
            "url": self.url,
            "virtual_key": source(self.virtual_key_env, self.virtual_key, True),
            "dashboard_username": source(
                self.dashboard_username_env, self.dashboard_username, False
            ),
            "dashboard_password": source(
                self.dashboard_password_env, self.dashboard_password, True
            ),
            "extra_headers": headers,
            "providers": self.providers,
            "refresh": self.refresh,
            "connect_timeout": self.connect_timeout,
            "read_timeout": self.read_timeout,
            "total_timeout": self.total_timeout,
            "verify_tls": self.verify_tls,
            "ca_bundle": self.ca_bundle,
            "read_only": self.read_only,
            "accent": self.accent,
            "note": self.note,
            "confirm": self.confirm,
            "allow_insecure_http": self.allow_insecure_http,
            "canceling_stuck_minutes": self.canceling_stuck_minutes,
            "finalizing_stuck_minutes": self.finalizing_stuck_minutes,
            "bulk_concurrency": self.bulk_concurrency,
            "listing": self.listing,
        }


def has_control(value: str) -> bool:
    """Control characters other than tab: never valid in a header value (CR/LF inject headers)."""
    return any((ord(ch) < 0x20 and ch != "\t") or ord(ch) == 0x7F for ch in value)


def _check_header_name(name: str) -> None:
    if not _HEADER_NAME_RE.fullmatch(name):
        raise ValueError(f"invalid header name {quoted(name, 40)}")
    if name.lower() in _FORBIDDEN_HEADERS:
        raise ValueError(
            f"header {quoted(name)} is set by the console itself and cannot be configured"
            + ("; use virtual_key_env for the key" if name.lower() == "x-bf-vk" else "")
            + ("; use dashboard_*_env for credentials" if name.lower() == "authorization" else "")
        )


#: Settings a profile table may hold (the profile's name is its table's key, not a setting).
PROFILE_SETTINGS: tuple[str, ...] = tuple(f for f in Profile.model_fields if f != "name")

_FRIENDLY = {
    "bool_type": "expected true or false",
    "string_type": "expected a string",
    "float_type": "expected a number",
    "int_type": "expected a whole number",
    "dict_type": "expected a table",
    "list_type": "expected a list",
    "missing": "required setting is missing",
}


def _error_text(err: Mapping[str, Any]) -> str:
    kind = str(err.get("type", ""))
    if kind in _FRIENDLY:
        return _FRIENDLY[kind]
    msg = str(err.get("msg", "invalid value"))
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            msg = msg[len(prefix) :]
    return msg


def _secret_strings(table: Mapping[str, Any]) -> list[str]:
    """Every string in a raw profile table that might be a secret, to scrub from messages."""
    found: list[str] = []
    for key in ("virtual_key", "dashboard_password", "url"):
        value = table.get(key)
        if isinstance(value, str) and len(value) >= 4:
            found.append(value)
    headers = table.get("extra_headers")
    if isinstance(headers, Mapping):
        found.extend(v for v in headers.values() if isinstance(v, str) and len(v) >= 4)
    return found


def _scrub(text: str, secrets: list[str]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


def validation_problems(
    exc: ValidationError, settings: Mapping[str, Any]
) -> list[tuple[list[str], str]]:
    """Each problem pydantic found, as (location, message), with every secret of ``settings``
    scrubbed from the message (pydantic's own inputs are already left out)."""
    secrets = _secret_strings(settings)
    return [
        ([str(p) for p in err.get("loc", ())], _scrub(_error_text(err), secrets))
        for err in exc.errors(include_input=False, include_url=False)
    ]


def profile_from_settings(name: str, settings: Mapping[str, Any]) -> Profile:
    """Validate a profile from plain settings; raises ``ConfigError`` with no secret in it."""
    try:
        validate_profile_name(name)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    try:
        return Profile.model_validate({**settings, "name": name})
    except ValidationError as exc:
        problems = []
        for loc, text in validation_problems(exc, settings):
            where = ".".join(loc)
            problems.append(f"{where}: {text}" if where else text)
        raise ConfigError(f"profile {quoted(name)}: " + "; ".join(problems)) from None
