"""resolve_connection: flags > environment > profile > defaults, and the two safety exceptions."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from bifrost_tui.config.errors import (
    ConfigError,
    NoGatewayChosen,
    ProfileFileError,
    ProfileNotFound,
)
from bifrost_tui.config.resolve import ResolvedConnection, resolve_connection
from bifrost_tui.config.store import ProfileStore

STAGING_KEY = "sk-bf-STAGING-key-111"
PROD_KEY = "sk-bf-PROD-key-222"


@pytest.fixture
def store(config_home: Path) -> ProfileStore:
    s = ProfileStore()
    s.add("staging", {"url": "https://staging.example.com", "refresh": 3})
    s.add(
        "prod",
        {
            "url": "https://prod.example.com/gw",
            "virtual_key_env": "PROD_VK",
            "read_only": True,
            "accent": "red",
            "confirm": "typed",
            "providers": ["openai"],
        },
    )
    return s


def resolve(store: ProfileStore, env: dict[str, str] | None = None, **kw) -> ResolvedConnection:
    kw.setdefault("profile_name", None)
    kw.setdefault("url", None)
    return resolve_connection(env=env or {}, store=store, **kw)


def key(r: ResolvedConnection) -> str | None:
    return r.virtual_key.get_secret_value() if r.virtual_key is not None else None


# --------------------------------------------------------------------------- choosing the gateway


def test_default_profile_is_used_when_nothing_is_given(store: ProfileStore) -> None:
    r = resolve(store)
    assert r.profile == "staging" and r.base_url == "https://staging.example.com"
    assert r.refresh == 3


def test_profile_flag_beats_bifrost_profile_env(store: ProfileStore) -> None:
    r = resolve(store, {"BIFROST_PROFILE": "staging"}, profile_name="prod")
    assert r.profile == "prod"


def test_bifrost_profile_env_beats_the_default(store: ProfileStore) -> None:
    assert resolve(store, {"BIFROST_PROFILE": "prod"}).profile == "prod"


def test_url_flag_without_profile_uses_bifrost_vk(store: ProfileStore) -> None:
    r = resolve(store, {"BIFROST_VK": STAGING_KEY}, url="http://127.0.0.1:8080/")
    assert r.profile is None and r.base_url == "http://127.0.0.1:8080"
    assert key(r) == STAGING_KEY and r.virtual_key_source == "env BIFROST_VK"


def test_url_flag_beats_bifrost_profile_env(store: ProfileStore) -> None:
    r = resolve(store, {"BIFROST_PROFILE": "prod"}, url="https://adhoc.example.com")
    assert r.profile is None and r.base_url == "https://adhoc.example.com"
    assert any("BIFROST_PROFILE is ignored" in w for w in r.warnings)


def test_bifrost_url_env_beats_the_file_default(store: ProfileStore) -> None:
    r = resolve(store, {"BIFROST_URL": "https://env.example.com", "BIFROST_VK": STAGING_KEY})
    assert r.profile is None and r.base_url == "https://env.example.com"
    assert key(r) == STAGING_KEY


def test_bifrost_url_never_redirects_a_chosen_profile(store: ProfileStore) -> None:
    r = resolve(store, {"BIFROST_URL": "https://evil.example.com"}, profile_name="prod")
    assert r.base_url == "https://prod.example.com/gw"
    assert any("BIFROST_URL is ignored" in w for w in r.warnings)


def test_url_flag_overrides_a_profiles_url_with_a_warning(store: ProfileStore) -> None:
    r = resolve(store, profile_name="prod", url="https://prod-b.example.com")
    assert r.base_url == "https://prod-b.example.com"
    assert r.read_only is True  # everything else still comes from the profile
    assert any("--url overrides" in w for w in r.warnings)


def test_nothing_configured_is_a_clear_error(tmp_path: Path) -> None:
    empty = ProfileStore(tmp_path / "none" / "profiles.toml")
    with pytest.raises(NoGatewayChosen, match="profiles add NAME --url URL"):
        resolve(empty)


def test_unknown_profile_lists_known_ones(store: ProfileStore) -> None:
    with pytest.raises(ProfileNotFound, match="known: staging, prod"):
        resolve(store, profile_name="prd")


def test_default_naming_a_missing_profile_is_an_error(store: ProfileStore) -> None:
    text = store.path.read_text().replace('default = "staging"', 'default = "ghost"')
    store.path.write_text(text)
    with pytest.raises(ConfigError, match="'ghost' does not exist") as info:
        resolve(store)
    assert not isinstance(info.value, NoGatewayChosen)


def test_bad_url_flag_is_refused_without_echoing_credentials(store: ProfileStore) -> None:
    with pytest.raises(ConfigError) as info:
        resolve(store, url="https://me:hunter2pass@gw.example.com")
    assert "--url" in str(info.value) and "hunter2pass" not in str(info.value)
    with pytest.raises(ConfigError, match="BIFROST_URL"):
        resolve(store, {"BIFROST_URL": "https://gw.example.com/?token=hunter2pass"})


def test_broken_file_is_refused_when_a_profile_is_needed(store: ProfileStore) -> None:
    store.path.write_text("[profiles.a\n")
    with pytest.raises(ProfileFileError):
        resolve(store, profile_name="a")
    with pytest.raises(ProfileFileError):
        resolve(store)


def test_url_flag_does_not_need_the_file(store: ProfileStore) -> None:
    store.path.write_text("[profiles.a\n")
    assert resolve(store, url="https://gw.example.com").base_url == "https://gw.example.com"


# --------------------------------------------------------------------------- exception 1: the key


def test_profile_naming_its_variable_ignores_a_stray_bifrost_vk(store: ProfileStore) -> None:
    r = resolve(store, {"BIFROST_VK": STAGING_KEY, "PROD_VK": PROD_KEY}, profile_name="prod")
    assert key(r) == PROD_KEY and r.virtual_key_source == "env PROD_VK"
    assert any("BIFROST_VK is ignored: profile 'prod' names PROD_VK" in w for w in r.warnings)


def test_unset_named_variable_means_no_key_never_the_fallback(store: ProfileStore) -> None:
    r = resolve(store, {"BIFROST_VK": STAGING_KEY}, profile_name="prod")
    assert r.virtual_key is None
    assert "PROD_VK is not set: no virtual key will be sent" in r.warnings
    assert r.client_config().virtual_key is None


def test_empty_named_variable_counts_as_unset(store: ProfileStore) -> None:
    r = resolve(store, {"PROD_VK": ""}, profile_name="prod")
    assert r.virtual_key is None


def test_profile_without_a_named_variable_reads_bifrost_vk(store: ProfileStore) -> None:
    r = resolve(store, {"BIFROST_VK": STAGING_KEY}, profile_name="staging")
    assert key(r) == STAGING_KEY and not any("ignored" in w for w in r.warnings)


def test_stored_key_is_used_and_warned_about(store: ProfileStore) -> None:
    store.add("lab", {"url": "http://127.0.0.1:1", "virtual_key": SecretStr(PROD_KEY)})
    r = resolve(store, {"BIFROST_VK": STAGING_KEY}, profile_name="lab")
    assert key(r) == PROD_KEY and r.virtual_key_source == "profile file"
    assert any("stored in the profiles file" in w for w in r.warnings)
    assert any("BIFROST_VK is ignored" in w for w in r.warnings)


def test_profile_that_sends_no_key(store: ProfileStore) -> None:
    store.add("open", {"url": "http://127.0.0.1:1", "virtual_key_env": ""})
    r = resolve(store, {"BIFROST_VK": STAGING_KEY}, profile_name="open")
    assert r.virtual_key is None and r.virtual_key_source == "none"


# --------------------------------------------------------------------------- exception 2: read-only


@pytest.mark.parametrize(
    ("profile", "flag", "env_value", "expected"),
    [
        ("staging", False, None, False),
        ("staging", True, None, True),
        ("staging", False, "1", True),
        ("staging", False, "yes", True),
        ("staging", False, "0", False),
        ("prod", False, None, True),
        ("prod", False, "0", True),  # the environment cannot loosen the profile
        ("prod", False, "false", True),
    ],
)
def test_read_only_can_only_be_tightened(
    store: ProfileStore, profile: str, flag: bool, env_value: str | None, expected: bool
) -> None:
    env = {} if env_value is None else {"BIFROST_READ_ONLY": env_value}
    r = resolve(store, env, profile_name=profile, read_only_flag=flag)
    assert r.read_only is expected


def test_read_only_reasons_say_what_tightened_it(store: ProfileStore) -> None:
    r = resolve(store, {"BIFROST_READ_ONLY": "1"}, profile_name="prod", read_only_flag=True)
    assert r.read_only_reasons == ("profile", "--read-only", "BIFROST_READ_ONLY")


def test_unrecognised_read_only_word_fails_safe(store: ProfileStore) -> None:
    r = resolve(store, {"BIFROST_READ_ONLY": "perhaps"}, profile_name="staging")
    assert r.read_only is True
    assert any("unrecognised" in w for w in r.warnings)


def test_read_only_applies_to_ad_hoc_urls_too(store: ProfileStore) -> None:
    r = resolve(store, {"BIFROST_READ_ONLY": "on"}, url="https://gw.example.com")
    assert r.read_only is True


# --------------------------------------------------------------------------- other settings


def test_flags_beat_profile_values(store: ProfileStore) -> None:
    r = resolve(
        store,
        profile_name="prod",
        refresh_flag=30,
        providers_flag=["anthropic"],
        read_timeout_flag=99,
    )
    assert r.refresh == 30 and r.providers == ("anthropic",) and r.read_timeout == 99
    assert r.connect_timeout == 5.0  # unflagged: the profile's (default) value


def test_bad_flag_values_are_config_errors(store: ProfileStore) -> None:
    with pytest.raises(ConfigError, match="refresh"):
        resolve(store, profile_name="prod", refresh_flag=0.1)
    with pytest.raises(ConfigError, match="connect-timeout"):
        resolve(store, profile_name="prod", connect_timeout_flag=0)


def test_profile_look_and_behaviour_settings_carry_through(store: ProfileStore) -> None:
    r = resolve(store, profile_name="prod")
    assert r.accent == "red" and r.confirm == "typed" and r.providers == ("openai",)
    assert r.canceling_stuck_minutes == 30 and r.finalizing_stuck_minutes == 60


def test_ca_bundle_must_exist_and_becomes_verify(store: ProfileStore, tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    store.edit("prod", {"ca_bundle": str(ca)})
    with pytest.raises(ConfigError, match="CA bundle not found"):
        resolve(store, profile_name="prod")
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    assert resolve(store, profile_name="prod").verify == str(ca)


def test_tls_off_is_warned(store: ProfileStore) -> None:
    store.edit("staging", {"verify_tls": False})
    r = resolve(store, profile_name="staging")
    assert r.verify is False and any("verification is off" in w for w in r.warnings)


def test_dashboard_credentials_from_default_and_named_variables(store: ProfileStore) -> None:
    r = resolve(
        store,
        {"BIFROST_DASHBOARD_USER": "admin", "BIFROST_DASHBOARD_PASSWORD": "pw-default-333"},
        profile_name="staging",
    )
    assert r.dashboard_username == "admin"
    assert r.dashboard_password is not None
    assert r.dashboard_password.get_secret_value() == "pw-default-333"
    store.edit("prod", {"dashboard_username": "ops", "dashboard_password_env": "PROD_PW"})
    r = resolve(
        store,
        {"BIFROST_DASHBOARD_PASSWORD": "pw-default-333", "PROD_PW": "pw-prod-444"},
        profile_name="prod",
    )
    assert r.dashboard_username == "ops"
    assert r.dashboard_password is not None
    assert r.dashboard_password.get_secret_value() == "pw-prod-444"


def test_half_dashboard_credentials_are_dropped_with_a_warning(store: ProfileStore) -> None:
    r = resolve(store, {"BIFROST_DASHBOARD_USER": "admin"}, profile_name="staging")
    assert r.dashboard_username is None and r.dashboard_password is None
    assert any("incomplete" in w for w in r.warnings)


def test_extra_headers_from_file_and_env(store: ProfileStore) -> None:
    store.edit(
        "prod",
        {"extra_headers": {"X-Team": "team-555"}, "extra_headers_env": {"X-Proxy": "PROXY_TOK"}},
    )
    r = resolve(store, {"PROXY_TOK": "proxy-666"}, profile_name="prod")
    assert {h: v.get_secret_value() for h, v in r.extra_headers.items()} == {
        "X-Team": "team-555",
        "X-Proxy": "proxy-666",
    }
    r = resolve(store, {}, profile_name="prod")
    assert "X-Proxy" not in r.extra_headers
    assert any("PROXY_TOK is not set" in w for w in r.warnings)
    with pytest.raises(ConfigError, match="control characters") as info:
        resolve(store, {"PROXY_TOK": "proxy-666\r\nX-Evil: 1"}, profile_name="prod")
    assert "proxy-666" not in str(info.value)


def test_plain_http_to_a_remote_host_with_secrets_is_warned(store: ProfileStore) -> None:
    r = resolve(store, {"BIFROST_VK": STAGING_KEY}, url="http://gw.example.com")
    assert any("plain http://" in w for w in r.warnings)
    r = resolve(store, {"BIFROST_VK": STAGING_KEY}, url="http://localhost:8080")
    assert not any("plain http://" in w for w in r.warnings)


def test_secrets_never_in_repr_or_json(store: ProfileStore) -> None:
    store.edit("prod", {"extra_headers": {"X-Team": "team-777"}, "dashboard_username": "ops"})
    env = {"PROD_VK": PROD_KEY, "BIFROST_DASHBOARD_PASSWORD": "pw-888"}
    r = resolve(store, env, profile_name="prod")
    text = repr(r) + str(r) + str(r.to_json()) + repr(r.client_config())
    for secret in (PROD_KEY, "team-777", "pw-888"):
        assert secret not in text


def test_client_config_carries_everything(store: ProfileStore) -> None:
    store.edit("prod", {"allow_insecure_http": True, "connect_timeout": 2})
    r = resolve(store, {"PROD_VK": PROD_KEY}, profile_name="prod")
    cfg = r.client_config()
    assert cfg.base_url == "https://prod.example.com/gw"
    assert cfg.virtual_key is not None and cfg.virtual_key.get_secret_value() == PROD_KEY
    assert cfg.connect_timeout == 2 and cfg.allow_insecure_http is True
    assert cfg.verify is True
