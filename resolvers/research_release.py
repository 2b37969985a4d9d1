"""k-anonymous releases of an agreement's records: generalize first, then suppress what is left small.

A record-tier agreement releases records, and a record could single a person out by its
*quasi-identifiers*: the fields someone who knows the person (a neighbour, a news story, another
data set) could match on. ``QUASI_IDENTIFIERS`` names them, in one place: birth year, sex, race,
most serious offense class, admission and release month, and the kind of facility. The outcomes a
study is about (programs completed, returns to custody) are not quasi-identifiers: they are what the
records are for (k-anonymity protects identity, not attributes; see the README's residual risks).

A release is *k-anonymous* when every combination of released quasi-identifier values (an
*equivalence class*) is shared by at least k records. To get there each quasi-identifier has a
generalization ladder (``LADDERS``), from the exact value to withheld::

    birth_year       1983 -> 1980-1984 -> 1980-1989 -> withheld
    admission_month  2019-04 -> 2019 -> 2015-2019 -> withheld     (release_month the same)
    sex, race, offense_class, facility_type   exact -> withheld

The whole release climbs each ladder together (full-domain generalization: every record shows a
field at the same level, so the levels are the release's metadata). The levels are chosen greedily
(Sweeney's Datafly): while more records sit in classes smaller than k than the suppression budget
allows (``SUPPRESSION_BUDGET`` of the cohort, and never fewer than k - 1 records), the field with the
most distinct values at its current level climbs one rung. Then the records of the classes still
smaller than k are suppressed (left out). Only the fields an agreement grants take part: a field it
does not grant is not released at all.

Everything here is pure: ``plan`` reads a histogram of the cohort's exact quasi-identifier tuples
(one pass over the cohort, counts only) and ``Release.apply`` generalizes one record and says
whether it is released.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from resolvers.research_terms import ResearchField

#: The quasi-identifiers of a research record, in the order their values are kept.
QUASI_IDENTIFIERS: tuple[ResearchField, ...] = (
    ResearchField.BIRTH_YEAR,
    ResearchField.SEX,
    ResearchField.RACE,
    ResearchField.OFFENSE_CLASS,
    ResearchField.ADMISSION_MONTH,
    ResearchField.RELEASE_MONTH,
    ResearchField.FACILITY_TYPE,
)

#: At most this share of the cohort is suppressed before a field is generalized further.
SUPPRESSION_BUDGET = 0.02

#: One value of a quasi-identifier as the cohort holds it (a year, "YYYY-MM", an enum name, None).
Value = str | None
Rung = Callable[[Value], Value]


def _years(width: int) -> Rung:
    def rung(value: Value) -> Value:
        if value is None:
            return None
        start = int(value[:4]) // width * width
        return f"{start}-{start + width - 1}"

    return rung


def _year_of_month(value: Value) -> Value:
    return None if value is None else value[:4]


def _exact(value: Value) -> Value:
    return value


def _withheld(value: Value) -> Value:
    return None


@dataclass(frozen=True, slots=True)
class Ladder:
    """The rungs of one quasi-identifier, exact first and withheld last, each with its name."""

    rungs: tuple[tuple[str, Rung], ...]

    @property
    def top(self) -> int:
        return len(self.rungs) - 1


_MONTHS = Ladder(
    (("month", _exact), ("year", _year_of_month), ("5-year range", _years(5)), ("withheld", _withheld))
)
_CATEGORY = Ladder((("exact", _exact), ("withheld", _withheld)))

#: The generalization ladder of each quasi-identifier.
LADDERS: dict[ResearchField, Ladder] = {
    ResearchField.BIRTH_YEAR: Ladder(
        (
            ("year", _exact),
            ("5-year range", _years(5)),
            ("10-year range", _years(10)),
            ("withheld", _withheld),
        )
    ),
    ResearchField.SEX: _CATEGORY,
    ResearchField.RACE: _CATEGORY,
    ResearchField.OFFENSE_CLASS: _CATEGORY,
    ResearchField.ADMISSION_MONTH: _MONTHS,
    ResearchField.RELEASE_MONTH: _MONTHS,
    ResearchField.FACILITY_TYPE: _CATEGORY,
}
assert set(LADDERS) == set(QUASI_IDENTIFIERS)

Key = tuple[Value, ...]


def quasi_identifiers(granted: Iterable[ResearchField]) -> tuple[ResearchField, ...]:
    """The quasi-identifiers an agreement releases (those it grants), in ``QUASI_IDENTIFIERS`` order."""
    fields = set(granted)
    return tuple(q for q in QUASI_IDENTIFIERS if q in fields)


@dataclass(frozen=True, slots=True)
class Release:
    """How one release generalizes and suppresses: the plan ``plan`` chose for a cohort."""

    k: int
    fields: tuple[ResearchField, ...]
    levels: tuple[int, ...]
    cohort: int
    #: Released equivalence classes and their sizes (each at least k).
    classes: Mapping[Key, int] = field(repr=False)
    suppressed: int = 0
    #: Per field, the released value of each exact value seen so far (a cohort repeats its values).
    _memo: list[dict[Value, Value]] = field(default_factory=list, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self._memo:
            self._memo.extend({} for _ in self.fields)

    @property
    def released(self) -> int:
        return self.cohort - self.suppressed

    def generalize(self, key: Key) -> Key:
        out = []
        for i, value in enumerate(key):
            seen = self._memo[i]
            if value not in seen:
                seen[value] = LADDERS[self.fields[i]].rungs[self.levels[i]][1](value)
            out.append(seen[value])
        return tuple(out)

    def apply(self, key: Key) -> Key | None:
        """The released values of a record whose exact quasi-identifiers are ``key``; None: suppressed."""
        out = self.generalize(key)
        return out if out in self.classes else None

    def level_of(self, f: ResearchField) -> str:
        return LADDERS[f].rungs[self.levels[self.fields.index(f)]][0]

    @property
    def generalized(self) -> dict[str, str]:
        """Each quasi-identifier released at other than its exact level, and the level it is at."""
        return {f.value: self.level_of(f) for f, level in zip(self.fields, self.levels, strict=True) if level}

    @property
    def generalized_fields(self) -> frozenset[ResearchField]:
        return frozenset(f for f, level in zip(self.fields, self.levels, strict=True) if level)

    @property
    def smallest_class(self) -> int | None:
        return min(self.classes.values()) if self.classes else None

    def metadata(self) -> dict[str, Any]:
        return {
            "k": self.k,
            "quasi_identifiers": [f.value for f in self.fields],
            "levels": {f.value: self.level_of(f) for f in self.fields},
            "generalized": self.generalized,
            "cohort": self.cohort,
            "released": self.released,
            "suppressed": self.suppressed,
            "classes": len(self.classes),
            "smallest_class": self.smallest_class,
        }


def _climb(classes: Mapping[Key, int], i: int, rung: Rung) -> Counter[Key]:
    """``classes`` with field ``i`` one rung up. The rungs of a ladder compose (a rung applied to the
    rung below gives what it gives applied to the exact value), so each climb starts from the classes
    of the step before, which shrink as the release generalizes, not from the whole cohort."""
    memo: dict[Value, Value] = {}
    out: Counter[Key] = Counter()
    for key, n in classes.items():
        value = key[i]
        up = memo[value] if value in memo else memo.setdefault(value, rung(value))
        out[(*key[:i], up, *key[i + 1 :])] += n
    return out


def plan(counts: Mapping[Key, int], fields: tuple[ResearchField, ...], k: int) -> Release:
    """Choose the levels of a k-anonymous release of a cohort whose exact quasi-identifier tuples
    (values in the order of ``fields``) occur ``counts`` times each."""
    if k < 1:
        raise ValueError("k must be at least 1")
    cohort = sum(counts.values())
    budget = max(k - 1, int(cohort * SUPPRESSION_BUDGET))
    levels = [0] * len(fields)
    classes: Mapping[Key, int] = counts
    while True:
        small = sum(n for n in classes.values() if n < k)
        climbable = [i for i, f in enumerate(fields) if levels[i] < LADDERS[f].top]
        if small <= budget or not climbable:
            break

        distinct = {i: len({key[i] for key in classes}) for i in climbable}
        chosen = max(climbable, key=lambda i: (distinct[i], -i))
        levels[chosen] += 1
        classes = _climb(classes, chosen, LADDERS[fields[chosen]].rungs[levels[chosen]][1])
    kept = {key: n for key, n in classes.items() if n >= k}
    return Release(
        k=k,
        fields=fields,
        levels=tuple(levels),
        cohort=cohort,
        classes=kept,
        suppressed=cohort - sum(kept.values()),
    )
