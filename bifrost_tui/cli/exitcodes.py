"""Exit codes of every command, one table (the README repeats it)."""

from __future__ import annotations

from collections.abc import Iterable

from bifrost_tui.gateway.errors import GatewayError, GatewayTimeout, ServerError, Unreachable

EXIT_OK = 0  # success
EXIT_GATEWAY_REFUSED = 1  # the gateway refused (4xx, or its own configuration error)
EXIT_USAGE = 2  # usage or configuration error
EXIT_UNREACHABLE = 3  # gateway unreachable, timed out, or down behind its proxy (502/503/504)
EXIT_PARTIAL = 4  # partial: some providers or batches failed, or a cancel's outcome is unknown
EXIT_LOCAL_REFUSAL = 5  # refused locally (read-only, not cancellable, not confirmed)
EXIT_INTERRUPTED = 130  # interrupted (Ctrl-C, SIGINT): 128 + the signal's number
EXIT_HANGUP = 129  # the terminal or SSH link was lost (SIGHUP)
EXIT_TERMINATED = 143  # terminated (SIGTERM, `kill`)


def exit_code_for_error(error: GatewayError | None) -> int:
    """Unreachable, timed out or a 5xx from a proxy: 3. Anything the gateway said no to: 1.

    A redirect (any 3xx, on any call) is never followed: the base URL is wrong, so 2.
    """
    if error is None:
        return EXIT_OK
    if error.status is not None and 300 <= error.status < 400:
        return EXIT_USAGE
    if isinstance(error, Unreachable | GatewayTimeout | ServerError):
        return EXIT_UNREACHABLE
    return EXIT_GATEWAY_REFUSED


def cancel_exit_code(outcomes: Iterable[tuple[str, GatewayError | None]], *, single: bool) -> int:
    """The exit code of ``batches cancel`` from each batch's outcome word and the error behind it.

    One batch: accepted 0; refused or not sent because of the gateway: that error's code (1 when
    the gateway said no, 3 when it could not be reached); unknown (sent, no answer) 4; not sent
    for a local reason (read-only, not cancellable, not confirmed) 5. Several batches: 0 when none
    is in trouble (already-ended ones are skipped), the shared code when every batch failed alike,
    else 4.
    """
    codes = [_outcome_code(outcome, err, single=single) for outcome, err in outcomes]
    trouble = set(codes) - {EXIT_OK}
    if not trouble:
        return EXIT_OK
    if len(trouble) == 1 and (single or EXIT_OK not in codes):
        return trouble.pop()
    return EXIT_PARTIAL


def _outcome_code(outcome: str, err: GatewayError | None, *, single: bool) -> int:
    if outcome in ("accepted", "selected"):  # "selected": a dry run would cancel it
        return EXIT_OK
    if outcome == "skipped":
        return EXIT_LOCAL_REFUSAL if single else EXIT_OK
    if outcome == "unknown":
        return EXIT_PARTIAL
    if err is not None:
        return exit_code_for_error(err)
    return EXIT_GATEWAY_REFUSED if outcome == "refused" else EXIT_LOCAL_REFUSAL
