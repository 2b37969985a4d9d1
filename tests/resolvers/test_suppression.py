"""Small-cell suppression, checked against an independent solver over generated tables.

For every generated table: no released entry (cell or margin) lies between 1 and threshold - 1, and
no hidden entry can be solved for from the released ones. "Solved for" is checked by exact linear
algebra (rational Gaussian elimination, not the suppression module's graph reasoning): a hidden
entry is determined by the table's equations exactly when dropping its column from the system's
matrix lowers the rank. Non-negativity cannot pin a linearly free entry down either when every
hidden entry is at least 1 (a small move along the free direction keeps all counts non-negative);
that is asserted too, except for a table withheld whole.
"""

from __future__ import annotations

from fractions import Fraction

from hypothesis import example, given, settings
from hypothesis import strategies as st

from resolvers.suppression import is_small, suppress_grid, suppress_line, with_margins

counts = st.one_of(st.integers(0, 12), st.integers(0, 60), st.integers(0, 400))
thresholds = st.integers(2, 12)


def rank(matrix: list[list[Fraction]]) -> int:
    m = [row[:] for row in matrix]
    r = 0
    cols = len(m[0]) if m else 0
    for c in range(cols):
        pivot = next((i for i in range(r, len(m)) if m[i][c] != 0), None)
        if pivot is None:
            continue
        m[r], m[pivot] = m[pivot], m[r]
        for i in range(len(m)):
            if i != r and m[i][c] != 0:
                f = m[i][c] / m[r][c]
                m[i] = [a - f * b for a, b in zip(m[i], m[r], strict=True)]
        r += 1
    return r


def determined(equations: list[dict[tuple[int, int], int]], hidden: list[tuple[int, int]]) -> list[bool]:
    """For each hidden entry: is it fixed by the equations once every released entry is known?"""
    matrix = [[Fraction(eq.get(h, 0)) for h in hidden] for eq in equations]
    full = rank(matrix)
    out = []
    for k in range(len(hidden)):
        without = [row[:k] + row[k + 1 :] for row in matrix]
        out.append(rank(without) < full if hidden[:k] + hidden[k + 1 :] else full > 0)
    return out


def grid_equations(n_rows: int, n_cols: int) -> list[dict[tuple[int, int], int]]:
    """Each line of the array with margins: its cells minus its total is zero."""
    eqs: list[dict[tuple[int, int], int]] = []
    for i in range(n_rows):
        eq = {(i, j): 1 for j in range(n_cols - 1)}
        eq[(i, n_cols - 1)] = -1
        eqs.append(eq)
    for j in range(n_cols):
        eq = {(i, j): 1 for i in range(n_rows - 1)}
        eq[(n_rows - 1, j)] = -1
        eqs.append(eq)
    return eqs


@settings(max_examples=400, deadline=None)
@given(
    st.integers(1, 5).flatmap(
        lambda cols: st.lists(st.lists(counts, min_size=cols, max_size=cols), min_size=1, max_size=5)
    ),
    thresholds,
    st.booleans(),
)
@example([[5, 40], [40, 40]], 11, True)
@example([[3]], 11, True)
@example([[0, 0], [0, 7]], 11, True)
@example([[12, 3, 50], [0, 0, 0]], 11, False)
def test_no_released_entry_is_small_and_no_hidden_entry_can_be_solved(
    cells: list[list[int]], threshold: int, keep_total: bool
) -> None:
    grid = suppress_grid(cells, threshold, keep_total=keep_total)
    values = with_margins(cells)
    n_rows, n_cols = len(values), len(values[0])
    hidden = [(i, j) for i in range(n_rows) for j in range(n_cols) if grid.hidden[i][j]]
    for i in range(n_rows):
        for j in range(n_cols):
            if not grid.hidden[i][j]:
                assert not is_small(values[i][j], threshold), (i, j, values)
    for (i, j), fixed in zip(hidden, determined(grid_equations(n_rows, n_cols), hidden), strict=True):
        assert not fixed, ("hidden entry can be solved for", (i, j), values, grid.hidden)
    if len(hidden) < n_rows * n_cols:
        assert all(values[i][j] >= 1 for i, j in hidden), (values, grid.hidden)
        if keep_total:
            # The grand total is hidden only when it is small itself.
            assert grid.total == is_small(values[-1][-1], threshold)


@settings(max_examples=300, deadline=None)
@given(st.lists(counts, min_size=1, max_size=8), thresholds)
@example([5, 40, 40], 11)
@example([0, 0, 4], 11)
def test_one_dimensional_tables(cells: list[int], threshold: int) -> None:
    line = suppress_line(cells, threshold)
    values = [*cells, sum(cells)]
    hidden_flags = [*line.cells, line.total]
    for v, h in zip(values, hidden_flags, strict=True):
        assert h or not is_small(v, threshold)
    hidden = [(0, k) for k, h in enumerate(hidden_flags) if h]
    equation = {(0, k): 1 for k in range(len(cells))} | {(0, len(cells)): -1}
    assert not any(determined([equation], hidden))
    if len(hidden) < len(values):
        assert all(values[k] >= 1 for _, k in hidden)


def test_a_bridge_between_two_blocks_is_protected() -> None:
    # Two blocks of small cells joined through one cell: the line rule alone leaves that cell solvable.
    cells = [
        [3, 4, 2, 50],
        [5, 6, 50, 50],
        [50, 50, 4, 3],
        [50, 50, 5, 7],
    ]
    grid = suppress_grid(cells, 11)
    hidden = [(i, j) for i in range(5) for j in range(5) if grid.hidden[i][j]]
    assert not any(determined(grid_equations(5, 5), hidden))


def test_nothing_small_hides_nothing() -> None:
    grid = suppress_grid([[20, 30], [0, 15]], 11)
    assert not any(any(row) for row in grid.hidden)
    assert suppress_line([0, 11, 20], 11).cells == (False, False, False)
