"""``bifrost-tui sim``: serve the simulated gateway on loopback until Ctrl-C.

The virtual key accepted with ``--require-virtual-key`` comes from the environment
(``BIFROST_SIM_VK``, default ``sk-bf-demo``) and the dashboard password from
``BIFROST_SIM_PASSWORD``: secrets never go on a command line, and none is ever printed.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import signal
import sys
import threading
from collections.abc import Callable, Mapping
from datetime import timedelta
from types import FrameType
from typing import TextIO

from pydantic import SecretStr

from bifrost_tui.clock import ScaledClock
from bifrost_tui.sim.faults import Faults
from bifrost_tui.sim.model import DashboardAuth, VirtualKey
from bifrost_tui.sim.server import SimServer
from bifrost_tui.sim.world import DEFAULT_CANCEL_DELAY, SimWorld

VK_ENV = "BIFROST_SIM_VK"
DEFAULT_VK = "sk-bf-demo"
PASSWORD_ENV = "BIFROST_SIM_PASSWORD"  # noqa: S105 - a variable name
#: A year either way: enough for any test of a skewed clock, and inside datetime's range.
MAX_CLOCK_SKEW = 366 * 86400.0
MAX_KEYS_PER_PROVIDER = 16
EXIT_OK = 0
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``sim`` subcommand's flags."""
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port (default 0: any free port)")
    parser.add_argument("--seed", type=int, default=7, help="world seed (default 7)")
    parser.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        metavar="X",
        help="simulated seconds per real second (default 1)",
    )
    parser.add_argument(
        "--batches-per-provider",
        type=int,
        default=None,
        metavar="N",
        help="exactly N batches per provider account (default: a realistic 8-25)",
    )
    parser.add_argument(
        "--keys-per-provider",
        type=int,
        default=1,
        metavar="N",
        help="N batch keys per batch provider, each its own account (default 1)",
    )
    parser.add_argument(
        "--shared-account",
        action="store_true",
        help="with --keys-per-provider, every key of a provider reaches the same account",
    )
    parser.add_argument(
        "--cancel-delay",
        type=float,
        default=DEFAULT_CANCEL_DELAY,
        metavar="S",
        help=f"simulated seconds a cancel takes to finish (default {DEFAULT_CANCEL_DELAY:g})",
    )
    parser.add_argument(
        "--require-virtual-key",
        action="store_true",
        help=f"inference routes need x-bf-vk (the value of ${VK_ENV}, or the documented default)",
    )
    parser.add_argument(
        "--dashboard-auth",
        metavar="USER",
        default=None,
        help=f"turn dashboard auth on for USER (password from ${PASSWORD_ENV})",
    )
    parser.add_argument(
        "--auth-on-inference",
        action="store_true",
        help="with --dashboard-auth, guard the batch routes too (disable_auth_on_inference: false)",
    )
    parser.add_argument("--latency", type=float, default=0.0, metavar="S", help="added latency")
    parser.add_argument(
        "--cancel-latency",
        type=float,
        default=0.0,
        metavar="S",
        help="latency added to cancels only (listings stay fast): to interrupt a cancel run",
    )
    parser.add_argument(
        "--error-rate",
        type=float,
        default=0.0,
        metavar="R",
        help="fraction of requests answered 502/503/500 by a 'reverse proxy'",
    )
    parser.add_argument(
        "--clock-skew",
        type=float,
        default=0.0,
        metavar="S",
        help="the gateway's clock runs S seconds ahead of this machine's (negative: behind)",
    )


def run(
    args: argparse.Namespace,
    *,
    env: Mapping[str, str] | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
    ready: Callable[[str], None] | None = None,
    stop: threading.Event | None = None,
) -> int:
    """Serve until Ctrl-C (130), SIGTERM, SIGHUP or ``stop`` (0); ``ready`` gets the URL."""
    env = os.environ if env is None else env
    out = out or sys.stdout
    err = err or sys.stderr
    problem = _check(args, env)
    if problem:
        print(f"bifrost-tui sim: {problem}", file=err)
        return EXIT_USAGE
    clock = ScaledClock(scale=args.time_scale)
    skew = timedelta(seconds=args.clock_skew)
    auth = None
    if args.dashboard_auth:
        auth = DashboardAuth(
            args.dashboard_auth,
            SecretStr(env[PASSWORD_ENV]),
            on_inference=args.auth_on_inference,
        )
    world = SimWorld.demo(
        clock,
        seed=args.seed,
        batches_per_provider=args.batches_per_provider,
        keys_per_provider=args.keys_per_provider,
        shared_account=args.shared_account,
        cancel_delay=args.cancel_delay,
        faults=Faults(
            latency=args.latency,
            error_rate=args.error_rate,
            cancel_latency=args.cancel_latency,
        ),
        require_virtual_key=args.require_virtual_key,
        virtual_keys=[VirtualKey(SecretStr(env.get(VK_ENV) or DEFAULT_VK), name="sim-cli")],
        dashboard_auth=auth,
        clock_skew=skew,
    )
    server = SimServer(world, host=args.host, port=args.port)
    try:
        url = server.start()
    except OSError as exc:
        print(f"bifrost-tui sim: cannot listen on {args.host}:{args.port}: {exc}", file=err)
        return EXIT_USAGE
    stop = stop or threading.Event()
    previous = _on_signals(stop)  # before the banner: whoever reads it may signal at once
    _banner(out, url, world, args, env)
    if ready is not None:
        ready(url)
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        print("\nbifrost-tui sim: stopped", file=out, flush=True)
        return EXIT_INTERRUPTED
    finally:
        server.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    print("bifrost-tui sim: stopped", file=out, flush=True)
    return EXIT_OK


def _check(args: argparse.Namespace, env: Mapping[str, str]) -> str | None:
    if not 0 <= args.port <= 65535:
        return "--port must be between 0 and 65535"
    if not args.time_scale > 0:
        return "--time-scale must be positive"
    if not 0 <= args.error_rate <= 1:
        return "--error-rate must be between 0 and 1"
    if not abs(args.clock_skew) <= MAX_CLOCK_SKEW:
        return f"--clock-skew must be within a year (±{MAX_CLOCK_SKEW:.0f} seconds)"
    if not (args.latency >= 0 and args.cancel_delay >= 0 and args.cancel_latency >= 0):
        return "--latency, --cancel-latency and --cancel-delay must not be negative"
    if args.batches_per_provider is not None and args.batches_per_provider < 0:
        return "--batches-per-provider must not be negative"
    if not 1 <= args.keys_per_provider <= MAX_KEYS_PER_PROVIDER:
        return f"--keys-per-provider must be between 1 and {MAX_KEYS_PER_PROVIDER}"
    if args.dashboard_auth and not env.get(PASSWORD_ENV):
        return f"--dashboard-auth needs the password in ${PASSWORD_ENV}"
    if args.auth_on_inference and not args.dashboard_auth:
        return "--auth-on-inference needs --dashboard-auth"
    vk = env.get(VK_ENV)
    if args.require_virtual_key and vk and not vk.startswith("sk-bf-"):
        return f"${VK_ENV} must start with sk-bf- (a Bifrost virtual key)"
    return None


def _banner(
    out: TextIO, url: str, world: SimWorld, args: argparse.Namespace, env: Mapping[str, str]
) -> None:
    count = len(world.all_batches())
    providers = world.batch_providers()
    lines = [
        f"bifrost-tui simulator: a simulated Bifrost gateway, not a real one - serving on {url}",
        f"  world: seed {args.seed}, {count} batches across {len(providers)} batch providers "
        f"({', '.join(providers)}), time x{args.time_scale:g}, cancel delay {args.cancel_delay:g}s",
    ]
    if args.require_virtual_key:
        source = f"${VK_ENV}" if env.get(VK_ENV) else f"the default (${VK_ENV} unset)"
        lines.append(f"  virtual key required in x-bf-vk: the value of {source}")
    if args.dashboard_auth:
        scope = "management and batch routes" if args.auth_on_inference else "management routes"
        lines.append(f"  dashboard auth on ({scope}; password from ${PASSWORD_ENV})")
    if args.keys_per_provider > 1:
        accounts = "sharing one account" if args.shared_account else "each its own account"
        lines.append(f"  keys: {args.keys_per_provider} batch keys per provider, {accounts}")
    if args.clock_skew:
        lines.append(f"  clock: {args.clock_skew:+g}s from this machine's (--clock-skew)")
    if args.latency or args.error_rate or args.cancel_latency:
        lines.append(
            f"  faults: latency {args.latency:g}s, cancel latency {args.cancel_latency:g}s, "
            f"error rate {args.error_rate:g}"
        )
    if not _is_loopback(args.host):
        lines.append("  warning: listening beyond loopback; this is a test double, not a gateway")
    lines.append(f"  connect the console: bifrost-tui --url {url}")
    lines.append("Press Ctrl-C to stop.")
    print("\n".join(lines), file=out, flush=True)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


#: What a signal handler was before ``_on_signals`` replaced it, to put back.
_Previous = dict[int, "signal.Handlers | Callable[[int, FrameType | None], object] | int | None"]


def _on_signals(stop: threading.Event) -> _Previous:
    """Ctrl-C stops the server (130) and SIGTERM or SIGHUP end it cleanly (0); only possible from
    the main thread. SIGINT is set explicitly: a shell that starts a background job without job
    control (``bash -c 'bifrost-tui sim &'``) hands it down ignored, and it would never stop."""
    if threading.current_thread() is not threading.main_thread():
        return {}

    def _handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous: _Previous = {signal.SIGINT: signal.signal(signal.SIGINT, signal.default_int_handler)}
    for name in ("SIGTERM", "SIGHUP"):
        signum = getattr(signal, name, None)
        if signum is not None:
            previous[signum] = signal.signal(signum, _handler)
    return previous
