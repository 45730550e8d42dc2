"""ProfileStore: round trip, comments kept, 0600/0700, atomic writes, hostile files refused."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from pydantic import SecretStr

from bifrost_tui.config.errors import (
    ConcurrentModification,
    ConfigError,
    ProfileExists,
    ProfileFileError,
    ProfileNotFound,
)
from bifrost_tui.config.store import MAX_FILE_BYTES, ProfileStore, parse_profiles

PLANTED = "sk-bf-PLANTED-0123456789"


@pytest.fixture
def store(config_home: Path) -> ProfileStore:
    return ProfileStore()


def write(store: ProfileStore, text: str | bytes) -> None:
    store.path.parent.mkdir(parents=True, exist_ok=True)
    data = text.encode() if isinstance(text, str) else text
    store.path.write_bytes(data)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


HAND_WRITTEN = textwrap.dedent(
    """\
    # My gateways. Do not lose this comment.
    schema_version = 1
    default = "staging"  # the safe one

    [profiles.staging]
    # staging box
    url = "https://staging.example.com/bifrost"
    virtual_key_env = "STAGING_VK"
    future_setting = "kept"

    [profiles.prod-eu]
    url = "https://prod-eu.example.com"
    virtual_key_env = "PROD_EU_VK"
    read_only = true  # never cancel from a laptop

    [ui]
    theme = "from a newer version"
    """
)


# --------------------------------------------------------------------------- round trip


def test_the_store_lives_in_xdg_config_home(store: ProfileStore, tmp_path: Path) -> None:
    assert store.path == tmp_path / "cfg" / "bifrost-tui" / "profiles.toml"


def test_missing_file_is_an_empty_valid_one(store: ProfileStore) -> None:
    loaded = store.load()
    assert loaded.profiles == {} and loaded.default is None and not loaded.exists
    assert not store.path.parent.exists()  # reading creates nothing


def test_round_trip_of_every_setting(store: ProfileStore) -> None:
    settings = {
        "url": "https://gw.example.com/prefix/",
        "virtual_key_env": "PROD_VK",
        "dashboard_username_env": "PROD_USER",
        "dashboard_password_env": "PROD_PW",
        "extra_headers": {"X-Team": SecretStr("team-secret")},
        "extra_headers_env": {"X-Proxy-Auth": "PROXY_TOKEN"},
        "providers": ["openai", "anthropic"],
        "refresh": 10,
        "connect_timeout": 2.5,
        "read_timeout": 20.0,
        "total_timeout": 40.0,
        "verify_tls": True,
        "read_only": True,
        "accent": "red",
        "note": "prod in Frankfurt",
        "confirm": "typed",
        "allow_insecure_http": False,
        "canceling_stuck_minutes": 15,
        "finalizing_stuck_minutes": 90,
        "bulk_concurrency": 8,
    }
    store.add("prod.eu", settings)
    p = ProfileStore(store.path).get("prod.eu")
    assert p.url == "https://gw.example.com/prefix"
    assert p.virtual_key_env == "PROD_VK"
    assert p.extra_headers["X-Team"].get_secret_value() == "team-secret"
    assert p.extra_headers_env == {"X-Proxy-Auth": "PROXY_TOKEN"}
    assert p.providers == ["openai", "anthropic"]
    assert (p.refresh, p.connect_timeout, p.read_timeout, p.total_timeout) == (10, 2.5, 20, 40)
    assert p.read_only and p.accent == "red" and p.note == "prod in Frankfurt"
    assert p.confirm == "typed" and p.canceling_stuck_minutes == 15
    assert p.finalizing_stuck_minutes == 90 and p.bulk_concurrency == 8
    assert '[profiles."prod.eu"]' in store.path.read_text()


def test_stored_key_round_trips(store: ProfileStore) -> None:
    store.add("lab", {"url": "http://127.0.0.1:8080", "virtual_key": SecretStr(PLANTED)})
    p = store.get("lab")
    assert p.virtual_key is not None and p.virtual_key.get_secret_value() == PLANTED
    assert p.virtual_key_env is None


def test_first_profile_becomes_default_and_later_ones_do_not(store: ProfileStore) -> None:
    store.add("a", {"url": "https://a"})
    store.add("b", {"url": "https://b"})
    assert store.load().default == "a"
    store.add("c", {"url": "https://c"}, make_default=True)
    assert store.load().default == "c"


def test_adding_a_duplicate_is_refused(store: ProfileStore) -> None:
    store.add("a", {"url": "https://a"})
    before = store.path.read_bytes()
    with pytest.raises(ProfileExists):
        store.add("a", {"url": "https://other"})
    assert store.path.read_bytes() == before


def test_comments_order_and_unknown_keys_survive_edits(store: ProfileStore) -> None:
    write(store, HAND_WRITTEN)
    store.edit("staging", {"refresh": 15})
    store.add("prod-us", {"url": "https://prod-us.example.com"})
    store.set_default("prod-eu")
    text = store.path.read_text()
    for kept in (
        "# My gateways. Do not lose this comment.",
        "# the safe one",
        "# staging box",
        "# never cancel from a laptop",
        'future_setting = "kept"',
        '[ui]\ntheme = "from a newer version"',
    ):
        assert kept in text
    assert text.index("[profiles.staging]") < text.index("[profiles.prod-eu]")
    assert "refresh = 15" in text
    loaded = store.load()
    assert loaded.default == "prod-eu"
    assert list(loaded.profiles) == ["staging", "prod-eu", "prod-us"]


def test_unknown_settings_warn_but_load(store: ProfileStore) -> None:
    write(store, HAND_WRITTEN)
    loaded = store.load()
    assert any("future_setting" in w for w in loaded.warnings)


def test_newer_schema_keeps_unknown_keys_with_one_warning(store: ProfileStore) -> None:
    write(store, HAND_WRITTEN.replace("schema_version = 1", "schema_version = 2"))
    loaded = store.load()
    assert any("schema 2," in w for w in loaded.warnings)
    assert any("newer bifrost-tui" in w for w in loaded.warnings)
    assert not any("future_setting" in w for w in loaded.warnings)
    store.edit("staging", {"note": "x"})
    text = store.path.read_text()
    assert "schema_version = 2" in text and 'future_setting = "kept"' in text


def test_edit_changes_only_given_settings_and_none_removes(store: ProfileStore) -> None:
    store.add("a", {"url": "https://a", "refresh": 7, "note": "keep me", "read_only": True})
    store.edit("a", {"refresh": 9, "read_only": None})
    p = store.get("a")
    assert p.refresh == 9 and p.note == "keep me" and p.read_only is False
    assert "read_only" not in store.path.read_text()


def test_edit_validates_before_writing(store: ProfileStore) -> None:
    store.add("a", {"url": "https://a"})
    before = store.path.read_bytes()
    with pytest.raises(ConfigError, match="refresh"):
        store.edit("a", {"refresh": 0})
    with pytest.raises(ConfigError, match="unknown setting"):
        store.edit("a", {"colour": "red"})
    with pytest.raises(ProfileNotFound):
        store.edit("nope", {"refresh": 9})
    assert store.path.read_bytes() == before


def test_remove_clears_the_default(store: ProfileStore) -> None:
    store.add("a", {"url": "https://a"})
    store.add("b", {"url": "https://b"})
    assert store.remove("a") is True
    loaded = store.load()
    assert loaded.default is None and list(loaded.profiles) == ["b"]
    assert store.remove("b") is False
    with pytest.raises(ProfileNotFound):
        store.remove("b")


def test_set_default_requires_an_existing_profile(store: ProfileStore) -> None:
    store.add("a", {"url": "https://a"})
    with pytest.raises(ProfileNotFound, match="known: a"):
        store.set_default("zzz")
    store.set_default(None)
    assert store.load().default is None


def test_default_naming_a_missing_profile_loads_with_a_warning(store: ProfileStore) -> None:
    write(store, 'default = "ghost"\n[profiles.a]\nurl = "https://a"\n')
    loaded = store.load()
    assert any("ghost" in w for w in loaded.warnings)
    store.set_default("a")  # and the CLI can repair it
    assert store.load().default == "a"


# --------------------------------------------------------------------------- permissions and backup


def test_file_backup_and_dir_are_private(store: ProfileStore) -> None:
    store.add("a", {"url": "https://a"})
    store.add("b", {"url": "https://b"})
    assert mode(store.path) == 0o600
    assert mode(store.backup_path) == 0o600
    assert mode(store.path.parent) == 0o700


def test_a_loose_file_is_warned_about_and_tightened_on_write(store: ProfileStore) -> None:
    write(store, '[profiles.a]\nurl = "https://a"\n')
    os.chmod(store.path, 0o644)
    assert any("chmod 600" in w for w in store.load().warnings)
    store.edit("a", {"refresh": 6})
    assert mode(store.path) == 0o600 and mode(store.backup_path) == 0o600


def test_backup_holds_the_previous_version(store: ProfileStore) -> None:
    store.add("a", {"url": "https://a"})
    first = store.path.read_bytes()
    assert not store.backup_path.exists()
    store.add("b", {"url": "https://b"})
    assert store.backup_path.read_bytes() == first
    second = store.path.read_bytes()
    store.remove("a")
    assert store.backup_path.read_bytes() == second


# --------------------------------------------------------------------------- atomicity


def leftovers(store: ProfileStore) -> list[str]:
    return [p.name for p in store.path.parent.iterdir() if p.name.endswith(".tmp")]


def test_failed_rename_leaves_old_file_whole(
    store: ProfileStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.add("a", {"url": "https://a"})
    before = store.path.read_bytes()
    real_replace = os.replace

    def crash(src: str, dst: str) -> None:
        if Path(dst) == store.path:
            raise OSError("disk on fire")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk on fire"):
        store.add("b", {"url": "https://b"})
    assert store.path.read_bytes() == before
    assert leftovers(store) == []


def test_failure_while_writing_leaves_old_file_whole(
    store: ProfileStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.add("a", {"url": "https://a"})
    before = store.path.read_bytes()

    def crash(fd: int) -> None:
        raise OSError("I/O error")

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(OSError, match="I/O error"):
        store.edit("a", {"note": "x" * 400})
    assert store.path.read_bytes() == before
    assert leftovers(store) == []


def test_process_killed_mid_write_leaves_old_file_whole(store: ProfileStore) -> None:
    """A real crash: the writer process dies between writing the temp file and renaming it."""
    store.add("a", {"url": "https://a"})
    before = store.path.read_bytes()
    script = textwrap.dedent(
        f"""
        import os
        from pathlib import Path
        from bifrost_tui.config.store import ProfileStore
        target = Path({str(store.path)!r})
        real = os.replace
        def die(src, dst):
            if Path(dst) == target:
                os._exit(9)
            real(src, dst)
        os.replace = die
        ProfileStore(target).add("b", {{"url": "https://b"}})
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], check=False, timeout=60)
    assert proc.returncode == 9
    assert store.path.read_bytes() == before
    assert list(ProfileStore(store.path).load().profiles) == ["a"]


# --------------------------------------------------------------------------- concurrency


def test_a_change_since_load_is_refused(store: ProfileStore) -> None:
    store.add("a", {"url": "https://a"})
    console = ProfileStore(store.path)
    console.load()
    ProfileStore(store.path).edit("a", {"note": "from the CLI"})
    after_cli = store.path.read_bytes()
    with pytest.raises(ConcurrentModification, match="reload and retry"):
        console.edit("a", {"note": "from the console"})
    assert store.path.read_bytes() == after_cli
    console.load()
    console.edit("a", {"note": "from the console"})
    assert console.get("a").note == "from the console"


def test_a_held_lock_is_refused(store: ProfileStore) -> None:
    fcntl = pytest.importorskip("fcntl")
    store.add("a", {"url": "https://a"})
    fd = os.open(store.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with pytest.raises(ConcurrentModification, match="being written"):
            ProfileStore(store.path).edit("a", {"note": "x"})
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- broken, hostile files


def assert_never_overwritten(store: ProfileStore, data: bytes) -> None:
    for action in (
        lambda: store.add("new", {"url": "https://n"}),
        lambda: store.set_default("new"),
        lambda: store.remove("a"),
    ):
        with pytest.raises(ConfigError):
            action()
    assert store.path.read_bytes() == data
    assert not store.backup_path.exists()


def test_bad_toml_names_file_and_line_and_is_never_overwritten(store: ProfileStore) -> None:
    data = b'schema_version = 1\n\n[profiles.a]\nurl = "https://a\n'
    write(store, data)
    with pytest.raises(ProfileFileError) as info:
        store.load()
    message = str(info.value)
    assert str(store.path) in message
    assert "line 4" in message and "not valid TOML" in message
    assert info.value.line == 4
    assert_never_overwritten(store, data)


def test_wrong_types_name_profile_field_and_line(store: ProfileStore) -> None:
    data = b'[profiles.a]\nurl = "https://a"\nread_only = "yes"\nrefresh = "fast"\n'
    write(store, data)
    with pytest.raises(ProfileFileError) as info:
        store.load()
    message = str(info.value)
    assert "profile 'a', field 'read_only': expected true or false" in message
    assert "line 3" in message
    assert "field 'refresh'" in message and "line 4" in message
    assert_never_overwritten(store, data)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('schema_version = "one"\n', "schema_version"),
        ("profiles = 3\n", "expected a table of profiles"),
        ("[profiles]\na = 3\n", "expected a table of settings"),
        ("[profiles.a]\nrefresh = 5\n", "required setting is missing"),
        ('default = "bad name"\n', "invalid profile name"),
    ],
)
def test_structural_problems_are_reported(store: ProfileStore, text: str, words: str) -> None:
    write(store, text)
    with pytest.raises(ProfileFileError, match=words):
        store.load()


def test_control_characters_in_a_profile_name_are_escaped(store: ProfileStore) -> None:
    write(store, '[profiles."bad\\u001b[31mname"]\nurl = "https://a"\n')
    with pytest.raises(ProfileFileError) as info:
        store.load()
    message = str(info.value)
    assert "\x1b" not in message
    assert "bad\\x1b[31mname" in message


def test_huge_file_is_refused_unread(store: ProfileStore) -> None:
    write(store, b"# " + b"x" * MAX_FILE_BYTES + b"\n")
    with pytest.raises(ProfileFileError, match="limit"):
        store.load()


def test_deep_nesting_is_refused_not_crashed(store: ProfileStore) -> None:
    write(store, "x = " + "[" * 100_000 + "]" * 100_000 + "\n")
    with pytest.raises(ProfileFileError, match="TOML"):
        store.load()


def test_non_utf8_is_refused_with_its_line(store: ProfileStore) -> None:
    write(store, b'[profiles.a]\nnote = "\xff"\n')
    with pytest.raises(ProfileFileError, match=r"line 2.*UTF-8"):
        store.load()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs POSIX FIFOs")
def test_a_fifo_or_directory_at_the_path_is_refused(store: ProfileStore) -> None:
    store.path.parent.mkdir(parents=True)
    os.mkfifo(store.path)
    with pytest.raises(ProfileFileError, match="not a regular file"):
        store.load()  # and does not hang on open()
    store.path.unlink()
    store.path.mkdir()
    with pytest.raises(ProfileFileError):
        store.load()


def test_planted_secrets_never_reach_error_messages(store: ProfileStore) -> None:
    data = textwrap.dedent(
        f"""\
        [profiles.a]
        url = "https://admin:{PLANTED}@gw.example.com"
        virtual_key = "{PLANTED}"
        virtual_key_env = "PROD_VK"
        dashboard_password = "{PLANTED}"
        extra_headers = {{ "X-Team" = "{PLANTED}\\n", "Bad Name" = "{PLANTED}" }}
        read_only = "{PLANTED}"
        """
    )
    write(store, data)
    with pytest.raises(ProfileFileError) as info:
        store.load()
    assert PLANTED not in str(info.value)
    assert PLANTED not in repr(info.value)
    assert "credentials" in str(info.value)


def test_parse_profiles_is_usable_on_bytes(tmp_path: Path) -> None:
    loaded = parse_profiles(tmp_path / "p.toml", b'[profiles.a]\nurl = "https://a"\n')
    assert list(loaded.profiles) == ["a"] and loaded.digest is not None
