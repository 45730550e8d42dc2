"""The one tree of configuration errors: every problem the operator must fix, exit code 2."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bifrost_tui.textsafe import quoted, safe_text


class ConfigError(Exception):
    """A configuration problem the operator must fix; the CLI exits 2. Never holds a secret.

    Raised for a broken or missing profile, a bad flag, and a connection that cannot be made as
    asked (no gateway configured).
    """


@dataclass(frozen=True, slots=True)
class FileIssue:
    """One thing wrong with the profiles file, located as precisely as we can."""

    problem: str
    line: int | None = None
    column: int | None = None
    profile: str | None = None
    field: str | None = None

    def describe(self) -> str:
        where: list[str] = []
        if self.line is not None:
            where.append(f"line {self.line}" + (f", column {self.column}" if self.column else ""))
        if self.profile is not None:
            where.append(f"profile {quoted(self.profile)}")
        if self.field is not None:
            where.append(f"field {quoted(self.field)}")
        head = ": ".join([", ".join(where)]) if where else ""
        return f"{head}: {self.problem}" if head else self.problem


class ProfileFileError(ConfigError):
    """profiles.toml cannot be used: it names the file and, per issue, line, profile and field."""

    def __init__(self, path: Path, issues: list[FileIssue]) -> None:
        self.path = path
        self.issues = issues
        lines = [f"{safe_text(str(path))}: {issue.describe()}" for issue in issues]
        super().__init__("\n".join(lines))

    @property
    def line(self) -> int | None:
        return self.issues[0].line if self.issues else None

    @property
    def field(self) -> str | None:
        return self.issues[0].field if self.issues else None

    @property
    def profile(self) -> str | None:
        return self.issues[0].profile if self.issues else None


class ProfileNotFound(ConfigError):
    def __init__(self, name: str, path: Path, known: list[str]) -> None:
        self.name = name
        hint = f"known: {', '.join(known)}" if known else "the file has no profiles"
        super().__init__(f"no profile {quoted(name)} in {safe_text(str(path))} ({hint})")


class ProfileExists(ConfigError):
    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(
            f"profile {quoted(name)} already exists; change it with `bifrost-tui profiles edit`"
        )


class NoGatewayChosen(ConfigError):
    """Nothing names a gateway: no flag, no environment, no default profile.

    The console may open its profiles screen instead of failing; every other ``ConfigError``
    (unknown profile, broken file, bad URL) must be shown to the operator.
    """


class ConcurrentModification(ConfigError):
    """The file changed under us (another console or CLI, or an editor): nothing was written."""

    def __init__(self, path: Path, why: str = "changed since it was read") -> None:
        super().__init__(
            f"{safe_text(str(path))} {why} (another bifrost-tui or an editor?); "
            "nothing was written: reload and retry"
        )
