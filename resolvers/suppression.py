"""Small-cell suppression for released tables of counts: primary and complementary.

A count between 1 and ``threshold - 1`` is never released (primary suppression). Complementary
suppression then hides further entries so that no hidden entry can be solved for from what is
released: the table's other cells and its margins (row totals, column totals, the grand total).

Why the rules below are enough. A table with its margins is an (R+1) x (C+1) array in which every
line (row or column, margins included) satisfies one linear equation (the cells add up to the
total). Read the hidden entries as the edges of a bipartite graph between the array's rows and
columns: the solutions of those equations differ from the true table exactly by the graph's cycle
space, so a hidden entry is pinned down by the equations if and only if its edge is a *bridge* (on
no cycle). A one-dimensional table is a single line, where the same holds once two entries of the
line are hidden. And because every hidden entry is chosen with a value of at least 1, moving one
unit around a cycle keeps every count non-negative, so no hidden entry is pinned down by
non-negativity either: each could be one more or one less than it is.

So: hide the primary cells; then, until nothing changes, give every line holding exactly one hidden
entry a second one (its smallest entry of at least 1, margins included), and put every bridge on a
cycle by hiding the smallest entry of at least 1 that joins the two sides the bridge separates.
Should no such entry exist, the whole table is withheld, which leaves nothing to solve.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

#: The suppression threshold when an agreement does not set one.
DEFAULT_THRESHOLD = 11


def is_small(value: int, threshold: int) -> bool:
    """A count that may not be released: between 1 and ``threshold - 1``."""
    return 0 < value < threshold


@dataclass(frozen=True, slots=True)
class Line:
    """A one-dimensional table's suppression: which cells, and whether the total, are hidden."""

    cells: tuple[bool, ...]
    total: bool


def suppress_line(cells: Sequence[int], threshold: int) -> Line:
    """Suppress a one-dimensional table of ``cells`` whose total is released beside them."""
    values = [*cells, sum(cells)]
    hidden = [is_small(v, threshold) for v in values]
    if sum(hidden) == 1:
        # The total is never a complement: it is released elsewhere (and were it the only entry
        # left of at least 1, it would equal the one hidden cell, so it is small itself).
        candidates = [i for i, v in enumerate(values[:-1]) if not hidden[i] and v >= 1]
        if candidates:
            hidden[min(candidates, key=lambda i: (values[i], i))] = True
        else:
            hidden = [True] * len(values)
    return Line(cells=tuple(hidden[:-1]), total=hidden[-1])


@dataclass(frozen=True, slots=True)
class Grid:
    """A two-dimensional table's suppression, on the array with its margins.

    ``hidden[i][j]`` for ``i < rows``, ``j < columns`` is a cell; ``hidden[i][columns]`` the total
    of row ``i``; ``hidden[rows][j]`` the total of column ``j``; ``hidden[rows][columns]`` the
    grand total.
    """

    hidden: tuple[tuple[bool, ...], ...]

    @property
    def rows(self) -> int:
        return len(self.hidden) - 1

    @property
    def columns(self) -> int:
        return len(self.hidden[0]) - 1

    def cell(self, i: int, j: int) -> bool:
        return self.hidden[i][j]

    def row_total(self, i: int) -> bool:
        return self.hidden[i][self.columns]

    def column_total(self, j: int) -> bool:
        return self.hidden[self.rows][j]

    @property
    def total(self) -> bool:
        return self.hidden[self.rows][self.columns]


def with_margins(cells: Sequence[Sequence[int]]) -> list[list[int]]:
    """The (R+1) x (C+1) array: each row with its total, and the row of column totals."""
    rows = [[*row, sum(row)] for row in cells]
    columns = len(rows[0]) if rows else 1
    rows.append([sum(row[j] for row in rows) for j in range(columns)])
    return rows


def suppress_grid(cells: Sequence[Sequence[int]], threshold: int, *, keep_total: bool = True) -> Grid:
    """Suppress a two-dimensional table of ``cells`` (a list of equally long rows) with its margins.

    With ``keep_total`` the grand total is never hidden as a complement (only when it is small
    itself): it is released elsewhere anyway (a list's total count, another breakdown's sum).
    """
    if not cells or not cells[0]:
        raise ValueError("a table needs at least one row and one column")
    if len({len(row) for row in cells}) != 1:
        raise ValueError("every row of a table needs the same number of cells")
    values = with_margins(cells)
    n_rows, n_cols = len(values), len(values[0])
    hidden = [[is_small(v, threshold) for v in row] for row in values]
    grand = (n_rows - 1, n_cols - 1)

    def hide_smallest(entries: list[tuple[int, int]]) -> bool:
        candidates = [
            (values[i][j], i, j)
            for i, j in entries
            if not hidden[i][j] and values[i][j] >= 1 and not (keep_total and (i, j) == grand)
        ]
        if not candidates:
            return False
        _, i, j = min(candidates)
        hidden[i][j] = True
        return True

    lines = [[(i, j) for j in range(n_cols)] for i in range(n_rows)]
    lines += [[(i, j) for i in range(n_rows)] for j in range(n_cols)]
    while True:
        progress = False
        for line in lines:
            if sum(hidden[i][j] for i, j in line) == 1:
                if not hide_smallest(line):
                    return _withheld(n_rows, n_cols)
                progress = True
        if progress:
            continue
        bridge = _first_bridge(hidden)
        if bridge is None:
            return Grid(hidden=tuple(tuple(row) for row in hidden))
        rows_a, cols_a = _side(hidden, bridge, bridge[0], None)
        rows_b, cols_b = _side(hidden, bridge, None, bridge[1])
        joining = [(i, j) for i in rows_a for j in cols_b] + [(i, j) for i in rows_b for j in cols_a]
        if not hide_smallest([e for e in joining if e != bridge]):
            return _withheld(n_rows, n_cols)


def _withheld(n_rows: int, n_cols: int) -> Grid:
    return Grid(hidden=tuple(tuple(True for _ in range(n_cols)) for _ in range(n_rows)))


def _edges(hidden: list[list[bool]]) -> list[tuple[int, int]]:
    return [(i, j) for i, row in enumerate(hidden) for j, h in enumerate(row) if h]


def _first_bridge(hidden: list[list[bool]]) -> tuple[int, int] | None:
    """A hidden entry that lies on no cycle of hidden entries (Tarjan's low-link, iteratively)."""
    n_rows = len(hidden)
    edges = _edges(hidden)
    # Nodes: rows 0..n_rows-1, columns n_rows..; adjacency lists hold (neighbour, edge index).
    adjacency: dict[int, list[tuple[int, int]]] = {}
    for k, (i, j) in enumerate(edges):
        adjacency.setdefault(i, []).append((n_rows + j, k))
        adjacency.setdefault(n_rows + j, []).append((i, k))
    order: dict[int, int] = {}
    low: dict[int, int] = {}
    for root in adjacency:
        if root in order:
            continue
        order[root] = low[root] = len(order)
        stack: list[tuple[int, int, int]] = [(root, -1, 0)]  # node, edge it was reached by, next index
        while stack:
            node, via, nxt = stack[-1]
            neighbours = adjacency[node]
            if nxt < len(neighbours):
                stack[-1] = (node, via, nxt + 1)
                other, k = neighbours[nxt]
                if k == via:
                    continue
                if other in order:
                    low[node] = min(low[node], order[other])
                else:
                    order[other] = low[other] = len(order)
                    stack.append((other, k, 0))
                continue
            stack.pop()
            if stack:
                parent = stack[-1][0]
                low[parent] = min(low[parent], low[node])
                if low[node] > order[parent]:
                    return edges[via]
    return None


def _side(
    hidden: list[list[bool]], bridge: tuple[int, int], row: int | None, column: int | None
) -> tuple[set[int], set[int]]:
    """The rows and columns joined to ``row`` (or ``column``) by hidden entries other than the bridge."""
    edges = [e for e in _edges(hidden) if e != bridge]
    rows = set() if row is None else {row}
    cols = set() if column is None else {column}
    grown = True
    while grown:
        grown = False
        for i, j in edges:
            if (i in rows) != (j in cols):
                rows.add(i)
                cols.add(j)
                grown = True
    return rows, cols
