"""The offenses sentences are drawn from, with their class, category and how common they are."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import accumulate
from random import Random


@dataclass(frozen=True, slots=True)
class Offense:
    statute: str
    name: str
    offense_class: str
    category: str


# (statute, offense, class, category, relative frequency)
_CATALOG = (
    ("565.020", "Murder in the first degree", "felony_a", "violent", 2),
    ("565.021", "Murder in the second degree", "felony_a", "violent", 4),
    ("565.024", "Involuntary manslaughter", "felony_c", "violent", 3),
    ("565.050", "Assault in the first degree", "felony_b", "violent", 8),
    ("565.052", "Assault in the third degree", "felony_e", "violent", 10),
    ("565.076", "Domestic assault in the second degree", "felony_d", "violent", 10),
    ("570.023", "Robbery in the first degree", "felony_a", "violent", 8),
    ("570.025", "Robbery in the second degree", "felony_b", "violent", 5),
    ("566.030", "Rape in the first degree", "felony_a", "sex", 2),
    ("566.060", "Sodomy in the first degree", "felony_a", "sex", 1),
    ("566.100", "Sexual abuse in the first degree", "felony_c", "sex", 2),
    ("579.015", "Possession of a controlled substance", "felony_d", "drug", 30),
    ("579.020", "Delivery of a controlled substance", "felony_c", "drug", 14),
    ("579.055", "Manufacture of a controlled substance", "felony_c", "drug", 4),
    ("579.068", "Trafficking drugs in the second degree", "felony_b", "drug", 3),
    ("570.030", "Stealing", "felony_d", "property", 24),
    ("569.170", "Burglary in the second degree", "felony_d", "property", 14),
    ("569.160", "Burglary in the first degree", "felony_b", "property", 4),
    ("570.080", "Receiving stolen property", "felony_e", "property", 6),
    ("570.090", "Forgery", "felony_d", "property", 5),
    ("569.100", "Property damage in the first degree", "felony_e", "property", 4),
    ("570.130", "Fraudulent use of a credit device", "felony_e", "property", 4),
    ("577.010", "Driving while intoxicated, persistent offender", "felony_e", "dwi", 9),
    ("577.010B", "Driving while intoxicated, chronic offender", "felony_c", "dwi", 3),
    ("571.070", "Unlawful possession of a firearm", "felony_d", "other", 12),
    ("575.150", "Resisting arrest", "felony_e", "other", 6),
    ("575.210", "Escape from confinement", "felony_d", "other", 1),
    ("303.025", "Driving while revoked", "misdemeanor_a", "other", 5),
    ("574.010", "Peace disturbance", "misdemeanor_b", "other", 2),
    ("579.074", "Unlawful possession of drug paraphernalia", "misdemeanor_a", "drug", 6),
    ("570.030M", "Stealing, misdemeanor", "misdemeanor_a", "property", 4),
)

OFFENSES = tuple(Offense(s, n, c, cat) for s, n, c, cat, _ in _CATALOG)
_CUMULATIVE = tuple(accumulate(w for *_, w in _CATALOG))

# Prison terms in months by class (life is rare and only for class A).
TERM_MONTHS = {
    "felony_a": (120, 360),
    "felony_b": (60, 180),
    "felony_c": (36, 120),
    "felony_d": (24, 84),
    "felony_e": (12, 48),
    "misdemeanor_a": (6, 12),
    "misdemeanor_b": (3, 6),
}


def lead_offense(rng: Random) -> Offense:
    """The most serious charge of a case: always a felony (the department holds felons)."""
    while True:
        offense = rng.choices(OFFENSES, cum_weights=_CUMULATIVE)[0]
        if offense.offense_class.startswith("felony"):
            return offense


def extra_offense(rng: Random) -> Offense:
    return rng.choices(OFFENSES, cum_weights=_CUMULATIVE)[0]


def prison_term(rng: Random, offense: Offense) -> int | None:
    if offense.offense_class == "felony_a" and offense.category in ("violent", "sex") and rng.random() < 0.08:
        return None  # life
    low, high = TERM_MONTHS[offense.offense_class]
    return rng.randint(low, high)


__all__ = ["OFFENSES", "Offense", "extra_offense", "lead_offense", "prison_term"]
