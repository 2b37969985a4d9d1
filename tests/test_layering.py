"""Dependencies point one way: hub → schema → resolvers, with auth used by both; nothing imports hub.

Walks the import statements of every module (not just what happens to be imported at run time).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("hub", "schema", "resolvers", "auth")

#: package -> top-level modules it must never import
FORBIDDEN: dict[str, set[str]] = {
    "resolvers": {"hub", "schema", "strawberry", "starlette", "httpx", "uvicorn"},
    "schema": {"hub", "starlette", "uvicorn"},
    "auth": {"hub", "schema"},
    "hub": set(),
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def _modules() -> list[tuple[str, Path]]:
    return [(pkg, path) for pkg in PACKAGES for path in sorted((ROOT / pkg).rglob("*.py"))]


@pytest.mark.parametrize(("package", "path"), _modules(), ids=lambda v: str(v).replace(str(ROOT) + "/", ""))
def test_imports_point_one_way(package: str, path: Path) -> None:
    bad = _imports(path) & FORBIDDEN[package]
    assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


def test_no_module_is_named_like_a_junk_drawer() -> None:
    junk = {"utils.py", "helpers.py", "common.py", "misc.py"}
    offenders = [p for _, p in _modules() if p.name in junk]
    assert offenders == []
