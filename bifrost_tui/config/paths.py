"""Every on-disk location the console uses (config, state, logs, exports), from platformdirs.

Nothing here creates a directory on import: callers that write ask for
``files.ensure_private_dir``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import platformdirs

APP_NAME = "bifrost-tui"
#: Overrides the config directory (profiles.toml and its backup) when set and non-empty.
CONFIG_DIR_ENV = "BIFROST_TUI_CONFIG_DIR"
CONFIG_FILENAME = "profiles.toml"
BACKUP_SUFFIX = ".bak"


def _env(env: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if env is None else env


def config_dir(env: Mapping[str, str] | None = None) -> Path:
    """Where profiles.toml lives: ``$BIFROST_TUI_CONFIG_DIR``, else the platform's config dir.

    On Linux the platform dir honours ``XDG_CONFIG_HOME`` (read at call time, so tests can move it).
    ``env`` only selects the override; platformdirs always reads the real process environment.
    """
    override = _env(env).get(CONFIG_DIR_ENV, "")
    if override:
        return Path(override).expanduser()
    return platformdirs.user_config_path(APP_NAME, appauthor=False)


def config_file(env: Mapping[str, str] | None = None) -> Path:
    """The profiles file."""
    return config_dir(env) / CONFIG_FILENAME


def backup_file(env: Mapping[str, str] | None = None) -> Path:
    """The copy of the previous profiles file kept before every write."""
    path = config_file(env)
    return path.with_name(path.name + BACKUP_SUFFIX)


def state_dir() -> Path:
    """Durable state that is not configuration (the audit log, audit.jsonl, lives here)."""
    return platformdirs.user_state_path(APP_NAME, appauthor=False)


def audit_file() -> Path:
    """The append-only audit log of every cancel attempt."""
    return state_dir() / "audit.jsonl"


def log_dir() -> Path:
    """Diagnostic logs (never containing secrets)."""
    return platformdirs.user_log_path(APP_NAME, appauthor=False)


def export_dir() -> Path:
    """Default destination for exported batch lists."""
    return platformdirs.user_data_path(APP_NAME, appauthor=False) / "exports"


def all_paths(env: Mapping[str, str] | None = None) -> dict[str, Path]:
    """Every location by name, in the order ``bifrost-tui paths`` prints them."""
    return {
        "config_dir": config_dir(env),
        "config_file": config_file(env),
        "config_backup": backup_file(env),
        "state_dir": state_dir(),
        "audit_log": audit_file(),
        "log_dir": log_dir(),
        "export_dir": export_dir(),
    }
