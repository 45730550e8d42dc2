"""The command line: ``bifrost-tui`` and its subcommands."""

from bifrost_tui.cli.main import main

__all__ = ["main"]
