"""The synthetic department's clock: one fixed "as of" date, never the wall clock.

Every generated date is measured from ``AS_OF`` (or the date a caller passes instead), so two runs
with the same seed write the same rows whenever they run.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from random import Random

AS_OF = date(2026, 11, 27)

ONE_DAY = timedelta(days=1)


_DAYS = tuple(timedelta(days=n) for n in range(12_000))


def days(n: float) -> timedelta:
    """``n`` whole days; the common spans come from a table (this is called millions of times)."""
    whole = int(n)
    return _DAYS[whole] if 0 <= whole < 12_000 else timedelta(days=whole)


def at(day: date, rng: Random, first_hour: int = 13, last_hour: int = 22) -> datetime:
    """A moment on ``day`` during the department's working hours (UTC: the state is UTC-6)."""
    return datetime(
        day.year, day.month, day.day, rng.randint(first_hour, last_hour), rng.randrange(60), tzinfo=UTC
    )


def between(rng: Random, first: date, last: date) -> date:
    """A day in ``[first, last]`` (``first`` when the range is empty)."""
    span = (last - first).days
    return first if span <= 0 else first + timedelta(days=rng.randint(0, span))
