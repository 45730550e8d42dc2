"""One resolved connection to a gateway (profile, --url or --demo): what the CLI and console use."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from bifrost_tui.clock import Clock, SystemClock
from bifrost_tui.config import paths, trust
from bifrost_tui.config.errors import ConfigError, NoGatewayChosen
from bifrost_tui.config.model import ENV_READ_ONLY, env_flag
from bifrost_tui.config.resolve import ResolvedConnection, resolve_connection

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from datetime import datetime

    import httpx

    from bifrost_tui.gateway.client import ClientConfig, GatewayClient

DEMO_URL = "http://bifrost-sim.demo"


@dataclass
class Connection:
    """One gateway to reach: its resolved settings, plus what reaching it takes at run time."""

    #: Flags, environment and profile already merged: read the settings here.
    settings: ResolvedConnection
    #: ``None`` when no gateway is chosen yet: the console then opens its profiles screen.
    client_config: ClientConfig | None
    clock: Clock = field(default_factory=SystemClock)
    transport: httpx.AsyncBaseTransport | None = None
    demo: bool = False
    #: The simulated world behind --demo (the console's demo shows it is a simulator).
    world: Any = None
    #: Given every answer's ``Date`` by each client made here (the CLI's clock-skew warning).
    date_listener: Callable[[datetime], None] | None = None

    @property
    def display_url(self) -> str:
        return self.settings.base_url

    @property
    def profile_name(self) -> str | None:
        return self.settings.profile

    @property
    def label(self) -> str:
        if self.demo:
            return "demo (simulator)"
        return self.profile_name or "(no profile)"

    @asynccontextmanager
    async def client(self) -> AsyncIterator[GatewayClient]:
        client = self.make_client()
        try:
            yield client
        finally:
            await client.aclose()

    def make_client(self) -> GatewayClient:
        """A client the caller closes (the console keeps one for its lifetime)."""
        from bifrost_tui.gateway.client import GatewayClient

        if self.client_config is None:
            raise ConfigError("no gateway configured: choose a profile or pass --url")
        client = GatewayClient(self.client_config, transport=self.transport)
        if self.date_listener is not None:
            client.observe_dates(self.date_listener)
        return client


def demo_connection(
    *,
    read_only_reasons: tuple[str, ...] = (),
    clock: Clock | None = None,
    seed: int = 7,
    refresh: float = 5.0,
) -> Connection:
    """The embedded simulated gateway, in process: nothing leaves the machine.

    ``read_only_reasons`` name what made it read-only ("--read-only", ``BIFROST_READ_ONLY``).
    """
    from bifrost_tui.gateway.client import ClientConfig
    from bifrost_tui.sim import SimTransport, SimWorld

    clock = clock or SystemClock()
    world = SimWorld.demo(clock, seed=seed)
    return Connection(
        settings=ResolvedConnection(
            profile=None,
            base_url=DEMO_URL,
            read_only=bool(read_only_reasons),
            read_only_reasons=read_only_reasons,
            refresh=refresh,
        ),
        client_config=ClientConfig(base_url=DEMO_URL),
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
    its profiles screen with a hint instead. Raises ``ConfigError`` with a message for the operator.
    """
    if refresh is not None and refresh < 1:
        raise ConfigError("--refresh must be at least 1 second")
    flag_reasons = ("--read-only",) if read_only else ()
    if demo:
        # An unrecognised BIFROST_READ_ONLY value errs on the safe side (read-only). The demo
        # never reads the profiles file, so the store's module is not even imported.
        env_reasons = (ENV_READ_ONLY,) if env_flag(env.get(ENV_READ_ONLY)) is not False else ()
        return demo_connection(read_only_reasons=flag_reasons + env_reasons, refresh=refresh or 5.0)
    from bifrost_tui.config.store import ProfileStore

    # Before any request: the audit of a cancel is written there, by code that never checks.
    state_warnings = trust.check_state_dir(paths.state_dir(), paths.audit_file(), env)
    try:
        resolved = resolve_connection(
            profile_name=profile,
            url=url,
            env=env,
            store=ProfileStore(),
            read_only_flag=read_only,
            refresh_flag=refresh,
        )
    except NoGatewayChosen:
        if not allow_none:
            raise
        # The console opens its profiles screen with a hint (and offers the demo).
        return Connection(
            settings=ResolvedConnection(
                profile=None,
                base_url="",
                read_only=read_only,
                read_only_reasons=flag_reasons,
            ),
            client_config=None,
        )
    if state_warnings:
        resolved = replace(resolved, warnings=(*resolved.warnings, *state_warnings))
    return Connection(settings=resolved, client_config=resolved.client_config())
