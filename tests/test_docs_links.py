"""Every relative link of README.md and ``docs/*.md`` resolves: to a file or directory of the
checkout, and an ``#anchor`` to a heading of the file it names (GitHub's slugs)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests import docs


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lowercase, punctuation other than '-' and '_' dropped, spaces to '-'."""
    text = re.sub(r"`|\*\*", "", heading.strip().lower())
    text = re.sub(r"\[([^]]*)\]\([^)]*\)", r"\1", text)
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """The anchors of a Markdown file's headings (fenced code is not headings); repeats get -1, -2…"""
    found: set[str] = set()
    fenced = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and (heading := re.match(r"#{1,6} (.*)", line)):
            base = slug(heading.group(1))
            name, n = base, 0
            while name in found:
                n += 1
                name = f"{base}-{n}"
            found.add(name)
    return found


def links(path: Path) -> list[str]:
    """The targets of a file's Markdown links outside fenced code."""
    text = re.sub(r"(?ms)^```.*?^```", "", path.read_text(encoding="utf-8"))
    return re.findall(r"\]\(([^)\s]+)\)", text)


def test_the_slug_follows_github() -> None:
    assert slug("Hardening: limits, persisted operations, rate limits, errors, outages") == (
        "hardening-limits-persisted-operations-rate-limits-errors-outages"
    )
    assert slug("What `make demo` gives you") == "what-make-demo-gives-you"
    assert slug("Signing with a key instead of a secret (`private_key_jwt`, RFC 7523)") == (
        "signing-with-a-key-instead-of-a-secret-private_key_jwt-rfc-7523"
    )


def test_the_documentation_links_to_every_guide() -> None:
    readme = set(links(docs.README))
    for guide in sorted((docs.ROOT / "docs").glob("*.md")):
        assert f"docs/{guide.name}" in readme, f"README.md's Documentation does not list docs/{guide.name}"


@pytest.mark.parametrize("path", docs.documents(), ids=lambda p: str(p.relative_to(docs.ROOT)))
def test_every_relative_link_resolves(path: Path) -> None:
    broken = []
    for target in links(path):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto:
            continue
        file, _, anchor = target.partition("#")
        resolved = (path.parent / file).resolve() if file else path
        if not resolved.exists():
            broken.append(f"{target}: no such file")
        elif anchor and (resolved.is_dir() or anchor not in anchors(resolved)):
            broken.append(f"{target}: no heading #{anchor}")
    assert broken == [], broken
