"""The program catalog, yearly offerings at each site, and enrollments with reparative hours."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from random import Random
from typing import TYPE_CHECKING

from hub.synthetic.calendar import at, between, days
from hub.synthetic.context import Seeding
from hub.synthetic.writer import Layout

if TYPE_CHECKING:
    from hub.synthetic.people import Life
    from hub.synthetic.timeline import Stay

PROGRAMS = Layout(
    "programs", ("id", "code", "name", "category", "description", "reparative", "gender_responsive")
)
OFFERINGS = Layout(
    "program_offerings", ("id", "program_id", "facility_id", "starts_on", "ends_on", "capacity", "status")
)
ENROLLMENTS = Layout(
    "enrollments",
    (
        "id", "person_id", "program_id", "offering_id", "enrolled_on", "status", "ended_on",
        "reparative_hours", "created_at", "version",
    ),
)  # fmt: skip
REPARATIVE = Layout(
    "reparative_activities", ("id", "enrollment_id", "performed_on", "hours", "description", "created_at")
)

# code, name, category, reparative, for women only, typical length in days, weight, description
_CATALOG = (
    ("ICVC", "Impact of Crime on Victims Classes", "restorative_justice", False, False, 70, 18,
     "Twelve sessions on the harm crime does to victims, families and communities."),
    ("RJGARDEN", "Restorative Justice Garden", "restorative_justice", True, False, 180, 3,
     "Vegetables grown on site and donated to food pantries."),
    ("RJCRAFT", "Restorative Justice Crafts", "restorative_justice", True, False, 180, 3,
     "Quilts, toys and blankets made for shelters and hospitals."),
    ("RJCREW", "Community Service Work Crew", "restorative_justice", True, False, 120, 3,
     "Supervised crews clean parks and roadsides."),
    ("RJPAWS", "Shelter Dog Training Partnership", "restorative_justice", True, False, 90, 3,
     "Shelter dogs trained for adoption."),
    ("GED", "High School Equivalency Preparation", "education", False, False, 200, 10,
     "Preparation for the high school equivalency examination."),
    ("ABE", "Adult Basic Education", "education", False, False, 150, 5, "Reading, writing and arithmetic."),
    ("COLL", "College Correspondence Courses", "education", False, False, 240, 2, "Credit-bearing courses."),
    ("WELD", "Welding Technology", "vocational", False, False, 270, 3, "Certified welding curriculum."),
    ("CULIN", "Culinary Arts", "vocational", False, False, 180, 3, "Food safety and kitchen skills."),
    ("CARP", "Carpentry and Building Trades", "vocational", False, False, 240, 3, "Construction skills."),
    ("CDL", "Commercial Driver's License Preparation", "vocational", False, False, 90, 3, "Permit and road test."),
    ("SUDITC", "Intensive Therapeutic Community", "substance_use", False, False, 180, 2, "Residential treatment."),
    ("SUDOP", "Outpatient Substance Use Treatment", "substance_use", False, False, 90, 2, "Group counselling."),
    ("SUDMAR", "Medication-Assisted Recovery Support", "substance_use", False, False, 120, 1, "Recovery support."),
    ("MHCOPE", "Coping Skills and Emotional Regulation", "mental_health", False, False, 84, 2, "Skills group."),
    ("MHTRAUMA", "Trauma Recovery Group", "mental_health", False, False, 84, 1, "Trauma-informed group."),
    ("PARENT", "Parenting from a Distance", "parenting", False, False, 60, 4, "Staying connected with children."),
    ("STORY", "Storybook Reading Program", "parenting", False, False, 45, 2, "Recorded bedtime stories."),
    ("PATH", "Pathway to Change", "life_skills", False, False, 90, 8, "Cognitive skills for decisions."),
    ("REENTRY", "Reentry Readiness Workshop", "life_skills", False, False, 60, 6, "Documents, housing, work."),
    ("WTRAUMA", "Women's Trauma Recovery", "gender_responsive", False, True, 84, 6,
     "Gender-responsive trauma recovery for women."),
    ("WHEALTHY", "Healthy Relationships for Women", "gender_responsive", False, True, 60, 6,
     "Gender-responsive relationship skills."),
    ("WMOMS", "Mothers and Children Together", "gender_responsive", False, True, 90, 6,
     "Visits and parenting support for mothers."),
    ("WPATHS", "Women's Pathways to Reentry", "gender_responsive", False, True, 90, 6,
     "Gender-responsive release preparation."),
)  # fmt: skip

_EVERYWHERE = ("ICVC", "GED", "ABE", "SUDOP", "MHCOPE", "PARENT", "PATH", "REENTRY")
_RELEASE_CENTER = ("REENTRY", "SUDOP", "PATH", "CDL", "RJCREW")
_ACTIVITIES = (
    "Garden harvest for a food pantry", "Quilt for a children's hospital", "Park clean-up crew",
    "Toys for a holiday drive", "Roadside litter pick-up", "Dog training session", "Blankets for a shelter",
)  # fmt: skip
OFFERING_YEARS = 15


@dataclass(frozen=True, slots=True)
class Spec:
    program_id: int
    code: str
    category: str
    reparative: bool
    women_only: bool
    length: int
    weight: int


@dataclass(slots=True)
class Catalog:
    specs: list[Spec] = field(default_factory=list)
    offered: dict[int, list[Spec]] = field(default_factory=dict)  # facility -> programs offered there
    first_offering: dict[tuple[int, int], int] = field(default_factory=dict)  # (program, facility) -> id
    first_year: int = 0
    last_year: int = 0

    def offering(self, program_id: int, facility_id: int, year: int) -> int | None:
        base = self.first_offering.get((program_id, facility_id))
        if base is None or not self.first_year <= year <= self.last_year:
            return None  # the offerings catalogue starts fifteen years back; older records have none
        return base + year - self.first_year


def build_catalog(ctx: Seeding, rng: Random) -> Catalog:
    catalog = Catalog(first_year=ctx.as_of.year - OFFERING_YEARS, last_year=ctx.as_of.year + 1)
    for code, name, category, reparative, women, length, weight, description in _CATALOG:
        program_id = ctx.ids.take("programs")
        ctx.batch.add(PROGRAMS, (program_id, code, name, category, description, reparative, women))
        catalog.specs.append(Spec(program_id, code, category, reparative, women, length, weight))
    sites = ctx.site
    release_centers = set(sites.release_centers["M"])
    for facility in [*sites.all_institutions, *sorted(release_centers)]:
        women = facility in sites.serves_women
        if facility in release_centers:
            offered = [s for s in catalog.specs if s.code in _RELEASE_CENTER]
        else:
            offered = [
                s
                for s in catalog.specs
                if s.code in _EVERYWHERE
                or (s.women_only and women)
                or (not s.women_only and rng.random() < 0.5)
            ]
        catalog.offered[facility] = offered
        for spec in offered:
            catalog.first_offering[(spec.program_id, facility)] = ctx.ids.peek("program_offerings")
            for year in range(catalog.first_year, catalog.last_year + 1):
                status = (
                    "closed" if year < ctx.as_of.year else "open" if year == ctx.as_of.year else "planned"
                )
                ctx.batch.add(
                    OFFERINGS,
                    (
                        ctx.ids.take("program_offerings"), spec.program_id, facility, date(year, 1, 1),
                        date(year, 12, 31), rng.randrange(12, 41), status,
                    ),
                )  # fmt: skip
    return catalog


def write_enrollments(ctx: Seeding, rng: Random, life: Life) -> None:
    for stay in life.path.stays:
        if stay.custody:
            last_day = stay.end or ctx.as_of
            length = (last_day - stay.start).days
            if length < 90:
                continue
            count = rng.choices((0, 1, 2, 3), weights=(30, 35, 22, 13))[0] + (1 if length > 1100 else 0)
            open_programs: set[int] = set()
            for _ in range(count):
                _enroll(ctx, rng, life, stay, last_day, open_programs)


def _choose(rng: Random, life: Life, offered: list[Spec]) -> Spec:
    weights = []
    for spec in offered:
        weight = spec.weight
        if spec.category == "substance_use" and life.substance_need:
            weight *= 4
        elif spec.category == "mental_health" and life.mental_health_need:
            weight *= 3
        weights.append(weight)
    return rng.choices(offered, weights=weights)[0]


def _enroll(
    ctx: Seeding, rng: Random, life: Life, stay: Stay, last_day: date, open_programs: set[int]
) -> None:
    """One enrollment in the stay; ``open_programs`` are the programs the person is still enrolled
    in, since a person is enrolled in a program once at a time (the store's uq_enrollments_one_enrolled)."""
    enrolled = between(rng, stay.start + days(7), last_day - days(7))
    facility = next(f for d, f in reversed(stay.moves) if d <= enrolled)
    offered = ctx.programs.offered.get(facility)
    if not offered:
        return
    spec = _choose(rng, life, offered)
    planned_end = enrolled + days(spec.length * rng.uniform(0.8, 1.3))
    status: str
    ended: date | None
    if planned_end <= last_day and planned_end <= ctx.as_of:
        if rng.random() < 0.75:
            status, ended = "completed", planned_end
        else:
            status, ended = "withdrawn", between(rng, enrolled + days(7), planned_end)
    elif stay.end is None:
        status, ended = "enrolled", None
    else:
        status, ended = "withdrawn", stay.end
    if status == "enrolled":
        if spec.program_id in open_programs:
            # Enrolled in it already: this one is a withdrawal, as of the seeding date (drawn this
            # way, and not skipped, so the rest of the department stays what the seed gives).
            status, ended = "withdrawn", ctx.as_of
        open_programs.add(spec.program_id)
    enrollment_id = ctx.ids.take("enrollments")
    hours = Decimal("0.0")
    if spec.reparative:
        hours = _activities(ctx, rng, enrollment_id, enrolled, ended or ctx.as_of)
    offering = ctx.programs.offering(spec.program_id, facility, enrolled.year)
    ctx.batch.add(
        ENROLLMENTS,
        (
            enrollment_id, life.person_id, spec.program_id, offering, enrolled, status, ended, hours,
            at(enrolled, rng), 1,
        ),
    )  # fmt: skip


def _activities(ctx: Seeding, rng: Random, enrollment_id: int, first: date, last: date) -> Decimal:
    total = Decimal("0.0")
    for _ in range(min(8, 1 + (last - first).days // 30)):
        day = between(rng, first, last)
        hours = Decimal(rng.randint(2, 16)) / 2
        total += hours
        ctx.batch.add(
            REPARATIVE,
            (
                ctx.ids.take("reparative_activities"),
                enrollment_id,
                day,
                hours,
                rng.choice(_ACTIVITIES),
                at(day, rng),
            ),
        )
    return total
