"""A person's public record, identity, aliases, sentences and charges.

``generate_person`` plans the person's path, writes the rows of this module and of the custody
module, and returns a ``Life``: the few facts later generators (programs, reentry, victims) need,
so that nothing has to be read back from the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from random import Random

from hub.synthetic import names
from hub.synthetic.calendar import at, days
from hub.synthetic.context import Seeding
from hub.synthetic.custody import HearingInfo, write_custody
from hub.synthetic.offenses import Offense, extra_offense, lead_offense, prison_term
from hub.synthetic.timeline import Path, Stay, plan_path
from hub.synthetic.writer import Layout

PEOPLE = Layout(
    "people",
    (
        "id", "doc_id", "first_name", "middle_name", "last_name", "sex", "race", "birth_year", "status",
        "current_facility_id", "supervision_office_id", "discharged_on", "created_at", "version",
    ),
)  # fmt: skip
IDENTITIES = Layout(
    "person_identities",
    (
        "person_id", "birth_date", "ssn", "fbi_number", "state_id", "address_line", "city", "county",
        "state", "postal_code", "phone", "created_at",
    ),
)  # fmt: skip
ALIASES = Layout("person_aliases", ("id", "person_id", "alias"))
SENTENCES = Layout(
    "sentences",
    ("id", "person_id", "cause_number", "county", "sentenced_on", "sentence_type", "term_months", "status"),
)
CHARGES = Layout("charges", ("id", "sentence_id", "statute", "offense", "offense_class", "category"))

RACES = ("white", "black", "hispanic", "asian", "native_american", "pacific_islander", "other", "unknown")
_CUM_RACES = (58.0, 92.0, 96.0, 96.7, 97.5, 97.7, 99.2, 100.0)

_SENTENCE_TYPE = {
    "new_commitment": "prison",
    "probation_revocation": "prison",
    "parole_return": "prison",
    "shock_incarceration": "shock",
    "treatment_commitment": "treatment",
    "probation": "probation",
}


@dataclass(slots=True)
class Case:
    sentence_id: int
    category: str
    offense_class: str
    sentenced_on: date
    county: str


@dataclass(slots=True)
class Life:
    person_id: int
    sex: str
    first_name: str
    last_name: str
    county: str
    path: Path
    cases: list[Case] = field(default_factory=list)
    events: list[tuple[int, str, datetime]] = field(default_factory=list)
    hearings: list[HearingInfo] = field(default_factory=list)
    substance_need: bool = False
    mental_health_need: bool = False

    @property
    def status(self) -> str:
        return self.path.status


def generate_person(ctx: Seeding, rng: Random, person_id: int) -> Life:
    sex = "F" if rng.random() < 0.10 else "M"
    path = plan_path(rng, ctx.as_of)
    county_index = rng.randrange(len(names.COUNTIES))
    county = names.COUNTY_NAMES[county_index]
    first, last = names.first_name(rng, sex), names.surname(rng)
    life = Life(person_id, sex, first, last, county, path)

    _sentences(ctx, rng, life)
    current_facility, office = write_custody(ctx, rng, life)

    middle = names.first_name(rng, sex) if rng.random() < 0.7 else None
    race = rng.choices(RACES, cum_weights=_CUM_RACES)[0]
    discharged_on = path.last_day if path.status == "discharged" else None
    created = at(path.stays[0].start, rng)
    ctx.batch.add(
        PEOPLE,
        (
            person_id, f"SD{person_id:07d}", first, middle, last, sex, race, path.birth_date.year,
            path.status, current_facility, office, discharged_on, created, 1,
        ),
    )  # fmt: skip
    _identity(ctx, rng, life, county_index, created)
    if rng.random() < 0.12:
        for _ in range(rng.randint(1, 2)):
            ctx.batch.add(ALIASES, (ctx.ids.take("person_aliases"), person_id, _alias(rng, life)))
    if path.status in ("incarcerated", "supervised", "escaped"):
        ctx.current_people.append(person_id)
    return life


def _identity(ctx: Seeding, rng: Random, life: Life, county_index: int, created: datetime) -> None:
    has_address = rng.random() < (0.6 if life.status == "incarcerated" else 0.85)
    _, seat, _ = names.COUNTIES[county_index]
    ctx.batch.add(
        IDENTITIES,
        (
            life.person_id,
            life.path.birth_date,
            names.fake_ssn(rng) if rng.random() < 0.97 else None,
            f"{rng.randrange(10**6):06d}SY{rng.randrange(10)}" if rng.random() < 0.9 else None,
            f"SID{rng.randrange(10**7):07d}" if rng.random() < 0.95 else None,
            names.street_address(rng) if has_address else None,
            seat if has_address else None,
            life.county,
            "MO",
            names.postal_code(county_index, rng) if has_address else None,
            names.fake_phone(rng) if rng.random() < 0.5 else None,
            created,
        ),
    )


def _alias(rng: Random, life: Life) -> str:
    roll = rng.random()
    if roll < 0.4:
        return f"{rng.choice(names.NICKNAMES)} {life.last_name}"
    if roll < 0.7 or life.sex == "M":
        return f"{life.first_name} {names.surname(rng)}"
    return f"{names.first_name(rng, life.sex)} {life.last_name}"


def _sentences(ctx: Seeding, rng: Random, life: Life) -> None:
    """One sentence per new case; a probation revocation executes a prison sentence on the same case."""
    rows: list[list[object]] = []
    cause = ""
    county = life.county
    offenses: list[Offense] = []
    for stay in life.path.stays:
        if stay.new_case:
            offenses = [lead_offense(rng)] + [extra_offense(rng) for _ in range(_extra_charges(rng))]
            county = life.county if rng.random() < 0.8 else rng.choice(names.COUNTY_NAMES)
            code = county_code(county)
            sentenced_on = stay.start - days(rng.randint(0, 45))
            cause = f"{sentenced_on.year % 100:02d}{code}-CR{rng.randrange(10**5):05d}"
        elif stay.entry == "probation_revocation":
            sentenced_on = stay.start - days(rng.randint(0, 20))
        else:
            continue
        kind = _SENTENCE_TYPE[stay.entry]
        lead = offenses[0]
        sentence_id = ctx.ids.take("sentences")
        rows.append(
            [sentence_id, life.person_id, cause, county, sentenced_on, kind, _term(rng, kind, lead, stay)]
        )
        for offense in offenses:
            ctx.batch.add(
                CHARGES,
                (
                    ctx.ids.take("charges"), sentence_id, offense.statute, offense.name,
                    offense.offense_class, offense.category,
                ),
            )  # fmt: skip
        life.cases.append(Case(sentence_id, lead.category, lead.offense_class, sentenced_on, county))
        life.path.sentence_ids.append(sentence_id)
    still_serving = life.status in ("incarcerated", "supervised", "escaped")
    for i, row in enumerate(rows):
        if i == len(rows) - 1 and still_serving:
            status = "active"
        else:
            status = "vacated" if rng.random() < 0.015 else "completed"
        ctx.batch.add(SENTENCES, (*row, status))


def _extra_charges(rng: Random) -> int:
    roll = rng.random()
    return 0 if roll < 0.6 else 1 if roll < 0.85 else 2


def _term(rng: Random, kind: str, lead: Offense, stay: Stay) -> int | None:
    if kind == "probation":
        return rng.choice((24, 36, 48, 60))
    term = prison_term(rng, lead)
    if term is None:
        return None
    # The term is at least the time the stay was planned to last.
    return max(term, stay.planned_days // 30 + 1)


def county_code(county: str) -> str:
    return _CODES[county]


_CODES = {f"{name} County": code for name, _, code in names.COUNTIES}
