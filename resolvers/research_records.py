"""De-identified records of an agreement's cohort: what the research root, its statistics and its
CSV extracts are made of.

A record is one person of the cohort, described at their *index admission* (their first custody
period admitted within the cohort's dates, at the cohort's facilities): pseudonym, birth year, sex,
race, most serious offense class, admission and release as year and month, the kind of facility,
the programs completed during that custody, and whether they returned to custody within one and
within three years of release (null while that much time has not passed). Never a name, DOC id,
exact date or address: the statements below do not even select them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, and_, case, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from auth.principal import Principal
from auth.scopes import agreement_in_force, row_scope
from resolvers.errors import Conflict, NotFound
from resolvers.models.people import Charge, CustodyPeriod, Facility, OffenseClass, Person, Sentence
from resolvers.models.programs import Enrollment, EnrollmentStatus, Program
from resolvers.models.research import ResearchAgreement
from resolvers.pagination import check_page_size
from resolvers.pseudonyms import decode_cursor, encode_cursor, order_key, pseudonym
from resolvers.research_terms import Cohort, ResearchField, granted
from resolvers.session import RequestDb

#: People enriched (programs, returns) per statement when streaming a whole cohort.
BATCH = 1000
#: How long one streamed cohort may keep its cursor open (an extract of millions of records).
STREAM_TIMEOUT_MS = 30 * 60 * 1000
#: Most serious first: felony A is 1.
SEVERITY = {c.value: rank for rank, c in enumerate(OffenseClass, start=1)}
CLASS_OF_RANK = {rank: name for name, rank in SEVERITY.items()}
ONE_YEAR, THREE_YEARS = timedelta(days=365), timedelta(days=1096)


@dataclass(frozen=True, slots=True)
class Agreement:
    """An agreement in force, as the research root uses it."""

    id: int
    reference: str
    key: bytes
    fields: frozenset[ResearchField]
    cohort: Cohort
    threshold: int


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
        select(*columns, a.small_cell_threshold, a.pseudonym_key).where(
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
    birth_year: int | None = None
    sex: str | None = None
    race: str | None = None
    offense_class: str | None = None
    admission_month: str | None = None
    release_month: str | None = None
    facility_type: str | None = None
    programs_completed: list[str] | None = None
    returned_1y: bool | None = None
    returned_3y: bool | None = None
    #: For statistics only (age bands, years); never part of a record's output.
    admission_year: int = 0
    age_at_admission: int = 0


def _month(day: date | None) -> str | None:
    return None if day is None else f"{day.year:04d}-{day.month:02d}"


def _returned(index: Row[Any], later: Sequence[date], within: timedelta, today: date) -> bool | None:
    released = index.released_on
    if released is None:
        return None
    if any(released < day <= released + within for day in later):
        return True
    return False if released + within <= today else None


async def _enrich(run: Any, agreement: Agreement, rows: Sequence[Row[Any]], today: date) -> list[Record]:
    """Records for ``rows`` of the cohort statement: at most two more statements, whatever their number."""
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
    for r in rows:
        record = Record(
            pseudonym=pseudonym(agreement.key, r.person_id),
            position=int(r.position),
            admission_year=r.admitted_on.year,
            age_at_admission=r.admitted_on.year - r.birth_year,
        )
        if ResearchField.BIRTH_YEAR in fields:
            record.birth_year = r.birth_year
        if ResearchField.SEX in fields:
            record.sex = r.sex
        if ResearchField.RACE in fields:
            record.race = r.race
        if ResearchField.OFFENSE_CLASS in fields:
            record.offense_class = CLASS_OF_RANK.get(r.severity)
        if ResearchField.ADMISSION_MONTH in fields:
            record.admission_month = _month(r.admitted_on)
        if ResearchField.RELEASE_MONTH in fields:
            record.release_month = _month(r.released_on)
        if ResearchField.FACILITY_TYPE in fields:
            record.facility_type = r.facility_kind
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


async def record_page(
    db: RequestDb, agreement: Agreement, first: int | None, after: str | None, today: date
) -> RecordPage:
    """One page of records, in the agreement's own order; cursors are sealed with its key."""
    size = check_page_size(first)
    cohort = cohort_statement(agreement).subquery("cohort")
    total = int(await db.scalar(select(func.count()).select_from(cohort)) or 0)
    stmt = select(cohort).order_by(cohort.c.position)
    if after:
        stmt = stmt.where(cohort.c.position > decode_cursor(agreement.key, after))
    rows = list(await db.rows(stmt.limit(size + 1))) if size else []
    records = await _enrich(db.rows, agreement, rows[:size], today)
    return RecordPage(
        records=records,
        total_count=total,
        has_next_page=len(rows) > size,
        end_cursor=encode_cursor(agreement.key, records[-1].position) if records else None,
        start_cursor=encode_cursor(agreement.key, records[0].position) if records else None,
    )


async def cohort_size(session: AsyncSession, agreement: Agreement) -> int:
    cohort = cohort_statement(agreement).subquery("cohort")
    return int(await session.scalar(select(func.count()).select_from(cohort)) or 0)


async def stream_records(
    session: AsyncSession, agreement: Agreement, today: date, batch: int = BATCH
) -> AsyncGenerator[list[Record], None]:
    """The whole cohort, ``batch`` records at a time, from one server-side cursor: memory stays flat
    however large the cohort (PostgreSQL sorts it on the server; Python holds one batch)."""
    stmt = cohort_statement(agreement).order_by("position")

    async def run(statement: Any) -> Sequence[Row[Any]]:
        return (await session.execute(statement)).all()

    if session.get_bind().dialect.name == "postgresql":
        # PostgreSQL times a cursor's statement from its first fetch to its last, and the cursor
        # stays open while the client reads: the request's per-statement timeout cannot bound it.
        await session.execute(text(f"SET LOCAL statement_timeout = {STREAM_TIMEOUT_MS}"))
    result = await session.stream(stmt.execution_options(yield_per=batch))
    try:
        async for rows in result.partitions(batch):
            yield await _enrich(run, agreement, rows, today)
    finally:
        await result.close()
