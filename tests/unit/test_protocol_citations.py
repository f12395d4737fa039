"""Every ``docs/protocol.md §N`` citation in the repo names a section that exists and fits."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROTOCOL = ROOT / "docs" / "protocol.md"
SCANNED = ("medical_insurance_sdk", "README.md", "tests", "bench", "deploy", "docs", "examples")
SUFFIXES = {".py", ".md", ".yml", ".yaml", ".json", ".toml", ".txt"}
THIS_FILE = Path(__file__).resolve()

#: What each section is about: every word must occur in the section, and every citation
#: of the section must use at least one of them near it (the line and the two before).
TOPICS: dict[str, tuple[str, ...]] = {
    "1": ("envelope", "msgid", "fsUploadIn", "交易输入"),
    "2": ("response", "交易输出", "infcode"),
    "3": ("gateway", "endpoint", "401"),
    "4": ("catalog", "flow"),
    "4.1": ("outcome", "2601", "冲正"),
    "5": ("payload", "output", "input"),
    "6": ("error", "retry", "session", "category"),
    "7": ("person", "secret", "staff"),
}

_HEADING = re.compile(r"^(#{2,3}) (\d+(?:\.\d+)?)\.? ", re.M)
_CITATION = re.compile(r"docs/protocol\.md((?:,?\s*§\d+(?:\.\d+)?)*)")
_BARE = re.compile(r"(?<![\w/])protocol\.md")


def _sections() -> dict[str, str]:
    """Section number -> its text (up to the next heading of any numbered section)."""
    text = PROTOCOL.read_text(encoding="utf-8")
    marks = list(_HEADING.finditer(text))
    return {
        mark.group(2): text[mark.start() : marks[i + 1].start() if i + 1 < len(marks) else None]
        for i, mark in enumerate(marks)
    }


def _files() -> list[Path]:
    found: list[Path] = []
    for name in SCANNED:
        path = ROOT / name
        candidates = [path] if path.is_file() else sorted(path.rglob("*"))
        found.extend(
            p
            for p in candidates
            if p.is_file() and p.suffix in SUFFIXES and p.resolve() != THIS_FILE
        )
    return found


def _citations() -> list[tuple[str, int, str, str]]:
    """(file, line number, section, context) for every section cited in the scanned files."""
    cited: list[tuple[str, int, str, str]] = []
    for path in _files():
        lines = path.read_text(encoding="utf-8").splitlines()
        for index, line in enumerate(lines):
            for match in _CITATION.finditer(line):
                context = " ".join(lines[max(index - 2, 0) : index + 1])
                for section in re.findall(r"§(\d+(?:\.\d+)?)", match.group(1)):
                    rel = str(path.relative_to(ROOT))
                    cited.append((rel, index + 1, section, context))
    return cited


CITATIONS = _citations()


def test_protocol_has_the_numbered_sections():
    """docs/protocol.md keeps sections 1-7 (and 4.1), in order, each with its topic words."""
    sections = _sections()
    assert list(sections) == ["1", "2", "3", "4", "4.1", "5", "6", "7"]
    for number, words in TOPICS.items():
        body = sections[number].lower()
        missing = [word for word in words if word.lower() not in body]
        assert not missing, f"§{number} does not mention {missing}"


def test_the_repo_cites_the_protocol():
    """The scan finds the citations spread across code, tests and README (about 30)."""
    files = {name for name, _, _, _ in CITATIONS}
    assert len(CITATIONS) >= 25
    assert {"README.md", "medical_insurance_sdk/protocol/catalog.py"} <= files


@pytest.mark.parametrize(
    ("where", "section", "context"),
    [(f"{name}:{line}", section, context) for name, line, section, context in CITATIONS],
    ids=[f"{name}:{line}:§{section}" for name, line, section, _ in CITATIONS],
)
def test_citation_points_at_a_section_about_it(where, section, context):
    """A cited section exists, and the citing text speaks of that section's topic."""
    assert section in _sections(), f"{where} cites §{section}, which docs/protocol.md lacks"
    words = TOPICS[section]
    assert any(word.lower() in context.lower() for word in words), (
        f"{where} cites §{section} ({', '.join(words)}) for: {context.strip()}"
    )


def test_no_citation_of_a_protocol_file_outside_docs():
    """Nothing cites a bare ``protocol.md`` (the internal notes are not in the repo)."""
    stale = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in _files()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if _BARE.search(line)
    ]
    assert stale == []
