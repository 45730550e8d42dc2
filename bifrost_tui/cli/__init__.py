"""The command line: ``bifrost-tui`` launches the console or runs one scriptable command.

Only argparse and the parser are imported here: each command's module (and the gateway client,
and Textual for the console) is imported once that command is chosen, so a one-shot command
starts fast and never loads Textual.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from bifrost_tui.cli.parser import build_parser

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine, Sequence
    from typing import Any

    from bifrost_tui.config.connection import Connection

    #: A ``batches`` action: runs against one open connection, returns the exit code.
    BatchCommand = Callable[[argparse.Namespace, Connection], Coroutine[Any, Any, int]]


class UsageError(Exception):
    """Bad flags or configuration: exit 2 with the message."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``bifrost-tui`` with ``argv`` (default: the process's arguments); the exit code."""
    import sys

    # Last resort: what the terminal's encoding cannot show is printed as an escape, never fatal.
    for stream in (sys.stdout, sys.stderr):
        getattr(stream, "reconfigure", lambda **_: None)(errors="backslashreplace")
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(argv).parse_args(argv)
    from bifrost_tui.cli.exitcodes import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE
    from bifrost_tui.cli.output import error

    try:
        return _dispatch(args)
    except UsageError as exc:
        error(str(exc))
        return EXIT_USAGE
    except KeyboardInterrupt as exc:
        from bifrost_tui.cli.signals import was_reported

        if not was_reported(exc):
            error("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # `bifrost-tui batches list | head`: the reader left; say nothing more.
        import contextlib
        import os

        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the interpreter's flush
        return EXIT_OK


def _dispatch(args: argparse.Namespace) -> int:
    command = args.command
    if command is None:
        return _run_console(args)
    if command == "batches":
        return _run_batches(args)
    if command == "sim":
        from bifrost_tui.sim.cli import run as run_sim

        return run_sim(args)
    if command == "audit":
        from bifrost_tui.cli.audit import run_audit

        return run_audit(args)
    if command == "profiles":
        from bifrost_tui.cli.profiles import run_profiles

        return run_profiles(args)
    if command == "paths":
        from bifrost_tui.cli.paths import run_paths

        return run_paths(args)
    raise UsageError(f"unknown command {command!r}")


def _run_batches(args: argparse.Namespace) -> int:
    import asyncio
    import contextlib

    from bifrost_tui.cli.output import error, report_error, warn
    from bifrost_tui.cli.signals import Signalled, was_reported
    from bifrost_tui.core.skew import SkewTracker, skew_words
    from bifrost_tui.gateway.errors import GatewayError

    connection = _open_connection(args)
    for warning in connection.settings.warnings:
        warn(warning)
    # Said once, when the gateway's answers first show it: times it sends would read wrong.
    skew = SkewTracker(connection.clock, on_known=lambda s: warn(skew_words(s)))
    connection.date_listener = skew.observe
    command = _batch_command(args.batches_command)
    try:
        return asyncio.run(command(args, connection))
    except GatewayError as exc:  # a last resort: every command reports its own errors
        return report_error(exc, getattr(args, "json", False))
    except Signalled as exc:  # SIGTERM or SIGHUP while no cancel was in flight
        if not was_reported(exc):
            with contextlib.suppress(OSError):  # after a SIGHUP the terminal may be gone
                error(f"interrupted ({exc})")
        return exc.exit_code


def _batch_command(action: str) -> BatchCommand:
    """The ``batches`` action's function, its module imported only now."""
    if action == "cancel":
        from bifrost_tui.cli.cancel import cmd_cancel

        return cmd_cancel
    if action == "watch":
        from bifrost_tui.cli.watch import run_watch

        return run_watch
    if action == "results":
        from bifrost_tui.cli.results import cmd_results

        return cmd_results
    from bifrost_tui.cli.batches import cmd_list, cmd_show

    return {"list": cmd_list, "show": cmd_show}[action]


def _open_connection(args: argparse.Namespace, *, allow_none: bool = False) -> Connection:
    import os

    from bifrost_tui.config.connection import open_connection
    from bifrost_tui.config.errors import ConfigError

    try:
        return open_connection(
            profile=getattr(args, "profile", None),
            url=getattr(args, "url", None),
            demo=bool(getattr(args, "demo", False)),
            read_only=bool(getattr(args, "read_only", False)),
            refresh=getattr(args, "refresh", None),
            env=os.environ,
            allow_none=allow_none,
        )
    except ConfigError as exc:
        raise UsageError(str(exc)) from exc


def _run_console(args: argparse.Namespace) -> int:
    connection = _open_connection(args, allow_none=True)
    from bifrost_tui.ui.app import run_console  # the one place the CLI imports Textual

    return run_console(connection, mouse=not args.no_mouse, bell=not args.no_bell, grace=args.grace)


__all__ = ["main"]
