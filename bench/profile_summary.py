"""Where a hub worker's time goes, from a py-spy ``--format raw`` profile (collapsed stacks).

``python bench/profile_summary.py bench/results/profile-hub-nested-w1.txt``

Each sample is charged to one layer: the cyclic garbage collector when a collection is on the stack,
else the innermost frame that belongs to a known layer (so time in a library called by the hub's own
code counts for the library). Percentages are of all samples of the worker, idle included.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

#: (layer, markers in a frame's file or function name), most specific first.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("garbage collector", ("gc_collect", "collect_with_callback", "gc_collect_main", "(gc)")),
    (
        "idle (event loop waiting)",
        ("select (selectors.py", "epoll_wait", "_run_once (asyncio/base_events.py"),
    ),
    ("asyncpg (driver)", ("asyncpg/",)),
    ("SQLAlchemy (compile, execute, rows)", ("sqlalchemy/",)),
    ("graphql-core (execution, validation)", ("graphql/",)),
    ("Strawberry (resolver wrappers)", ("strawberry/",)),
    ("JWT / token check", ("joserfc", "authlib", "jwt", "cryptography", "auth/")),
    ("HTTP (uvicorn, h11, Starlette)", ("uvicorn/", "h11/", "starlette/", "httptools")),
    ("JSON (orjson)", ("orjson",)),
    ("hub schema/ (types, fields)", ("/schema/",)),
    ("hub resolvers/ (statements, loaders)", ("/resolvers/",)),
    ("hub hub/ (endpoint, app)", ("/hub/",)),
    ("asyncio (tasks, futures)", ("asyncio/",)),
)


def layer_of(frames: list[str]) -> str:
    for frame in frames:
        if any(m in frame for m in LAYERS[0][1]):
            return LAYERS[0][0]
    leaf = frames[-1] if frames else ""
    if any(m in leaf for m in LAYERS[1][1]):
        return LAYERS[1][0]
    for frame in reversed(frames):
        for name, markers in LAYERS[2:]:
            if any(m in frame for m in markers):
                return name
    return "other (interpreter, stdlib)"


#: Threads of the default executor waiting for work: not the worker's time, left out.
IDLE_THREAD = "SimpleQueue_get"


def samples(path: Path) -> list[tuple[list[str], int]]:
    out = []
    for line in path.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if n.isdigit() and IDLE_THREAD not in stack:
            out.append((stack.split(";"), int(n)))
    return out


def summarize(path: Path) -> list[tuple[str, float]]:
    counts: Counter[str] = Counter()
    for frames, n in samples(path):
        counts[layer_of(frames)] += n
    total = sum(counts.values()) or 1
    return [(name, 100 * c / total) for name, c in counts.most_common()]


def hottest(path: Path, top: int = 15) -> list[tuple[str, float]]:
    """Functions by self time: the innermost Python frame of each sample."""
    counts: Counter[str] = Counter()
    for frames, n in samples(path):
        python = [f for f in frames if ".py:" in f]
        counts[python[-1] if python else frames[-1]] += n
    total = sum(counts.values()) or 1
    return [(name, 100 * c / total) for name, c in counts.most_common(top)]


def main() -> int:
    for arg in sys.argv[1:]:
        print(arg)
        for name, share in summarize(Path(arg)):
            print(f"  {share:5.1f}%  {name}")
        print("  hottest functions (self time, innermost Python frame):")
        for name, share in hottest(Path(arg)):
            print(f"  {share:5.1f}%  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
