"""``bifrost-tui profiles add`` and ``profiles edit``: the options given, turned into settings.

A secret is never taken from the command line: it comes from stdin, and storing one in the file
is warned about.
"""

from __future__ import annotations

import argparse
from typing import Any

from pydantic import SecretStr

from bifrost_tui.cli.exitcodes import EXIT_OK
from bifrost_tui.cli.profiles_io import ProfilesIO
from bifrost_tui.config.errors import ConfigError, ProfileNotFound
from bifrost_tui.config.model import Profile
from bifrost_tui.config.store import ProfileStore
from bifrost_tui.textsafe import quoted, safe_text


def _split_pair(value: str, what: str) -> tuple[str, str]:
    name, sep, var = value.partition("=")
    if not sep or not name or not var:
        raise ConfigError(f"{what} expects NAME=VAR, got {quoted(value, 60)}")
    return name, var


def _collect_changes(
    args: argparse.Namespace, io: ProfilesIO, current: Profile | None
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


def _warn_stored(io: ProfilesIO, store: ProfileStore, stored: list[str]) -> None:
    for what in stored:
        io.warn(
            f"{what} is stored in {store.path} (mode 0600, copied to its .bak); an environment "
            "variable is safer (--virtual-key-env / --dashboard-password-env / --header-env)"
        )


def cmd_add(args: argparse.Namespace, io: ProfilesIO, store: ProfileStore) -> int:
    """``profiles add NAME --url URL …``: a new profile (optionally the default)."""
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


def cmd_edit(args: argparse.Namespace, io: ProfilesIO, store: ProfileStore) -> int:
    """``profiles edit NAME …``: change, or ``--unset``, only the settings given."""
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


__all__ = ["cmd_add", "cmd_edit"]
