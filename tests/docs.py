"""The documentation as tests read it: README.md and the guides in ``docs/``.

Sections are marked ``<!-- section: NAME -->`` … ``<!-- /section: NAME -->``; a test asks for a
section by name and need not know which file holds it, so moving a section needs no test edit.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


def documents() -> list[Path]:
    """README.md first, then ``docs/*.md`` in name order."""
    return [README, *sorted((ROOT / "docs").glob("*.md"))]


def sections() -> list[tuple[str, str]]:
    """Every marked section of the documentation, as (name, body), in document order."""
    found: list[tuple[str, str]] = []
    for path in documents():
        text = path.read_text(encoding="utf-8")
        found += re.findall(r"<!-- section: ([\w-]+) -->(.*?)<!-- /section: \1 -->", text, re.S)
    return found


def section(name: str) -> str:
    """The body of the section ``name``, wherever it lives; an error if it is missing or doubled."""
    bodies = [body for found, body in sections() if found == name]
    assert len(bodies) == 1, f"section {name!r} is marked {len(bodies)} times in README.md and docs/*.md"
    return bodies[0]


def all_text() -> str:
    """README.md and every guide in ``docs/``, one after the other."""
    return "\n".join(path.read_text(encoding="utf-8") for path in documents())
