"""Command line: launches the console, or runs the scriptable subcommands (no Textual import)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, TextIO

from bifrost_tui import __version__
from bifrost_tui.cli.exitcodes import (
    EXIT_GATEWAY_REFUSED,
    EXIT_INTERRUPTED,
    EXIT_LOCAL_REFUSAL,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    exit_code_for_error,
)
from bifrost_tui.formatting import STATE_LABELS, absolute_utc, counts_text, relative, time_column
from bifrost_tui.gateway.errors import GatewayError
from bifrost_tui.textsafe import safe_text

if TYPE_CHECKING:
    from bifrost_tui.config.connection import Connection
    from bifrost_tui.gateway.models import Batch
    from bifrost_tui.gateway.outcomes import CancelResult, ProviderListing

JSON_VERSION = 1


class UsageError(Exception):
    """Bad flags or configuration: exit 2 with the message."""


# --------------------------------------------------------------------------- argument parsing


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


#: Top-level commands and their one-line help. Only the command being run gets its full argument
#: set (and imports its module): the scriptable path starts fast and never imports Textual.
COMMANDS = {
    "batches": "list, show, cancel and watch batches",
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
}
#: Top-level options that take a value (their value is never a command name).
_VALUED = {"--profile", "--url", "--refresh"}


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
        p_show.add_argument("--provider", required=True, metavar="P")
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


def _add_profiles(sub: Any, argv: Sequence[str] | None) -> None:
    from bifrost_tui.cli.profiles import add_profile_commands

    add_profile_commands(sub)


def _add_audit(sub: Any, argv: Sequence[str] | None) -> None:
    from bifrost_tui.cli.audit import add_audit_commands

    add_audit_commands(sub)


def _add_sim(sub: Any, argv: Sequence[str] | None) -> None:
    from bifrost_tui.sim.cli import add_arguments as add_sim_arguments

    add_sim_arguments(sub.add_parser("sim", help=COMMANDS["sim"]))


# --------------------------------------------------------------------------- entry point


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(argv).parse_args(argv)
    try:
        return _dispatch(args)
    except UsageError as exc:
        print(f"bifrost-tui: {safe_text(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("bifrost-tui: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # `bifrost-tui batches list | head`: the reader left; say nothing more.
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the interpreter's flush
        return EXIT_OK


def _dispatch(args: argparse.Namespace) -> int:
    command = args.command
    if command is None:
        return _run_console(args)
    if command == "batches":
        handlers: dict[str, Callable[[argparse.Namespace, Connection], Any]] = {
            "list": cmd_list,
            "show": cmd_show,
            "cancel": _cmd_cancel,
            "watch": _cmd_watch,
        }
        connection = _open_connection(args)
        for warning in connection.warnings:
            print(f"warning: {safe_text(warning)}", file=sys.stderr)
        try:
            return asyncio.run(handlers[args.batches_command](args, connection))
        except GatewayError as exc:  # a last resort: every command reports its own errors
            return _report_error(exc, getattr(args, "json", False))
    if command == "sim":
        from bifrost_tui.sim.cli import run as run_sim

        return run_sim(args)
    if command == "audit":
        from bifrost_tui.cli.audit import run_audit

        return run_audit(args)
    if command in ("profiles", "paths"):
        from bifrost_tui.cli.profiles import run_paths, run_profiles

        return run_profiles(args) if command == "profiles" else run_paths(args)
    raise UsageError(f"unknown command {command!r}")


async def _cmd_watch(args: argparse.Namespace, conn: Connection) -> int:
    from bifrost_tui.cli.watch import run_watch

    return await run_watch(args, conn)


async def _cmd_cancel(args: argparse.Namespace, conn: Connection) -> int:
    from bifrost_tui.cli.cancel import cmd_cancel

    return await cmd_cancel(args, conn)


def _open_connection(args: argparse.Namespace, *, allow_none: bool = False) -> Connection:
    from bifrost_tui.config.connection import ConfigError, open_connection

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
    from bifrost_tui.ui.app import run_console  # Textual is imported only here

    return run_console(connection, mouse=not args.no_mouse, bell=not args.no_bell)


# --------------------------------------------------------------------------- batches list


async def cmd_list(args: argparse.Namespace, conn: Connection) -> int:
    from bifrost_tui.gateway.models import ProviderInfo
    from bifrost_tui.gateway.outcomes import ListingStatus

    async with conn.client() as client:
        notes: list[str] = []
        if args.provider:
            providers = [ProviderInfo(name=p, kind=p, batch_capable=True) for p in args.provider]
        else:
            try:
                discovery = await client.discover_providers(conn.providers)
            except GatewayError as exc:
                return _report_error(exc, args.json)
            providers = discovery.providers
            if discovery.note:
                notes.append(discovery.note)
        listings = await client.list_all(providers, deep=not args.first_page)
    skipped = [p for p in providers if not p.batch_capable]
    batches = [b for listing in listings for b in listing.batches]
    now = conn.clock.now()
    provider_rows = [listing.to_json() for listing in listings] + [
        {"name": p.name, "listing": "skipped", "missing": None, "error": p.reason} for p in skipped
    ]
    if args.json:
        from bifrost_tui.core.export import batches_json

        _emit_json(batches_json(batches, gateway=conn.display_url, providers=provider_rows))
    else:
        if args.csv:
            from bifrost_tui.core.export import write_csv

            write_csv(batches, sys.stdout)
        else:
            _print_batch_table(batches, now, sys.stdout)
        for listing in listings:
            if listing.status is ListingStatus.COMPLETE:
                continue
            detail = listing.missing or (listing.error.describe() if listing.error else "")
            print(
                f"{safe_text(listing.provider)}: listing {listing.status.value}: "
                f"{safe_text(detail)}",
                file=sys.stderr,
            )
        for p in skipped:
            print(
                f"{safe_text(p.name)}: not listed: {safe_text(p.reason or 'no batch support')}",
                file=sys.stderr,
            )
        for note in notes:
            print(f"note: {safe_text(note)}", file=sys.stderr)
    return _listing_exit_code(listings)


def _listing_exit_code(listings: Sequence[ProviderListing]) -> int:
    from bifrost_tui.gateway.outcomes import ListingStatus

    if not listings:
        return EXIT_OK
    errors = [x for x in listings if x.status is ListingStatus.ERROR]
    if len(errors) == len(listings):
        codes = {exit_code_for_error(x.error) for x in errors if x.error is not None}
        return codes.pop() if len(codes) == 1 else EXIT_PARTIAL
    if errors or any(x.status is ListingStatus.PARTIAL for x in listings):
        return EXIT_PARTIAL
    return EXIT_OK


def _print_batch_table(batches: Sequence[Batch], now: Any, out: TextIO) -> None:
    """A readable table that never truncates ids, also when piped."""
    header = ("PROVIDER", "ID", "STATUS", "STATE", "REQUESTS", "CREATED", "EXPIRES/ENDED")
    rows = [
        (
            safe_text(b.provider),
            safe_text(b.id),
            safe_text(b.processing_status),
            STATE_LABELS[b.state],
            counts_text(b.request_counts),
            relative(b.created_at, now),
            time_column(b, now),
        )
        for b in batches
    ]
    if not rows:
        print("no batches", file=out)
        return
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print(
            "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip(), file=out
        )


# --------------------------------------------------------------------------- batches show


async def cmd_show(args: argparse.Namespace, conn: Connection) -> int:
    async with conn.client() as client:
        try:
            batch = await client.get_batch(args.provider, args.batch_id)
        except GatewayError as exc:
            return _report_error(exc, args.json)
    if args.json:
        _emit_json({"version": JSON_VERSION, "batch": batch.to_json()})
    else:
        _print_batch_detail(batch, conn.clock.now(), sys.stdout)
    return EXIT_OK


def _print_batch_detail(batch: Batch, now: Any, out: TextIO) -> None:
    lines = [
        ("id", safe_text(batch.id)),
        ("provider", safe_text(batch.provider)),
        ("status", f"{safe_text(batch.processing_status)} ({STATE_LABELS[batch.state]})"),
        ("cancellable", "yes" if batch.cancellable else "no"),
        ("requests", counts_text(batch.request_counts)),
    ]
    for name in ("created_at", "expires_at", "ended_at", "cancel_initiated_at", "archived_at"):
        value = getattr(batch, name)
        text = "—" if value is None else f"{absolute_utc(value)} ({relative(value, now)})"
        lines.append((name, text))
    if batch.results_url:
        lines.append(("results_url", safe_text(batch.results_url)))
    width = max(len(k) for k, _ in lines)
    for key, value in lines:
        print(f"{key.ljust(width)}  {value}", file=out)


# --------------------------------------------------------------------------- batches cancel


def _report_cancel(result: CancelResult, as_json: bool) -> int:
    from bifrost_tui.gateway.outcomes import CancelOutcome

    code = {
        CancelOutcome.ACCEPTED: EXIT_OK,
        CancelOutcome.REFUSED: EXIT_GATEWAY_REFUSED,
        CancelOutcome.UNKNOWN: EXIT_PARTIAL,
    }[result.outcome]
    batch = result.batch
    if as_json:
        _emit_json(
            {
                "version": JSON_VERSION,
                "outcome": result.outcome.value,
                "provider": result.provider,
                "batch_id": result.batch_id,
                "http_status": result.http_status,
                "request_id": result.request_id,
                "error": result.error.describe() if result.error else None,
                "batch": batch.to_json() if batch is not None else None,
                "reread_error": result.reread_error.describe() if result.reread_error else None,
            }
        )
        return code
    words = {
        CancelOutcome.ACCEPTED: "cancel accepted",
        CancelOutcome.REFUSED: "cancel refused",
        CancelOutcome.UNKNOWN: "cancel outcome unknown (no answer; not retried)",
    }[result.outcome]
    print(f"{words}: {safe_text(result.batch_id)} on {safe_text(result.provider)}")
    if result.error is not None:
        print(f"  gateway said: {safe_text(result.error.describe())}")
    if batch is not None:
        print(
            f"  now: {safe_text(batch.processing_status)} ({STATE_LABELS[batch.state]}), "
            f"requests {counts_text(batch.request_counts)}"
        )
    elif result.reread_error is not None:
        print(f"  could not re-read the batch: {safe_text(result.reread_error.describe())}")
    return code


# --------------------------------------------------------------------------- helpers


def _emit_json(payload: dict[str, Any]) -> None:
    # ensure_ascii keeps control and bidi characters escaped in the JSON text itself.
    json.dump(payload, sys.stdout, ensure_ascii=True, indent=2)
    sys.stdout.write("\n")


def _report_error(exc: GatewayError, as_json: bool) -> int:
    code = exit_code_for_error(exc)
    if as_json:
        _emit_json(
            {
                "version": JSON_VERSION,
                "error": {
                    "kind": exc.kind,
                    "status": exc.status,
                    "type": exc.error_type,
                    "message": exc.message,
                    "request_id": exc.request_id,
                },
            }
        )
    print(f"bifrost-tui: {safe_text(exc.describe())}", file=sys.stderr)
    return code


def _refuse_locally(message: str, as_json: bool, batch: Batch | None = None) -> int:
    if as_json:
        _emit_json(
            {
                "version": JSON_VERSION,
                "outcome": "not_sent",
                "error": {"kind": "refused locally", "message": message},
                "batch": batch.to_json() if batch is not None else None,
            }
        )
    print(f"bifrost-tui: {safe_text(message)}", file=sys.stderr)
    return EXIT_LOCAL_REFUSAL


__all__ = ["EXIT_UNREACHABLE", "build_parser", "main"]
