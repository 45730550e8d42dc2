"""Connection resolution: flags > environment > profile > defaults, into one ResolvedConnection."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from pydantic import SecretStr

from bifrost_tui.config import trust
from bifrost_tui.config.errors import ConfigError, NoGatewayChosen, ProfileNotFound
from bifrost_tui.config.model import (
    ENV_DASHBOARD_PASSWORD,
    ENV_DASHBOARD_USER,
    ENV_PROFILE,
    ENV_READ_ONLY,
    ENV_URL,
    ENV_VK,
    REDACTED,
    Profile,
    env_flag,
    has_control,
    normalize_url,
    validate_profile_name,
)
from bifrost_tui.textsafe import quoted, safe_text

if TYPE_CHECKING:
    # Only a type here: the demo builds a ResolvedConnection without the profiles file's code.
    from bifrost_tui.config.store import ProfileStore
    from bifrost_tui.gateway.client import ClientConfig


#: How each source of read-only reads in a refusal.
_READ_ONLY_WORDS = {
    "profile": "the profile is read-only",
    "--read-only": "--read-only is set",
    ENV_READ_ONLY: f"{ENV_READ_ONLY} is set",
}


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
    #: The profile's ``listing`` setting ("auto" or "batch-routes").
    listing: Literal["auto", "batch-routes"] = "auto"
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

    @property
    def read_only_source(self) -> str:
        """What made the connection read-only, in words: "BIFROST_READ_ONLY is set", ..."""
        words = [_READ_ONLY_WORDS.get(r, f"{r} is set") for r in self.read_only_reasons]
        return " and ".join(words) or "the connection is read-only"

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
            "listing": self.listing,
            "warnings": list(self.warnings),
        }


def _env_value(env: Mapping[str, str], name: str | None) -> str | None:
    if name is None:
        return None
    value = env.get(name)
    return value if value else None


def unset_key_warning(var: str, env: Mapping[str, str]) -> str | None:
    """The warning for a key variable that is not set in ``env`` (``None`` when it is set).

    A warning, never a refusal: a profile is often written on one machine or shell before its
    key is exported, and the connection then sends no key (the gateway answers for itself).
    """
    if _env_value(env, var) is not None:
        return None
    return f"{var} is not set: no virtual key will be sent"


def _is_loopback(url: str) -> bool:
    from bifrost_tui.gateway.endpoint import is_loopback

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
            elif has_control(value):
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
    timeouts: dict[str, float] = {}
    for label, flag_value, profile_value in (
        ("connect", connect_timeout_flag, base.connect_timeout),
        ("read", read_timeout_flag, base.read_timeout),
        ("total", total_timeout_flag, base.total_timeout),
    ):
        seconds = profile_value if flag_value is None else flag_value
        if seconds <= 0:
            raise ConfigError(f"--{label}-timeout must be more than 0 seconds")
        timeouts[label] = float(seconds)

    verify: bool | str = base.verify_tls
    ca_bundle = ca_bundle_flag if ca_bundle_flag is not None else base.ca_bundle
    if ca_bundle is not None:
        ca_path = Path(ca_bundle).expanduser()
        if not ca_path.is_file():
            raise ConfigError(f"CA bundle not found: {safe_text(str(ca_path))}")
        # Whoever can change the bundle can intercept TLS, and so read the key.
        warnings.extend(trust.check([("CA bundle", ca_path)], env))
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
        listing=base.listing,
        warnings=tuple(dict.fromkeys(warnings)),
    )
