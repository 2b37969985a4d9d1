"""Data access for people, facilities and custody: statements, filters and batch functions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Row, exists, func, or_, select

from auth.principal import Principal
from auth.scopes import row_scope
from resolvers.errors import InvalidInput
from resolvers.models.people import CustodyPeriod, Facility, Person, PersonIdentity
from resolvers.pagination import Page, paginate
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


def _people_conditions(f: PeopleFilter) -> list[ColumnElement[bool]]:
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
) -> Page[Row[Any]]:
    stmt = select(*Person.__table__.columns).where(row_scope(principal, Person), *_people_conditions(f))
    return await paginate(db, stmt, [Person.__table__.c.id], first=first, after=after)


async def people_by_id(db: RequestDb, principal: Principal, ids: Sequence[int]) -> list[Row[Any] | None]:
    stmt = select(*Person.__table__.columns).where(row_scope(principal, Person), Person.id.in_(ids))
    found = {row.id: row for row in await db.rows(stmt)}
    return [found.get(i) for i in ids]


async def facilities_by_id(db: RequestDb, principal: Principal, ids: Sequence[int]) -> list[Row[Any] | None]:
    stmt = select(*Facility.__table__.columns).where(row_scope(principal, Facility), Facility.id.in_(ids))
    found = {row.id: row for row in await db.rows(stmt)}
    return [found.get(i) for i in ids]


async def identities_by_person_id(
    db: RequestDb, principal: Principal, ids: Sequence[int]
) -> list[Row[Any] | None]:
    stmt = (
        select(*PersonIdentity.__table__.columns)
        .join(Person, Person.id == PersonIdentity.person_id)
        .where(row_scope(principal, Person), PersonIdentity.person_id.in_(ids))
    )
    found = {row.person_id: row for row in await db.rows(stmt)}
    return [found.get(i) for i in ids]


async def list_facilities(
    db: RequestDb, principal: Principal, kind: str | None, first: int | None, after: str | None
) -> Page[Row[Any]]:
    conditions = [Facility.kind == kind] if kind else []
    stmt = select(*Facility.__table__.columns).where(row_scope(principal, Facility), *conditions)
    return await paginate(db, stmt, [Facility.__table__.c.id], first=first, after=after)
