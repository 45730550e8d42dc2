"""One resolved connection to a gateway (profile, --url or --demo): what the CLI and console use."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bifrost_tui.clock import Clock, SystemClock

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    import httpx

    from bifrost_tui.gateway.client import ClientConfig, GatewayClient

DEMO_URL = "http://bifrost-sim.demo"
#: What BIFROST_READ_ONLY may say to mean "no" (the same words as profiles.env_flag).
_FALSE_WORDS = frozenset({"", "0", "false", "no", "off"})


class ConfigError(Exception):
    """The connection cannot be made as asked: a message for the operator, exit 2."""


@dataclass
class Connection:
    """Everything needed to reach one gateway, resolved from flags, environment and profile."""

    client_config: ClientConfig | None
    display_url: str
    profile_name: str | None = None
    read_only: bool = False
    #: The profile itself (not a flag) is read-only: the reason shown to the operator differs.
    profile_read_only: bool = False
    refresh: float = 5.0
    providers: list[str] | None = None
    accent: str | None = None
    confirm: str = "simple"
    #: Cancels in flight at once during a bulk cancel.
    bulk_concurrency: int = 8
    #: Minutes before a canceling / finalizing batch is flagged as stuck.
    canceling_stuck_minutes: int = 30
    finalizing_stuck_minutes: int = 60
    warnings: list[str] = field(default_factory=list)
    clock: Clock = field(default_factory=SystemClock)
    transport: httpx.AsyncBaseTransport | None = None
    demo: bool = False
    #: The simulated world behind --demo (the console's demo shows it is a simulator).
    world: Any = None
    profile: Any = None

    @property
    def label(self) -> str:
        if self.demo:
            return "demo (simulator)"
        return self.profile_name or "(no profile)"

    @asynccontextmanager
    async def client(self) -> AsyncIterator[GatewayClient]:
        from bifrost_tui.gateway.client import GatewayClient

        if self.client_config is None:
            raise ConfigError("no gateway configured: choose a profile or pass --url")
        client = GatewayClient(self.client_config, transport=self.transport)
        try:
            yield client
        finally:
            await client.aclose()

    def make_client(self) -> GatewayClient:
        """A client the caller closes (the console keeps one for its lifetime)."""
        from bifrost_tui.gateway.client import GatewayClient

        if self.client_config is None:
            raise ConfigError("no gateway configured: choose a profile or pass --url")
        return GatewayClient(self.client_config, transport=self.transport)


def demo_connection(
    *, read_only: bool = False, clock: Clock | None = None, seed: int = 7, refresh: float = 5.0
) -> Connection:
    """The embedded simulated gateway, in process: nothing leaves the machine."""
    from bifrost_tui.gateway.client import ClientConfig
    from bifrost_tui.sim import SimTransport, SimWorld

    clock = clock or SystemClock()
    world = SimWorld.demo(clock, seed=seed)
    return Connection(
        client_config=ClientConfig(base_url=DEMO_URL),
        display_url=DEMO_URL,
        read_only=read_only,
        refresh=refresh,
        clock=clock,
        transport=SimTransport(world),
        demo=True,
        world=world,
    )


def open_connection(
    *,
    profile: str | None,
    url: str | None,
    demo: bool,
    read_only: bool,
    refresh: float | None,
    env: Mapping[str, str],
    allow_none: bool = False,
) -> Connection:
    """Resolve flags > environment > profile > defaults into a Connection.

    With ``allow_none`` (the console), having no gateway at all is not an error: the console opens
    its profiles screen with a hint instead.
    """
    if refresh is not None and refresh < 1:
        raise ConfigError("--refresh must be at least 1 second")
    if demo:
        # An unrecognised BIFROST_READ_ONLY value errs on the safe side (read-only). The demo
        # never reads the profiles file, so its module is not even imported.
        value = env.get("BIFROST_READ_ONLY")
        env_read_only = value is not None and value.strip().lower() not in _FALSE_WORDS
        return demo_connection(read_only=read_only or env_read_only, refresh=refresh or 5.0)
    from bifrost_tui.config.profiles import ConfigError as ProfileConfigError
    from bifrost_tui.config.profiles import NoGatewayChosen, ProfileStore, resolve_connection

    try:
        resolved = resolve_connection(
            profile_name=profile,
            url=url,
            env=env,
            store=ProfileStore(),
            read_only_flag=read_only,
            refresh_flag=refresh,
        )
    except NoGatewayChosen as exc:
        if allow_none:
            # The console opens its profiles screen with a hint (and offers the demo).
            return Connection(client_config=None, display_url="", read_only=read_only)
        raise ConfigError(str(exc)) from exc
    except ProfileConfigError as exc:
        raise ConfigError(str(exc)) from exc
    return Connection(
        client_config=resolved.client_config(),
        display_url=resolved.base_url,
        profile_name=resolved.profile,
        read_only=resolved.read_only,
        profile_read_only="profile" in resolved.read_only_reasons,
        refresh=resolved.refresh,
        providers=list(resolved.providers) if resolved.providers is not None else None,
        accent=resolved.accent,
        confirm=resolved.confirm,
        bulk_concurrency=resolved.bulk_concurrency,
        canceling_stuck_minutes=resolved.canceling_stuck_minutes,
        finalizing_stuck_minutes=resolved.finalizing_stuck_minutes,
        warnings=list(resolved.warnings),
        profile=resolved,
    )
