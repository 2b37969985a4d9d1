"""Small factories for people and facilities; every column can be overridden."""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from resolvers.models.custody import Charge, CustodyPeriod, Sentence
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


async def make_sentence(
    session: AsyncSession, person: Person, *, charges: int = 1, **overrides: Any
) -> Sentence:
    n = next(_seq)
    values: dict[str, Any] = {
        "person_id": person.id,
        "cause_number": f"{n:02d}CR-{n:05d}",
        "county": "Cole",
        "sentenced_on": date(2020, 1, 15),
        "sentence_type": "prison",
        "term_months": 60,
        "status": "active",
    }
    values.update(overrides)
    sentence = Sentence(**values)
    session.add(sentence)
    await session.flush()
    for i in range(charges):
        session.add(
            Charge(
                sentence_id=sentence.id,
                statute=f"570.0{i + 1}0",
                offense=f"Offense {i + 1}",
                offense_class="felony_c",
                category="property",
            )
        )
    await session.flush()
    return sentence


async def make_custody_period(
    session: AsyncSession, person: Person, facility: Facility, **overrides: Any
) -> CustodyPeriod:
    values: dict[str, Any] = {
        "person_id": person.id,
        "facility_id": facility.id,
        "admission_type": "new_commitment",
        "admitted_on": date(2020, 2, 1),
        "projected_release_on": date(2027, 2, 1),
    }
    values.update(overrides)
    period = CustodyPeriod(**values)
    session.add(period)
    await session.flush()
    return period


async def make_inmate(
    session: AsyncSession, facility: Facility | None = None, **overrides: Any
) -> tuple[Person, Facility]:
    """A person incarcerated in ``facility`` (a new institution by default) with an open custody period."""
    facility = facility or await make_facility(session)
    person = await make_person(session, status="incarcerated", current_facility_id=facility.id, **overrides)
    await make_custody_period(session, person, facility)
    return person, facility
