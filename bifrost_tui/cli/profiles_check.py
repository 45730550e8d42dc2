"""``bifrost-tui profiles test``: does a profile reach its gateway, and can it list batches?

Each check is one line (health, version, providers, then the first page of each batch provider),
said in the operator's words: "unreachable", "auth refused", "no batch-enabled keys".
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bifrost_tui.cli.exitcodes import (
    EXIT_GATEWAY_REFUSED,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_UNREACHABLE,
)
from bifrost_tui.cli.profiles_io import ProfilesIO
from bifrost_tui.config.errors import ConfigError
from bifrost_tui.config.resolve import ResolvedConnection, resolve_connection
from bifrost_tui.config.store import ProfileStore
from bifrost_tui.textsafe import quoted, safe_text

if TYPE_CHECKING:
    import httpx

    from bifrost_tui.gateway.client import ClientConfig, GatewayClient
    from bifrost_tui.gateway.errors import GatewayError


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
        if listing.reason is not None:
            # The gateway itself says this provider cannot list batches (its own words).
            required = listing.provider in asked
            checks.append(
                Check(
                    label,
                    not required,
                    safe_text(listing.reason, 120),
                    "no batch-enabled keys"
                    if "batch-enabled key" in listing.reason
                    else "not listable",
                    skipped=not required,
                )
            )
        elif listing.error is not None:
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
        enabled = ", ".join(safe_text(p.name, 40) for p in capable)
        return infos, Check("providers", True, f"batch-enabled: {enabled}")
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


def cmd_test(
    args: argparse.Namespace,
    io: ProfilesIO,
    store: ProfileStore,
    transport: httpx.AsyncBaseTransport | None,
    client_factory: Callable[[ClientConfig], GatewayClient] | None = None,
) -> int:
    """``profiles test NAME``: run the checks; 0 all passed, 4 some failed, 1 the credentials were
    refused everywhere, 3 unreachable."""
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


def _refused_everywhere(checks: list[Check]) -> bool:
    """Every failed check was refused the credentials, and no batch listing worked: the gateway
    refused this profile (exit 1, as for any command), not a partial success."""
    failed = [c for c in checks if not c.ok]
    listed = any(c.ok and not c.skipped and c.name.startswith("list ") for c in checks)
    return bool(failed) and not listed and all(c.problem == "auth refused" for c in failed)


def _report_checks(
    args: argparse.Namespace,
    io: ProfilesIO,
    resolved: ResolvedConnection,
    checks: list[Check],
    unreachable: bool,
) -> int:
    if unreachable:
        code = EXIT_UNREACHABLE
    elif all(c.ok for c in checks):
        code = EXIT_OK
    elif _refused_everywhere(checks):
        code = EXIT_GATEWAY_REFUSED
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
        why = ": the gateway refused the credentials" if code == EXIT_GATEWAY_REFUSED else ""
        io.out(f"{failed} of {len(checks)} checks failed{why}")
    return code


__all__ = ["Check", "cmd_test", "problem_words", "run_checks"]
