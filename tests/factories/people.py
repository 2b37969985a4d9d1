"""Small factories for people and facilities; every column can be overridden."""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from resolvers.models.people import Facility, Person, PersonIdentity

_seq = itertools.count(1)


async def make_facility(session: AsyncSession, **overrides: Any) -> Facility:
    n = next(_seq)
    values: dict[str, Any] = {
        "code": f"TF{n:04d}",
        "name": f"Test Facility {n}",
        "kind": "institution",
        "county": "Cole",
        "region": "Central",
        "capacity": 500,
        "serves_women": False,
        "address": f"{n} Test Road, Jefferson City",
    }
    values.update(overrides)
    facility = Facility(**values)
    session.add(facility)
    await session.flush()
    return facility


async def make_person(
    session: AsyncSession, *, birth_date: date | None = date(1990, 6, 15), **overrides: Any
) -> Person:
    n = next(_seq)
    values: dict[str, Any] = {
        "doc_id": f"T{n:07d}",
        "first_name": "Testfirst",
        "middle_name": None,
        "last_name": f"Testlast{n}",
        "sex": "M",
        "race": "white",
        "birth_year": birth_date.year if birth_date else 1990,
        "status": "incarcerated",
    }
    values.update(overrides)
    person = Person(**values)
    session.add(person)
    await session.flush()
    if birth_date is not None:
        session.add(PersonIdentity(person_id=person.id, birth_date=birth_date, ssn=f"900-00-{n % 10000:04d}"))
        await session.flush()
    return person
