"""Small factories for programs, offerings and enrollments; every column can be overridden."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from resolvers.models.people import Facility, Person
from resolvers.models.programs import Enrollment, Program, ProgramOffering

_seq = itertools.count(1)


async def make_program(session: AsyncSession, **overrides: Any) -> Program:
    n = next(_seq)
    values: dict[str, Any] = {
        "code": f"TP{n:04d}",
        "name": f"Test Program {n:04d}",
        "category": "restorative_justice",
        "description": "A program for tests.",
        "reparative": True,
        "gender_responsive": False,
    }
    values.update(overrides)
    program = Program(**values)
    session.add(program)
    await session.flush()
    return program


async def make_offering(
    session: AsyncSession, program: Program, facility: Facility, **overrides: Any
) -> ProgramOffering:
    values: dict[str, Any] = {
        "program_id": program.id,
        "facility_id": facility.id,
        "starts_on": date(2024, 1, 1),
        "ends_on": None,
        "capacity": 20,
        "status": "open",
    }
    values.update(overrides)
    offering = ProgramOffering(**values)
    session.add(offering)
    await session.flush()
    return offering


async def make_enrollment(
    session: AsyncSession, person: Person, program: Program, **overrides: Any
) -> Enrollment:
    values: dict[str, Any] = {
        "person_id": person.id,
        "program_id": program.id,
        "enrolled_on": date(2024, 3, 1),
        "status": "enrolled",
        "reparative_hours": Decimal("0"),
    }
    values.update(overrides)
    enrollment = Enrollment(**values)
    session.add(enrollment)
    await session.flush()
    return enrollment
