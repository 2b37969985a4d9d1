"""The disclosure policy: which audience may read which class of field, and under what condition.

``MATRIX`` is the disclosure matrix of the design, class by class; ``auth/policy_fields.py`` assigns
every field of the schema to one class and every mutation to the audiences that may call it
(generated from the fields' own declarations by ``hub schema --policy``). A field or mutation
missing from those tables is denied to everyone. Row-level limits (own rows, referred people, the
public tier) are the row scopes of ``auth/scopes.py``; this table decides the columns. A "C" cell's
consent category is stated here only: the row scopes read it with ``grant``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from auth.classes import FieldClass
from auth.policy_fields import FIELDS, MUTATIONS
from resolvers.models.partners import Audience
from resolvers.models.reentry import ConsentCategory


class Access(enum.StrEnum):
    """How an audience reaches a class (the letters of the design's matrix)."""

    ALL = "Y"  # every row the audience's scope reaches
    SCOPED = "R"  # rows in the audience's own scope (referred people, own requests, ...)
    OWN = "own"  # rows the partner created
    TOTALS = "totals"  # aggregates only
    CONSENT = "C"  # R, and only under an active consent for the category
    PSEUDONYMOUS = "P"  # only through the research root, under an active agreement
    NEVER = "N"


READABLE = frozenset({Access.ALL, Access.SCOPED, Access.OWN, Access.TOTALS, Access.CONSENT})


@dataclass(frozen=True, slots=True)
class Grant:
    access: Access
    consent: ConsentCategory | None = None

    @property
    def readable(self) -> bool:
        return self.access in READABLE

    def __str__(self) -> str:
        return f"C:{self.consent.value}" if self.consent else self.access.value


Y = Grant(Access.ALL)
R = Grant(Access.SCOPED)
OWN = Grant(Access.OWN)
TOTALS = Grant(Access.TOTALS)
P = Grant(Access.PSEUDONYMOUS)
N = Grant(Access.NEVER)


def C(category: ConsentCategory) -> Grant:
    return Grant(Access.CONSENT, category)


A = Audience
_ORDER = (
    A.LEGISLATIVE,
    A.REENTRY,
    A.RESEARCHER,
    A.CONSTITUENT_SERVICES,
    A.VICTIM_SERVICES,
    A.PROGRAMS,
    A.BUDGET_GRANTS,
    A.RESEARCH_UNIT,
    A.ADMIN,
)


def _row(*grants: Grant) -> dict[Audience, Grant]:
    assert len(grants) == len(_ORDER)
    return dict(zip(_ORDER, grants, strict=True))


F = FieldClass
CC = ConsentCategory

# fmt: off
#: The disclosure matrix. Columns: legislative, reentry, researcher, constituent_services,
#: victim_services, programs, budget_grants, research_unit, admin.
MATRIX: dict[FieldClass, dict[Audience, Grant]] = {
    F.PUBLIC_PERSON:       _row(Y,   R,              P, Y, Y, Y, N, Y, Y),
    F.IDENTITY:            _row(N,   C(CC.IDENTITY), N, Y, Y, Y, N, N, Y),
    F.IDENTIFIERS:         _row(N,   N,              N, N, N, N, N, N, Y),
    F.CUSTODY_DETAIL:      _row(N,   N,              P, Y, N, Y, N, Y, Y),
    F.RELEASE:             _row(Y,   R,              P, Y, Y, Y, N, Y, Y),
    F.PROGRAMS:            _row(N,   C(CC.PROGRAMS), P, N, N, Y, N, Y, Y),
    F.HEALTH:              _row(N,   C(CC.HEALTH),   P, N, N, Y, N, N, Y),
    F.SUBSTANCE_USE:       _row(N,   C(CC.SUBSTANCE_USE), P, N, N, Y, N, N, Y),
    F.VICTIMS:             _row(N,   N,              N, N, Y, N, N, N, N),
    F.INQUIRIES:           _row(OWN, N,              N, Y, N, N, N, N, Y),
    F.GRANTS:              _row(N,   N,              N, N, N, N, Y, N, Y),
    F.GRANT_TOTALS:        _row(TOTALS, N,           N, N, N, N, Y, N, Y),
    F.FISCAL_NOTES:        _row(OWN, N,              N, N, N, N, Y, N, Y),
    F.RESEARCH_AGREEMENTS: _row(N,   N,              OWN, N, N, N, N, Y, Y),
    F.RESEARCH_RECORDS:    _row(N,   N,              Y, N, N, N, N, Y, N),
    F.REFERRALS:           _row(N,   OWN,            N, N, N, Y, N, N, Y),
    F.REFERENCE:           _row(Y,   Y,              N, Y, Y, Y, Y, Y, Y),
    F.AGGREGATES_PEOPLE:   _row(Y,   R,              N, Y, Y, Y, N, Y, Y),
    F.AGGREGATES_PROGRAMS: _row(Y,   N,              N, N, N, Y, N, Y, Y),
    F.AGGREGATES_INQUIRIES: _row(Y,  N,              N, Y, N, N, N, N, Y),
    F.AGGREGATES_GRANTS:   _row(Y,   N,              N, N, N, N, Y, N, Y),
    F.LEDGER:              _row(N,   N,              N, N, N, N, N, N, Y),
    F.STRUCTURE:           _row(Y,   Y,              Y, Y, Y, Y, Y, Y, Y),
}
# fmt: on


def grant(audience: Audience, cls: FieldClass) -> Grant:
    return MATRIX.get(cls, {}).get(audience, N)


def readable(audience: Audience, type_name: str, field_name: str) -> bool:
    """May ``audience`` read ``type_name.field_name``? Fields missing from the table: no."""
    if type_name == "Mutation":
        entry = MUTATIONS.get(field_name)
        return entry is not None and audience in entry[1]
    cls = FIELDS.get(type_name, {}).get(field_name)
    return cls is not None and grant(audience, cls).readable


def field_class(type_name: str, field_name: str) -> FieldClass | None:
    if type_name == "Mutation":
        entry = MUTATIONS.get(field_name)
        return None if entry is None else entry[0]
    return FIELDS.get(type_name, {}).get(field_name)
