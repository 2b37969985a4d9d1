"""Small cells of the population statistics, suppressed for partners (legislative offices, reentry
partners) at the department's threshold of 11 -- but only where suppression protects something: a
population the partner could count row by row (every person counted is a row it reads, with every
dimension; ``resolvers.statistics.countable_by_rows``) is not suppressed, since hiding the 6 escaped
people of a table while ``people(status: ESCAPED) { totalCount }`` answers 6 would only pretend to
protect them. Department units read every count.

Each breakdown is a table with its total: per status and per race are one-dimensional; per sex, per
facility and the sex-by-facility cells are one two-dimensional table and its margins, suppressed
together so that ``byFacility`` and ``bySex`` never hide different entries of the same table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from auth.principal import Principal
from resolvers.statistics import PopulationFilter, countable_by_rows
from resolvers.suppression import DEFAULT_THRESHOLD, is_small, suppress_grid, suppress_line

SUPPRESSED = "People; null when the count is suppressed (small cells, for partners)."


def suppressed_for(principal: Principal, population: PopulationFilter) -> int | None:
    """The threshold for ``principal``'s statistics of ``population``; None (no suppression) for
    department units, and for a partner that could count the same population row by row."""
    if not principal.is_partner or countable_by_rows(principal, population):
        return None
    return DEFAULT_THRESHOLD


@dataclass(frozen=True, slots=True)
class SexByFacility:
    #: (sex, count, [(facility id, count)]) per sex
    sexes: list[tuple[str, int | None, list[tuple[int | None, int | None]]]]
    #: (facility id, count) per facility
    facilities: list[tuple[int | None, int | None]]


@dataclass(frozen=True, slots=True)
class PopulationTables:
    threshold: int | None

    def total(self, value: int) -> int | None:
        return None if self.threshold is not None and is_small(value, self.threshold) else value

    def line(self, rows: Sequence[Any], dimension: str) -> list[tuple[Any, int | None]]:
        keys = [getattr(r, dimension) for r in rows]
        counts = [int(r.people) for r in rows]
        if self.threshold is None or not rows:
            return list(zip(keys, counts, strict=True))
        hidden = suppress_line(counts, self.threshold).cells
        return [(k, None if h else c) for k, c, h in zip(keys, counts, hidden, strict=True)]

    def sex_by_facility(self, rows: Sequence[Any]) -> SexByFacility:
        sexes = list(dict.fromkeys(r.sex for r in rows))
        facilities = list(dict.fromkeys(r.facility for r in rows))
        cells = {(r.sex, r.facility): int(r.people) for r in rows}
        grid = [[cells.get((s, f), 0) for f in facilities] for s in sexes]
        hidden = None if self.threshold is None or not rows else suppress_grid(grid, self.threshold)

        def show(value: int, is_hidden: bool) -> int | None:
            return None if is_hidden else value

        return SexByFacility(
            sexes=[
                (
                    s,
                    show(sum(grid[i]), bool(hidden and hidden.row_total(i))),
                    [
                        (f, show(grid[i][j], bool(hidden and hidden.cell(i, j))))
                        for j, f in enumerate(facilities)
                        if (s, f) in cells
                    ],
                )
                for i, s in enumerate(sexes)
            ],
            facilities=[
                (f, show(sum(row[j] for row in grid), bool(hidden and hidden.column_total(j))))
                for j, f in enumerate(facilities)
            ],
        )
