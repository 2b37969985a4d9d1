"""Data access for people and facilities: statements, filters and batch functions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Row, exists, func, or_, select

from auth.principal import Principal
from auth.scopes import identifiers_scope, row_scope
from resolvers.batching import many_per_key, one_per_key, rows_by_id, rows_by_key, table_select
from resolvers.errors import InvalidInput
from resolvers.keys import key_in
from resolvers.models.base import Base
from resolvers.models.custody import (
    CustodyPeriod,
)
from resolvers.models.people import Facility, Person, PersonAlias, PersonIdentity, PersonStatus
from resolvers.pagination import Page, paginate
from resolvers.parent_pages import ChildPage, pages_by_parent
from resolvers.rows import FacilityRow, PersonAliasRow, PersonRow
from resolvers.session import RequestDb

MAX_NAME_QUERY = 60


@dataclass(frozen=True, slots=True)
class PeopleFilter:
    name: str | None = None
    doc_id: str | None = None
    status: str | None = None
    facility_id: int | None = None
    supervision_office_id: int | None = None
    release_from: date | None = None
    release_to: date | None = None


def people_conditions(f: PeopleFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if f.name is not None:
        name = f.name.strip()
        if not name:
            raise InvalidInput("name", "must not be empty")
        if len(name) > MAX_NAME_QUERY:
            raise InvalidInput("name", f"must be at most {MAX_NAME_QUERY} characters")
        # "Last, First" or "First Last" or one part of either.
        parts = [p for p in name.replace(",", " ").split() if p]
        for part in parts:
            like = part.lower().replace("%", r"\%").replace("_", r"\_") + "%"
            conditions.append(
                or_(
                    func.lower(Person.last_name).like(like, escape="\\"),
                    func.lower(Person.first_name).like(like, escape="\\"),
                )
            )
    if f.doc_id is not None:
        conditions.append(Person.doc_id == f.doc_id.strip().upper())
    if f.status is not None:
        conditions.append(Person.status == f.status)
    if f.facility_id is not None:
        conditions.append(Person.current_facility_id == f.facility_id)
    if f.supervision_office_id is not None:
        conditions.append(Person.supervision_office_id == f.supervision_office_id)
    if f.release_from is not None or f.release_to is not None:
        if f.release_from and f.release_to and f.release_to < f.release_from:
            raise InvalidInput("releaseTo", "must not be before releaseFrom")
        window: list[ColumnElement[bool]] = [
            CustodyPeriod.person_id == Person.id,
            CustodyPeriod.released_on.is_(None),
        ]
        if f.release_from is not None:
            window.append(CustodyPeriod.projected_release_on >= f.release_from)
        if f.release_to is not None:
            window.append(CustodyPeriod.projected_release_on <= f.release_to)
        conditions.append(exists(select(CustodyPeriod.id).where(*window)))
    return conditions


async def list_people(
    db: RequestDb, principal: Principal, f: PeopleFilter, first: int | None, after: str | None
) -> Page[PersonRow]:
    stmt = table_select(Person, PersonRow).where(row_scope(principal, Person), *people_conditions(f))
    c = Person.__table__.c
    return await paginate(
        db, stmt, [c.last_name, c.first_name, c.id], row=PersonRow, first=first, after=after
    )


async def people_by_id(db: RequestDb, principal: Principal, ids: Sequence[int]) -> list[PersonRow | None]:
    return await rows_by_id(db, principal, Person, PersonRow, ids)


async def facilities_by_id(
    db: RequestDb, principal: Principal, ids: Sequence[int]
) -> list[FacilityRow | None]:
    return await rows_by_id(db, principal, Facility, FacilityRow, ids)


#: The identity columns (``Person.identity``); the identifiers in the same rows are read apart.
_IDENTITY_COLUMNS = (
    PersonIdentity.person_id,
    PersonIdentity.birth_date,
    PersonIdentity.address_line,
    PersonIdentity.city,
    PersonIdentity.county,
    PersonIdentity.state,
    PersonIdentity.postal_code,
    PersonIdentity.phone,
)


class IdentityRow(NamedTuple):
    """The identity columns of ``person_identities`` (``_IDENTITY_COLUMNS``, in that order)."""

    person_id: int
    birth_date: date
    address_line: str | None
    city: str | None
    county: str | None
    state: str | None
    postal_code: str | None
    phone: str | None


async def identities_by_person_id(
    db: RequestDb, principal: Principal, ids: Sequence[int]
) -> list[IdentityRow | None]:
    """Date of birth, address and phone, under the identity scope (a reentry partner: under consent)."""
    stmt = select(*_IDENTITY_COLUMNS).where(
        row_scope(principal, PersonIdentity), key_in(db, PersonIdentity.person_id, ids)
    )
    return one_per_key(await db.rows_as(stmt, IdentityRow), "person_id", ids)


async def birth_dates_by_person_id(
    db: RequestDb, principal: Principal, ids: Sequence[int]
) -> list[date | None]:
    """Dates of birth for ``Person.age`` only, which is the public record's: scoped by the person, not
    by the identity (the age is shown, never the date)."""
    stmt = (
        select(PersonIdentity.person_id, PersonIdentity.birth_date)
        .join(Person, Person.id == PersonIdentity.person_id)
        .where(row_scope(principal, Person), key_in(db, PersonIdentity.person_id, ids))
    )
    found = {row.person_id: row.birth_date for row in await db.rows(stmt)}
    return [found.get(i) for i in ids]


async def list_facilities(
    db: RequestDb, principal: Principal, kind: str | None, first: int | None, after: str | None
) -> Page[FacilityRow]:
    conditions = [Facility.kind == kind] if kind else []
    stmt = table_select(Facility, FacilityRow).where(row_scope(principal, Facility), *conditions)
    return await paginate(db, stmt, [Facility.__table__.c.id], row=FacilityRow, first=first, after=after)


class IdentifiersRow(NamedTuple):
    """A person's identifiers, from ``person_identities``."""

    person_id: int
    ssn: str | None
    fbi_number: str | None
    state_id: str | None


async def identifiers_by_person_id(
    db: RequestDb, principal: Principal, ids: Sequence[int]
) -> list[IdentifiersRow | None]:
    """SSN, FBI and state ids: a scope of their own (``identifiers_scope``: admin only), not the
    identity's, though they share its rows."""
    c = PersonIdentity.__table__.c
    stmt = select(c.person_id, c.ssn, c.fbi_number, c.state_id).where(
        identifiers_scope(principal), key_in(db, c.person_id, ids)
    )
    return one_per_key(await db.rows_as(stmt, IdentifiersRow), "person_id", ids)


async def _children(
    db: RequestDb,
    principal: Principal,
    model: type[Base],
    key: str,
    ids: Sequence[int],
    order: Sequence[str],
) -> list[list[Row[Any]]]:
    """Every row of ``model`` whose ``key`` is in ``ids``, in one statement, grouped per key."""
    table = model.__table__
    stmt = (
        select(*table.columns)
        .where(row_scope(principal, model), key_in(db, table.c[key], ids))
        .order_by(*[table.c[o] for o in order])
    )
    return many_per_key(await db.rows(stmt), key, ids)


async def aliases_by_person_id(
    db: RequestDb, principal: Principal, ids: Sequence[int]
) -> list[list[PersonAliasRow]]:
    return await rows_by_key(db, principal, PersonAlias, PersonAliasRow, "person_id", ids, ("alias", "id"))


#: Where a person is counted: their institution or release center, else their supervision office.
LOCATION: ColumnElement[int] = func.coalesce(Person.current_facility_id, Person.supervision_office_id)

#: People the department still holds or supervises.
CURRENT = (PersonStatus.INCARCERATED, PersonStatus.SUPERVISED, PersonStatus.ESCAPED)


async def population_by_facility_id(
    db: RequestDb, principal: Principal, keys: Sequence[tuple[int, ChildPage]]
) -> list[Page[PersonRow]]:
    """A facility's current population (its residents, or an office's supervisees), by name."""
    stmt = (
        table_select(Person, PersonRow)
        .add_columns(LOCATION.label("parent_key"))
        .where(row_scope(principal, Person))
    )
    found: dict[tuple[int, ChildPage], Page[PersonRow]] = {}
    # The status filter changes the statement, so keys are batched per status (one statement each).
    for status in {page.filter("status") for _, page in keys}:
        batch = [key for key in keys if key[1].filter("status") == status]
        pages = await pages_by_parent(
            db, stmt.where(population_condition(status)), LOCATION, POPULATION_ORDER, batch, PersonRow
        )
        found.update(zip(batch, pages, strict=True))
    return [found[key] for key in keys]


#: A population's keyset order (by name), shared with the compiled reads.
POPULATION_ORDER = ("last_name", "first_name", "id")


def population_condition(status: str | None) -> ColumnElement[bool]:
    """The people a population lists: those in ``status``, or by default those still held or
    supervised."""
    return Person.status == status if status is not None else Person.status.in_(CURRENT)
