"""Profile model: names, URLs, secret sources and settings are validated with safe messages."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from bifrost_tui.config.errors import ConfigError
from bifrost_tui.config.model import (
    Profile,
    env_flag,
    normalize_url,
    profile_from_settings,
    validate_profile_name,
)


@pytest.mark.parametrize("name", ["prod", "prod-eu", "staging_2", "a", "prod.eu", "9x", "A" * 64])
def test_good_names(name: str) -> None:
    assert validate_profile_name(name) == name


@pytest.mark.parametrize(
    "name", ["", "-x", ".hidden", "a b", "a/b", "a\\b", "A" * 65, "pr\x1bod", "x\n", "é"]
)
def test_bad_names_are_refused_with_the_name_escaped(name: str) -> None:
    with pytest.raises(ValueError) as info:
        validate_profile_name(name)
    message = str(info.value)
    assert "invalid profile name" in message
    assert "\x1b" not in message and "\n" not in message


def test_control_character_name_is_shown_escaped() -> None:
    with pytest.raises(ValueError, match=r"pr\\x1b\[31mod"):
        validate_profile_name("pr\x1b[31mod")


@pytest.mark.parametrize(
    ("url", "normal"),
    [
        ("https://gw.example.com", "https://gw.example.com"),
        ("https://gw.example.com/", "https://gw.example.com"),
        ("HTTPS://GW.Example.com:8443/bifrost/", "https://gw.example.com:8443/bifrost"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://[::1]:8080/p", "http://[::1]:8080/p"),
        ("  https://gw.example.com  ", "https://gw.example.com"),
    ],
)
def test_urls_are_normalised(url: str, normal: str) -> None:
    assert normalize_url(url) == normal


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("https://admin:hunter2secret@gw.example.com", "credentials"),
        ("https://tok3nsecret@gw.example.com", "credentials"),
        ("https://gw.example.com/?token=hunter2secret", "query string"),
        ("https://gw.example.com/?", "query string"),
        ("https://gw.example.com/#hunter2secret", "fragment"),
        ("ftp://gw.example.com", "http:// or https://"),
        ("gw.example.com", "http:// or https://"),
        ("https://", "no host"),
        ("https://gw.example.com:99999", "invalid host or port"),
        ("https://gw.exa mple.com", "spaces or control"),
        ("https://gw.example.com/\x1b", "spaces or control"),
        ("", "empty"),
    ],
)
def test_bad_urls_are_refused_without_echoing_them(url: str, words: str) -> None:
    with pytest.raises(ValueError) as info:
        normalize_url(url)
    message = str(info.value)
    assert words in message
    assert "hunter2secret" not in message and "tok3nsecret" not in message


def test_credential_refusal_says_where_credentials_belong() -> None:
    with pytest.raises(ValueError, match="virtual_key_env"):
        normalize_url("https://u:p@gw.example.com")


def test_defaults() -> None:
    p = Profile(name="x", url="https://gw")
    assert p.virtual_key_env == "BIFROST_VK"
    assert p.dashboard_password_env == "BIFROST_DASHBOARD_PASSWORD"
    assert p.providers is None and p.read_only is False and p.verify_tls is True
    assert p.refresh == 5 and p.confirm == "simple" and p.allow_insecure_http is False
    assert p.canceling_stuck_minutes == 30 and p.finalizing_stuck_minutes == 60


def test_stored_key_replaces_the_default_env_reference() -> None:
    p = Profile.model_validate({"name": "x", "url": "https://gw", "virtual_key": "sk-bf-abc"})
    assert p.virtual_key_env is None
    assert p.virtual_key is not None and p.virtual_key.get_secret_value() == "sk-bf-abc"


def test_naming_both_a_variable_and_a_stored_key_is_refused_without_the_key() -> None:
    with pytest.raises(ConfigError) as info:
        profile_from_settings(
            "x", {"url": "https://gw", "virtual_key_env": "PROD_VK", "virtual_key": "sk-bf-PLANT"}
        )
    assert "not both" in str(info.value)
    assert "sk-bf-PLANT" not in str(info.value)


def test_empty_env_name_means_no_key() -> None:
    p = Profile.model_validate({"name": "x", "url": "https://gw", "virtual_key_env": ""})
    assert p.virtual_key_env is None and p.virtual_key is None


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"read_only": "yes"}, "read_only"),
        ({"read_only": 1}, "read_only"),
        ({"refresh": 0.5}, "refresh"),
        ({"refresh": "5"}, "refresh"),
        ({"confirm": "loud"}, "confirm"),
        ({"virtual_key_env": "PROD-VK"}, "virtual_key_env"),
        ({"virtual_key_env": "X Y"}, "virtual_key_env"),
        ({"providers": []}, "providers"),
        ({"providers": ["ok", "bad/name"]}, "providers"),
        ({"accent": "rgb(1,2,3)"}, "accent"),
        ({"note": "x" * 501}, "note"),
        ({"extra_headers": {"bad header": "v"}}, "extra_headers"),
        ({"extra_headers": {"X-Bf-Vk": "v"}}, "extra_headers"),
        ({"extra_headers": {"Authorization": "v"}}, "extra_headers"),
        ({"extra_headers_env": {"X-Team": "not a var"}}, "extra_headers_env"),
        ({"bulk_concurrency": 0}, "bulk_concurrency"),
        ({"canceling_stuck_minutes": 0}, "canceling_stuck_minutes"),
    ],
)
def test_bad_settings_name_the_field(settings: dict, field: str) -> None:
    with pytest.raises(ConfigError) as info:
        profile_from_settings("prod", {"url": "https://gw", **settings})
    assert field in str(info.value)
    assert "'prod'" in str(info.value)


def test_header_value_with_newline_is_refused_without_echoing_it() -> None:
    with pytest.raises(ConfigError) as info:
        profile_from_settings(
            "x", {"url": "https://gw", "extra_headers": {"X-A": "s3cr3t\r\nX-Evil: 1"}}
        )
    assert "control characters" in str(info.value)
    assert "s3cr3t" not in str(info.value)


def test_tls_off_with_a_ca_bundle_contradicts() -> None:
    with pytest.raises(ConfigError, match="contradict"):
        profile_from_settings("x", {"url": "https://gw", "verify_tls": False, "ca_bundle": "/ca"})


def test_same_header_stored_and_from_env_is_refused() -> None:
    with pytest.raises(ConfigError, match="both"):
        profile_from_settings(
            "x",
            {
                "url": "https://gw",
                "extra_headers": {"X-Team": "a"},
                "extra_headers_env": {"x-team": "TEAM"},
            },
        )


def test_accent_is_normalised_and_providers_deduplicated() -> None:
    p = profile_from_settings(
        "x", {"url": "https://gw", "accent": " #FF0000 ", "providers": ["openai", "openai", "az"]}
    )
    assert p.accent == "#ff0000"
    assert p.providers == ["openai", "az"]


def test_repr_and_redacted_view_hold_no_secret() -> None:
    p = profile_from_settings(
        "x",
        {
            "url": "https://gw",
            "virtual_key": SecretStr("sk-bf-PLANTED-1"),
            "dashboard_password": "PLANTED-pw-2",
            "dashboard_username": "admin",
            "extra_headers": {"X-Team": "PLANTED-hdr-3"},
        },
    )
    text = repr(p) + str(p) + str(p.redacted({"BIFROST_VK": "PLANTED-env-4"}))
    for planted in ("PLANTED-1", "PLANTED-pw-2", "PLANTED-hdr-3", "PLANTED-env-4"):
        assert planted not in text
    view = p.redacted()
    assert view["virtual_key"] == {"source": "file", "value": "••••"}
    assert view["dashboard_username"] == {"source": "file", "value": "admin"}


def test_redacted_env_reference_says_set_or_unset_only() -> None:
    p = profile_from_settings("x", {"url": "https://gw", "virtual_key_env": "PROD_VK"})
    assert p.redacted({"PROD_VK": "sk-bf-x"})["virtual_key"] == {
        "source": "env",
        "env": "PROD_VK",
        "set": True,
    }
    assert p.redacted({})["virtual_key"]["set"] is False


@pytest.mark.parametrize(
    ("value", "result"),
    [
        (None, False),
        ("", False),
        ("0", False),
        ("no", False),
        ("1", True),
        ("TRUE", True),
        (" on ", True),
        ("maybe", None),
    ],
)
def test_env_flag(value: str | None, result: bool | None) -> None:
    assert env_flag(value) is result
