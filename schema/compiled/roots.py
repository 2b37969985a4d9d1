"""The root query fields the compiler answers, with their arguments read exactly as their resolvers
read them (the same filter functions, the same id decoding, the same page-size rule).

An argument the resolver would refuse (a page over 100, a bad cursor, an empty name) is not compiled:
the root field runs on the resolver path, which gives the refusal its usual error, code and path.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, FromClause

from resolvers import people as people_data
from resolvers import programs as programs_data
from resolvers import reentry as reentry_data
from resolvers.errors import InvalidInput
from resolvers.models.people import Facility, Person
from resolvers.models.programs import Enrollment, Program, ProgramOffering
from resolvers.models.reentry import Consent, Referral, ServiceDelivered
from schema.compiled.compiler import NotCompilable, adapt
from schema.ids import from_global_id

#: Root arguments (as graphql-core coerced them) and the request's date -> conditions over the raw
#: model table.
Conditions = Callable[[Mapping[str, Any], date], list[ColumnElement[bool]]]


@dataclass(frozen=True, slots=True)
class Root:
    """A root field: one row by id, or a connection in a stable keyset order."""

    type_name: str
    model: type[Any]
    conditions: Conditions
    #: Columns of the connection's order (last unique), as ``resolvers.pagination.paginate`` gets them.
    order: tuple[str, ...] | None = None

    def where(self, args: Mapping[str, Any], alias: FromClause, today: date) -> list[ColumnElement[bool]]:
        try:
            return [adapt(c, alias) for c in self.conditions(args, today)]
        except InvalidInput as exc:
            raise NotCompilable(f"refused argument: {exc}") from None


def _by_id(type_name: str, model: type[Any]) -> Conditions:
    def conditions(args: Mapping[str, Any], _: date) -> list[ColumnElement[bool]]:
        return [model.id == from_global_id(type_name, args["id"])]

    return conditions


def _id(type_name: str, value: str | None, name: str) -> int | None:
    return None if value is None else from_global_id(type_name, value, name)


def _value(value: Any) -> Any:
    """An enum argument as the resolvers pass it on (its value)."""
    return value.value if isinstance(value, enum.Enum) else value


def _people(args: Mapping[str, Any], _: date) -> list[ColumnElement[bool]]:
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


def _facilities(args: Mapping[str, Any], _: date) -> list[ColumnElement[bool]]:
    kind = args.get("kind")
    return [Facility.kind == kind] if kind else []


def _referrals(args: Mapping[str, Any], _: date) -> list[ColumnElement[bool]]:
    f = reentry_data.ReferralFilter(
        status=args.get("status"),
        service_type=args.get("serviceType"),
        partner_id=_id("Partner", args.get("partnerId"), "partnerId"),
        person_id=_id("Person", args.get("personId"), "personId"),
    )
    return reentry_data.referral_conditions(f)


def _programs(args: Mapping[str, Any], _: date) -> list[ColumnElement[bool]]:
    f = programs_data.ProgramFilter(
        category=_value(args.get("category")),
        reparative=args.get("reparative"),
        gender_responsive=args.get("genderResponsive"),
    )
    return programs_data.program_conditions(f)


def _offerings(args: Mapping[str, Any], _: date) -> list[ColumnElement[bool]]:
    f = programs_data.OfferingFilter(
        program_id=_id("Program", args.get("programId"), "programId"),
        facility_id=_id("Facility", args.get("facilityId"), "facilityId"),
        status=_value(args.get("status")),
    )
    return programs_data.offering_conditions(f)


def _enrollments(args: Mapping[str, Any], _: date) -> list[ColumnElement[bool]]:
    f = programs_data.EnrollmentFilter(
        person_id=_id("Person", args.get("personId"), "personId"),
        program_id=_id("Program", args.get("programId"), "programId"),
        status=_value(args.get("status")),
    )
    return programs_data.enrollment_conditions(f)


def _consents(args: Mapping[str, Any], today: date) -> list[ColumnElement[bool]]:
    f = reentry_data.ConsentFilter(
        person_id=_id("Person", args.get("personId"), "personId"),
        partner_id=_id("Partner", args.get("partnerId"), "partnerId"),
        active_on=today if args.get("active") else None,
    )
    return reentry_data.consent_conditions(f)


def _services(args: Mapping[str, Any], _: date) -> list[ColumnElement[bool]]:
    f = reentry_data.ServiceFilter(
        referral_id=_id("Referral", args.get("referralId"), "referralId"),
        person_id=_id("Person", args.get("personId"), "personId"),
        delivered_from=args.get("deliveredFrom"),
        delivered_to=args.get("deliveredTo"),
    )
    return reentry_data.service_conditions(f)


ROOTS: dict[str, Root] = {
    "person": Root("Person", Person, _by_id("Person", Person)),
    "people": Root("Person", Person, _people, ("last_name", "first_name", "id")),
    "facility": Root("Facility", Facility, _by_id("Facility", Facility)),
    "facilities": Root("Facility", Facility, _facilities, ("id",)),
    "referral": Root("Referral", Referral, _by_id("Referral", Referral)),
    "referrals": Root("Referral", Referral, _referrals, reentry_data.REFERRAL_ORDER),
    "program": Root("Program", Program, _by_id("Program", Program)),
    "programs": Root("Program", Program, _programs, programs_data.PROGRAM_ORDER),
    "programOfferings": Root("ProgramOffering", ProgramOffering, _offerings, programs_data.OFFERING_ORDER),
    "enrollment": Root("Enrollment", Enrollment, _by_id("Enrollment", Enrollment)),
    "enrollments": Root("Enrollment", Enrollment, _enrollments, programs_data.ENROLLMENT_ORDER),
    "consents": Root("Consent", Consent, _consents, reentry_data.CONSENT_ORDER),
    "servicesDelivered": Root("ServiceDelivered", ServiceDelivered, _services, reentry_data.SERVICE_ORDER),
}
