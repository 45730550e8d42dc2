"""Saved gateway profiles: the Profile model, the profiles.toml store, and connection resolution.

The file is read with ``tomllib`` (strict, fast) and rewritten through ``tomlkit`` so the operator's
comments, ordering and keys from newer versions survive. Writes are atomic (temp file, fsync,
rename), 0600, with a ``.bak`` of the previous version. A broken file is never overwritten.

Secrets (virtual keys, dashboard passwords, extra header values) live in ``SecretStr`` and never
reach an error message: pydantic messages are rebuilt without their input values.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import stat
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

import tomlkit
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
from bifrost_tui.files import atomic_write, ensure_private_dir, flocked
from bifrost_tui.textsafe import quoted, safe_text

if TYPE_CHECKING:
    from bifrost_tui.gateway.client import ClientConfig

SCHEMA_VERSION = 1
#: Anything larger is not a hand-written profiles file: refuse rather than parse it.
MAX_FILE_BYTES = 1024 * 1024
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

_TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
_FALSE_WORDS = frozenset({"", "0", "false", "no", "off"})

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


# --------------------------------------------------------------------------- errors


class ConfigError(Exception):
    """A configuration problem the operator must fix; the CLI exits 2. Never holds a secret."""

    exit_code = 2


@dataclass(frozen=True, slots=True)
class FileIssue:
    """One thing wrong with the profiles file, located as precisely as we can."""

    problem: str
    line: int | None = None
    column: int | None = None
    profile: str | None = None
    field: str | None = None

    def describe(self) -> str:
        where: list[str] = []
        if self.line is not None:
            where.append(f"line {self.line}" + (f", column {self.column}" if self.column else ""))
        if self.profile is not None:
            where.append(f"profile {quoted(self.profile)}")
        if self.field is not None:
            where.append(f"field {quoted(self.field)}")
        head = ": ".join([", ".join(where)]) if where else ""
        return f"{head}: {self.problem}" if head else self.problem


class ProfileFileError(ConfigError):
    """profiles.toml cannot be used: it names the file and, per issue, line, profile and field."""

    def __init__(self, path: Path, issues: list[FileIssue]) -> None:
        self.path = path
        self.issues = issues
        lines = [f"{safe_text(str(path))}: {issue.describe()}" for issue in issues]
        super().__init__("\n".join(lines))

    @property
    def line(self) -> int | None:
        return self.issues[0].line if self.issues else None

    @property
    def field(self) -> str | None:
        return self.issues[0].field if self.issues else None

    @property
    def profile(self) -> str | None:
        return self.issues[0].profile if self.issues else None


class ProfileNotFound(ConfigError):
    def __init__(self, name: str, path: Path, known: list[str]) -> None:
        self.name = name
        hint = f"known: {', '.join(known)}" if known else "the file has no profiles"
        super().__init__(f"no profile {quoted(name)} in {safe_text(str(path))} ({hint})")


class ProfileExists(ConfigError):
    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(
            f"profile {quoted(name)} already exists; change it with `bifrost-tui profiles edit`"
        )


class NoGatewayChosen(ConfigError):
    """Nothing names a gateway: no flag, no environment, no default profile.

    The console may open its profiles screen instead of failing; every other ``ConfigError``
    (unknown profile, broken file, bad URL) must be shown to the operator.
    """


class ConcurrentModification(ConfigError):
    """The file changed under us (another console or CLI, or an editor): nothing was written."""

    def __init__(self, path: Path, why: str = "changed since it was read") -> None:
        super().__init__(
            f"{safe_text(str(path))} {why} (another bifrost-tui or an editor?); "
            "nothing was written: reload and retry"
        )


# --------------------------------------------------------------------------- validation helpers


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
    if word in _TRUE_WORDS:
        return True
    if word in _FALSE_WORDS:
        return False
    return None


# --------------------------------------------------------------------------- the model


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
            if _has_control(value.get_secret_value()):
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

    # ---- derived facts used by the CLI and the UI

    @property
    def stores_secrets(self) -> list[str]:
        """Which secrets this profile keeps in the file itself (for warnings)."""
        out: list[str] = []
        if self.virtual_key is not None:
            out.append("virtual_key")
        if self.dashboard_password is not None:
            out.append("dashboard_password")
        out.extend(f"extra_headers.{h}" for h in self.extra_headers)
        return out

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
        }


def _has_control(value: str) -> bool:
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
_SECRET_SETTINGS = frozenset({"virtual_key", "dashboard_password", "extra_headers"})

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


def profile_from_settings(name: str, settings: Mapping[str, Any]) -> Profile:
    """Validate a profile from plain settings; raises ``ConfigError`` with no secret in it."""
    try:
        validate_profile_name(name)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    try:
        return Profile.model_validate({**settings, "name": name})
    except ValidationError as exc:
        secrets = _secret_strings(settings)
        problems = []
        for err in exc.errors(include_input=False, include_url=False):
            loc = ".".join(str(p) for p in err.get("loc", ()))
            text = _scrub(_error_text(err), secrets)
            problems.append(f"{loc}: {text}" if loc else text)
        raise ConfigError(f"profile {quoted(name)}: " + "; ".join(problems)) from None


# --------------------------------------------------------------------------- the file


@dataclass(slots=True)
class ProfilesFile:
    """What profiles.toml holds, validated. ``exists`` is False for a missing (empty) file."""

    path: Path
    schema_version: int = SCHEMA_VERSION
    default: str | None = None
    profiles: dict[str, Profile] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    exists: bool = False
    digest: str | None = None

    def names(self) -> list[str]:
        return list(self.profiles)


def _toml_error_issue(exc: tomllib.TOMLDecodeError) -> FileIssue:
    text = str(exc)
    m = re.search(r"\s*\(at line (\d+), column (\d+)\)\s*$", text)
    if m:
        return FileIssue(
            f"not valid TOML: {safe_text(text[: m.start()], 200)}",
            line=int(m.group(1)),
            column=int(m.group(2)),
        )
    return FileIssue(f"not valid TOML: {safe_text(text, 200)}")


def _find_line(text: str, profile: str | None, key: str | None) -> int | None:
    """Best-effort line of ``key`` (in ``[profiles.<profile>]`` when given). None when unsure."""
    lines = text.splitlines()
    start = 0
    if profile is not None:
        header = re.compile(
            r"^\s*\[\s*profiles\s*\.\s*(?:"
            + re.escape(profile)
            + r"|\""
            + re.escape(profile)
            + r"\"|'"
            + re.escape(profile)
            + r"')\s*\]"
        )
        for i, line in enumerate(lines):
            if header.match(line):
                start = i
                break
        else:
            return None
        if key is None:
            return start + 1
    if key is None:
        return None
    key_re = re.compile(r"^\s*(?:" + re.escape(key) + r"|\"" + re.escape(key) + r"\")\s*[=.]")
    for i in range(start + (1 if profile is not None else 0), len(lines)):
        line = lines[i]
        if line.lstrip().startswith("[") and (profile is not None or i > start):
            break
        if key_re.match(line):
            return i + 1
    return start + 1 if profile is not None else None


def parse_profiles(path: Path, data: bytes) -> ProfilesFile:
    """Parse and validate profiles.toml bytes; ``ProfileFileError`` describes every issue."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ProfileFileError(path, [FileIssue("not valid UTF-8 text", line=line)]) from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileFileError(path, [_toml_error_issue(exc)]) from None
    except RecursionError:
        raise ProfileFileError(path, [FileIssue("not valid TOML: nesting too deep")]) from None

    issues: list[FileIssue] = []
    warnings: list[str] = []
    version = raw.get("schema_version", SCHEMA_VERSION)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        issues.append(
            FileIssue(
                "expected a whole number of at least 1",
                line=_find_line(text, None, "schema_version"),
                field="schema_version",
            )
        )
        version = SCHEMA_VERSION
    newer = version > SCHEMA_VERSION
    if newer:
        warnings.append(
            f"{path.name} was written by a newer bifrost-tui (schema {version}, this one reads "
            f"{SCHEMA_VERSION}); settings it does not know are kept but ignored"
        )

    default = raw.get("default")
    if default is not None:
        try:
            validate_profile_name(default)
        except ValueError as exc:
            issues.append(
                FileIssue(str(exc), line=_find_line(text, None, "default"), field="default")
            )
            default = None

    profiles: dict[str, Profile] = {}
    tables = raw.get("profiles", {})
    if not isinstance(tables, dict):
        issues.append(
            FileIssue(
                "expected a table of profiles ([profiles.NAME])",
                line=_find_line(text, None, "profiles"),
                field="profiles",
            )
        )
        tables = {}
    for name, table in tables.items():
        try:
            validate_profile_name(name)
        except ValueError as exc:
            issues.append(FileIssue(str(exc), profile=name))
            continue
        if not isinstance(table, dict):
            issues.append(
                FileIssue(
                    "expected a table of settings",
                    line=_find_line(text, None, "profiles"),
                    profile=name,
                )
            )
            continue
        settings = {k: v for k, v in table.items() if k != "name"}
        try:
            profiles[name] = Profile.model_validate({**settings, "name": name})
        except ValidationError as exc:
            secrets = _secret_strings(settings)
            for err in exc.errors(include_input=False, include_url=False)[:10]:
                loc = [str(p) for p in err.get("loc", ())]
                top = loc[0] if loc else None
                issues.append(
                    FileIssue(
                        _scrub(_error_text(err), secrets),
                        line=_find_line(text, name, top),
                        profile=name,
                        field=".".join(loc) if loc else None,
                    )
                )
            continue
        unknown = [k for k in table if k not in PROFILE_SETTINGS]
        if unknown and not newer:
            shown = ", ".join(quoted(k, 40) for k in unknown)
            warnings.append(
                f"profile {quoted(name)}: unknown setting(s) {shown} ignored (kept in the file)"
            )
    if issues:
        raise ProfileFileError(path, issues)
    if default is not None and default not in profiles:
        warnings.append(
            f"default profile {quoted(default)} does not exist; set one with "
            "`bifrost-tui profiles use NAME`"
        )
    return ProfilesFile(
        path=path,
        schema_version=version,
        default=default,
        profiles=profiles,
        warnings=warnings,
        exists=True,
        digest=hashlib.sha256(data).hexdigest(),
    )


# --------------------------------------------------------------------------- the store

_UNSET: Any = object()


class ProfileStore:
    """profiles.toml on disk: load, and add/edit/remove/set-default without losing comments.

    Every write re-reads the file under a lock, refuses if it changed since this store last read
    it (or since the write began), refuses if it does not validate, keeps ``.bak`` of the previous
    version, and replaces the file atomically.
    """

    def __init__(self, path: Path | None = None, *, max_bytes: int = MAX_FILE_BYTES) -> None:
        self.path = Path(path) if path is not None else paths.config_file()
        self.max_bytes = max_bytes
        self._known_digest: str | None = _UNSET

    @property
    def backup_path(self) -> Path:
        return self.path.with_name(self.path.name + paths.BACKUP_SUFFIX)

    @property
    def lock_path(self) -> Path:
        return self.path.with_name(f".{self.path.name}.lock")

    # ---- reading

    def _read_bytes(self) -> bytes | None:
        """The file's bytes, or None when missing. Refuses non-regular and oversized files."""
        try:
            # O_NONBLOCK: a FIFO planted at the path must not hang the console on open().
            fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise ProfileFileError(
                self.path, [FileIssue(f"cannot be read: {safe_text(exc.strerror or str(exc))}")]
            ) from None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise ProfileFileError(self.path, [FileIssue("not a regular file")])
            if st.st_size > self.max_bytes:
                raise ProfileFileError(self.path, [self._too_big(st.st_size)])
            chunks: list[bytes] = []
            remaining = self.max_bytes + 1
            while remaining > 0:
                chunk = os.read(fd, min(remaining, 65536))
                if not chunk:
                    break
                chunks.append(chunk)
                remaining -= len(chunk)
            data = b"".join(chunks)
            if len(data) > self.max_bytes:
                raise ProfileFileError(self.path, [self._too_big(len(data))])
            return data
        finally:
            os.close(fd)

    def _too_big(self, size: int) -> FileIssue:
        return FileIssue(
            f"file is {size} bytes, larger than the {self.max_bytes}-byte limit for a profiles "
            "file; it was not read"
        )

    def _parse(self, data: bytes | None) -> ProfilesFile:
        if data is None:
            return ProfilesFile(path=self.path)
        loaded = parse_profiles(self.path, data)
        if os.name == "posix":
            with contextlib.suppress(OSError):
                mode = self.path.stat().st_mode & 0o777
                if mode & 0o077:
                    loaded.warnings.append(
                        f"{self.path.name} is readable by other users (mode {mode:o}); "
                        f"run: chmod 600 {safe_text(str(self.path))}"
                    )
        return loaded

    def load(self) -> ProfilesFile:
        """Read and validate. A missing file is an empty, valid one; a broken file raises."""
        data = self._read_bytes()
        loaded = self._parse(data)
        self._known_digest = loaded.digest
        return loaded

    def get(self, name: str) -> Profile:
        loaded = self.load()
        try:
            return loaded.profiles[name]
        except KeyError:
            raise ProfileNotFound(name, self.path, loaded.names()) from None

    # ---- writing

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        ensure_private_dir(self.path.parent)
        with contextlib.ExitStack() as stack:
            try:  # Windows has no flock: the digest checks alone guard it there
                stack.enter_context(flocked(self.lock_path, blocking=False))
            except BlockingIOError:
                raise ConcurrentModification(self.path, "is being written right now") from None
            yield

    def _mutate(self, change: Any) -> ProfilesFile:
        """Read, check, apply ``change(doc, current)`` to the tomlkit document, validate, write."""
        with self._locked():
            data = self._read_bytes()
            digest = hashlib.sha256(data).hexdigest() if data is not None else None
            if self._known_digest is not _UNSET and digest != self._known_digest:
                raise ConcurrentModification(self.path)
            # Raises on a broken file: a file we cannot validate is never overwritten.
            current = parse_profiles(self.path, data) if data is not None else None
            try:
                doc = tomlkit.parse(data.decode("utf-8")) if data is not None else _new_document()
            except Exception as exc:  # tomllib accepted it; tomlkit should too, but never guess
                raise ConfigError(
                    f"{safe_text(str(self.path))} cannot be edited safely "
                    f"({type(exc).__name__}); edit it by hand"
                ) from None
            change(doc, current or ProfilesFile(path=self.path))
            if "schema_version" not in doc:
                doc["schema_version"] = SCHEMA_VERSION
            new_data = tomlkit.dumps(doc).encode("utf-8")
            try:
                result = parse_profiles(self.path, new_data)
            except ProfileFileError as exc:  # our own edit broke it: a bug, but never write it
                raise ConfigError(f"refusing to write an invalid profiles file: {exc}") from None
            again = self._read_bytes()
            if (hashlib.sha256(again).hexdigest() if again is not None else None) != digest:
                raise ConcurrentModification(self.path, "changed while it was being updated")
            if data is not None:
                atomic_write(self.backup_path, data)
            atomic_write(self.path, new_data)
            self._known_digest = result.digest
            return result

    def add(self, name: str, settings: Mapping[str, Any], *, make_default: bool = False) -> Profile:
        """Add a profile; ``settings`` holds only what the operator chose (defaults stay out)."""
        profile = profile_from_settings(name, _plain(settings))

        def change(doc: Any, current: ProfilesFile) -> None:
            if name in current.profiles:
                raise ProfileExists(name)
            table = tomlkit.table()
            for key, value in _plain(settings).items():
                if value is not None:
                    table[key] = profile.url if key == "url" else _toml_value(value)
            table.add(tomlkit.nl())  # a blank line before whatever table follows
            if "profiles" not in doc:
                doc["profiles"] = tomlkit.table(is_super_table=True)
            doc["profiles"][name] = table
            if make_default or current.default is None or current.default not in current.profiles:
                doc["default"] = name

        self._mutate(change)
        return profile

    def edit(self, name: str, changes: Mapping[str, Any]) -> Profile:
        """Change only the given settings; ``None`` removes a setting (back to its default)."""
        unknown = [k for k in changes if k not in PROFILE_SETTINGS]
        if unknown:
            raise ConfigError(f"unknown setting(s): {', '.join(quoted(k, 40) for k in unknown)}")
        plain = _plain(changes)
        holder: dict[str, Profile] = {}

        def change(doc: Any, current: ProfilesFile) -> None:
            if name not in current.profiles:
                raise ProfileNotFound(name, self.path, current.names())
            table = doc["profiles"][name]
            merged = {k: v for k, v in table.unwrap().items() if k != "name"}
            for key, value in plain.items():
                if value is None:
                    merged.pop(key, None)
                else:
                    merged[key] = value
            profile = profile_from_settings(name, merged)
            holder["profile"] = profile
            for key, value in plain.items():
                if value is None:
                    if key in table:
                        del table[key]
                else:
                    table[key] = profile.url if key == "url" else _toml_value(value)

        self._mutate(change)
        return holder["profile"]

    def remove(self, name: str) -> bool:
        """Remove a profile; returns True when it was the default (the default is then cleared)."""
        was_default: dict[str, bool] = {}

        def change(doc: Any, current: ProfilesFile) -> None:
            if name not in current.profiles:
                raise ProfileNotFound(name, self.path, current.names())
            del doc["profiles"][name]
            was_default["v"] = current.default == name
            if was_default["v"]:
                del doc["default"]

        self._mutate(change)
        return was_default["v"]

    def set_default(self, name: str | None) -> None:
        """Make ``name`` the default profile (``None`` clears the default)."""

        def change(doc: Any, current: ProfilesFile) -> None:
            if name is None:
                if "default" in doc:
                    del doc["default"]
                return
            if name not in current.profiles:
                raise ProfileNotFound(name, self.path, current.names())
            doc["default"] = name

        self._mutate(change)


def _plain(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Settings as TOML-ready values: secrets unwrapped only here, on their way into the file."""
    out: dict[str, Any] = {}
    for key, value in settings.items():
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        elif isinstance(value, Mapping):
            value = {
                k: v.get_secret_value() if isinstance(v, SecretStr) else v for k, v in value.items()
            }
        elif isinstance(value, tuple):
            value = list(value)
        out[key] = value
    return out


def _toml_value(value: Any) -> Any:
    """Header maps as inline tables, so a profile stays one block under its ``[profiles.NAME]``."""
    if isinstance(value, Mapping):
        inline = tomlkit.inline_table()
        inline.update(value)
        return inline
    return value


def _new_document() -> Any:
    doc = tomlkit.document()
    doc.add(tomlkit.comment("bifrost-tui gateway profiles (see `bifrost-tui profiles --help`)."))
    doc.add(tomlkit.comment('Keep secrets in environment variables: virtual_key_env = "PROD_VK".'))
    doc.add(tomlkit.nl())
    doc["schema_version"] = SCHEMA_VERSION
    return doc


# --------------------------------------------------------------------------- resolution


@dataclass(frozen=True, slots=True)
class ResolvedConnection:
    """How to reach one gateway right now: flags, environment and profile already merged."""

    profile: str | None
    base_url: str
    virtual_key: SecretStr | None = None
    #: Where the key came from, for display: "env PROD_VK", "profile file", "none".
    virtual_key_source: str = "none"
    dashboard_username: str | None = None
    dashboard_password: SecretStr | None = None
    extra_headers: Mapping[str, SecretStr] = field(default_factory=dict)
    connect_timeout: float = 5.0
    read_timeout: float = 15.0
    total_timeout: float = 30.0
    #: True/False, or the path of a CA bundle.
    verify: bool | str = True
    read_only: bool = False
    #: What made it read-only ("profile", "--read-only", "BIFROST_READ_ONLY"), for the status bar.
    read_only_reasons: tuple[str, ...] = ()
    refresh: float = 5.0
    providers: tuple[str, ...] | None = None
    accent: str | None = None
    note: str | None = None
    confirm: Literal["simple", "typed"] = "simple"
    allow_insecure_http: bool = False
    canceling_stuck_minutes: int = 30
    finalizing_stuck_minutes: int = 60
    bulk_concurrency: int = 8
    warnings: tuple[str, ...] = ()

    def client_config(self) -> ClientConfig:
        """The gateway client's configuration (imported lazily: the client is optional here)."""
        from bifrost_tui.gateway.client import ClientConfig

        return ClientConfig(
            base_url=self.base_url,
            virtual_key=self.virtual_key,
            dashboard_username=self.dashboard_username,
            dashboard_password=self.dashboard_password,
            extra_headers=dict(self.extra_headers),
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            total_timeout=self.total_timeout,
            verify=self.verify,
            allow_insecure_http=self.allow_insecure_http,
        )

    def to_json(self) -> dict[str, Any]:
        """Redacted, JSON-ready view (for --json and diagnostics): no secret values."""
        return {
            "profile": self.profile,
            "base_url": self.base_url,
            "virtual_key": self.virtual_key_source
            + (": set" if self.virtual_key is not None else ""),
            "dashboard_username": self.dashboard_username,
            "dashboard_password": REDACTED if self.dashboard_password is not None else None,
            "extra_headers": {h: REDACTED for h in self.extra_headers},
            "connect_timeout": self.connect_timeout,
            "read_timeout": self.read_timeout,
            "total_timeout": self.total_timeout,
            "verify": self.verify,
            "read_only": self.read_only,
            "read_only_reasons": list(self.read_only_reasons),
            "refresh": self.refresh,
            "providers": list(self.providers) if self.providers is not None else None,
            "accent": self.accent,
            "confirm": self.confirm,
            "allow_insecure_http": self.allow_insecure_http,
            "warnings": list(self.warnings),
        }


def _env_value(env: Mapping[str, str], name: str | None) -> str | None:
    if name is None:
        return None
    value = env.get(name)
    return value if value else None


def _is_loopback(url: str) -> bool:
    from bifrost_tui.gateway.http import is_loopback

    return is_loopback(urlsplit(url).hostname or "")


def resolve_connection(
    *,
    profile_name: str | None,
    url: str | None,
    env: Mapping[str, str],
    store: ProfileStore,
    read_only_flag: bool = False,
    refresh_flag: float | None = None,
    providers_flag: list[str] | None = None,
    connect_timeout_flag: float | None = None,
    read_timeout_flag: float | None = None,
    total_timeout_flag: float | None = None,
    ca_bundle_flag: str | None = None,
) -> ResolvedConnection:
    """Merge flags > environment > profile > defaults, with the two safety exceptions:

    - a profile that names its key's variable uses only that variable (``BIFROST_VK`` is ignored,
      with a warning), so a key exported for staging never reaches prod;
    - ``read_only`` is the OR of profile, flag and ``BIFROST_READ_ONLY``: never loosened.

    ``BIFROST_URL`` is only a default when no profile is chosen: it never redirects a profile.
    Raises ``ConfigError`` (``ProfileFileError`` for a broken file) with a message for the operator.
    """
    warnings: list[str] = []
    url_source = "--url"
    if profile_name is None and url is None:
        profile_name = _env_value(env, ENV_PROFILE)
    elif profile_name is None and _env_value(env, ENV_PROFILE):
        warnings.append(f"{ENV_PROFILE} is ignored: --url was given")
    if profile_name is None and url is None:
        url = _env_value(env, ENV_URL)
        url_source = ENV_URL
        if url is None:
            loaded = store.load()
            warnings.extend(loaded.warnings)
            if loaded.default is None:
                raise NoGatewayChosen(
                    "no gateway chosen: pass --profile NAME or --url URL, set "
                    f"{ENV_PROFILE} or {ENV_URL}, or create a profile with "
                    "`bifrost-tui profiles add NAME --url URL` "
                    f"(profiles file: {safe_text(str(store.path))})"
                )
            if loaded.default not in loaded.profiles:
                raise ConfigError(
                    f"the default profile {quoted(loaded.default)} does not exist in "
                    f"{safe_text(str(store.path))}; pick one with `bifrost-tui profiles use NAME`"
                )
            profile_name = loaded.default

    profile: Profile | None = None
    if profile_name is not None:
        try:
            validate_profile_name(profile_name)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        loaded = store.load()
        warnings.extend(loaded.warnings)
        if profile_name not in loaded.profiles:
            raise ProfileNotFound(profile_name, store.path, loaded.names())
        profile = loaded.profiles[profile_name]
        if url is None and _env_value(env, ENV_URL):
            warnings.append(f"{ENV_URL} is ignored: profile {quoted(profile_name)} has its own URL")

    # ---- URL: the --url flag beats the profile; BIFROST_URL never does (see docstring).
    if url is not None:
        try:
            base_url = normalize_url(url)
        except ValueError as exc:
            raise ConfigError(f"{url_source}: {exc}") from None
        if profile is not None and base_url != profile.url:
            warnings.append(f"--url overrides the URL of profile {quoted(profile.name)}")
    else:
        assert profile is not None
        base_url = profile.url

    # ---- virtual key
    vk: SecretStr | None = None
    vk_source = "none"
    if profile is None:
        vk_value = _env_value(env, ENV_VK)
        if vk_value is not None:
            vk, vk_source = SecretStr(vk_value), f"env {ENV_VK}"
    elif profile.virtual_key is not None:
        vk, vk_source = profile.virtual_key, "profile file"
        warnings.append(
            f"the virtual key of profile {quoted(profile.name)} is stored in the profiles file; "
            "an environment variable (virtual_key_env) is safer"
        )
        if _env_value(env, ENV_VK):
            warnings.append(f"{ENV_VK} is ignored: profile {quoted(profile.name)} stores its key")
    else:
        var = profile.virtual_key_env
        if var is None:
            vk_source = "none"
            if _env_value(env, ENV_VK):
                warnings.append(
                    f"{ENV_VK} is ignored: profile {quoted(profile.name)} sends no virtual key"
                )
        else:
            vk_source = f"env {var}"
            value = _env_value(env, var)
            if value is not None:
                vk = SecretStr(value)
            else:
                warnings.append(f"{var} is not set: no virtual key will be sent")
            if var != ENV_VK and _env_value(env, ENV_VK):
                warnings.append(f"{ENV_VK} is ignored: profile {quoted(profile.name)} names {var}")

    # ---- dashboard credentials (env references by default, like the key)
    if profile is None:
        user = _env_value(env, ENV_DASHBOARD_USER)
        password_value = _env_value(env, ENV_DASHBOARD_PASSWORD)
        password = SecretStr(password_value) if password_value is not None else None
    else:
        user = profile.dashboard_username or _env_value(env, profile.dashboard_username_env)
        if profile.dashboard_password is not None:
            password = profile.dashboard_password
            warnings.append(
                f"the dashboard password of profile {quoted(profile.name)} is stored in the "
                "profiles file; an environment variable (dashboard_password_env) is safer"
            )
        else:
            password_value = _env_value(env, profile.dashboard_password_env)
            password = SecretStr(password_value) if password_value is not None else None
            explicit = profile.dashboard_password_env not in (None, ENV_DASHBOARD_PASSWORD)
            if explicit and password is None:
                warnings.append(f"{profile.dashboard_password_env} is not set: no dashboard login")
    if (user is None) != (password is None):
        warnings.append(
            "dashboard credentials are incomplete (user name without password or the reverse); "
            "the management API will be called without them"
        )
        user, password = None, None

    # ---- extra headers
    headers: dict[str, SecretStr] = {}
    if profile is not None:
        headers.update(profile.extra_headers)
        for header, var in profile.extra_headers_env.items():
            value = _env_value(env, var)
            if value is None:
                warnings.append(f"{var} is not set: header {quoted(header)} will not be sent")
            elif _has_control(value):
                raise ConfigError(f"{var} holds control characters: not a valid header value")
            else:
                headers[header] = SecretStr(value)

    # ---- read-only: OR of every source, never loosened
    reasons: list[str] = []
    if profile is not None and profile.read_only:
        reasons.append("profile")
    if read_only_flag:
        reasons.append("--read-only")
    env_ro = env_flag(env.get(ENV_READ_ONLY))
    if env_ro is None:
        warnings.append(f"{ENV_READ_ONLY} has an unrecognised value: treated as read-only")
    if env_ro is not False:
        reasons.append(ENV_READ_ONLY)

    # ---- everything else: flag > profile > default
    base = profile or Profile(name="adhoc", url=base_url)
    refresh = base.refresh if refresh_flag is None else refresh_flag
    if refresh < 1:
        raise ConfigError("--refresh must be at least 1 second")
    timeouts = {}
    for label, flag_value, profile_value in (
        ("connect", connect_timeout_flag, base.connect_timeout),
        ("read", read_timeout_flag, base.read_timeout),
        ("total", total_timeout_flag, base.total_timeout),
    ):
        value = profile_value if flag_value is None else flag_value
        if value <= 0:
            raise ConfigError(f"--{label}-timeout must be more than 0 seconds")
        timeouts[label] = float(value)

    verify: bool | str = base.verify_tls
    ca_bundle = ca_bundle_flag if ca_bundle_flag is not None else base.ca_bundle
    if ca_bundle is not None:
        ca_path = Path(ca_bundle).expanduser()
        if not ca_path.is_file():
            raise ConfigError(f"CA bundle not found: {safe_text(str(ca_path))}")
        verify = str(ca_path)
    elif not base.verify_tls:
        warnings.append(
            f"TLS certificate verification is off for profile {quoted(base.name)}; "
            'prefer ca_bundle = "/path/to/ca.pem"'
        )

    if (
        base_url.startswith("http://")
        and not _is_loopback(base_url)
        and (vk is not None or password is not None or headers)
    ):
        warnings.append(
            "the gateway URL is plain http:// to a non-loopback host: "
            + (
                "secrets travel unencrypted (allow_insecure_http is on)"
                if base.allow_insecure_http
                else "requests carrying secrets will be refused unless the profile sets "
                "allow_insecure_http = true"
            )
        )

    providers = providers_flag if providers_flag is not None else base.providers
    return ResolvedConnection(
        profile=profile.name if profile is not None else None,
        base_url=base_url,
        virtual_key=vk,
        virtual_key_source=vk_source,
        dashboard_username=user,
        dashboard_password=password,
        extra_headers=headers,
        connect_timeout=timeouts["connect"],
        read_timeout=timeouts["read"],
        total_timeout=timeouts["total"],
        verify=verify,
        read_only=bool(reasons),
        read_only_reasons=tuple(reasons),
        refresh=float(refresh),
        providers=tuple(providers) if providers is not None else None,
        accent=base.accent if profile is not None else None,
        note=base.note if profile is not None else None,
        confirm=base.confirm,
        allow_insecure_http=base.allow_insecure_http,
        canceling_stuck_minutes=base.canceling_stuck_minutes,
        finalizing_stuck_minutes=base.finalizing_stuck_minutes,
        bulk_concurrency=base.bulk_concurrency,
        warnings=tuple(dict.fromkeys(warnings)),
    )
