"""Custody and supervision periods of a planned path, with the events, hearings, conduct reports
and health assessments that happen inside them.

Events agree with the periods: an admission at the reception center on the admission date,
transfers on to an institution (and, near release, to a community release center), a release or a
death on the last day, an escape inside a period that is still open.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date
from random import Random
from typing import TYPE_CHECKING

from hub.synthetic.calendar import ONE_DAY, at, between, days
from hub.synthetic.context import Seeding
from hub.synthetic.names import COUNTIES
from hub.synthetic.timeline import Stay
from hub.synthetic.writer import Layout

if TYPE_CHECKING:
    from hub.synthetic.people import Life

CUSTODY_PERIODS = Layout(
    "custody_periods",
    (
        "id", "person_id", "facility_id", "admission_type", "admitted_on", "released_on", "release_type",
        "projected_release_on", "housing_unit", "custody_level", "release_plan", "release_county",
        "supervision_office_id", "version",
    ),
)  # fmt: skip
SUPERVISION_PERIODS = Layout(
    "supervision_periods",
    ("id", "person_id", "office_id", "kind", "started_on", "ended_on", "end_reason", "version"),
)
CUSTODY_EVENTS = Layout(
    "custody_events",
    (
        "id",
        "person_id",
        "kind",
        "occurred_at",
        "facility_id",
        "to_facility_id",
        "hearing_id",
        "notes",
        "created_at",
    ),
)
HEARINGS = Layout(
    "parole_hearings",
    (
        "id",
        "person_id",
        "facility_id",
        "hearing_type",
        "scheduled_for",
        "status",
        "decision",
        "decided_on",
        "version",
    ),
)
CONDUCT = Layout("conduct_reports", ("id", "person_id", "facility_id", "occurred_on", "violation", "outcome"))
HEALTH = Layout("health_needs", ("id", "person_id", "kind", "level", "assessed_on"))

VIOLATIONS = (
    "Possession of contraband", "Fighting", "Disobeying an order", "Unauthorized area", "Insulting behavior",
    "Creating a disturbance", "Possession of unauthorized property", "Tobacco violation",
    "Failure to report for count", "Misuse of telephone privileges", "Threats", "Gambling",
)  # fmt: skip

RELEASE_PLANS = (
    "Home plan approved: residence with family in {seat}",
    "Transitional housing bed arranged in {seat}",
    "Residential treatment placement on release, then outpatient care",
    "Employment interview scheduled with a reentry partner; residence with spouse",
    "Sober living residence in {seat}; outpatient treatment referral",
    "Reentry center placement pending; identification documents requested",
)

_SEATS = {f"{name} County": seat for name, seat, _ in COUNTIES}
_LEVEL_WEIGHTS = (0, 10, 25, 30, 20, 10, 5)


@dataclass(slots=True)
class HearingInfo:
    hearing_id: int
    facility_id: int
    scheduled_day: date
    status: str


def write_custody(ctx: Seeding, rng: Random, life: Life) -> tuple[int | None, int | None]:
    """Write the path's periods and what happened in them; return the current facility and office."""
    for stay in life.path.stays:
        if not stay.custody:
            stay.office_id = ctx.site.office_for(life.county, rng)
    current_facility: int | None = None
    office: int | None = None
    stays = life.path.stays
    for i, stay in enumerate(stays):
        if stay.custody:
            following = stays[i + 1] if i + 1 < len(stays) else None
            planned_office = _custody(ctx, rng, life, stay, following)
            if stay.end is None:
                current_facility = None if life.status == "escaped" else stay.facility_id
                office = planned_office
        else:
            _supervision(ctx, rng, life, stay)
            if stay.end is None:
                office = stay.office_id
    _health(ctx, rng, life)
    return current_facility, office


def _event(
    ctx: Seeding,
    rng: Random,
    life: Life,
    kind: str,
    day: date,
    facility: int | None,
    to_facility: int | None = None,
    hearing: int | None = None,
    notes: str | None = None,
) -> None:
    event_id = ctx.ids.take("custody_events")
    when = at(day, rng)
    ctx.batch.add(
        CUSTODY_EVENTS, (event_id, life.person_id, kind, when, facility, to_facility, hearing, notes, when)
    )
    life.events.append((event_id, kind, when))


def _moves(ctx: Seeding, rng: Random, life: Life, stay: Stay, last_day: date) -> list[tuple[date, int]]:
    """Where the person was held during the stay: (from-day, facility), starting at reception."""
    sites = ctx.site
    reception = sites.reception[life.sex]
    moves = [(stay.start, reception)]
    length = (last_day - stay.start).days
    if length <= 45:
        return moves
    choices = [f for f in sites.institutions[life.sex] if f != reception]
    day = stay.start + days(rng.randint(14, 40))
    moves.append((day, rng.choice(choices)))
    if length > 1100 and rng.random() < 0.35:
        later = between(rng, day + days(180), last_day - days(60))
        if later > day:
            moves.append((later, rng.choice([f for f in choices if f != moves[-1][1]])))
    near_release = stay.end is None and stay.projected is not None and stay.projected <= ctx.as_of + days(150)
    to_release_center = (
        (stay.exit in ("parole", "conditional_release") and rng.random() < 0.12)
        or (near_release and rng.random() < 0.35)
        or (life.status == "escaped" and stay.end is None and rng.random() < 0.6)
    )
    if to_release_center:
        day = max(moves[-1][0] + ONE_DAY, last_day - days(rng.randint(30, 120)))
        if day < last_day:
            moves.append((day, rng.choice(sites.release_centers[life.sex])))
    return moves


def _custody(ctx: Seeding, rng: Random, life: Life, stay: Stay, following: Stay | None) -> int | None:
    as_of = ctx.as_of
    last_day = stay.end or as_of
    moves = _moves(ctx, rng, life, stay, last_day)
    stay.moves = moves
    stay.facility_id = moves[-1][1]
    stay.period_id = ctx.ids.take("custody_periods")

    _event(ctx, rng, life, "admission", stay.start, moves[0][1], notes=stay.entry.replace("_", " "))
    for (_, here), (day, there) in itertools.pairwise(moves):
        _event(ctx, rng, life, "transfer", day, here, to_facility=there)
    if stay.end is None and life.status == "escaped":
        stay.escaped_on = between(rng, moves[-1][0] + ONE_DAY, as_of - ONE_DAY)
        _event(ctx, rng, life, "escape", stay.escaped_on, stay.facility_id)
    elif stay.end is not None and rng.random() < 0.01 and (stay.end - moves[-1][0]).days > 20:
        gone = between(rng, moves[-1][0] + ONE_DAY, stay.end - days(10))
        _event(ctx, rng, life, "escape", gone, stay.facility_id)
        _event(ctx, rng, life, "return", gone + days(rng.randint(1, 9)), stay.facility_id)
    _hearings(ctx, rng, life, stay, last_day)
    _conduct(ctx, rng, life, moves, last_day)

    seat = _SEATS[life.county]
    plan: str | None = None
    county: str | None = None
    office: int | None = None
    if following is not None:
        plan, county, office = rng.choice(RELEASE_PLANS).format(seat=seat), life.county, following.office_id
    elif stay.end is None and stay.projected is not None and stay.projected <= as_of + days(365):
        office = ctx.site.office_for(life.county, rng)
        plan, county = rng.choice(RELEASE_PLANS).format(seat=seat), life.county
    if stay.end is not None:
        if stay.exit == "death":
            _event(ctx, rng, life, "death", stay.end, stay.facility_id)
        else:
            _event(
                ctx,
                rng,
                life,
                "release",
                stay.end,
                stay.facility_id,
                notes=(stay.exit or "").replace("_", " "),
            )
    in_release_center = stay.facility_id in ctx.site.release_centers[life.sex]
    level = 1 if in_release_center else rng.choices(range(1, 6), weights=(15, 30, 30, 15, 10))[0]
    unit = f"{'ABCDEFGH'[rng.randrange(8)]}{rng.randint(1, 6)}-{rng.randint(1, 64):02d}"
    ctx.batch.add(
        CUSTODY_PERIODS,
        (
            stay.period_id, life.person_id, stay.facility_id, stay.entry, stay.start, stay.end, stay.exit,
            stay.projected or stay.end, unit, level, plan, county, office, 1,
        ),
    )  # fmt: skip
    return office


def _hearings(ctx: Seeding, rng: Random, life: Life, stay: Stay, last_day: date) -> None:
    as_of = ctx.as_of
    if stay.entry == "parole_return":
        day = stay.start + days(rng.randint(10, 40))
        if day < last_day:
            _hearing(ctx, rng, life, stay, "revocation", day, "held", "denied", day)
        return
    if stay.entry not in ("new_commitment", "probation_revocation") or stay.planned_days <= 365:
        return
    day = stay.start + days(int(stay.planned_days * rng.uniform(0.35, 0.6)))
    if stay.end is not None:
        latest = stay.end - days(rng.randint(30, 120))
        day = max(stay.start + days(30), min(day, latest))
        if day >= stay.end:
            return
        decision = "granted" if stay.exit == "parole" else "denied"
        decided = min(stay.end, day + days(rng.randint(7, 30)))
        _hearing(ctx, rng, life, stay, "initial", day, "held", decision, decided)
        return
    if day < as_of:
        roll = rng.random()
        if roll < 0.06:
            _hearing(ctx, rng, life, stay, "initial", day, "postponed", None, None)
            day = as_of + days(rng.randint(5, 120))
            _hearing(ctx, rng, life, stay, "initial", day, "scheduled", None, None)
            return
        decided = min(as_of, day + days(rng.randint(7, 30)))
        _hearing(
            ctx, rng, life, stay, "initial", day, "held", "denied" if roll < 0.7 else "continued", decided
        )
        again = day + days(rng.randint(300, 730))
        if again < as_of + days(180):
            status = "scheduled" if again > as_of else "held"
            held = status == "held"
            _hearing(
                ctx, rng, life, stay, "reconsideration", again, status,
                "denied" if held else None, min(as_of, again + days(14)) if held else None,
            )  # fmt: skip
    elif day <= as_of + days(240):
        _hearing(ctx, rng, life, stay, "initial", day, "scheduled", None, None)


def _hearing(
    ctx: Seeding,
    rng: Random,
    life: Life,
    stay: Stay,
    kind: str,
    day: date,
    status: str,
    decision: str | None,
    decided: date | None,
) -> None:
    hearing_id = ctx.ids.take("parole_hearings")
    facility = stay.facility_id
    ctx.batch.add(
        HEARINGS,
        (hearing_id, life.person_id, facility, kind, at(day, rng, 14, 20), status, decision, decided, 1),
    )
    notice = max(stay.start, min(day - days(60), ctx.as_of - days(rng.randint(1, 20))))
    _event(ctx, rng, life, "hearing_scheduled", notice, facility, hearing=hearing_id, notes=kind)
    if decided is not None:
        _event(ctx, rng, life, "hearing_decided", decided, facility, hearing=hearing_id, notes=decision)
    life.hearings.append(HearingInfo(hearing_id, facility, day, status))


def _conduct(ctx: Seeding, rng: Random, life: Life, moves: list[tuple[date, int]], last_day: date) -> None:
    first = moves[0][0]
    years = (last_day - first).days / 365.25
    count = min(6, int(rng.expovariate(1.0) * years * 0.5))
    for _ in range(count):
        day = between(rng, first, last_day)
        facility = next(f for d, f in reversed(moves) if d <= day)
        if day > ctx.as_of - days(30):
            outcome = "pending"
        else:
            outcome = "sanctioned" if rng.random() < 0.7 else "dismissed"
        ctx.batch.add(
            CONDUCT,
            (ctx.ids.take("conduct_reports"), life.person_id, facility, day, rng.choice(VIOLATIONS), outcome),
        )


def _supervision(ctx: Seeding, rng: Random, life: Life, stay: Stay) -> None:
    stay.period_id = ctx.ids.take("supervision_periods")
    ctx.batch.add(
        SUPERVISION_PERIODS,
        (stay.period_id, life.person_id, stay.office_id, stay.entry, stay.start, stay.end, stay.exit, 1),
    )
    if stay.exit == "death" and stay.end is not None:
        _event(ctx, rng, life, "death", stay.end, None, notes="died while under supervision")


def _health(ctx: Seeding, rng: Random, life: Life) -> None:
    first = life.path.stays[0]
    assessed = min(ctx.as_of, first.start + days(rng.randint(3, 30)))
    for kind, chance in (("mental_health", 0.35), ("substance_use", 0.5), ("medical", 0.25)):
        if rng.random() >= chance:
            continue
        level = rng.choices(range(6), weights=_LEVEL_WEIGHTS[1:])[0]
        ctx.batch.add(HEALTH, (ctx.ids.take("health_needs"), life.person_id, kind, level, assessed))
        if kind == "substance_use" and level > 0:
            life.substance_need = True
        if kind == "mental_health" and level > 1:
            life.mental_health_need = True
        if len(life.path.stays) > 1 and rng.random() < 0.3:
            later = life.path.stays[-1].start + days(rng.randint(3, 30))
            if later <= ctx.as_of and later > assessed:
                level = max(0, min(5, level + rng.choice((-1, 0, 1))))
                ctx.batch.add(HEALTH, (ctx.ids.take("health_needs"), life.person_id, kind, level, later))
