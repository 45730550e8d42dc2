"""The shape of the house: module sizes, what the CLI's entry module imports, the README's tree."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "bifrost_tui"
MAX_LINES = 600

#: Modules allowed over MAX_LINES, each with the reason it reads better whole.
OVERSIZED: dict[str, str] = {}


def line_count(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def test_no_module_is_over_600_lines_unless_listed_with_its_reason() -> None:
    sizes = {p.relative_to(ROOT).as_posix(): line_count(p) for p in modules()}
    too_long = {name: n for name, n in sizes.items() if n > MAX_LINES and name not in OVERSIZED}
    assert not too_long, f"split these or list them with a reason: {too_long}"


def test_every_listed_oversized_module_still_exists_is_still_over_and_says_why() -> None:
    for name, reason in OVERSIZED.items():
        path = ROOT / name
        assert path.is_file(), f"{name} is listed but does not exist"
        assert line_count(path) > MAX_LINES, f"{name} is short now: take it off the list"
        assert reason.strip(), f"{name} is listed without a reason"


# ---- cli/__init__.py: one-shot commands stay fast because the entry module imports almost nothing

CLI_INIT = PACKAGE / "cli" / "__init__.py"
#: What the entry module may import at run time: argparse and the parser; ``__future__`` and
#: ``typing.TYPE_CHECKING`` cost nothing.
ALLOWED_IMPORTS = {"__future__", "argparse", "bifrost_tui.cli.parser"}


def is_type_checking_block(node: ast.stmt) -> bool:
    if not isinstance(node, ast.If):
        return False
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def module_level_imports(tree: ast.Module) -> list[tuple[str, list[str]]]:
    """(module, names) of every import that runs when the module is imported.

    Imports inside functions and classes are lazy and imports under ``if TYPE_CHECKING:`` never
    run, so neither counts; any other block at module level (``try``, ``if``) does.
    """
    found: list[tuple[str, list[str]]] = []
    pending: list[ast.stmt] = list(tree.body)
    while pending:
        node = pending.pop(0)
        if isinstance(node, ast.Import):
            found.extend((alias.name, []) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "imports are absolute"
            found.append((node.module or "", [alias.name for alias in node.names]))
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        elif is_type_checking_block(node):
            assert isinstance(node, ast.If)
            pending.extend(node.orelse)
        else:
            pending.extend(c for c in ast.iter_child_nodes(node) if isinstance(c, ast.stmt))
    return found


def imported_modules(imports: list[tuple[str, list[str]]]) -> set[str]:
    out: set[str] = set()
    for module, names in imports:
        if module == "typing" and names == ["TYPE_CHECKING"]:
            continue
        if module == "bifrost_tui.cli" and names == ["parser"]:
            out.add("bifrost_tui.cli.parser")  # ``from bifrost_tui.cli import parser``
            continue
        out.add(module)
    return out


def test_the_cli_entry_module_imports_only_argparse_and_the_parser() -> None:
    tree = ast.parse(CLI_INIT.read_text(encoding="utf-8"))
    extra = imported_modules(module_level_imports(tree)) - ALLOWED_IMPORTS
    assert not extra, f"cli/__init__.py must import these lazily, inside functions: {extra}"


def test_the_import_check_sees_imports_that_run_and_ignores_the_others() -> None:
    source = (
        "from __future__ import annotations\n"
        "import argparse\n"
        "from typing import TYPE_CHECKING\n"
        "from bifrost_tui.cli import parser\n"
        "if TYPE_CHECKING:\n"
        "    from collections.abc import Sequence\n"
        "try:\n"
        "    import json\n"
        "except ImportError:\n"
        "    pass\n"
        "def main():\n"
        "    from bifrost_tui.ui.app import run_console\n"
    )
    found = imported_modules(module_level_imports(ast.parse(source)))
    assert found == {"__future__", "argparse", "bifrost_tui.cli.parser", "json"}


# ---- the README's Architecture tree names exactly what is there

README = ROOT / "README.md"
PATH_TOKEN = re.compile(r"^[\w.-]+(/|\.[a-z]+)$")


def architecture_block() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Architecture\n", 1)[1].split("\n## ", 1)[0]
    return section.split("```", 2)[1].splitlines()[1:]


def tree_paths(lines: list[str]) -> set[str]:
    """Every path the tree names, relative to the repository's root.

    A line names paths when the text before its first double space is made only of path-like
    words (``clock.py``, ``config/``, ``paths.py, errors.py``); anything else continues the
    description above. Two spaces of indent per level; a line naming one directory opens it.
    """
    paths: set[str] = set()
    parents: list[str] = []
    for line in lines:
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip(" "))
        names = re.split(r"[,\s]+", line.strip().split("  ", 1)[0].strip(", "))
        if not all(PATH_TOKEN.match(name) for name in names):
            continue
        assert indent % 2 == 0, f"odd indent in the README tree: {line!r}"
        depth = indent // 2
        assert depth <= len(parents), f"indented below no directory: {line!r}"
        parents = parents[:depth]
        for name in names:
            paths.add("".join(parents) + name)
        if len(names) == 1 and names[0].endswith("/"):
            parents.append(names[0])
    return paths


def test_the_tree_parser_follows_indents_and_skips_descriptions() -> None:
    lines = [
        "pkg/                  a package",
        "  a.py, b.py          two modules",
        "  sub/                a subpackage whose description",
        "                      goes on: caps, retries",
        "    c.py",
        "  d.tcss",
        "tests/                unit/ and more",
    ]
    assert tree_paths(lines) == {
        "pkg/",
        "pkg/a.py",
        "pkg/b.py",
        "pkg/sub/",
        "pkg/sub/c.py",
        "pkg/d.tcss",
        "tests/",
    }


def test_every_path_the_readme_tree_names_exists() -> None:
    named = tree_paths(architecture_block())
    assert "bifrost_tui/" in named
    missing = sorted(
        p for p in named if not ((ROOT / p).is_dir() if p.endswith("/") else (ROOT / p).is_file())
    )
    assert not missing, f"the README's Architecture tree names what is not there: {missing}"


def test_every_package_under_bifrost_tui_is_in_the_readme_tree() -> None:
    named = tree_paths(architecture_block())
    packages = {
        init.parent.relative_to(ROOT).as_posix() + "/"
        for init in PACKAGE.rglob("__init__.py")
        if "__pycache__" not in init.parts
    }
    unnamed = sorted(packages - named)
    assert not unnamed, f"packages missing from the README's Architecture tree: {unnamed}"
