"""A person's path through the department: alternating stays in custody and under supervision.

The path is planned from its end: first the person's status today (incarcerated, supervised,
discharged, escaped, deceased, in roughly the department's proportions), then how many stays led
there. Stays alternate strictly (a revoked probation or parole leads back into custody; a release
leads onto supervision), so the kind of the first stay follows from the kind of the last and the
number of stays. Dates are laid out backwards from the as-of date, and the birth date last, so
that nobody enters the department before the age of eighteen.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from random import Random

STATUSES = ("incarcerated", "supervised", "discharged", "escaped", "deceased")
STATUS_WEIGHTS = (28.0, 42.0, 27.6, 0.4, 2.0)
_CUM_STATUS = tuple(math.fsum(STATUS_WEIGHTS[: i + 1]) for i in range(len(STATUS_WEIGHTS)))

_STAY_COUNTS = (1, 2, 3, 4, 5)
_CUM_STAY_COUNTS = (45.0, 70.0, 85.0, 94.0, 100.0)

EARLIEST = date(1985, 1, 1)

#: How a custody stay ends when supervision of the given kind follows it.
RELEASE_TO = {"probation": "probation", "parole": "parole", "conditional_release": "conditional_release"}


@dataclass(slots=True)
class Stay:
    """One custody period (``custody``) or supervision period."""

    custody: bool
    entry: str  # admission type, or supervision kind
    exit: str | None = None  # release type, or supervision end reason; None while open
    start: date = EARLIEST
    end: date | None = None
    planned_days: int = 0
    new_case: bool = False
    # Filled in by the custody generator.
    period_id: int = 0
    facility_id: int = 0
    office_id: int = 0
    escaped_on: date | None = None
    projected: date | None = None
    moves: list[tuple[date, int]] = field(default_factory=list)  # custody: (from-day, facility)


@dataclass(slots=True)
class Path:
    status: str
    stays: list[Stay]
    birth_date: date
    last_day: date | None = None  # discharge or death
    sentence_ids: list[int] = field(default_factory=list)


def _lognormal_days(rng: Random, median: float, sigma: float, low: int, high: int) -> int:
    return max(low, min(high, int(rng.lognormvariate(math.log(median), sigma))))


def _stay_days(rng: Random, stay: Stay) -> int:
    if not stay.custody:
        if stay.entry == "probation":
            return _lognormal_days(rng, 900, 0.45, 180, 2400)
        return _lognormal_days(rng, 700, 0.5, 120, 2200)
    if stay.entry in ("shock_incarceration", "treatment_commitment"):
        return rng.randint(90, 180)
    if stay.entry == "new_commitment":
        return _lognormal_days(rng, 760, 0.75, 100, 9000)
    return _lognormal_days(rng, 330, 0.6, 60, 3000)


def _entries(rng: Random, kinds: list[bool]) -> list[Stay]:
    stays: list[Stay] = []
    for i, custody in enumerate(kinds):
        if i == 0:
            if custody:
                roll = rng.random()
                entry = (
                    "new_commitment"
                    if roll < 0.85
                    else "shock_incarceration"
                    if roll < 0.93
                    else "treatment_commitment"
                )
            else:
                entry = "probation"
            stays.append(Stay(custody, entry, new_case=True))
            continue
        prev = stays[-1]
        if custody:
            entry = "probation_revocation" if prev.entry == "probation" else "parole_return"
            stays.append(Stay(True, entry, new_case=entry == "parole_return" and rng.random() < 0.35))
        else:
            if prev.entry in ("shock_incarceration", "treatment_commitment"):
                entry = "probation"
            else:
                entry = "parole" if rng.random() < 0.6 else "conditional_release"
            stays.append(Stay(False, entry))
    return stays


def _exits(rng: Random, stays: list[Stay], status: str) -> None:
    for current, following in itertools.pairwise(stays):
        if current.custody:
            current.exit = RELEASE_TO[following.entry]
        else:
            current.exit = "absconded" if rng.random() < 0.15 else "revoked"
    last = stays[-1]
    if status == "discharged":
        if last.custody:
            last.exit = "sentence_completed" if rng.random() < 0.95 else "court_order"
        else:
            last.exit = "discharged" if rng.random() < 0.96 else "transferred"
    elif status == "deceased":
        last.exit = "death"


def plan_path(rng: Random, as_of: date) -> Path:
    status = rng.choices(STATUSES, cum_weights=_CUM_STATUS)[0]
    count = rng.choices(_STAY_COUNTS, cum_weights=_CUM_STAY_COUNTS)[0]
    if status in ("incarcerated", "escaped"):
        last_custody = True
    elif status == "supervised":
        last_custody = False
    else:
        last_custody = rng.random() < 0.3
    first_custody = last_custody if (count - 1) % 2 == 0 else not last_custody
    kinds = [first_custody != (i % 2 == 1) for i in range(count)]
    stays = _entries(rng, kinds)
    _exits(rng, stays, status)

    durations = [_stay_days(rng, s) for s in stays]
    for stay, d in zip(stays, durations, strict=True):
        stay.planned_days = d
    last = stays[-1]
    span_left = (as_of - EARLIEST).days - 400
    if last.exit is None:
        elapsed = max(1, int(durations[-1] * rng.uniform(0.03, 0.97)))
        durations[-1] = elapsed
        gap = 0
    elif status == "deceased":
        gap = rng.randint(0, 1800)
    else:
        gap = min(int(rng.expovariate(1 / 1300)), 9000)
    total = sum(durations)
    if total + gap > span_left:
        gap = max(0, min(gap, span_left - total))
        if total > span_left:
            durations = [max(30, d * span_left // total) for d in durations]

    end = as_of - timedelta(days=gap)
    for i in range(len(stays) - 1, -1, -1):
        stay = stays[i]
        stay.end = None if (i == len(stays) - 1 and stay.exit is None) else end
        stay.start = end - timedelta(days=durations[i])
        end = stay.start
    if last.custody and last.exit is None:
        last.projected = last.start + timedelta(days=last.planned_days)
    age_at_first = rng.triangular(18.0, 58.0, 23.0)
    birth = stays[0].start - timedelta(days=int(age_at_first * 365.25) + rng.randint(0, 364))
    return Path(status=status, stays=stays, birth_date=birth, last_day=last.end)
