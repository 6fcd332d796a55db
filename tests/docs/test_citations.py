"""Every document the code cites is in the repository, and every section it cites exists."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TREES = ("hvd_netconf", "cli", "tests", "tools")
# A markdown file's name (with or without a directory), then any sections written right after
# it: "§5.4", "(§7 to §10", "§2.2, §3.2".
CITE = re.compile(r"([\w./-]+\.md)((?:[ ,;(]*(?:and |to )?§\d+(?:\.\d+)*)*)")
SECTION = re.compile(r"§(\d+(?:\.\d+)*)")
HEADING = re.compile(r"^#{2,}\s+(\d+(?:\.\d+)*)\.?\s", re.M)


def _citations() -> list[tuple[str, str, list[str]]]:
    out = []
    for tree in TREES:
        for path in sorted((REPO / tree).rglob("*.py")):
            for m in CITE.finditer(path.read_text(encoding="utf-8")):
                out.append((str(path.relative_to(REPO)), m.group(1),
                            SECTION.findall(m.group(2))))
    return out


def _resolve(cited: str) -> Path | None:
    for candidate in (REPO / cited, REPO / "docs" / cited):
        if candidate.is_file():
            return candidate
    return None


def test_cited_documents_and_sections_exist() -> None:
    cites = _citations()
    assert any(doc == "docs/freebsd-facts.md" for _, doc, _ in cites)
    problems = []
    for where, doc, sections in cites:
        target = _resolve(doc)
        if target is None:
            problems.append(f"{where} cites {doc}, which is not in the repository")
            continue
        have = set(HEADING.findall(target.read_text(encoding="utf-8")))
        problems += [f"{where} cites {doc} §{s}, which has no such section"
                     for s in sections if s not in have]
    assert problems == []
