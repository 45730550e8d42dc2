"""Which road a provider's listing takes, and the words the operator sees; the profile setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from bifrost_tui.config.errors import ConfigError
from bifrost_tui.config.model import profile_from_settings
from bifrost_tui.config.resolve import ResolvedConnection, resolve_connection
from bifrost_tui.config.store import ProfileStore
from bifrost_tui.gateway.discovery import REASON_NO_BATCH_KEY, BatchKey, KeysRead
from bifrost_tui.gateway.listing_strategy import (
    LISTING_SETTINGS,
    check_setting,
    choose,
    refused,
)

A = BatchKey("id-a", "prod-a")
B = BatchKey("id-b", "prod-b")


def test_two_keys_go_through_the_passthrough_naming_both() -> None:
    strategy = choose("anthropic", KeysRead(None, (A, B)), "auto")
    assert strategy.road == "passthrough" and strategy.passthrough
    assert strategy.keys == (A, B) and strategy.why == "passthrough, keys prod-a, prod-b"


@pytest.mark.parametrize("kind", ["anthropic", "openai", "azure"])
def test_one_key_on_each_kind_with_a_prefix(kind: str) -> None:
    strategy = choose(kind, KeysRead(None, (A,)), "auto", provider=kind)
    assert strategy.road == "passthrough" and strategy.why == "passthrough, key prod-a"


@pytest.mark.parametrize(
    ("kind", "keys", "setting", "provider", "why"),
    [
        ("anthropic", KeysRead(None, (A, B)), "batch-routes", None, "turned off by the profile"),
        ("anthropic", None, "auto", None, "no management access to the keys"),
        ("anthropic", KeysRead(None, None), "auto", None, "no management access to the keys"),
        ("anthropic", KeysRead(REASON_NO_BATCH_KEY, ()), "auto", None, "no batch-enabled key"),
        ("bedrock", KeysRead(None, (A,)), "auto", None, "bedrock has no passthrough route"),
        ("gemini", KeysRead(None, (A,)), "auto", None, "gemini has no passthrough route"),
        (
            "anthropic",
            KeysRead(None, (A,)),
            "auto",
            "anthropic-eu",
            "the passthrough route reaches only the anthropic provider",
        ),
    ],
)
def test_batch_routes_and_why(
    kind: str, keys: KeysRead | None, setting: str, provider: str | None, why: str
) -> None:
    strategy = choose(kind, keys, setting, provider=provider)
    assert strategy.road == "batch-routes" and strategy.keys == ()
    assert strategy.why == f"batch routes: {why}"


def test_a_refused_passthrough_says_so() -> None:
    strategy = refused("passthrough refused (404)")
    assert strategy.road == "batch-routes"
    assert strategy.why == "batch routes: passthrough refused (404)"


def test_an_unknown_setting_names_the_allowed_ones() -> None:
    assert LISTING_SETTINGS == ("auto", "batch-routes")
    assert check_setting("auto") == "auto"
    with pytest.raises(ValueError, match='listing must be one of "auto", "batch-routes"'):
        choose("anthropic", KeysRead(None, (A,)), "sometimes")


@pytest.mark.parametrize("value", ["auto", "batch-routes"])
def test_the_profile_setting_accepts_its_values(value: str) -> None:
    profile = profile_from_settings("p", {"url": "http://localhost:8080", "listing": value})
    assert profile.listing == value and profile.redacted()["listing"] == value


def test_the_profile_setting_defaults_to_auto_and_resolves(config_home: Path) -> None:
    store = ProfileStore()
    store.add("plain", {"url": "http://localhost:8080"})
    store.add("off", {"url": "http://localhost:8080", "listing": "batch-routes"})

    def resolved(name: str | None, url: str | None = None) -> ResolvedConnection:
        return resolve_connection(profile_name=name, url=url, env={}, store=store)

    assert resolved("plain").listing == "auto"
    assert resolved(None, "http://localhost:9090").listing == "auto"
    off = resolved("off")
    assert off.listing == "batch-routes" and off.to_json()["listing"] == "batch-routes"


@pytest.mark.parametrize("value", ["passthrough", "AUTO", 1, True])
def test_a_bad_profile_value_is_a_clear_error(value: object) -> None:
    with pytest.raises(ConfigError) as caught:
        profile_from_settings("p", {"url": "http://localhost:8080", "listing": value})
    assert "listing: Input should be 'auto' or 'batch-routes'" in str(caught.value)
