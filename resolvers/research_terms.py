"""The vocabulary of a research agreement: the fields a researcher may ask for, the cohort, and the
dimensions statistics can be grouped by. Agreements store them as JSON; these are their names."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from resolvers.errors import InvalidInput
from resolvers.models.custody import OffenseClass
from resolvers.models.people import Sex


def enum_name(kind: type[enum.Enum], value: str) -> str:
    """The GraphQL name of a stored enum value (``M`` -> ``MALE``, ``felony_a`` -> ``FELONY_A``): the one
    vocabulary researchers see, in GraphQL and in CSV extracts alike. An unknown value is returned as is."""
    try:
        return kind(value).name
    except ValueError:
        return value


class ResearchField(enum.StrEnum):
    """A field of a de-identified record. The pseudonym comes with every record and is not listed."""

    BIRTH_YEAR = "birth_year"
    SEX = "sex"
    RACE = "race"
    OFFENSE_CLASS = "offense_class"
    ADMISSION_MONTH = "admission_month"
    RELEASE_MONTH = "release_month"
    FACILITY_TYPE = "facility_type"
    PROGRAMS_COMPLETED = "programs_completed"
    RETURNED_1Y = "returned_1y"
    RETURNED_3Y = "returned_3y"


FIELD_NAMES = tuple(f.value for f in ResearchField)


class NotGranted(InvalidInput):
    """A field of the research root that the agreement does not grant was asked for."""

    code = "FIELD_NOT_GRANTED"


class RecordsNotReleased(InvalidInput):
    """Records or an extract were asked for under an aggregate-tier agreement (statistics only)."""

    code = "RECORDS_NOT_RELEASED"


class Dimension(enum.StrEnum):
    """What statistics can be grouped by; each needs the field it is computed from."""

    YEAR = "year"
    FACILITY_TYPE = "facility_type"
    SEX = "sex"
    RACE = "race"
    AGE_BAND = "age_band"
    OFFENSE_CLASS = "offense_class"
    PROGRAM = "program"


#: The granted field each dimension reads.
DIMENSION_FIELD: dict[Dimension, ResearchField] = {
    Dimension.YEAR: ResearchField.ADMISSION_MONTH,
    Dimension.FACILITY_TYPE: ResearchField.FACILITY_TYPE,
    Dimension.SEX: ResearchField.SEX,
    Dimension.RACE: ResearchField.RACE,
    Dimension.AGE_BAND: ResearchField.BIRTH_YEAR,
    Dimension.OFFENSE_CLASS: ResearchField.OFFENSE_CLASS,
    Dimension.PROGRAM: ResearchField.PROGRAMS_COMPLETED,
}

#: Age at admission, in the bands the department reports.
AGE_BANDS: tuple[tuple[str, int, int], ...] = (
    ("under 25", 0, 24),
    ("25-34", 25, 34),
    ("35-44", 35, 44),
    ("45-54", 45, 54),
    ("55 and over", 55, 200),
)


def age_band(age: int) -> str:
    return next(name for name, low, high in AGE_BANDS if low <= age <= high)


def parse_fields(field: str, names: Sequence[str]) -> list[str]:
    """Field names as given (trimmed, de-duplicated, in vocabulary order); unknown names refused."""
    cleaned = {n.strip() for n in names}
    unknown = sorted(n for n in cleaned if n not in FIELD_NAMES)
    if unknown:
        raise InvalidInput(
            field, f"names unknown fields: {', '.join(unknown)} (known: {', '.join(FIELD_NAMES)})"
        )
    if not cleaned:
        raise InvalidInput(field, "must name at least one field")
    return [n for n in FIELD_NAMES if n in cleaned]


def granted(names: Iterable[str] | None) -> frozenset[ResearchField]:
    """The fields an agreement grants; names outside the vocabulary grant nothing."""
    return frozenset(ResearchField(n) for n in names or () if n in FIELD_NAMES)


@dataclass(frozen=True, slots=True)
class Cohort:
    """Who an agreement covers: people admitted between two dates (at these facilities, with these most
    serious offense classes, of these sexes; an empty list means any)."""

    admitted_from: date
    admitted_to: date
    facilities: tuple[str, ...] = ()
    offense_classes: tuple[str, ...] = ()
    sexes: tuple[str, ...] = ()

    @classmethod
    def of_years(
        cls,
        field: str,
        year_from: int,
        year_to: int,
        facilities: Sequence[str] = (),
        offense_classes: Sequence[str] = (),
        sexes: Sequence[str] = (),
    ) -> Cohort:
        """The cohort of whole admission years, checked; ``field`` names the input it came from."""
        for name, year in (("admissionYearFrom", year_from), ("admissionYearTo", year_to)):
            if not 1900 <= year <= 2200:
                raise InvalidInput(f"{field}.{name}", "must be a year between 1900 and 2200")
        if year_to < year_from:
            raise InvalidInput(f"{field}.admissionYearTo", "must not be before admissionYearFrom")
        return cls(
            admitted_from=date(year_from, 1, 1),
            admitted_to=date(year_to, 12, 31),
            facilities=tuple(sorted({f.strip().upper() for f in facilities})),
            offense_classes=tuple(sorted(set(offense_classes))),
            sexes=tuple(sorted(set(sexes))),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "admitted_from": self.admitted_from.isoformat(),
            "admitted_to": self.admitted_to.isoformat(),
            "facilities": list(self.facilities),
            "offense_classes": list(self.offense_classes),
            "sexes": list(self.sexes),
        }

    def to_input_json(self) -> dict[str, Any]:
        """The cohort in the vocabulary of the cohort input (``admissionYearFrom``, ``FELONY_A``,
        ``MALE``): what researchers read back as ``requestedCohort`` and ``grantedCohort``."""
        return {
            "admissionYearFrom": self.admitted_from.year,
            "admissionYearTo": self.admitted_to.year,
            "facilities": list(self.facilities),
            "offenseClasses": [enum_name(OffenseClass, c) for c in self.offense_classes],
            "sexes": [enum_name(Sex, s) for s in self.sexes],
        }

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> Cohort:
        return cls(
            admitted_from=date.fromisoformat(value["admitted_from"]),
            admitted_to=date.fromisoformat(value["admitted_to"]),
            facilities=tuple(value.get("facilities") or ()),
            offense_classes=tuple(value.get("offense_classes") or ()),
            sexes=tuple(value.get("sexes") or ()),
        )
