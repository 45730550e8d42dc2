"""Where the client may connect: the base URL vetted and redacted, loopback hosts, TLS trust."""

from __future__ import annotations

import ipaddress
import logging
import ssl

import httpx

from bifrost_tui.gateway.errors import GatewayConfigError

log = logging.getLogger("bifrost_tui.gateway")


def redact_url(url: str) -> str:
    """``url`` without userinfo, query or fragment: safe to show and to log."""
    try:
        parsed = httpx.URL(url)
        return str(parsed.copy_with(userinfo=b"", query=None, fragment=None))
    except Exception:
        return "<unparseable URL>"


def check_base_url(base_url: str) -> httpx.URL:
    """Parse and vet the base URL; raise ``GatewayConfigError`` without echoing any credential."""
    if not isinstance(base_url, str):
        raise GatewayConfigError("the base URL must be text")
    try:
        url = httpx.URL(base_url.strip())
    except Exception:
        raise GatewayConfigError("the base URL cannot be parsed") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise GatewayConfigError("the base URL must start with http:// or https:// and name a host")
    if url.userinfo:
        raise GatewayConfigError(
            "the base URL carries credentials (user:password@); remove them and put the virtual "
            "key or dashboard password in an environment variable referenced by the profile"
        )
    if url.query or url.fragment:
        raise GatewayConfigError(
            "the base URL carries a query string or fragment; a base URL takes none, and tokens "
            "belong in an environment variable referenced by the profile, not in the URL"
        )
    return url


def is_loopback(host: str) -> bool:
    name = host.strip("[]").rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def tls_verify(verify: bool | str) -> bool | ssl.SSLContext:
    """``True`` → httpx's default trust store; a path → an SSL context trusting that CA bundle."""
    if verify is True:
        return True
    if verify is False:
        # Only an explicit False from the caller gets here; nothing ever falls back to it.
        log.warning("TLS certificate verification is off for this profile")
        return False
    try:
        return ssl.create_default_context(cafile=verify)
    except (OSError, ssl.SSLError, ValueError) as exc:
        raise GatewayConfigError(
            f"cannot load the CA bundle {verify!r}: {type(exc).__name__}"
        ) from None
