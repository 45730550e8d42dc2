"""``bifrost-tui paths``: every on-disk location, and the environment variables read."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from typing import TextIO

from bifrost_tui.cli.exitcodes import EXIT_OK
from bifrost_tui.cli.output import emit_envelope
from bifrost_tui.config import paths
from bifrost_tui.config.model import ENVIRONMENT_VARIABLES
from bifrost_tui.textsafe import safe_text


def run_paths(
    args: argparse.Namespace,
    *,
    env: Mapping[str, str] | None = None,
    stdout: TextIO | None = None,
) -> int:
    """Print every on-disk location and the environment variables the program reads."""
    env = os.environ if env is None else env
    out = stdout or sys.stdout
    locations = paths.all_paths(env)
    if getattr(args, "json", False):
        payload = {
            "paths": {k: str(v) for k, v in locations.items()},
            "exists": {k: v.exists() for k, v in locations.items()},
            "config_dir_override": env.get(paths.CONFIG_DIR_ENV) or None,
        }
        emit_envelope(payload, out)
        return EXIT_OK
    width = max(len(k) for k in locations)
    for key, value in locations.items():
        mark = "" if value.exists() else "  (not created yet)"
        print(f"{key.ljust(width)}  {safe_text(str(value))}{mark}", file=out)
    if env.get(paths.CONFIG_DIR_ENV):
        print(f"\n{paths.CONFIG_DIR_ENV} is set: it moves the config dir", file=out)
    print("\nenvironment variables read:", file=out)
    width = max(len(k) for k in ENVIRONMENT_VARIABLES)
    for name, meaning in ENVIRONMENT_VARIABLES.items():
        print(f"  {name.ljust(width)}  {meaning}", file=out)
    return EXIT_OK


__all__ = ["run_paths"]
