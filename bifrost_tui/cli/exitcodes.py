"""Exit codes of every command, one table (the README repeats it)."""

from __future__ import annotations

from bifrost_tui.gateway.errors import GatewayError, GatewayTimeout, ServerError, Unreachable

EXIT_OK = 0  # success
EXIT_GATEWAY_REFUSED = 1  # the gateway refused (4xx, or its own configuration error)
EXIT_USAGE = 2  # usage or configuration error
EXIT_UNREACHABLE = 3  # gateway unreachable, timed out, or down behind its proxy (502/503/504)
EXIT_PARTIAL = 4  # partial: some providers or batches failed, or a cancel's outcome is unknown
EXIT_LOCAL_REFUSAL = 5  # refused locally (read-only, not cancellable, not confirmed)
EXIT_INTERRUPTED = 130  # interrupted (Ctrl-C)


def exit_code_for_error(error: GatewayError | None) -> int:
    """Unreachable, timed out or a 5xx from a proxy: 3. Anything the gateway said no to: 1."""
    if error is None:
        return EXIT_OK
    if isinstance(error, Unreachable | GatewayTimeout | ServerError):
        return EXIT_UNREACHABLE
    return EXIT_GATEWAY_REFUSED
