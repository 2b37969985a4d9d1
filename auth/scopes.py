"""Row scopes: for each table, the SQL condition on the rows an audience may reach.

Every list, look-up by id, relation, filter and statistic adds ``row_scope(principal, Model)``
to its statement; no resolver writes its own partner filter. A table without an entry here is
out of reach for everyone but ``admin`` (fail closed).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import ColumnElement, and_, exists, false, select, true

from auth.principal import Principal
from resolvers.models.base import Base
from resolvers.models.inquiries import Inquiry
from resolvers.models.partners import Audience
from resolvers.models.people import Facility, Person, PersonStatus
from resolvers.models.programs import Referral

Scope = Callable[[Principal], ColumnElement[bool]]

#: Audiences that read the department's people records without a row restriction.
_DEPARTMENT_PEOPLE = frozenset(
    {
        Audience.CONSTITUENT_SERVICES,
        Audience.VICTIM_SERVICES,
        Audience.PROGRAMS,
        Audience.RESEARCH_UNIT,
        Audience.ADMIN,
    }
)


def _people(principal: Principal) -> ColumnElement[bool]:
    if principal.audience in _DEPARTMENT_PEOPLE:
        return true()
    if principal.audience is Audience.LEGISLATIVE:
        # The public tier: people not yet discharged.
        return Person.status != PersonStatus.DISCHARGED
    if principal.audience is Audience.REENTRY and principal.partner_id is not None:
        return exists(
            select(Referral.id).where(
                Referral.person_id == Person.id, Referral.partner_id == principal.partner_id
            )
        )
    return false()


def _reference(principal: Principal) -> ColumnElement[bool]:
    return true()


def _inquiries(principal: Principal) -> ColumnElement[bool]:
    if principal.audience in (Audience.CONSTITUENT_SERVICES, Audience.ADMIN):
        return true()
    if principal.audience is Audience.LEGISLATIVE and principal.partner_id is not None:
        return Inquiry.partner_id == principal.partner_id
    return false()


SCOPES: dict[type[Base], Scope] = {
    Person: _people,
    Facility: _reference,
    Inquiry: _inquiries,
}


def row_scope(principal: Principal, model: type[Base]) -> ColumnElement[bool]:
    scope = SCOPES.get(model)
    if scope is None:
        return true() if principal.audience is Audience.ADMIN else false()
    return scope(principal)


def scoped(principal: Principal, model: type[Base], *conditions: ColumnElement[bool]) -> ColumnElement[bool]:
    """``conditions`` and the row scope of ``model`` together."""
    return and_(row_scope(principal, model), *conditions)


__all__ = ["SCOPES", "Scope", "row_scope", "scoped"]
