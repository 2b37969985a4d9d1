"""The root query fields the compiler answers, with their arguments read exactly as their resolvers
read them (the same filter functions, the same id decoding, the same page-size rule).

An argument the resolver would refuse (a page over 100, a bad cursor, an empty name) is not compiled:
the root field runs on the resolver path, which gives the refusal its usual error, code and path.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, FromClause

from resolvers import people as people_data
from resolvers import reentry as reentry_data
from resolvers.errors import InvalidInput
from resolvers.models.people import Facility, Person
from resolvers.models.programs import Referral
from schema.compiled.compiler import NotCompilable, adapt
from schema.ids import from_global_id

#: Root arguments (as graphql-core coerced them) -> conditions over the raw model table.
Conditions = Callable[[Mapping[str, Any]], list[ColumnElement[bool]]]


@dataclass(frozen=True, slots=True)
class Root:
    """A root field: one row by id, or a connection in a stable keyset order."""

    type_name: str
    model: type[Any]
    conditions: Conditions
    #: Columns of the connection's order (last unique), as ``resolvers.pagination.paginate`` gets them.
    order: tuple[str, ...] | None = None

    def where(self, args: Mapping[str, Any], alias: FromClause) -> list[ColumnElement[bool]]:
        try:
            return [adapt(c, alias) for c in self.conditions(args)]
        except InvalidInput as exc:
            raise NotCompilable(f"refused argument: {exc}") from None


def _by_id(type_name: str, model: type[Any]) -> Conditions:
    def conditions(args: Mapping[str, Any]) -> list[ColumnElement[bool]]:
        return [model.id == from_global_id(type_name, args["id"])]

    return conditions


def _id(type_name: str, value: str | None, name: str) -> int | None:
    return None if value is None else from_global_id(type_name, value, name)


def _people(args: Mapping[str, Any]) -> list[ColumnElement[bool]]:
    f = people_data.PeopleFilter(
        name=args.get("name"),
        doc_id=args.get("docId"),
        status=args.get("status"),
        facility_id=_id("Facility", args.get("facilityId"), "facilityId"),
        supervision_office_id=_id("Facility", args.get("supervisionOfficeId"), "supervisionOfficeId"),
        release_from=args.get("releaseFrom"),
        release_to=args.get("releaseTo"),
    )
    return people_data.people_conditions(f)


def _facilities(args: Mapping[str, Any]) -> list[ColumnElement[bool]]:
    kind = args.get("kind")
    return [Facility.kind == kind] if kind else []


def _referrals(args: Mapping[str, Any]) -> list[ColumnElement[bool]]:
    f = reentry_data.ReferralFilter(
        status=args.get("status"),
        service_type=args.get("serviceType"),
        partner_id=_id("Partner", args.get("partnerId"), "partnerId"),
        person_id=_id("Person", args.get("personId"), "personId"),
    )
    return reentry_data.referral_conditions(f)


ROOTS: dict[str, Root] = {
    "person": Root("Person", Person, _by_id("Person", Person)),
    "people": Root("Person", Person, _people, ("last_name", "first_name", "id")),
    "facility": Root("Facility", Facility, _by_id("Facility", Facility)),
    "facilities": Root("Facility", Facility, _facilities, ("id",)),
    "referral": Root("Referral", Referral, _by_id("Referral", Referral)),
    "referrals": Root("Referral", Referral, _referrals, ("referred_on", "id")),
}
