"""k-anonymous releases, checked on generated cohorts: every equivalence class of every release holds
at least k records, each released value generalizes the exact one along its ladder, and suppression
stays within its budget unless every field is already withheld.

Derandomized (``derandomize=True``, no example database): CI runs the same examples every time, and
the ``@example`` cases pin the edges (an empty cohort, one smaller than k, k = 1, no quasi-identifier
granted, every record alike).
"""

from __future__ import annotations

from collections import Counter

from hypothesis import example, given, settings
from hypothesis import strategies as st

from resolvers.research_release import LADDERS, QUASI_IDENTIFIERS, SUPPRESSION_BUDGET, Key, plan
from resolvers.research_terms import ResearchField

F = ResearchField

#: Small domains, so that generated cohorts have both large and small classes.
DOMAINS: dict[ResearchField, st.SearchStrategy[str | None]] = {
    F.BIRTH_YEAR: st.integers(1950, 2004).map(str),
    F.SEX: st.sampled_from(["M", "F", "U"]),
    F.RACE: st.sampled_from(["white", "black", "hispanic", "asian", "other"]),
    F.OFFENSE_CLASS: st.sampled_from(["felony_a", "felony_c", "misdemeanor_a", None]),
    F.ADMISSION_MONTH: st.builds(lambda y, m: f"{y}-{m:02d}", st.integers(2010, 2021), st.integers(1, 12)),
    F.RELEASE_MONTH: st.one_of(
        st.none(), st.builds(lambda y, m: f"{y}-{m:02d}", st.integers(2011, 2024), st.integers(1, 12))
    ),
    F.FACILITY_TYPE: st.sampled_from(["institution", "community_release_center"]),
}


@st.composite
def cohorts(draw: st.DrawFn) -> tuple[tuple[ResearchField, ...], list[Key], int]:
    fields = tuple(q for q in QUASI_IDENTIFIERS if draw(st.booleans()))
    size = draw(st.one_of(st.integers(0, 15), st.integers(0, 400)))
    # Some records repeated (clusters), some unique: both occur in real cohorts.
    distinct = [tuple(draw(DOMAINS[f]) for f in fields) for _ in range(draw(st.integers(1, 25)))]
    records = [draw(st.sampled_from(distinct)) for _ in range(size)]
    k = draw(st.integers(1, 15))
    return fields, records, k


def _generalizes(f: ResearchField, exact: str | None, released: str | None) -> bool:
    return any(rung(exact) == released for _, rung in LADDERS[f].rungs)


def check(fields: tuple[ResearchField, ...], records: list[Key], k: int) -> None:
    release = plan(Counter(records), fields, k)
    released = [out for out in (release.apply(r) for r in records) if out is not None]
    classes = Counter(released)
    # The property: every equivalence class of the release has at least k records.
    assert all(n >= k for n in classes.values()), (classes, k)
    assert len(released) == release.released == release.cohort - release.suppressed
    assert release.cohort == len(records)
    assert release.smallest_class is None or release.smallest_class >= k
    for exact, out in zip(records, (release.apply(r) for r in records), strict=True):
        if out is not None:
            assert all(_generalizes(f, e, o) for f, e, o in zip(fields, exact, out, strict=True))
    at_top = all(level == LADDERS[f].top for f, level in zip(fields, release.levels, strict=True))
    if not at_top:
        assert release.suppressed <= max(k - 1, int(len(records) * SUPPRESSION_BUDGET))
    else:
        # Everything withheld: one class of the whole cohort, released only when it holds k records.
        assert release.suppressed in (0, len(records))


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(cohorts())
@example(((F.SEX, F.BIRTH_YEAR), [], 11))
@example(((F.SEX, F.BIRTH_YEAR), [("M", "1980")] * 10, 11))
@example(((F.SEX, F.BIRTH_YEAR), [("M", "1980"), ("F", "1990")], 1))
@example(((), [(), (), ()], 11))
@example(((), [()] * 11, 11))
@example(((F.SEX,), [("M",)] * 11 + [("F",)], 11))
@example((QUASI_IDENTIFIERS, [("1980", "M", "white", "felony_a", "2019-04", None, "institution")] * 30, 11))
def test_every_class_of_every_release_holds_at_least_k_records(
    case: tuple[tuple[ResearchField, ...], list[Key], int],
) -> None:
    check(*case)


def test_the_ladder_generalizes_before_it_suppresses() -> None:
    # 40 people born over 20 years, 2 a year: exact birth years are classes of 2; 5-year ranges of 10.
    records: list[Key] = [(str(1970 + n % 20), "M") for n in range(40)]
    release = plan(Counter(records), (F.BIRTH_YEAR, F.SEX), 10)
    assert release.generalized == {"birth_year": "5-year range"}
    assert release.suppressed == 0
    assert release.apply(("1983", "M")) == ("1980-1984", "M")
    assert release.metadata()["levels"] == {"birth_year": "5-year range", "sex": "exact"}


def test_a_lone_outlier_is_suppressed_rather_than_generalizing_everyone() -> None:
    # One woman among 50 men: withholding sex for everyone would cost more than leaving her out.
    men: list[Key] = [("M",)] * 50
    records = [*men, ("F",)]
    release = plan(Counter(records), (F.SEX,), 11)
    assert release.generalized == {}
    assert release.suppressed == 1
    assert release.apply(("F",)) is None
    assert release.apply(("M",)) == ("M",)


def test_a_cohort_smaller_than_k_releases_nothing() -> None:
    records: list[Key] = [("M", "1980")] * 4
    release = plan(Counter(records), (F.SEX, F.BIRTH_YEAR), 5)
    assert release.released == 0
    assert release.suppressed == 4
    assert release.classes == {}
