"""``bifrost-tui profiles …`` and ``bifrost-tui paths``: manage saved gateways from a shell.

Secrets are never taken from the command line (``ps`` would show them): a stored value comes from
stdin (``--virtual-key-stdin``), and everything shown is redacted. Strings from the file or the
gateway go through ``safe_text`` before reaching the terminal.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

from pydantic import SecretStr

from bifrost_tui.cli.exitcodes import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
)
from bifrost_tui.config import paths
from bifrost_tui.config.profiles import (
    ENVIRONMENT_VARIABLES,
    PROFILE_SETTINGS,
    REDACTED,
    ConfigError,
    Profile,
    ProfileNotFound,
    ProfileStore,
    ResolvedConnection,
    resolve_connection,
)
from bifrost_tui.textsafe import quoted, safe_text

if TYPE_CHECKING:
    import httpx

    from bifrost_tui.gateway.client import ClientConfig, GatewayClient
    from bifrost_tui.gateway.errors import GatewayError

JSON_VERSION = 1


# --------------------------------------------------------------------------- argument parsing


def _setting_options(parser: argparse.ArgumentParser, *, adding: bool) -> None:
    """Options of ``add`` and ``edit``; all default to None so ``edit`` sees what was given."""
    parser.add_argument(
        "--url",
        dest="profile_url",
        metavar="URL",
        required=adding,
        help="gateway base URL (http/https; a path prefix is fine; no credentials, no query)",
    )
    key = parser.add_mutually_exclusive_group()
    key.add_argument(
        "--virtual-key-env",
        metavar="VAR",
        help="environment variable holding the virtual key (default BIFROST_VK); "
        "a profile that names one never reads BIFROST_VK",
    )
    key.add_argument(
        "--virtual-key-stdin",
        action="store_true",
        default=None,
        help="read the virtual key from stdin and store it in the file (weaker than an env var)",
    )
    key.add_argument(
        "--no-virtual-key",
        action="store_true",
        default=None,
        help="send no virtual key through this profile",
    )
    user = parser.add_mutually_exclusive_group()
    user.add_argument("--dashboard-user", metavar="USER", help="dashboard user name (stored)")
    user.add_argument(
        "--dashboard-user-env", metavar="VAR", help="variable holding the dashboard user name"
    )
    password = parser.add_mutually_exclusive_group()
    password.add_argument(
        "--dashboard-password-env",
        metavar="VAR",
        help="variable holding the dashboard password (default BIFROST_DASHBOARD_PASSWORD)",
    )
    password.add_argument(
        "--dashboard-password-stdin",
        action="store_true",
        default=None,
        help="read the dashboard password from stdin and store it in the file",
    )
    parser.add_argument(
        "--header-env",
        action="append",
        metavar="NAME=VAR",
        help="send header NAME with the value of variable VAR (repeatable)",
    )
    parser.add_argument(
        "--header-stdin",
        metavar="NAME",
        help="read the value of header NAME from stdin and store it in the file",
    )
    providers = parser.add_mutually_exclusive_group()
    providers.add_argument(
        "--providers", metavar="P,P", help="providers to show, comma-separated (default: discover)"
    )
    providers.add_argument(
        "--discover-providers",
        action="store_true",
        default=None,
        help="discover providers from the gateway (clears --providers)",
    )
    parser.add_argument("--refresh", type=float, metavar="SECONDS", help="auto-refresh interval")
    parser.add_argument("--connect-timeout", type=float, metavar="SECONDS")
    parser.add_argument("--read-timeout", type=float, metavar="SECONDS")
    parser.add_argument("--total-timeout", type=float, metavar="SECONDS")
    parser.add_argument(
        "--verify-tls",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="verify the gateway's TLS certificate (default on)",
    )
    parser.add_argument("--ca-bundle", metavar="PATH", help="CA bundle to trust for this gateway")
    parser.add_argument(
        "--read-only",
        dest="set_read_only",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="this console never cancels through the profile",
    )
    parser.add_argument("--accent", metavar="COLOUR", help="accent colour: a name or #rrggbb")
    parser.add_argument("--note", metavar="TEXT", help="a note shown with the profile")
    parser.add_argument(
        "--confirm", choices=("simple", "typed"), help="cancel confirmation style (typed: type id)"
    )
    parser.add_argument(
        "--allow-insecure-http",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="allow secrets over plain http:// to a non-loopback host",
    )
    parser.add_argument("--canceling-stuck-minutes", type=int, metavar="N")
    parser.add_argument("--finalizing-stuck-minutes", type=int, metavar="N")
    parser.add_argument("--bulk-concurrency", type=int, metavar="N")


def add_profile_commands(subparsers: Any) -> None:
    """Register ``profiles {list,show,add,edit,remove,use,test}`` and ``paths``."""
    profiles = subparsers.add_parser(
        "profiles",
        help="saved gateway profiles",
        description="Manage saved gateway profiles (stored in "
        f"{paths.CONFIG_FILENAME} in the config dir; see `bifrost-tui paths`).",
    )
    sub = profiles.add_subparsers(dest="profiles_command", metavar="ACTION", required=True)

    p = sub.add_parser("list", help="list profiles (* marks the default)")
    p.add_argument("--json", action="store_true", help="versioned JSON envelope")

    p = sub.add_parser("show", help="show one profile, secrets redacted")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--json", action="store_true", help="versioned JSON envelope")

    p = sub.add_parser("add", help="add a profile")
    p.add_argument("name", metavar="NAME")
    _setting_options(p, adding=True)
    p.add_argument("--default", action="store_true", help="make it the default profile")

    p = sub.add_parser("edit", help="change some settings of a profile")
    p.add_argument("name", metavar="NAME")
    _setting_options(p, adding=False)
    p.add_argument(
        "--unset",
        action="append",
        metavar="SETTING",
        choices=PROFILE_SETTINGS,
        help="remove a setting so its default applies (repeatable)",
    )
    p.add_argument(
        "--remove-header", action="append", metavar="NAME", help="stop sending header NAME"
    )

    p = sub.add_parser("remove", help="remove a profile")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--yes", action="store_true", help="do not ask")

    p = sub.add_parser("use", help="make a profile the default")
    p.add_argument("name", metavar="NAME")

    p = sub.add_parser("test", help="check that a profile reaches its gateway")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--json", action="store_true", help="versioned JSON envelope")

    p = subparsers.add_parser("paths", help="where config, state and logs live")
    p.add_argument("--json", action="store_true", help="versioned JSON envelope")


# --------------------------------------------------------------------------- IO


@dataclass
class _IO:
    env: Mapping[str, str]
    stdin: TextIO
    stdout: TextIO
    stderr: TextIO

    def out(self, text: str = "") -> None:
        print(text, file=self.stdout)

    def err(self, text: str) -> None:
        print(text, file=self.stderr)

    def warn(self, text: str) -> None:
        print(f"warning: {safe_text(text)}", file=self.stderr)

    def json(self, payload: dict[str, Any]) -> None:
        # ensure_ascii: control and bidi characters stay escaped in the JSON text itself.
        json.dump({"version": JSON_VERSION, **payload}, self.stdout, ensure_ascii=True, indent=2)
        self.stdout.write("\n")

    def is_tty(self) -> bool:
        try:
            return self.stdin.isatty()
        except (AttributeError, ValueError):
            return False

    def read_secret(self, what: str) -> SecretStr:
        """One secret from stdin: hidden prompt on a terminal, first line of a pipe otherwise."""
        if self.is_tty():
            value = getpass.getpass(f"{what}: ", stream=self.stderr)
        else:
            value = self.stdin.readline().rstrip("\r\n")
        if not value:
            raise ConfigError(f"no {what} on stdin")
        return SecretStr(value)


# --------------------------------------------------------------------------- entry points


def run_profiles(
    args: argparse.Namespace,
    *,
    env: Mapping[str, str] | None = None,
    store: ProfileStore | None = None,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    client_factory: Callable[[ClientConfig], GatewayClient] | None = None,
) -> int:
    """Run one ``profiles`` action; returns the exit code. Everything is injectable for tests.

    ``transport`` (e.g. the simulator's) or a whole ``client_factory`` serve ``profiles test``.
    """
    io = _IO(
        env=os.environ if env is None else env,
        stdin=stdin or sys.stdin,
        stdout=stdout or sys.stdout,
        stderr=stderr or sys.stderr,
    )
    store = store or ProfileStore(paths.config_file(io.env))
    action = args.profiles_command
    handlers = {
        "list": _cmd_list,
        "show": _cmd_show,
        "add": _cmd_add,
        "edit": _cmd_edit,
        "remove": _cmd_remove,
        "use": _cmd_use,
    }
    try:
        if action == "test":
            return _cmd_test(args, io, store, transport, client_factory)
        return handlers[action](args, io, store)
    except ConfigError as exc:
        io.err(f"bifrost-tui: {safe_text(str(exc))}" if "\n" not in str(exc) else _multiline(exc))
        return EXIT_USAGE
    except KeyboardInterrupt:
        io.err("bifrost-tui: interrupted")
        return EXIT_INTERRUPTED


def _multiline(exc: Exception) -> str:
    return "\n".join(f"bifrost-tui: {safe_text(line)}" for line in str(exc).splitlines())


def run_paths(
    args: argparse.Namespace,
    *,
    env: Mapping[str, str] | None = None,
    stdout: TextIO | None = None,
) -> int:
    """Print every on-disk location and the environment variables the program reads."""
    env = os.environ if env is None else env
    out = stdout or sys.stdout
    locations = paths.all_paths(env)
    if getattr(args, "json", False):
        payload = {
            "version": JSON_VERSION,
            "paths": {k: str(v) for k, v in locations.items()},
            "exists": {k: v.exists() for k, v in locations.items()},
            "config_dir_override": env.get(paths.CONFIG_DIR_ENV) or None,
        }
        json.dump(payload, out, ensure_ascii=True, indent=2)
        out.write("\n")
        return EXIT_OK
    width = max(len(k) for k in locations)
    for key, value in locations.items():
        mark = "" if value.exists() else "  (not created yet)"
        print(f"{key.ljust(width)}  {safe_text(str(value))}{mark}", file=out)
    if env.get(paths.CONFIG_DIR_ENV):
        print(f"\n{paths.CONFIG_DIR_ENV} is set: it moves the config dir", file=out)
    print("\nenvironment variables read:", file=out)
    width = max(len(k) for k in ENVIRONMENT_VARIABLES)
    for name, meaning in ENVIRONMENT_VARIABLES.items():
        print(f"  {name.ljust(width)}  {meaning}", file=out)
    return EXIT_OK


# --------------------------------------------------------------------------- list / show


def _secret_words(entry: Mapping[str, Any]) -> str:
    """How a redacted setting reads: ``••••`` / ``(from env PROD_VK: set)`` / ``(none)``."""
    source = entry.get("source")
    if source == "file":
        value = entry.get("value")
        return f"{safe_text(str(value))} (stored in the file)"
    if source == "env":
        state = "set" if entry.get("set") else "unset"
        return f"(from env {safe_text(entry['env'])}: {state})"
    return "(none)"


def _cmd_list(args: argparse.Namespace, io: _IO, store: ProfileStore) -> int:
    loaded = store.load()
    for warning in loaded.warnings:
        io.warn(warning)
    if getattr(args, "json", False):
        io.json(
            {
                "config_file": str(store.path),
                "default": loaded.default,
                "profiles": [
                    {**p.redacted(io.env), "default": name == loaded.default}
                    for name, p in loaded.profiles.items()
                ],
                "warnings": loaded.warnings,
            }
        )
        return EXIT_OK
    if not loaded.profiles:
        io.out(f"no profiles in {safe_text(str(store.path))}")
        io.out("add one: bifrost-tui profiles add NAME --url URL --virtual-key-env VAR")
        return EXIT_OK
    header = ("", "NAME", "URL", "VIRTUAL KEY", "NOTES")
    rows = []
    for name, profile in loaded.profiles.items():
        info = profile.redacted(io.env)
        flags = []
        if profile.read_only:
            flags.append("read-only")
        if profile.note:
            flags.append(safe_text(profile.note, 40))
        rows.append(
            (
                "*" if name == loaded.default else "",
                safe_text(name),
                safe_text(profile.url),
                _secret_words(info["virtual_key"]),
                ", ".join(flags),
            )
        )
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        io.out("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return EXIT_OK


def _profile_lines(profile: Profile, env: Mapping[str, str], is_default: bool) -> list[str]:
    info = profile.redacted(env)
    lines: list[tuple[str, str]] = [
        ("name", safe_text(profile.name) + ("  (default)" if is_default else "")),
        ("url", safe_text(profile.url)),
        ("virtual key", _secret_words(info["virtual_key"])),
        ("dashboard user", _secret_words(info["dashboard_username"])),
        ("dashboard password", _secret_words(info["dashboard_password"])),
    ]
    for header, entry in info["extra_headers"].items():
        lines.append((f"header {safe_text(header, 40)}", _secret_words(entry)))
    lines += [
        (
            "providers",
            ", ".join(safe_text(p) for p in profile.providers)
            if profile.providers
            else "(discovered from the gateway)",
        ),
        ("refresh", f"{profile.refresh:g}s"),
        (
            "timeouts",
            f"connect {profile.connect_timeout:g}s, read {profile.read_timeout:g}s, "
            f"total {profile.total_timeout:g}s",
        ),
        (
            "tls",
            f"CA bundle {safe_text(profile.ca_bundle)}"
            if profile.ca_bundle
            else ("verified" if profile.verify_tls else "NOT VERIFIED"),
        ),
        ("read only", "yes" if profile.read_only else "no"),
        ("confirm", profile.confirm),
        ("accent", safe_text(profile.accent) if profile.accent else "(none)"),
        ("insecure http", "allowed" if profile.allow_insecure_http else "refused"),
        (
            "stuck after",
            f"canceling {profile.canceling_stuck_minutes}m, "
            f"finalizing {profile.finalizing_stuck_minutes}m",
        ),
        ("bulk concurrency", str(profile.bulk_concurrency)),
        ("note", safe_text(profile.note) if profile.note else "(none)"),
    ]
    width = max(len(k) for k, _ in lines)
    return [f"{k.ljust(width)}  {v}" for k, v in lines]


def _cmd_show(args: argparse.Namespace, io: _IO, store: ProfileStore) -> int:
    loaded = store.load()
    for warning in loaded.warnings:
        io.warn(warning)
    profile = loaded.profiles.get(args.name)
    if profile is None:
        raise ProfileNotFound(args.name, store.path, loaded.names())
    if getattr(args, "json", False):
        io.json(
            {
                "config_file": str(store.path),
                "profile": {**profile.redacted(io.env), "default": args.name == loaded.default},
            }
        )
        return EXIT_OK
    for line in _profile_lines(profile, io.env, args.name == loaded.default):
        io.out(line)
    return EXIT_OK


# --------------------------------------------------------------------------- add / edit


def _split_pair(value: str, what: str) -> tuple[str, str]:
    name, sep, var = value.partition("=")
    if not sep or not name or not var:
        raise ConfigError(f"{what} expects NAME=VAR, got {quoted(value, 60)}")
    return name, var


def _collect_changes(
    args: argparse.Namespace, io: _IO, current: Profile | None
) -> tuple[dict[str, Any], list[str]]:
    """The settings the operator gave, as store changes (None = remove), and what goes in the file.

    Returns ``(changes, stored_secrets)``; ``stored_secrets`` names secrets newly written to the
    file, for the warning.
    """
    stdin_options = [
        o
        for o in ("virtual_key_stdin", "dashboard_password_stdin", "header_stdin")
        if getattr(args, o, None)
    ]
    if len(stdin_options) > 1:
        raise ConfigError("only one of the --…-stdin options can be used at a time")
    changes: dict[str, Any] = {}
    stored: list[str] = []

    if args.profile_url is not None:
        changes["url"] = args.profile_url
    if args.virtual_key_env is not None:
        changes.update(virtual_key_env=args.virtual_key_env, virtual_key=None)
    if args.virtual_key_stdin:
        changes.update(virtual_key=io.read_secret("virtual key"), virtual_key_env=None)
        stored.append("the virtual key")
    if args.no_virtual_key:
        changes.update(virtual_key_env="", virtual_key=None)
    if args.dashboard_user is not None:
        changes.update(dashboard_username=args.dashboard_user, dashboard_username_env=None)
    if args.dashboard_user_env is not None:
        changes.update(dashboard_username_env=args.dashboard_user_env, dashboard_username=None)
    if args.dashboard_password_env is not None:
        changes.update(dashboard_password_env=args.dashboard_password_env, dashboard_password=None)
    if args.dashboard_password_stdin:
        changes.update(
            dashboard_password=io.read_secret("dashboard password"), dashboard_password_env=None
        )
        stored.append("the dashboard password")

    stored_headers: dict[str, SecretStr] = dict(current.extra_headers) if current else {}
    env_headers: dict[str, str] = dict(current.extra_headers_env) if current else {}
    touched = False
    for name in getattr(args, "remove_header", None) or []:
        found = [h for h in [*stored_headers, *env_headers] if h.lower() == name.lower()]
        if not found:
            raise ConfigError(f"the profile sends no header {quoted(name, 60)}")
        for h in found:
            stored_headers.pop(h, None)
            env_headers.pop(h, None)
        touched = True
    for pair in args.header_env or []:
        name, var = _split_pair(pair, "--header-env")
        for h in [h for h in stored_headers if h.lower() == name.lower()]:
            stored_headers.pop(h)
        env_headers[name] = var
        touched = True
    if args.header_stdin:
        name = args.header_stdin
        for h in [h for h in env_headers if h.lower() == name.lower()]:
            env_headers.pop(h)
        stored_headers[name] = io.read_secret(f"value of header {name}")
        stored.append(f"the value of header {name}")
        touched = True
    if touched:
        changes["extra_headers"] = stored_headers or None
        changes["extra_headers_env"] = env_headers or None

    if args.providers is not None:
        changes["providers"] = [p.strip() for p in args.providers.split(",") if p.strip()]
    if args.discover_providers:
        changes["providers"] = None
    simple = {
        "refresh": args.refresh,
        "connect_timeout": args.connect_timeout,
        "read_timeout": args.read_timeout,
        "total_timeout": args.total_timeout,
        "verify_tls": args.verify_tls,
        "ca_bundle": args.ca_bundle,
        "read_only": args.set_read_only,
        "accent": args.accent,
        "note": args.note,
        "confirm": args.confirm,
        "allow_insecure_http": args.allow_insecure_http,
        "canceling_stuck_minutes": args.canceling_stuck_minutes,
        "finalizing_stuck_minutes": args.finalizing_stuck_minutes,
        "bulk_concurrency": args.bulk_concurrency,
    }
    changes.update({k: v for k, v in simple.items() if v is not None})
    for key in getattr(args, "unset", None) or []:
        if key in changes and changes[key] is not None:
            raise ConfigError(f"{key} is both set and unset")
        changes[key] = None
    return changes, stored


def _warn_stored(io: _IO, store: ProfileStore, stored: list[str]) -> None:
    for what in stored:
        io.warn(
            f"{what} is stored in {store.path} (mode 0600, copied to its .bak); an environment "
            "variable is safer (--virtual-key-env / --dashboard-password-env / --header-env)"
        )


def _cmd_add(args: argparse.Namespace, io: _IO, store: ProfileStore) -> int:
    changes, stored = _collect_changes(args, io, None)
    settings = {k: v for k, v in changes.items() if v is not None and v != {}}
    profile = store.add(args.name, settings, make_default=args.default)
    loaded = store.load()
    is_default = loaded.default == profile.name
    io.out(
        f"added profile {quoted(profile.name)}"
        + (" (the default)" if is_default else "")
        + f" to {safe_text(str(store.path))}"
    )
    _warn_stored(io, store, stored)
    if profile.virtual_key is None and profile.virtual_key_env == "BIFROST_VK":
        io.err(
            "hint: this profile reads BIFROST_VK; naming a variable per gateway "
            "(--virtual-key-env PROD_VK) keeps a key exported for one gateway away from another"
        )
    return EXIT_OK


def _cmd_edit(args: argparse.Namespace, io: _IO, store: ProfileStore) -> int:
    loaded = store.load()
    current = loaded.profiles.get(args.name)
    if current is None:
        raise ProfileNotFound(args.name, store.path, loaded.names())
    changes, stored = _collect_changes(args, io, current)
    if not changes:
        raise ConfigError("nothing to change: give at least one setting (see --help)")
    store.edit(args.name, changes)
    io.out(f"updated profile {quoted(args.name)}: {', '.join(sorted(changes))}")
    _warn_stored(io, store, stored)
    return EXIT_OK


# --------------------------------------------------------------------------- remove / use


def _cmd_remove(args: argparse.Namespace, io: _IO, store: ProfileStore) -> int:
    loaded = store.load()
    if args.name not in loaded.profiles:
        raise ProfileNotFound(args.name, store.path, loaded.names())
    if not args.yes:
        if not io.is_tty():
            io.err(
                "bifrost-tui: refusing to remove a profile without a terminal to confirm on; "
                "pass --yes"
            )
            return EXIT_USAGE
        io.stderr.write(f"Remove profile {quoted(args.name)}? [y/N] ")
        io.stderr.flush()
        answer = io.stdin.readline().strip().lower()
        if answer not in ("y", "yes"):
            io.out("not removed")
            return EXIT_OK
    was_default = store.remove(args.name)
    io.out(f"removed profile {quoted(args.name)} (backup: {safe_text(str(store.backup_path))})")
    if was_default:
        io.err("note: it was the default profile; pick another with `bifrost-tui profiles use`")
    return EXIT_OK


def _cmd_use(args: argparse.Namespace, io: _IO, store: ProfileStore) -> int:
    store.set_default(args.name)
    io.out(f"default profile is now {quoted(args.name)}")
    return EXIT_OK


# --------------------------------------------------------------------------- test


@dataclass(frozen=True, slots=True)
class Check:
    """One line of ``profiles test``: what was tried, whether it worked, and in words why not.

    ``skipped`` marks a line that informs without failing (a provider the gateway has but that
    cannot do batches, when the profile did not ask for it).
    """

    name: str
    ok: bool
    detail: str
    #: Short words when not ok: "unreachable", "auth refused", "no batch-enabled keys", ...
    problem: str | None = None
    skipped: bool = False

    @property
    def label(self) -> str:
        return "SKIP" if self.skipped else ("OK" if self.ok else "FAIL")

    def to_json(self) -> dict[str, Any]:
        return {
            "check": self.name,
            "result": self.label.lower(),
            "ok": self.ok,
            "problem": self.problem,
            "detail": self.detail,
        }


def _error_detail(error: GatewayError) -> str:
    """Status and message, without the kind (``problem`` already says it)."""
    head = f"HTTP {error.status}" if error.status is not None else ""
    text = f"{head}: {error.message}" if head and error.message else (error.message or head)
    return safe_text(text, 200)


def problem_words(error: GatewayError) -> str:
    """The operator's words for a failure: what ``profiles test`` promises to say clearly."""
    from bifrost_tui.gateway.errors import GatewayConfigError

    if isinstance(error, GatewayConfigError) and "no batch-enabled key" in error.message.lower():
        return "no batch-enabled keys"
    return error.kind


async def run_checks(resolved: ResolvedConnection, client: Any) -> tuple[list[Check], bool]:
    """Health, version, providers, then the first page of each batch provider.

    Returns the checks and whether the gateway was unreachable (then later checks are skipped).
    """
    from bifrost_tui.gateway.errors import GatewayError, GatewayTimeout, Unreachable

    checks: list[Check] = []
    try:
        health = await client.health()
        checks.append(Check("health", True, safe_text(_short(health), 120)))
    except (Unreachable, GatewayTimeout) as exc:
        checks.append(Check("health", False, _error_detail(exc), problem_words(exc)))
        return checks, True
    except GatewayError as exc:
        checks.append(Check("health", False, _error_detail(exc), problem_words(exc)))

    try:
        version = await client.version()
        checks.append(Check("version", True, safe_text(_short(version), 80)))
    except GatewayError as exc:
        checks.append(Check("version", False, _error_detail(exc), problem_words(exc)))

    infos, check = await _provider_check(resolved, client)
    checks.append(check)
    capable = [p for p in infos if p.batch_capable]
    asked = set(resolved.providers or ())
    for p in infos:
        if not p.batch_capable:
            # A provider the profile asked for must work; one merely discovered only informs.
            required = p.name in asked
            checks.append(
                Check(
                    f"list {safe_text(p.name, 40)}",
                    not required,
                    safe_text(p.reason or "no batch support", 120),
                    "no batch-enabled keys"
                    if p.reason and "batch-enabled key" in p.reason
                    else "not listable",
                    skipped=not required,
                )
            )
    listings = await client.list_all(capable, deep=False)
    for listing in listings:
        label = f"list {safe_text(listing.provider, 40)}"
        if listing.error is not None:
            checks.append(
                Check(
                    label,
                    False,
                    _error_detail(listing.error),
                    problem_words(listing.error),
                )
            )
        else:
            checks.append(Check(label, True, f"{len(listing.batches)} batch(es) on the first page"))
    return checks, False


async def _provider_check(resolved: ResolvedConnection, client: Any) -> tuple[list[Any], Check]:
    """The provider list, checked apart from the fallback so "auth refused" is said plainly.

    When the management API refuses, the providers the profile names are still listed (so the
    virtual key gets tested); with no names there is nothing sure to list.
    """
    from bifrost_tui.gateway.errors import GatewayError
    from bifrost_tui.gateway.models import ProviderInfo

    try:
        infos = list(await client.list_providers())
    except GatewayError as exc:
        words = problem_words(exc)
        detail = _error_detail(exc)
        if words == "auth refused":
            detail += (
                " (the management API needs dashboard credentials: dashboard_username / "
                "dashboard_password_env)"
            )
        names = list(resolved.providers or ())
        if names:
            detail += f"; listing the profile's providers instead: {', '.join(names)}"
        else:
            detail += "; batch listing not tried (set providers in the profile to try it)"
        return [ProviderInfo(n, n, True) for n in names], Check("providers", False, detail, words)
    if resolved.providers is not None:
        wanted = set(resolved.providers)
        known = {p.name for p in infos}
        infos = [p for p in infos if p.name in wanted] + [
            ProviderInfo(n, n, False, reason="not configured on the gateway")
            for n in resolved.providers
            if n not in known
        ]
    capable = [p for p in infos if p.batch_capable]
    if capable:
        names = ", ".join(safe_text(p.name, 40) for p in capable)
        return infos, Check("providers", True, f"batch-enabled: {names}")
    detail = "; ".join(
        f"{safe_text(p.name, 40)}: {safe_text(p.reason or 'no batch support', 80)}" for p in infos
    )
    return infos, Check(
        "providers", False, detail or "the gateway lists no providers", "no batch-enabled keys"
    )


def _short(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        status = value.get("status")
        return str(status) if status is not None else json.dumps(value, ensure_ascii=True)
    for attr in ("status", "version"):
        if hasattr(value, attr):
            return str(getattr(value, attr))
    return str(value)


def _cmd_test(
    args: argparse.Namespace,
    io: _IO,
    store: ProfileStore,
    transport: httpx.AsyncBaseTransport | None,
    client_factory: Callable[[ClientConfig], GatewayClient] | None = None,
) -> int:
    from bifrost_tui.gateway.client import GatewayClient
    from bifrost_tui.gateway.errors import GatewayError

    resolved = resolve_connection(profile_name=args.name, url=None, env=io.env, store=store)
    for warning in resolved.warnings:
        io.warn(warning)
    config = resolved.client_config()
    try:
        # Construction validates the configuration (URL, headers, CA bundle) and sends nothing.
        if client_factory is not None:
            client = client_factory(config)
        else:
            client = GatewayClient(config, transport=transport)
    except GatewayError as exc:
        raise ConfigError(f"profile {quoted(args.name)}: {exc.describe()}") from None

    async def go() -> tuple[list[Check], bool]:
        try:
            return await run_checks(resolved, client)
        finally:
            await client.aclose()

    checks, unreachable = asyncio.run(go())
    return _report_checks(args, io, resolved, checks, unreachable)


def _report_checks(
    args: argparse.Namespace,
    io: _IO,
    resolved: ResolvedConnection,
    checks: list[Check],
    unreachable: bool,
) -> int:
    if unreachable:
        code = EXIT_UNREACHABLE
    elif all(c.ok for c in checks):
        code = EXIT_OK
    else:
        code = EXIT_PARTIAL
    if getattr(args, "json", False):
        io.json(
            {
                "profile": resolved.profile,
                "gateway": resolved.base_url,
                "virtual_key": resolved.virtual_key_source
                + (": set" if resolved.virtual_key is not None else ": not sent"),
                "ok": code == EXIT_OK,
                "unreachable": unreachable,
                "checks": [c.to_json() for c in checks],
                "warnings": list(resolved.warnings),
            }
        )
        return code
    key = resolved.virtual_key_source + ("" if resolved.virtual_key is not None else ", not sent")
    io.out(f"profile {quoted(args.name)} → {safe_text(resolved.base_url)}  (virtual key: {key})")
    width = max(len(c.name) for c in checks)
    for c in checks:
        said = c.problem is None or c.problem.rstrip("s") in c.detail.lower()
        words = "" if said else f"{c.problem}: "
        io.out(f"  {c.label.ljust(4)} {c.name.ljust(width)}  {words}{c.detail}")
    if unreachable:
        io.out("the gateway is unreachable: nothing else was tried")
    elif code == EXIT_OK:
        io.out("all checks passed")
    else:
        failed = sum(not c.ok for c in checks)
        io.out(f"{failed} of {len(checks)} checks failed")
    return code


__all__ = [
    "JSON_VERSION",
    "REDACTED",
    "Check",
    "add_profile_commands",
    "problem_words",
    "run_checks",
    "run_paths",
    "run_profiles",
]
