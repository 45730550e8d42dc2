"""``bifrost-tui profiles …``: list, show, add, edit, remove, use and test saved gateways.

Secrets are never taken from the command line (``ps`` would show them): a stored value comes from
stdin (``--virtual-key-stdin``), and everything shown is redacted. Strings from the file or the
gateway go through ``safe_text`` before reaching the terminal.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TextIO

from bifrost_tui.cli.exitcodes import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE
from bifrost_tui.cli.profiles_check import cmd_test
from bifrost_tui.cli.profiles_edit import cmd_add, cmd_edit
from bifrost_tui.cli.profiles_io import ProfilesIO
from bifrost_tui.config import paths
from bifrost_tui.config.errors import ConfigError, ProfileNotFound
from bifrost_tui.config.model import PROFILE_SETTINGS, Profile
from bifrost_tui.config.store import ProfileStore
from bifrost_tui.textsafe import quoted, safe_text

if TYPE_CHECKING:
    import httpx

    from bifrost_tui.gateway.client import ClientConfig, GatewayClient


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
        "--confirm",
        choices=("simple", "typed"),
        help="cancel confirmation: simple (type 'yes' on the command line, press y in the "
        "console) or typed (type the profile's name to confirm every cancel)",
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
    io = ProfilesIO(
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
        "add": cmd_add,
        "edit": cmd_edit,
        "remove": _cmd_remove,
        "use": _cmd_use,
    }
    try:
        if action == "test":
            return cmd_test(args, io, store, transport, client_factory)
        return handlers[action](args, io, store)
    except ConfigError as exc:
        text = str(exc)
        # A message of several lines (a profile file's errors) keeps one prefix per line.
        for line in text.splitlines() if "\n" in text else [text]:
            io.error(line)
        return EXIT_USAGE
    except KeyboardInterrupt:
        io.error("interrupted")
        return EXIT_INTERRUPTED


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


def _cmd_list(args: argparse.Namespace, io: ProfilesIO, store: ProfileStore) -> int:
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


def _cmd_show(args: argparse.Namespace, io: ProfilesIO, store: ProfileStore) -> int:
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


# --------------------------------------------------------------------------- remove / use


def _cmd_remove(args: argparse.Namespace, io: ProfilesIO, store: ProfileStore) -> int:
    loaded = store.load()
    if args.name not in loaded.profiles:
        raise ProfileNotFound(args.name, store.path, loaded.names())
    if not args.yes:
        if not io.is_tty():
            io.error("refusing to remove a profile without a terminal to confirm on; pass --yes")
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


def _cmd_use(args: argparse.Namespace, io: ProfilesIO, store: ProfileStore) -> int:
    store.set_default(args.name)
    io.out(f"default profile is now {quoted(args.name)}")
    return EXIT_OK


__all__ = ["add_profile_commands", "run_profiles"]
