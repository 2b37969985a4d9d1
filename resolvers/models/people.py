"""People and facilities.

A person's public record (``people``) is kept apart from the identity that only some
audiences may read (``person_identities``, ``person_aliases``) and from custody activity
(periods, sentences, hearings, events: ``resolvers/models/custody.py``), so that a row scope or a
column grant never has to split one table.
"""

from __future__ import annotations

import enum
from datetime import date

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from resolvers.models.base import (
    Base,
    IdMixin,
    TimestampMixin,
    VersionMixin,
    non_negative,
    one_of,
)


class FacilityKind(enum.StrEnum):
    INSTITUTION = "institution"
    PROBATION_PAROLE_OFFICE = "probation_parole_office"
    COMMUNITY_RELEASE_CENTER = "community_release_center"


class Sex(enum.StrEnum):
    FEMALE = "F"
    MALE = "M"
    UNKNOWN = "U"


class Race(enum.StrEnum):
    WHITE = "white"
    BLACK = "black"
    HISPANIC = "hispanic"
    ASIAN = "asian"
    NATIVE_AMERICAN = "native_american"
    PACIFIC_ISLANDER = "pacific_islander"
    OTHER = "other"
    UNKNOWN = "unknown"


class PersonStatus(enum.StrEnum):
    INCARCERATED = "incarcerated"
    SUPERVISED = "supervised"
    ESCAPED = "escaped"
    DISCHARGED = "discharged"
    DECEASED = "deceased"


class Facility(IdMixin, Base):
    __tablename__ = "facilities"
    __table_args__ = (one_of("kind", FacilityKind), non_negative("capacity"))

    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    county: Mapped[str] = mapped_column(String(60))
    region: Mapped[str] = mapped_column(String(60))
    capacity: Mapped[int | None] = mapped_column(Integer)
    serves_women: Mapped[bool] = mapped_column(default=False)
    address: Mapped[str] = mapped_column(String(200))


class Person(IdMixin, TimestampMixin, VersionMixin, Base):
    """The public record: what a member of the public may learn about someone not yet discharged."""

    __tablename__ = "people"
    __table_args__ = (
        one_of("sex", Sex),
        one_of("race", Race),
        one_of("status", PersonStatus),
        Index("ix_people_last_first", "last_name", "first_name"),
        Index("ix_people_status_facility", "status", "current_facility_id"),
    )

    doc_id: Mapped[str] = mapped_column(String(12), unique=True)
    first_name: Mapped[str] = mapped_column(String(60))
    middle_name: Mapped[str | None] = mapped_column(String(60))
    last_name: Mapped[str] = mapped_column(String(60))
    sex: Mapped[str] = mapped_column(String(1))
    race: Mapped[str] = mapped_column(String(20))
    birth_year: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    current_facility_id: Mapped[int | None] = mapped_column(ForeignKey("facilities.id"), index=True)
    supervision_office_id: Mapped[int | None] = mapped_column(ForeignKey("facilities.id"), index=True)
    discharged_on: Mapped[date | None]


class PersonIdentity(TimestampMixin, Base):
    """Identity and identifiers: readable only where the disclosure matrix allows."""

    __tablename__ = "person_identities"

    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), primary_key=True)
    birth_date: Mapped[date]
    ssn: Mapped[str | None] = mapped_column(String(11))
    fbi_number: Mapped[str | None] = mapped_column(String(12))
    state_id: Mapped[str | None] = mapped_column(String(12))
    address_line: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str | None] = mapped_column(String(80))
    county: Mapped[str | None] = mapped_column(String(60))
    state: Mapped[str | None] = mapped_column(String(2))
    postal_code: Mapped[str | None] = mapped_column(String(10))
    phone: Mapped[str | None] = mapped_column(String(20))


class PersonAlias(IdMixin, Base):
    __tablename__ = "person_aliases"

    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    alias: Mapped[str] = mapped_column(String(120))
