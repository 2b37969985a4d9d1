"""De-identified records of an agreement's cohort: what the research root, its statistics and its
CSV extracts are made of.

A record is one person of the cohort, described at their *index admission* (their first custody
period admitted within the cohort's dates, at the cohort's facilities): pseudonym, birth year, sex,
race, most serious offense class, admission and release as year and month, the kind of facility,
the programs completed during that custody, and whether they returned to custody within one and
within three years of release (null while that much time has not passed). Never a name, DOC id,
exact date or address: the statements below do not even select them.

A record-tier agreement's records are released k-anonymously (``resolvers/research_release.py``):
``release_plan`` counts the cohort's quasi-identifiers in one pass and chooses the generalization;
``record_page`` and ``stream_records`` then show each record's generalized values and skip the
records of classes still smaller than k.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import AsyncGenerator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, and_, case, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from auth.principal import Principal
from auth.scopes import agreement_in_force, row_scope
from resolvers.errors import Conflict, NotFound
from resolvers.models.custody import Charge, CustodyPeriod, OffenseClass, Sentence
from resolvers.models.people import Facility, Person
from resolvers.models.programs import Enrollment, EnrollmentStatus, Program
from resolvers.models.research import AgreementTier, ResearchAgreement
from resolvers.pagination import check_page_size
from resolvers.research_pseudonyms import decode_cursor, encode_cursor, order_key, pseudonym
from resolvers.research_release import QUASI_IDENTIFIERS, Key, Release, plan, quasi_identifiers
from resolvers.research_terms import Cohort, RecordsNotReleased, ResearchField, age_band, granted
from resolvers.session import RequestDb

#: People enriched (programs, returns) per statement when streaming a whole cohort.
BATCH = 1000
#: How long one streamed cohort may keep its cursor open (an extract of millions of records).
STREAM_TIMEOUT_MS = 30 * 60 * 1000
#: Most serious first: felony A is 1.
SEVERITY = {c.value: rank for rank, c in enumerate(OffenseClass, start=1)}
CLASS_OF_RANK = {rank: name for name, rank in SEVERITY.items()}
ONE_YEAR, THREE_YEARS = timedelta(days=365), timedelta(days=1096)
#: A statistics value that a released record does not pin down (a range across bands, withheld).
UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Agreement:
    """An agreement in force, as the research root uses it."""

    id: int
    reference: str
    key: bytes
    fields: frozenset[ResearchField]
    cohort: Cohort
    #: The aggregate tier's suppression threshold; the record tier's k.
    threshold: int
    tier: AgreementTier = AgreementTier.RECORD

    @property
    def k(self) -> int:
        return self.threshold

    def require_records(self, field: str) -> None:
        """Refuse to release records under an aggregate-tier agreement."""
        if self.tier is not AgreementTier.RECORD:
            raise RecordsNotReleased(
                field,
                f"is not released by agreement {self.reference}: it is an aggregate-tier agreement "
                "(statistics only, no records or extracts)",
            )


async def agreement_in_force_by_id(
    db: RequestDb, principal: Principal, agreement_id: int, today: date
) -> Agreement:
    """The agreement if ``principal`` may read its records today; otherwise a refusal saying why."""
    a = ResearchAgreement
    columns = (a.id, a.reference, a.status, a.starts_on, a.ends_on, a.granted_fields, a.granted_cohort)
    seen = await db.rows(select(*columns).where(row_scope(principal, a), a.id == agreement_id))
    if not seen:
        raise NotFound("ResearchAgreement", "agreementId")
    found = await db.rows(
        select(*columns, a.small_cell_threshold, a.tier, a.pseudonym_key).where(
            agreement_in_force(principal, today), a.id == agreement_id
        )
    )
    if not found:
        row = seen[0]
        if row.status != "approved":
            reason = f"is {row.status}"
        elif row.starts_on is not None and today < row.starts_on:
            reason = f"starts on {row.starts_on.isoformat()}"
        elif row.ends_on is not None and today > row.ends_on:
            reason = f"ended on {row.ends_on.isoformat()}"
        else:
            reason = "is not in force"
        raise Conflict("agreementId", f"agreement {row.reference} {reason}; research access is closed")
    row = found[0]
    return Agreement(
        id=row.id,
        reference=row.reference,
        key=bytes(row.pseudonym_key),
        fields=granted(row.granted_fields),
        cohort=Cohort.from_json(row.granted_cohort),
        threshold=row.small_cell_threshold,
        tier=AgreementTier(row.tier),
    )


def _severity() -> Any:
    """Each person's most serious offense class, as its rank (one grouped pass over the charges:
    a per-person subquery is at the mercy of the planner's statistics)."""
    rank = case(SEVERITY, value=Charge.offense_class, else_=len(SEVERITY) + 1)
    return (
        select(Sentence.person_id, func.min(rank).label("severity"))
        .join(Charge, Charge.sentence_id == Sentence.id)
        .group_by(Sentence.person_id)
        .subquery("severity")
    )


def cohort_statement(agreement: Agreement) -> Select[Any]:
    """One row per person of the cohort at their index admission, with the agreement's order key."""
    cohort = agreement.cohort
    cp = CustodyPeriod
    admitted = [cp.admitted_on >= cohort.admitted_from, cp.admitted_on <= cohort.admitted_to]
    if cohort.facilities:
        admitted.append(cp.facility_id.in_(select(Facility.id).where(Facility.code.in_(cohort.facilities))))
    ranked = (
        select(
            cp.person_id,
            cp.admitted_on,
            cp.released_on,
            cp.facility_id,
            func.row_number().over(partition_by=cp.person_id, order_by=(cp.admitted_on, cp.id)).label("n"),
        )
        .where(*admitted)
        .subquery("index_admission")
    )
    worst = _severity()
    severity = worst.c.severity
    conditions: list[ColumnElement[bool]] = [ranked.c.n == 1]
    if cohort.sexes:
        conditions.append(Person.sex.in_(cohort.sexes))
    if cohort.offense_classes:
        conditions.append(severity.in_([SEVERITY[c] for c in cohort.offense_classes]))
    return (
        select(
            Person.id.label("person_id"),
            Person.birth_year,
            Person.sex,
            Person.race,
            ranked.c.admitted_on,
            ranked.c.released_on,
            Facility.kind.label("facility_kind"),
            severity.label("severity"),
            order_key(agreement.key, Person.id).label("position"),
        )
        .join(ranked, ranked.c.person_id == Person.id)
        .join(Facility, Facility.id == ranked.c.facility_id)
        .outerjoin(worst, worst.c.person_id == Person.id)
        .where(and_(*conditions))
    )


@dataclass(slots=True)
class Record:
    """One de-identified record; a field the agreement does not grant stays None."""

    pseudonym: str
    position: int
    birth_year: str | None = None
    sex: str | None = None
    race: str | None = None
    offense_class: str | None = None
    admission_month: str | None = None
    release_month: str | None = None
    facility_type: str | None = None
    programs_completed: list[str] | None = None
    returned_1y: bool | None = None
    returned_3y: bool | None = None
    #: For statistics only (the YEAR and AGE_BAND values); never part of a record's output. In a
    #: k-anonymous release they are read from the released values (a range, or unknown).
    year_label: str = ""
    age_label: str = ""


def _month(day: date | None) -> str | None:
    return None if day is None else f"{day.year:04d}-{day.month:02d}"


def _returned(index: Row[Any], later: Sequence[date], within: timedelta, today: date) -> bool | None:
    released = index.released_on
    if released is None:
        return None
    if any(released < day <= released + within for day in later):
        return True
    return False if released + within <= today else None


def _exact(r: Row[Any]) -> dict[ResearchField, str | None]:
    """The quasi-identifiers of one row of the cohort statement, exactly."""
    return {
        ResearchField.BIRTH_YEAR: str(r.birth_year),
        ResearchField.SEX: r.sex,
        ResearchField.RACE: r.race,
        ResearchField.OFFENSE_CLASS: CLASS_OF_RANK.get(r.severity),
        ResearchField.ADMISSION_MONTH: _month(r.admitted_on),
        ResearchField.RELEASE_MONTH: _month(r.released_on),
        ResearchField.FACILITY_TYPE: r.facility_kind,
    }


def quasi_key(release: Release, r: Row[Any]) -> Key:
    exact = _exact(r)
    return tuple(exact[f] for f in release.fields)


def _years_of(value: str | None) -> tuple[int, int] | None:
    """The years a released year, month or range ("2019", "2019-04", "2015-2019") spans."""
    if value is None:
        return None
    if len(value) == 9:
        return int(value[:4]), int(value[5:])
    return int(value[:4]), int(value[:4])


def _labels(agreement: Agreement, values: Mapping[ResearchField, str | None]) -> tuple[str, str]:
    """The YEAR and AGE_BAND values statistics read off a record (released values only)."""
    cohort = agreement.cohort
    admitted = (
        _years_of(values[ResearchField.ADMISSION_MONTH])
        if ResearchField.ADMISSION_MONTH in agreement.fields
        else (cohort.admitted_from.year, cohort.admitted_to.year)
    )
    born = _years_of(values[ResearchField.BIRTH_YEAR])
    if admitted is None:
        return UNKNOWN, UNKNOWN
    year = str(admitted[0]) if admitted[0] == admitted[1] else f"{admitted[0]}-{admitted[1]}"
    if born is None:
        return year, UNKNOWN
    youngest, oldest = age_band(admitted[0] - born[1]), age_band(admitted[1] - born[0])
    return year, youngest if youngest == oldest else UNKNOWN


async def _enrich(
    run: Any,
    agreement: Agreement,
    rows: Sequence[Row[Any]],
    today: date,
    released: Sequence[Key] | None = None,
    release: Release | None = None,
) -> list[Record]:
    """Records for ``rows`` of the cohort statement: at most two more statements, whatever their number.
    With a ``release``, each record shows its ``released`` quasi-identifier values instead of the exact."""
    fields = agreement.fields
    ids = [r.person_id for r in rows]
    programs: dict[int, list[tuple[date | None, str]]] = defaultdict(list)
    if ResearchField.PROGRAMS_COMPLETED in fields and ids:
        stmt = (
            select(Enrollment.person_id, Enrollment.ended_on, Program.code)
            .join(Program, Program.id == Enrollment.program_id)
            .where(Enrollment.person_id.in_(ids), Enrollment.status == EnrollmentStatus.COMPLETED)
            .order_by(Enrollment.person_id, Program.code)
        )
        for p in await run(stmt):
            programs[p.person_id].append((p.ended_on, p.code))
    later: dict[int, list[date]] = defaultdict(list)
    if fields & {ResearchField.RETURNED_1Y, ResearchField.RETURNED_3Y} and ids:
        periods = select(CustodyPeriod.person_id, CustodyPeriod.admitted_on).where(
            CustodyPeriod.person_id.in_(ids), CustodyPeriod.admitted_on >= agreement.cohort.admitted_from
        )
        for p in await run(periods):
            later[p.person_id].append(p.admitted_on)
    out = []
    for n, r in enumerate(rows):
        values = _exact(r)
        if release is not None and released is not None:
            values.update(zip(release.fields, released[n], strict=True))
        if release is None:  # the cohort as it is (aggregate tier, the research unit): exact labels
            year, age = str(r.admitted_on.year), age_band(r.admitted_on.year - r.birth_year)
        else:
            year, age = _labels(agreement, values)
        record = Record(
            pseudonym=pseudonym(agreement.key, r.person_id),
            position=int(r.position),
            year_label=year,
            age_label=age,
        )
        for f in QUASI_IDENTIFIERS:
            if f in fields:
                setattr(record, f.value, values[f])
        if ResearchField.PROGRAMS_COMPLETED in fields:
            end = r.released_on or today
            record.programs_completed = sorted(
                {code for ended, code in programs[r.person_id] if ended and r.admitted_on <= ended <= end}
            )
        if ResearchField.RETURNED_1Y in fields:
            record.returned_1y = _returned(r, later[r.person_id], ONE_YEAR, today)
        if ResearchField.RETURNED_3Y in fields:
            record.returned_3y = _returned(r, later[r.person_id], THREE_YEARS, today)
        out.append(record)
    return out


@dataclass(frozen=True, slots=True)
class RecordPage:
    records: list[Record]
    total_count: int
    has_next_page: bool
    end_cursor: str | None
    start_cursor: str | None
    release: Release


def _postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


async def release_plan(session: AsyncSession, agreement: Agreement) -> Release:
    """The k-anonymous release of the agreement's cohort as it is now: one pass over the cohort's
    quasi-identifiers (counts only, no enrichment), then ``research_release.plan``."""
    fields = quasi_identifiers(agreement.fields)
    counts: Counter[Key] = Counter()
    # One string object per distinct value (a cohort repeats its years, months and codes): the
    # histogram then holds small tuples of shared strings, not seven new strings a person.
    shared: dict[str | None, str | None] = {}
    if _postgres(session):
        await session.execute(text(f"SET LOCAL statement_timeout = {STREAM_TIMEOUT_MS}"))
    result = await session.stream(cohort_statement(agreement).execution_options(yield_per=BATCH * 5))
    try:
        async for rows in result.partitions():
            for r in rows:
                exact = _exact(r)
                counts[tuple(shared.setdefault(v, v) for v in (exact[f] for f in fields))] += 1
    finally:
        await result.close()
    return plan(counts, fields, agreement.k)


async def record_page(
    db: RequestDb, agreement: Agreement, first: int | None, after: str | None, today: date
) -> RecordPage:
    """One page of the agreement's k-anonymous release, in the agreement's own order; cursors are
    sealed with its key. Records of suppressed classes are skipped, and ``total_count`` counts
    the released records only."""
    agreement.require_records("records")
    size = check_page_size(first)

    async def work() -> tuple[Release, list[Row[Any]], list[Key]]:
        release = await release_plan(db.session, agreement)
        stmt = cohort_statement(agreement).subquery("cohort")
        ordered = select(stmt).order_by(stmt.c.position)
        if after:
            ordered = ordered.where(stmt.c.position > decode_cursor(agreement.key, after))
        kept: list[Row[Any]] = []
        keys: list[Key] = []
        if size:
            result = await db.session.stream(ordered.execution_options(yield_per=max(2 * size, 100)))
            try:
                async for rows in result.partitions():
                    for r in rows:
                        key = release.apply(quasi_key(release, r))
                        if key is not None:
                            kept.append(r)
                            keys.append(key)
                    if len(kept) > size:
                        break
            finally:
                await result.close()
        return release, kept, keys

    release, rows, keys = await db.alone(work)
    records = await _enrich(db.rows, agreement, rows[:size], today, keys[:size], release)
    return RecordPage(
        records=records,
        total_count=release.released,
        has_next_page=len(rows) > size,
        end_cursor=encode_cursor(agreement.key, records[-1].position) if records else None,
        start_cursor=encode_cursor(agreement.key, records[0].position) if records else None,
        release=release,
    )


async def stream_records(
    session: AsyncSession,
    agreement: Agreement,
    today: date,
    batch: int = BATCH,
    release: Release | None = None,
) -> AsyncGenerator[list[Record], None]:
    """The whole cohort, ``batch`` records at a time, from one server-side cursor: memory stays flat
    however large the cohort (PostgreSQL sorts it on the server; Python holds one batch). With a
    ``release``, only its released records, generalized as it says."""
    stmt = cohort_statement(agreement).order_by("position")

    async def run(statement: Any) -> Sequence[Row[Any]]:
        return (await session.execute(statement)).all()

    if _postgres(session):
        # PostgreSQL times a cursor's statement from its first fetch to its last, and the cursor
        # stays open while the client reads: the request's per-statement timeout cannot bound it.
        await session.execute(text(f"SET LOCAL statement_timeout = {STREAM_TIMEOUT_MS}"))
    result = await session.stream(stmt.execution_options(yield_per=batch))
    try:
        async for rows in result.partitions(batch):
            if release is None:
                yield await _enrich(run, agreement, rows, today)
                continue
            kept, keys = [], []
            for r in rows:
                key = release.apply(quasi_key(release, r))
                if key is not None:
                    kept.append(r)
                    keys.append(key)
            if kept:
                yield await _enrich(run, agreement, kept, today, keys, release)
    finally:
        await result.close()
