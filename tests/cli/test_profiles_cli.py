"""``bifrost-tui profiles …`` and ``paths``: commands, exit codes, and no secret in any output."""

from __future__ import annotations

import argparse
import io
import json
import stat
from dataclasses import dataclass
from pathlib import Path

import pytest

from bifrost_tui.cli.paths import run_paths
from bifrost_tui.cli.profiles import add_profile_commands, run_profiles
from bifrost_tui.config import paths
from bifrost_tui.config.store import ProfileStore

PLANTED = "sk-bf-PLANTED-cli-0123456789"
PLANTED_PW = "PLANTED-password-987"
PLANTED_HDR = "PLANTED-header-value-555"


class FakeStdin(io.StringIO):
    def __init__(self, text: str = "", tty: bool = False) -> None:
        super().__init__(text)
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def both(self) -> str:
        return self.out + self.err


@pytest.fixture
def env(config_home: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv("XDG_STATE_HOME", str(config_home / "state"))
    monkeypatch.setenv("XDG_DATA_HOME", str(config_home / "data"))
    return {"BIFROST_VK": "sk-bf-STRAY-staging-key"}


@pytest.fixture
def store(env: dict[str, str]) -> ProfileStore:
    return ProfileStore(paths.config_file(env))


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bifrost-tui")
    sub = parser.add_subparsers(dest="command")
    add_profile_commands(sub)
    return parser.parse_args(argv)


def run(env: dict[str, str], *argv: str, stdin: str = "", tty: bool = False) -> Result:
    args = parse(*argv)
    out, err = io.StringIO(), io.StringIO()
    if args.command == "paths":
        code = run_paths(args, env=env, stdout=out)
    else:
        code = run_profiles(args, env=env, stdin=FakeStdin(stdin, tty), stdout=out, stderr=err)
    return Result(code, out.getvalue(), err.getvalue())


# --------------------------------------------------------------------------- add / list / show


def test_add_list_show(env: dict[str, str], store: ProfileStore) -> None:
    r = run(
        env,
        "profiles",
        "add",
        "prod-eu",
        "--url",
        "https://prod.example.com/gw/",
        "--virtual-key-env",
        "PROD_VK",
        "--read-only",
        "--accent",
        "red",
        "--note",
        "EU",
    )
    assert r.code == 0, r.err
    assert "added profile 'prod-eu' (the default)" in r.out
    r = run(env, "profiles", "add", "staging", "--url", "https://staging.example.com")
    assert r.code == 0
    assert "hint" in r.err  # staging reads BIFROST_VK: the operator is told why naming is safer

    r = run(env, "profiles", "list")
    assert r.code == 0
    lines = r.out.splitlines()
    assert lines[0].split() == ["NAME", "URL", "VIRTUAL", "KEY", "NOTES"]
    assert lines[1].startswith("*") and "prod-eu" in lines[1] and "read-only" in lines[1]
    assert "(from env PROD_VK: unset)" in lines[1]
    assert "(from env BIFROST_VK: set)" in lines[2]

    r = run(env, "profiles", "show", "prod-eu")
    assert r.code == 0
    assert "url                 https://prod.example.com/gw" in r.out
    assert "read only           yes" in r.out
    assert "(default)" in r.out


def test_list_and_show_json_are_versioned_envelopes(env: dict[str, str]) -> None:
    run(env, "profiles", "add", "a", "--url", "https://a.example.com", "--virtual-key-env", "A_VK")
    r = run(env, "profiles", "list", "--json")
    data = json.loads(r.out)
    assert data["version"] == 1 and data["default"] == "a"
    assert data["profiles"][0]["virtual_key"] == {"source": "env", "env": "A_VK", "set": False}
    r = run(env, "profiles", "show", "a", "--json")
    data = json.loads(r.out)
    assert data["version"] == 1 and data["profile"]["url"] == "https://a.example.com"


def test_empty_list_says_how_to_add(env: dict[str, str]) -> None:
    r = run(env, "profiles", "list")
    assert r.code == 0 and "profiles add NAME --url URL" in r.out


def test_duplicate_add_is_refused(env: dict[str, str]) -> None:
    run(env, "profiles", "add", "a", "--url", "https://a.example.com")
    r = run(env, "profiles", "add", "a", "--url", "https://b.example.com")
    assert r.code == 2 and "already exists" in r.err


def test_bad_name_and_bad_url_are_usage_errors(env: dict[str, str], store: ProfileStore) -> None:
    r = run(env, "profiles", "add", "bad\x1bname", "--url", "https://a.example.com")
    assert r.code == 2 and "\x1b" not in r.err and "bad\\x1bname" in r.err
    r = run(env, "profiles", "add", "a", "--url", f"https://ops:{PLANTED_PW}@gw.example.com")
    assert r.code == 2 and "credentials" in r.err and PLANTED_PW not in r.both
    assert not store.path.exists()


def test_show_unknown_profile(env: dict[str, str]) -> None:
    run(env, "profiles", "add", "a", "--url", "https://a.example.com")
    r = run(env, "profiles", "show", "b")
    assert r.code == 2 and "no profile 'b'" in r.err and "known: a" in r.err


def test_hostile_note_is_escaped_on_screen(env: dict[str, str], store: ProfileStore) -> None:
    store.path.parent.mkdir(parents=True)
    store.path.write_text('[profiles.a]\nurl = "https://a"\nnote = "hi\\u001b]0;pwned\\u0007"\n')
    r = run(env, "profiles", "show", "a")
    assert "\x1b" not in r.out and "\x07" not in r.out
    assert "hi\\x1b]0;pwned\\x07" in r.out
    r = run(env, "profiles", "list", "--json")
    assert "\x1b" not in r.out


# --------------------------------------------------------------------------- secrets


def test_stored_secrets_never_appear_in_any_output(
    env: dict[str, str], store: ProfileStore
) -> None:
    outputs = []
    r = run(
        env,
        "profiles",
        "add",
        "lab",
        "--url",
        "http://127.0.0.1:8080",
        "--virtual-key-stdin",
        stdin=PLANTED + "\n",
    )
    assert r.code == 0, r.err
    assert "stored in" in r.err and "warning" in r.err
    outputs.append(r)
    outputs.append(
        run(
            env,
            "profiles",
            "edit",
            "lab",
            "--dashboard-user",
            "ops",
            "--dashboard-password-stdin",
            stdin=PLANTED_PW + "\n",
        )
    )
    outputs.append(
        run(env, "profiles", "edit", "lab", "--header-stdin", "X-Team", stdin=PLANTED_HDR + "\n")
    )
    assert all(o.code == 0 for o in outputs), [o.err for o in outputs]
    # The secrets are in the file (and its backup), where the operator asked for them ...
    assert PLANTED in store.path.read_text() and PLANTED_HDR in store.path.read_text()
    assert PLANTED in store.backup_path.read_text()
    # ... and nowhere else.
    for argv in (
        ("profiles", "list"),
        ("profiles", "list", "--json"),
        ("profiles", "show", "lab"),
        ("profiles", "show", "lab", "--json"),
        ("profiles", "edit", "lab", "--note", "n"),
        ("profiles", "use", "lab"),
        ("paths",),
    ):
        outputs.append(run(env, *argv))
    for o in outputs:
        for secret in (PLANTED, PLANTED_PW, PLANTED_HDR, env["BIFROST_VK"]):
            assert secret not in o.both
    shown = run(env, "profiles", "show", "lab").out
    assert "•••• (stored in the file)" in shown
    assert "header X-Team" in shown


def test_error_from_a_broken_file_with_a_planted_key_holds_no_secret(
    env: dict[str, str], store: ProfileStore
) -> None:
    store.path.parent.mkdir(parents=True)
    store.path.write_text(
        f'[profiles.a]\nurl = "https://a"\nvirtual_key = "{PLANTED}"\nrefresh = "{PLANTED}"\n'
    )
    for argv in (("profiles", "list"), ("profiles", "list", "--json"), ("profiles", "show", "a")):
        r = run(env, *argv)
        assert r.code == 2
        assert "field 'refresh'" in r.err and str(store.path) in r.err
        assert PLANTED not in r.both


def test_backup_with_a_planted_key_is_never_printed(
    env: dict[str, str], store: ProfileStore
) -> None:
    run(env, "profiles", "add", "a", "--url", "https://a", "--virtual-key-stdin", stdin=PLANTED)
    run(env, "profiles", "edit", "a", "--virtual-key-env", "A_VK")
    assert PLANTED in store.backup_path.read_text()
    assert PLANTED not in store.path.read_text()  # switching to an env var removed the stored key
    for argv in (("profiles", "list", "--json"), ("profiles", "show", "a", "--json"), ("paths",)):
        assert PLANTED not in run(env, *argv).both


def test_only_one_stdin_secret_per_invocation(env: dict[str, str]) -> None:
    r = run(
        env,
        "profiles",
        "add",
        "a",
        "--url",
        "https://a",
        "--virtual-key-stdin",
        "--dashboard-password-stdin",
        stdin="x\ny\n",
    )
    assert r.code == 2 and "only one" in r.err


def test_empty_stdin_secret_is_refused(env: dict[str, str], store: ProfileStore) -> None:
    r = run(env, "profiles", "add", "a", "--url", "https://a", "--virtual-key-stdin", stdin="")
    assert r.code == 2 and "no virtual key on stdin" in r.err
    assert not store.path.exists()


# --------------------------------------------------------------------------- edit


def test_edit_changes_only_what_is_given_and_keeps_comments(
    env: dict[str, str], store: ProfileStore
) -> None:
    store.path.parent.mkdir(parents=True)
    store.path.write_text(
        '# mine\n[profiles.a]\nurl = "https://a"  # the box\nrefresh = 7\nnote = "keep"\n'
    )
    r = run(env, "profiles", "edit", "a", "--refresh", "12", "--providers", "openai, anthropic")
    assert r.code == 0, r.err
    text = store.path.read_text()
    assert "# mine" in text and "# the box" in text and 'note = "keep"' in text
    p = store.get("a")
    assert p.refresh == 12 and p.providers == ["openai", "anthropic"]


def test_edit_unset_and_switch_key_source(env: dict[str, str], store: ProfileStore) -> None:
    run(env, "profiles", "add", "a", "--url", "https://a", "--read-only", "--refresh", "9")
    r = run(env, "profiles", "edit", "a", "--unset", "refresh", "--no-virtual-key")
    assert r.code == 0, r.err
    p = store.get("a")
    assert p.refresh == 5 and p.virtual_key_env is None and p.read_only is True
    run(env, "profiles", "edit", "a", "--no-read-only", "--discover-providers")
    assert store.get("a").read_only is False


def test_edit_headers_from_env_and_removal(env: dict[str, str], store: ProfileStore) -> None:
    run(env, "profiles", "add", "a", "--url", "https://a", "--header-env", "X-Proxy=PROXY_TOK")
    assert store.get("a").extra_headers_env == {"X-Proxy": "PROXY_TOK"}
    run(env, "profiles", "edit", "a", "--header-env", "X-Team=TEAM")
    assert store.get("a").extra_headers_env == {"X-Proxy": "PROXY_TOK", "X-Team": "TEAM"}
    r = run(env, "profiles", "edit", "a", "--remove-header", "x-proxy")
    assert r.code == 0
    assert store.get("a").extra_headers_env == {"X-Team": "TEAM"}
    r = run(env, "profiles", "edit", "a", "--header-env", "broken")
    assert r.code == 2 and "NAME=VAR" in r.err


def test_edit_with_nothing_to_change(env: dict[str, str]) -> None:
    run(env, "profiles", "add", "a", "--url", "https://a")
    r = run(env, "profiles", "edit", "a")
    assert r.code == 2 and "nothing to change" in r.err


# --------------------------------------------------------------------------- remove / use


def test_remove_without_tty_or_yes_refuses(env: dict[str, str], store: ProfileStore) -> None:
    run(env, "profiles", "add", "a", "--url", "https://a")
    r = run(env, "profiles", "remove", "a")
    assert r.code == 2 and "--yes" in r.err
    assert "a" in store.load().profiles


def test_remove_asks_on_a_tty(env: dict[str, str], store: ProfileStore) -> None:
    run(env, "profiles", "add", "a", "--url", "https://a")
    r = run(env, "profiles", "remove", "a", stdin="n\n", tty=True)
    assert r.code == 0 and "not removed" in r.out and "Remove profile 'a'?" in r.err
    assert "a" in store.load().profiles
    r = run(env, "profiles", "remove", "a", stdin="y\n", tty=True)
    assert r.code == 0 and "removed profile 'a'" in r.out
    assert "it was the default" in r.err
    assert store.load().profiles == {}


def test_remove_with_yes(env: dict[str, str], store: ProfileStore) -> None:
    run(env, "profiles", "add", "a", "--url", "https://a")
    assert run(env, "profiles", "remove", "a", "--yes").code == 0
    assert store.load().profiles == {}


def test_use_sets_the_default(env: dict[str, str], store: ProfileStore) -> None:
    run(env, "profiles", "add", "a", "--url", "https://a")
    run(env, "profiles", "add", "b", "--url", "https://b")
    r = run(env, "profiles", "use", "b")
    assert r.code == 0 and store.load().default == "b"
    assert run(env, "profiles", "use", "zzz").code == 2


# --------------------------------------------------------------------------- broken files


def test_broken_file_is_refused_and_untouched(env: dict[str, str], store: ProfileStore) -> None:
    store.path.parent.mkdir(parents=True)
    store.path.write_bytes(b'[profiles.a]\nurl = "https://a"\nread_only = maybe\n')
    before = store.path.read_bytes()
    for argv in (
        ("profiles", "list"),
        ("profiles", "add", "b", "--url", "https://b"),
        ("profiles", "edit", "a", "--refresh", "9"),
        ("profiles", "use", "a"),
        ("profiles", "remove", "a", "--yes"),
    ):
        r = run(env, *argv)
        assert r.code == 2, argv
        assert str(store.path) in r.err and "line 3" in r.err
    assert store.path.read_bytes() == before
    assert not store.backup_path.exists()


# --------------------------------------------------------------------------- paths


def test_paths_prints_every_location(env: dict[str, str], tmp_path: Path) -> None:
    r = run(env, "paths")
    assert r.code == 0
    assert str(tmp_path / "cfg" / "bifrost-tui" / "profiles.toml") in r.out
    assert str(tmp_path / "state" / "bifrost-tui") in r.out
    assert "BIFROST_VK" in r.out and "BIFROST_TUI_CONFIG_DIR" in r.out
    data = json.loads(run(env, "paths", "--json").out)
    assert data["version"] == 1
    assert data["paths"]["config_file"] == str(tmp_path / "cfg" / "bifrost-tui" / "profiles.toml")
    assert data["exists"]["config_file"] is False


def test_config_dir_override(env: dict[str, str], tmp_path: Path) -> None:
    env = {**env, "BIFROST_TUI_CONFIG_DIR": str(tmp_path / "over")}
    assert run(env, "profiles", "add", "a", "--url", "https://a").code == 0
    target = tmp_path / "over" / "profiles.toml"
    assert target.exists() and stat.S_IMODE(target.stat().st_mode) == 0o600
    assert str(target) in run(env, "paths").out
