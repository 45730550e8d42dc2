"""What the console's first frame imports, and what each import costs (``python -X importtime``).

The console starts headless against a loopback URL that refuses every connection (nothing waits
on a network), as ``bifrost-tui --url URL`` would, in a child process with cached bytecode; once
its first frame is painted and the first poll has ended, the child lists ``sys.modules``. The
report turns that into the "What the first frame imports" section of RESULTS.md.
"""

from __future__ import annotations

import json
import socket
import statistics
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from bench.core import Row, ms
from bench.startup import LAUNCHERS, _env

#: Loaded by an action (a key, a screen, a listing's first page), never by the first frame
#: (tests/house/test_first_frame_imports.py asserts it; the report lists it).
NOT_IN_THE_FIRST_FRAME = (
    "bifrost_tui.sim",
    "bifrost_tui.core.export",
    "bifrost_tui.core.results",
    "bifrost_tui.audit.render",
    "bifrost_tui.gateway.batch_results",
    "bifrost_tui.ui.screens.audit",
    "bifrost_tui.ui.screens.bulk",
    "bifrost_tui.ui.screens.confirm",
    "bifrost_tui.ui.screens.detail",
    "bifrost_tui.ui.screens.events",
    "bifrost_tui.ui.screens.flagged",
    "bifrost_tui.ui.screens.help",
    "bifrost_tui.ui.screens.jump",
    "bifrost_tui.ui.screens.profiles",
    "bifrost_tui.ui.screens.results",
    "ijson",
)
#: How many of the most expensive imports the report names.
TOP = 10
PREFIX = "bifrost_tui."


@dataclass
class Node:
    """One line of ``-X importtime``: a module, its own and cumulative cost (us), its imports."""

    name: str
    own: int
    cumulative: int
    children: list[Node] = field(default_factory=list)


def parse_importtime(stderr: str) -> list[Node]:
    """The import tree ``-X importtime`` printed: the top-level imports, each with its children.

    A module's line comes after its children's, indented one level (two spaces) less.
    """
    pending: dict[int, list[Node]] = {}
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        own, cumulative, name = line.removeprefix("import time:").split("|", 2)
        depth = (len(name) - len(name.lstrip(" ")) - 1) // 2
        node = Node(name.strip(), int(own), int(cumulative), pending.pop(depth + 1, []))
        pending.setdefault(depth, []).append(node)
    return pending.get(0, [])


def walk(nodes: list[Node], parent: str = "") -> Iterator[tuple[str, Node]]:
    for node in nodes:
        yield parent, node
        yield from walk(node.children, node.name)


@contextmanager
def refused_url() -> Iterator[str]:
    """A loopback URL whose port is taken but never listens: connections are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


def _one_start() -> tuple[list[str], list[Node]]:
    with refused_url() as url:
        done = subprocess.run(
            [sys.executable, "-X", "importtime", str(LAUNCHERS / "first_frame.py"), url],
            capture_output=True,
            text=True,
            env=_env(),
            timeout=120,
            check=False,
        )
    if done.returncode != 0:
        raise RuntimeError(f"the console did not start: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1]), parse_importtime(done.stderr)


def _third_party(modules: list[str]) -> list[str]:
    tops = {m.split(".")[0] for m in modules}
    return sorted(
        t
        for t in tops
        if t not in sys.stdlib_module_names
        and t not in sys.builtin_module_names
        and not t.startswith("_")
        and t not in ("bifrost_tui", "sitecustomize", "usercustomize")
    )


def _ours(modules: list[str]) -> dict[str, list[str]]:
    """The program's modules by subpackage (``""``: the modules at the top of the package);
    a package whose modules are listed is not listed itself."""
    groups: dict[str, list[str]] = {}
    for module in modules:
        if not module.startswith(PREFIX) or any(m.startswith(module + ".") for m in modules):
            continue
        head, _, tail = module.removeprefix(PREFIX).partition(".")
        groups.setdefault(head if tail else "", []).append(tail or head)
    return groups


def first_frame_imports(runs: int = 5, *, warm: bool = True) -> list[Row]:
    if warm:  # the file and bytecode caches; not counted
        _one_start()
    starts = [_one_start() for _ in range(runs)]
    modules = starts[-1][0]
    cumulative: dict[str, list[int]] = {}
    biggest_child: dict[str, str] = {}
    total: list[int] = []
    for _, tree in starts:
        total.append(sum(node.cumulative for node in tree))
        for parent, node in walk(tree):
            # What the program imports itself: its modules and their direct imports.
            if node.name.startswith(PREFIX) or parent.startswith(PREFIX):
                cumulative.setdefault(node.name, []).append(node.cumulative)
                if node.children:
                    big = max(node.children, key=lambda c: c.cumulative)
                    biggest_child[node.name] = big.name
                    cumulative.setdefault(f"{node.name} > {big.name}", []).append(big.cumulative)
    med = {name: statistics.median(values) / 1e6 for name, values in cumulative.items()}
    app = med.get("bifrost_tui.ui.app", 0.0)
    top: list[dict[str, Any]] = []
    named: set[str] = set()  # a module named as another's biggest import is not listed again
    for name, seconds in sorted(med.items(), key=lambda kv: -kv[1]):
        if " > " in name or name == "bifrost_tui.ui.app" or name in named:
            continue
        entry: dict[str, Any] = {"module": name, "seconds": seconds}
        child = biggest_child.get(name)
        if child and med.get(f"{name} > {child}", 0.0) >= 0.4 * seconds:
            entry.update(child=child, child_seconds=med[f"{name} > {child}"])
            named.add(child)
        top.append(entry)
        if len(top) == TOP:
            break
    unwanted = sorted(
        m for m in modules if any(m == p or m.startswith(p + ".") for p in NOT_IN_THE_FIRST_FRAME)
    )
    first_frame = {
        "third_party": _third_party(modules),
        "ours": _ours(modules),
        "not_loaded": list(NOT_IN_THE_FIRST_FRAME),
        "unwanted": unwanted,
        "top": top,
    }
    return [
        Row(
            "First frame imports (`--url`, headless, to the first frame)",
            f"{ms(statistics.median(total) / 1e6)} of imports; `ui.app` {ms(app)}",
            "no secondary module",
            not unwanted,
            runs,
            f"{sum(m.startswith(PREFIX) for m in modules)} of the program's modules, "
            f"{len(modules)} in all; "
            + (f"loads {', '.join(unwanted)}" if unwanted else "the list is below the table"),
            {
                "imports": statistics.median(total) / 1e6,
                "app": app,
                "modules": len(modules),
                "first_frame": first_frame,
            },
        )
    ]
