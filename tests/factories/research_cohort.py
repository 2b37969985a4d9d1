"""A small research cohort: people admitted at one test facility, with releases, returns and programs."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from resolvers.models.partners import Partner
from resolvers.models.people import Facility, Person
from resolvers.models.research import ResearchAgreement
from tests.factories.people import make_custody_period, make_facility, make_person, make_sentence
from tests.factories.programs import make_enrollment, make_program
from tests.factories.research import make_agreement

FIELDS = [
    "birth_year", "sex", "race", "offense_class", "admission_month", "release_month",
    "facility_type", "programs_completed", "returned_1y", "returned_3y",
]  # fmt: skip


@dataclass
class Cohort:
    facility: Facility
    people: list[Person]
    program_code: str

    def cohort_json(self) -> dict[str, Any]:
        return {
            "admitted_from": "2018-01-01",
            "admitted_to": "2020-12-31",
            "facilities": [self.facility.code],
            "offense_classes": [],
            "sexes": [],
        }


async def make_cohort(session: AsyncSession, size: int = 6) -> Cohort:
    """``size`` people admitted in 2018 at a new facility; every other one released in 2019 and every
    third of those back within a year; the first completed a program."""
    facility = await make_facility(session)
    program = await make_program(session, code=f"ICVC{facility.id}")
    people = []
    for n in range(size):
        person = await make_person(session, sex="F" if n % 2 else "M", birth_date=date(1980 + n, 1, 1))
        await make_sentence(session, person)
        released = date(2019, 3, 1) if n % 2 == 0 else None
        await make_custody_period(
            session,
            person,
            facility,
            admitted_on=date(2018, 1 + n % 12, 10),
            released_on=released,
            release_type="parole" if released else None,
        )
        if released and n % 3 == 0:
            await make_custody_period(session, person, facility, admitted_on=date(2019, 9, 1))
        if n == 0:
            await make_enrollment(
                session,
                person,
                program,
                enrolled_on=date(2018, 3, 1),
                status="completed",
                ended_on=date(2018, 9, 1),
            )
        people.append(person)
    return Cohort(facility=facility, people=people, program_code=program.code)


async def make_cohort_agreement(
    session: AsyncSession, partner: Partner, cohort: Cohort | None, **overrides: Any
) -> ResearchAgreement:
    """An approved record-tier agreement in force over ``cohort`` granting every field (override any
    column). Its k is 1 unless set, so that a cohort of a few people is released exactly as it is; the
    tests of k-anonymity set k themselves."""
    values: dict[str, Any] = {
        "requested_fields": FIELDS,
        "granted_fields": FIELDS,
        "requested_cohort": cohort.cohort_json() if cohort else None,
        "granted_cohort": cohort.cohort_json() if cohort else None,
        "starts_on": date(2020, 1, 1),
        "ends_on": date(2099, 12, 31),
        "irb_expires_on": date(2099, 12, 31),
        "pseudonym_key": secrets.token_bytes(32),
        "tier": "record",
        "small_cell_threshold": 1,
    }
    values.update(overrides)
    return await make_agreement(session, partner, **values)
