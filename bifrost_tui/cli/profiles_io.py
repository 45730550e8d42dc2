"""The streams and environment of one ``profiles`` command, injectable for tests."""

from __future__ import annotations

import getpass
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TextIO

from pydantic import SecretStr

from bifrost_tui.cli import output
from bifrost_tui.config.errors import ConfigError


@dataclass
class ProfilesIO:
    """Where a ``profiles`` command reads secrets and environment, and writes what it says."""

    env: Mapping[str, str]
    stdin: TextIO
    stdout: TextIO
    stderr: TextIO

    def out(self, text: str = "") -> None:
        print(text, file=self.stdout)

    def err(self, text: str) -> None:
        print(text, file=self.stderr)

    def error(self, text: str) -> None:
        output.error(text, self.stderr)

    def warn(self, text: str) -> None:
        output.warn(text, self.stderr)

    def json(self, payload: dict[str, Any]) -> None:
        output.emit_envelope(payload, self.stdout)

    def is_tty(self) -> bool:
        try:
            return self.stdin.isatty()
        except (AttributeError, ValueError):
            return False

    def read_secret(self, what: str) -> SecretStr:
        """One secret from stdin: hidden prompt on a terminal, first line of a pipe otherwise."""
        if self.is_tty():
            value = getpass.getpass(f"{what}: ", stream=self.stderr)
        else:
            value = self.stdin.readline().rstrip("\r\n")
        if not value:
            raise ConfigError(f"no {what} on stdin")
        return SecretStr(value)
