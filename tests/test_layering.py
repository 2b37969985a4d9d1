"""The layering of docs/development.md, checked module by module:

    resolvers/models  ←  auth  ←  resolvers  ←  schema  ←  hub

Each layer imports only the layers to its left (and itself): the models (with enums such as
``Audience``) import nothing of the project; ``auth`` sees the models only; ``resolvers`` sees
``auth`` and the models; ``schema`` those; ``hub`` is on top and nothing imports it. And no two
modules import each other, directly or round a cycle. And the Layout tree of docs/development.md names
every module and package, and nothing that is not there.

Walks the import statements of every module, not just what happens to be imported at run time. Imports
under ``if TYPE_CHECKING:`` and inside functions are forward references (Strawberry types that refer
to each other across domains: a person's sentences, a sentence's person) and are held to the layers
but not to the no-cycle rule.
"""

from __future__ import annotations

import ast
import functools
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests import docs

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("hub", "schema", "resolvers", "auth")

#: Layers from the bottom; a module is in the first layer whose prefix it has.
LAYERS = ("resolvers.models", "auth", "resolvers", "schema", "hub")

#: package -> third-party top-level modules it must never import (the data layers stay free of HTTP
#: and GraphQL).
FORBIDDEN: dict[str, set[str]] = {
    "resolvers": {"strawberry", "starlette", "httpx", "uvicorn"},
    "schema": {"starlette", "uvicorn"},
    "auth": set(),
    "hub": set(),
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES: dict[str, Path] = {
    _module_name(path): path for pkg in PACKAGES for path in sorted((ROOT / pkg).rglob("*.py"))
}


def layer(module: str) -> int:
    return next(i for i, prefix in enumerate(LAYERS) if module == prefix or module.startswith(prefix + "."))


@dataclass(frozen=True, slots=True)
class Import:
    target: str
    #: At module level (not under TYPE_CHECKING, not inside a function).
    eager: bool
    line: int


def _project_module(name: str) -> str | None:
    """The project module ``name`` refers to (a module, or the package holding a name)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


@functools.cache
def imports(module: str) -> list[Import]:
    """Every import of ``module`` that names a project module, or a third-party top-level name."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    deferred: set[int] = set()
    for node in ast.walk(tree):
        is_type_checking = isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        if is_type_checking or isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            deferred.update(id(inner) for inner in ast.walk(node) if inner is not node)
    found: list[Import] = []
    for node in ast.walk(tree):
        eager = id(node) not in deferred
        if isinstance(node, ast.Import):
            found += [Import(a.name, eager, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                origin = ".".join([*base, *([node.module] if node.module else [])])
            else:
                origin = node.module or ""
            for alias in node.names:
                # ``from pkg import submodule`` depends on the submodule (the package's __init__ runs
                # first either way, as for any import of a submodule).
                sub = f"{origin}.{alias.name}"
                found.append(Import(sub if sub in MODULES else origin, eager, node.lineno))
    return found


def _edges(module: str, *, eager_only: bool) -> set[str]:
    out = set()
    for imported in imports(module):
        if eager_only and not imported.eager:
            continue
        target = _project_module(imported.target)
        if target is not None and target != module:
            out.add(target)
    return out


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_point_down_the_layers(module: str) -> None:
    upward = sorted(
        f"{imported.target} (line {imported.line})"
        for imported in imports(module)
        if (target := _project_module(imported.target)) is not None and layer(target) > layer(module)
    )
    assert not upward, f"{module} ({LAYERS[layer(module)]}) imports a layer above it: {upward}"
    third_party = {i.target.split(".")[0] for i in imports(module)}
    bad = third_party & FORBIDDEN[module.split(".")[0]]
    assert not bad, f"{module} imports {sorted(bad)}"


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_cycles_between_modules() -> None:
    graph = {module: _edges(module, eager_only=True) for module in MODULES}
    assert _cycles(graph) == []


def test_the_cycle_check_finds_a_cycle() -> None:
    """The check itself: a made-up cycle of three is found, a chain is not."""
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_the_layers_are_what_the_docs_say() -> None:
    assert [layer(m) for m in ("resolvers.models.partners", "auth.scopes", "resolvers.people")] == [0, 1, 2]
    assert [layer(m) for m in ("schema.compiled.runner", "hub.app")] == [3, 4]
    development = (ROOT / "docs" / "development.md").read_text(encoding="utf-8")
    assert "`resolvers/models` ← `auth` ← `resolvers` ← `schema` ← `hub`" in development


def test_no_module_is_named_like_a_junk_drawer() -> None:
    junk = {"utils.py", "helpers.py", "common.py", "misc.py"}
    offenders = [p for p in MODULES.values() if p.name in junk]
    assert offenders == []


def _layout_tree() -> dict[str, str]:
    """docs/development.md's Layout tree: folder (``hub/commands/``) -> the text of its entry."""
    section = docs.section("layout")
    tree = re.search(r"(?ms)^```\n(.*?)^```", section)
    assert tree is not None, "the Layout section has no tree"
    entries: dict[str, str] = {}
    folder = ""
    for line in tree.group(1).splitlines():
        if start := re.match(r"(\S+/)\s", line):
            folder = start.group(1)
            entries[folder] = line[len(folder) :]
        elif folder:
            entries[folder] += " " + line
    return entries


def _named(text: str) -> set[str]:
    """The bare module (``x.py``) and folder (``x/``) names in a tree entry; paths (``a/b.py``) are
    references to other folders, not names of this one."""
    modules = re.findall(r"(?<![\w./-])(\w+\.py)\b", text)
    folders = re.findall(r"(?<![\w./-])(\w+/)(?![\w/])", text)
    return set(modules) | set(folders)


def _packages() -> list[Path]:
    return sorted(p.parent for pkg in PACKAGES for p in (ROOT / pkg).rglob("__init__.py"))


@pytest.mark.parametrize("package", _packages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_layout_names_every_module_and_nothing_else(package: Path) -> None:
    """Every module and package of hub/, schema/, resolvers/ and auth/ is named in its folder's entry
    of the Layout tree, and every name there exists (a folder may also be a data folder: sdl/)."""
    entries = _layout_tree()
    folder = f"{package.relative_to(ROOT).as_posix()}/"
    assert folder in entries, f"docs/development.md's Layout has no entry for {folder}"
    named = _named(entries[folder])
    present = {p.name for p in package.glob("*.py") if p.name != "__init__.py"}
    present |= {f"{p.name}/" for p in package.iterdir() if (p / "__init__.py").exists()}
    assert sorted(present - named) == [], f"{folder}: modules the Layout does not name"
    missing = sorted(n for n in named if not (package / n.rstrip("/")).exists())
    assert missing == [], f"{folder}: the Layout names what is not there"


def test_the_layout_check_reads_names_not_paths() -> None:
    assert _named("db.py (engine), cli.py + commands/ and auth/scopes.py, /notifications/ack") == {
        "db.py",
        "cli.py",
        "commands/",
    }
