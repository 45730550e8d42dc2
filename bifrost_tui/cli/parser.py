"""The argument parser: shared connection flags, and only the chosen command built in full."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from bifrost_tui import __version__
from bifrost_tui.core.interrupt import DEFAULT_GRACE

#: The longest ``--grace``: an hour.
MAX_GRACE = 3600.0


def _connection_flags(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    """Flags every command shares. On subcommands they default to SUPPRESS so that a flag given
    before the subcommand (``bifrost-tui --profile prod batches list``) is not reset."""
    default: Any = argparse.SUPPRESS if suppress else None
    group = parser.add_argument_group("connection")
    target = group.add_mutually_exclusive_group()
    target.add_argument("--profile", metavar="NAME", default=default, help="saved gateway profile")
    target.add_argument("--url", metavar="URL", default=default, help="gateway base URL")
    target.add_argument(
        "--demo",
        action="store_true",
        default=argparse.SUPPRESS if suppress else False,
        help="use the embedded simulated gateway",
    )
    group.add_argument(
        "--read-only",
        action="store_true",
        default=argparse.SUPPRESS if suppress else False,
        help="never cancel through this connection (can only tighten a profile)",
    )


def grace_seconds(text: str) -> float:
    """``--grace``: seconds, 0 to an hour (0: do not wait for the cancels in flight)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 <= value <= MAX_GRACE:  # also refuses NaN
        raise argparse.ArgumentTypeError(f"must be between 0 and {MAX_GRACE:g} seconds")
    return value


def add_grace_argument(parser: argparse.ArgumentParser, *, default: Any) -> None:
    """``--grace S``: after a signal (or a confirmed quit), how long to wait for the cancels
    already sent before they read ``unknown``. On ``batches cancel`` it defaults to SUPPRESS, so a
    ``--grace`` given before the subcommand is kept."""
    parser.add_argument(
        "--grace",
        type=grace_seconds,
        default=default,
        metavar="S",
        help=f"on Ctrl-C, SIGTERM or SIGHUP, wait up to S seconds for the cancels in flight "
        f"(default {DEFAULT_GRACE:g}; 0: do not wait)",
    )


#: Top-level commands and their one-line help. Only the command being run gets its full argument
#: set (and imports its module): the scriptable path starts fast and never imports Textual.
COMMANDS = {
    "batches": "list, show, cancel and watch batches; read their results",
    "profiles": "saved gateway profiles",
    "paths": "where config, state and logs live",
    "audit": "the cancel audit trail",
    "sim": "serve the simulated gateway on loopback",
}
BATCH_ACTIONS = {
    "list": "list batches by provider",
    "show": "show one batch",
    "cancel": "cancel one batch, several ids, or every active batch that matches",
    "watch": "print status changes until the watched batches end",
    "results": "summarise an ended batch's results; export what to resubmit",
}
#: Top-level options that take a value (their value is never a command name).
_VALUED = {"--profile", "--url", "--refresh", "--grace"}


def _chosen(argv: Sequence[str], names: Iterable[str]) -> str | None:
    """The first word of ``argv`` that names a command (``None``: --help, or the console)."""
    wanted = set(names)
    skip = False
    for word in argv:
        if skip:
            skip = False
        elif word in _VALUED:
            skip = True
        elif word in wanted:
            return word
    return None


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser; with ``argv`` (the normal path) only the chosen command is built in full."""
    parser = argparse.ArgumentParser(
        prog="bifrost-tui",
        description="Terminal console for the batch jobs behind a Bifrost AI gateway.",
        epilog="The virtual key is read from the environment (BIFROST_VK, or the variable a "
        "profile names), never from the command line.",
    )
    parser.add_argument("--version", action="version", version=f"bifrost-tui {__version__}")
    _connection_flags(parser, suppress=False)
    parser.add_argument("--refresh", type=float, metavar="SECONDS", help="auto-refresh interval")
    parser.add_argument("--no-mouse", action="store_true", help="do not capture the mouse")
    parser.add_argument(
        "--no-bell", action="store_true", help="no terminal bell when a cancelled batch ends"
    )
    add_grace_argument(parser, default=DEFAULT_GRACE)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    everything = argv is None
    chosen = _chosen(argv or [], COMMANDS)
    builders = {
        "batches": _add_batches,
        "profiles": _add_profiles,
        "paths": _add_profiles,  # registered together with `profiles`
        "audit": _add_audit,
        "sim": _add_sim,
    }
    done: set[Callable[..., None]] = set()
    for name, help_text in COMMANDS.items():
        builder = builders[name]
        if everything or name == chosen:
            if builder not in done:
                done.add(builder)
                builder(sub, argv)
        elif not (name in ("profiles", "paths") and chosen in ("profiles", "paths")):
            sub.add_parser(name, help=help_text)
    return parser


def _add_batches(sub: Any, argv: Sequence[str] | None) -> None:
    batches = sub.add_parser("batches", help=COMMANDS["batches"])
    bsub = batches.add_subparsers(dest="batches_command", metavar="ACTION", required=True)
    action = None if argv is None else _chosen(argv[argv.index("batches") + 1 :], BATCH_ACTIONS)

    def wanted(name: str) -> bool:
        return argv is None or action is None or action == name

    for name in ("list", "show"):
        if not wanted(name):
            bsub.add_parser(name, help=BATCH_ACTIONS[name])
    if wanted("list"):
        p_list = bsub.add_parser("list", help=BATCH_ACTIONS["list"])
        _connection_flags(p_list, suppress=True)
        p_list.add_argument(
            "--provider", action="append", metavar="P", help="only this provider (repeatable)"
        )
        p_list.add_argument(
            "--first-page",
            action="store_true",
            help="no deep listing: first page per provider only",
        )
        fmt = p_list.add_mutually_exclusive_group()
        fmt.add_argument("--json", action="store_true", help="versioned JSON envelope")
        fmt.add_argument(
            "--csv", action="store_true", help="CSV (cells neutralised against formula injection)"
        )
    if wanted("show"):
        p_show = bsub.add_parser("show", help=BATCH_ACTIONS["show"])
        _connection_flags(p_show, suppress=True)
        p_show.add_argument("batch_id", metavar="ID")
        p_show.add_argument(
            "--provider",
            metavar="P",
            help="the batch's provider (default: ask every provider the id's shape fits)",
        )
        p_show.add_argument("--json", action="store_true")
    if wanted("cancel"):
        from bifrost_tui.cli.cancel import add_cancel_arguments

        p_cancel = bsub.add_parser("cancel", help=BATCH_ACTIONS["cancel"])
        _connection_flags(p_cancel, suppress=True)
        add_cancel_arguments(p_cancel)
    else:
        bsub.add_parser("cancel", help=BATCH_ACTIONS["cancel"])
    if wanted("watch"):
        from bifrost_tui.cli.watch import add_watch_arguments

        add_watch_arguments(bsub, lambda p: _connection_flags(p, suppress=True))
    else:
        bsub.add_parser("watch", help=BATCH_ACTIONS["watch"])
    if wanted("results"):
        from bifrost_tui.cli.results import add_results_arguments

        add_results_arguments(bsub, lambda p: _connection_flags(p, suppress=True))
    else:
        bsub.add_parser("results", help=BATCH_ACTIONS["results"])


def _add_profiles(sub: Any, argv: Sequence[str] | None) -> None:
    from bifrost_tui.cli.profiles import add_profile_commands

    add_profile_commands(sub)


def _add_audit(sub: Any, argv: Sequence[str] | None) -> None:
    from bifrost_tui.cli.audit import add_audit_commands

    add_audit_commands(sub)


def _add_sim(sub: Any, argv: Sequence[str] | None) -> None:
    from bifrost_tui.sim.cli import add_arguments as add_sim_arguments

    add_sim_arguments(sub.add_parser("sim", help=COMMANDS["sim"]))


__all__ = ["BATCH_ACTIONS", "COMMANDS", "add_grace_argument", "build_parser"]
