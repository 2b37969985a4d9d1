"""Statistics over an agreement's cohort: counts (and return rates) grouped by up to two granted
dimensions. Under an aggregate-tier agreement every small cell is suppressed for the researcher,
complementary suppression included. Under a record-tier agreement the researcher's statistics are
counted over the k-anonymous release itself (the released records, as released), and nothing is
suppressed: they reveal nothing that counting the records would not.

Each count measure is its own table with its margins (``resolvers/suppression.py``); a rate is
released only when both of its counts are. The research unit reads the same tables unsuppressed.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from itertools import product

from resolvers.errors import InvalidInput
from resolvers.models.custody import OffenseClass
from resolvers.models.people import FacilityKind, Race, Sex
from resolvers.research_records import UNKNOWN, Agreement, Record
from resolvers.research_release import Release
from resolvers.research_terms import AGE_BANDS, DIMENSION_FIELD, Dimension, ResearchField, enum_name
from resolvers.suppression import is_small, suppress_grid, suppress_line

MEASURES = ("people", "observed_1y", "returned_1y", "observed_3y", "returned_3y")
NONE = "none"
#: The enum of each dimension whose values are enum members: shown by their GraphQL names (MALE, FELONY_A).
ENUMS: dict[Dimension, type[enum.Enum]] = {
    Dimension.FACILITY_TYPE: FacilityKind,
    Dimension.SEX: Sex,
    Dimension.RACE: Race,
    Dimension.OFFENSE_CLASS: OffenseClass,
}

#: One entry of a table: its dimension values (None: all, i.e. a margin) and its counts (None: hidden).
Key = tuple[str | None, ...]


@dataclass(frozen=True, slots=True)
class Entry:
    values: Key
    counts: dict[str, int | None]

    def rate(self, returned: str, observed: str) -> float | None:
        r, o = self.counts.get(returned), self.counts.get(observed)
        if r is None or o is None or o == 0:
            return None
        return round(r / o, 4)


@dataclass(frozen=True, slots=True)
class Table:
    dimensions: tuple[Dimension, ...]
    entries: list[Entry]
    #: None when nothing was suppressed because the reader may see every count.
    threshold: int | None
    measures: tuple[str, ...]


def check_dimensions(agreement: Agreement, dimensions: Sequence[Dimension]) -> tuple[Dimension, ...]:
    if len(dimensions) > 2:
        raise InvalidInput("groupBy", "must name at most two dimensions (a table with its margins)")
    if len(set(dimensions)) != len(dimensions):
        raise InvalidInput("groupBy", "must not name a dimension twice")
    for d in dimensions:
        needed = DIMENSION_FIELD[d]
        if needed not in agreement.fields:
            raise InvalidInput(
                "groupBy",
                f"{d.value} needs the field {needed.value}, which agreement {agreement.reference} "
                "does not grant",
            )
    return tuple(dimensions)


def _values(record: Record, dimension: Dimension) -> list[str]:
    if dimension is Dimension.YEAR:
        return [record.year_label]
    if dimension is Dimension.AGE_BAND:
        return [record.age_label]
    if dimension is Dimension.PROGRAM:
        return list(record.programs_completed or ()) or [NONE]
    kind = ENUMS[dimension]
    value = {
        Dimension.FACILITY_TYPE: record.facility_type,
        Dimension.SEX: record.sex,
        Dimension.RACE: record.race,
        Dimension.OFFENSE_CLASS: record.offense_class,
    }[dimension]
    return [UNKNOWN if value is None else enum_name(kind, value)]


def _domain(dimension: Dimension, agreement: Agreement, release: Release | None) -> list[str]:
    """Every value a dimension can take, so that a zero is shown as a zero rather than left out (over
    a release that generalizes the dimension's field, only the values its records show)."""
    if release is not None and DIMENSION_FIELD[dimension] in release.generalized_fields:
        return []
    cohort = agreement.cohort
    return {
        Dimension.YEAR: [str(y) for y in range(cohort.admitted_from.year, cohort.admitted_to.year + 1)],
        Dimension.FACILITY_TYPE: [k.name for k in FacilityKind],
        Dimension.SEX: [s.name for s in Sex],
        Dimension.RACE: [r.name for r in Race],
        Dimension.AGE_BAND: [name for name, _, _ in AGE_BANDS],
        Dimension.OFFENSE_CLASS: [c.name for c in OffenseClass],
        Dimension.PROGRAM: [NONE],
    }[dimension]


async def tabulate(
    batches: AsyncIterator[list[Record]],
    agreement: Agreement,
    dimensions: tuple[Dimension, ...],
    suppress: bool,
    release: Release | None = None,
) -> Table:
    """Count ``batches`` (the whole cohort, or a release's records: then ``release`` is that release,
    and the counts are of what its records show)."""
    measures = ["people"]
    if ResearchField.RETURNED_1Y in agreement.fields:
        measures += ["observed_1y", "returned_1y"]
    if ResearchField.RETURNED_3Y in agreement.fields:
        measures += ["observed_3y", "returned_3y"]
    counts: dict[str, Counter[Key]] = {m: Counter() for m in measures}
    seen: list[set[str]] = [set(_domain(d, agreement, release)) for d in dimensions]
    async for batch in batches:
        for record in batch:
            keys = list(product(*(_values(record, d) for d in dimensions)))
            for k in keys:
                for i, value in enumerate(k):
                    seen[i].add(value)
            increments = {"people": True}
            if record.returned_1y is not None:
                increments["observed_1y"] = True
                increments["returned_1y"] = record.returned_1y
            if record.returned_3y is not None:
                increments["observed_3y"] = True
                increments["returned_3y"] = record.returned_3y
            for measure, add in increments.items():
                if add and measure in counts:
                    for k in keys:
                        counts[measure][k] += 1
    axes = [sorted(values) for values in seen]
    entries: dict[Key, dict[str, int | None]] = {}
    for measure in measures:
        for key, shown in _table(counts[measure], axes, agreement.threshold if suppress else None):
            entries.setdefault(key, {})[measure] = shown
    return Table(
        dimensions=dimensions,
        entries=[Entry(values=k, counts=v) for k, v in entries.items()],
        threshold=agreement.threshold if suppress else None,
        measures=tuple(measures),
    )


def _table(cells: Counter[Key], axes: list[list[str]], threshold: int | None) -> list[tuple[Key, int | None]]:
    """The entries of one measure's table, margins included, hidden where suppression says."""

    def shown(value: int, hidden: bool) -> int | None:
        return None if hidden else value

    if not axes:
        total = cells[()]
        return [((), shown(total, threshold is not None and is_small(total, threshold)))]
    if len(axes) == 1:
        values = [cells[(a,)] for a in axes[0]]
        line = suppress_line(values, threshold) if threshold is not None else None
        out: list[tuple[Key, int | None]] = [
            ((a,), shown(v, bool(line and line.cells[i])))
            for i, (a, v) in enumerate(zip(axes[0], values, strict=False))
        ]
        out.append(((None,), shown(sum(values), bool(line and line.total))))
        return out
    rows, cols = axes
    grid_values = [[cells[(r, c)] for c in cols] for r in rows]
    grid = suppress_grid(grid_values, threshold) if threshold is not None else None
    out = []
    for i, r in enumerate(rows):
        for j, c in enumerate(cols):
            out.append(((r, c), shown(grid_values[i][j], bool(grid and grid.cell(i, j)))))
        out.append(((r, None), shown(sum(grid_values[i]), bool(grid and grid.row_total(i)))))
    for j, c in enumerate(cols):
        out.append(
            ((None, c), shown(sum(row[j] for row in grid_values), bool(grid and grid.column_total(j))))
        )
    grand = sum(map(sum, grid_values))
    out.append(((None, None), shown(grand, bool(grid and grid.total))))
    return out
