"""The gateway notes resolve in a clone: every cited section is a heading of the doc it names, and
the JSON examples of docs/gateway.md §10 are the golden files the simulator is checked against."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
GATEWAY_DOC = DOCS / "gateway.md"
GOLDEN = ROOT / "tests" / "data" / "golden"

#: Where citations may appear: source, tests, benchmarks, scripts and the README.
CITING_DIRS = ("bifrost_tui", "tests", "bench", "scripts")
CITING_FILES = ("README.md",)
#: Generated or binary material that cites nothing.
SKIPPED_DIRS = frozenset({"__pycache__", "__snapshots__", "data"})

SECTION = re.compile(r"§\s*(\d+(?:\.\d+)*)")
MARKDOWN_NAME = re.compile(r"[\w./-]+\.md\b")
#: A citation such as "the notes", then a section sign and a number, names no file to follow.
UNNAMED_NOTES = re.compile(r"\bnotes\s+§", re.IGNORECASE)
HEADING = re.compile(r"^#{2,6}\s+(\d+(?:\.\d+)*)\.?\s", re.MULTILINE)
FENCE = re.compile(r"^```\w*\n(.*?)^```", re.MULTILINE | re.DOTALL)
GOLDEN_SECTION = re.compile(r"_(\d+)_(\d+)\.json$")


def citing_files() -> Iterator[Path]:
    for name in CITING_FILES:
        yield ROOT / name
    for top in CITING_DIRS:
        for path in sorted((ROOT / top).rglob("*")):
            if path.suffix not in (".py", ".md") or not path.is_file():
                continue
            if SKIPPED_DIRS.intersection(path.relative_to(ROOT).parts):
                continue
            yield path


def citing_lines() -> Iterator[tuple[str, str]]:
    """``(file:line, text)`` of every line that cites a section."""
    for path in citing_files():
        for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if SECTION.search(text):
                yield f"{path.relative_to(ROOT)}:{number}", text


def cited_doc(text: str) -> Path:
    """The doc a citing line names; a bare "§N" means the gateway notes."""
    names = MARKDOWN_NAME.findall(text)
    return DOCS / Path(names[0]).name if names else GATEWAY_DOC


def headings(doc: Path) -> set[str]:
    return set(HEADING.findall(doc.read_text(encoding="utf-8")))


def sections(doc: Path) -> dict[str, str]:
    """Each numbered heading's text, up to the next heading of any level."""
    text = doc.read_text(encoding="utf-8")
    starts = list(HEADING.finditer(text))
    ends = [m.start() for m in starts[1:]] + [len(text)]
    return {m.group(1): text[m.end() : end] for m, end in zip(starts, ends, strict=True)}


def json_values(section_text: str) -> list[Any]:
    """Every JSON value in a section's fenced blocks: a whole block, or one value per line."""
    values: list[Any] = []
    for block in FENCE.findall(section_text):
        try:
            values.append(json.loads(block))
        except json.JSONDecodeError:
            values.extend(json.loads(line) for line in block.splitlines() if line.startswith("{"))
    return values


def test_citations_are_found_at_all() -> None:
    # Guards the scan itself: the client, the listing strategy and the model tests all cite.
    assert len(list(citing_lines())) >= 10


def test_every_cited_section_is_a_heading_of_the_cited_doc() -> None:
    missing = []
    for where, text in citing_lines():
        doc = cited_doc(text)
        if not doc.is_file():
            missing.append(f"{where}: {doc.relative_to(ROOT)} does not exist")
            continue
        known = headings(doc)
        missing += [
            f"{where}: §{number} is not a heading of {doc.relative_to(ROOT)}"
            for number in SECTION.findall(text)
            if number not in known
        ]
    assert missing == []


def test_citations_name_a_file_in_the_repository() -> None:
    vague = [where for where, text in citing_lines() if UNNAMED_NOTES.search(text)]
    assert vague == []


def test_section_10_examples_are_the_golden_files() -> None:
    by_section = sections(GATEWAY_DOC)
    golden: dict[str, list[Any]] = {}
    for path in sorted(GOLDEN.glob("*.json")):
        match = GOLDEN_SECTION.search(path.name)
        assert match, f"{path.name} does not say which §10 example it is"
        number = f"{match.group(1)}.{match.group(2)}"
        golden.setdefault(number, []).append(json.loads(path.read_text(encoding="utf-8")))
    assert sorted(golden) == ["10.1", "10.2", "10.3", "10.4", "10.5"]
    for number, values in golden.items():
        shown = json_values(by_section[number])
        assert len(shown) == len(values), f"§{number} shows {len(shown)} bodies"
        for value in values:
            assert value in shown, f"a golden body of §{number} is not in the doc"
