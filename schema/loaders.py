"""DataLoaders, built fresh for every request (a shared cache would leak rows between partners).

Each field has the name of the batch function it wraps: ``<things>_by_<key>``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import date
from typing import Any

from strawberry.dataloader import DataLoader

from auth.principal import Principal
from resolvers import custody, fiscal_notes, grants, inquiries, people, programs, reentry, research, victims
from resolvers.parent_pages import ChildPage
from resolvers.session import RequestDb

Batch = Callable[[RequestDb, Principal, Sequence[Any]], Awaitable[Sequence[Any]]]


def _loader(db: RequestDb, principal: Principal, batch: Batch) -> DataLoader[Any, Any]:
    async def load(keys: list[Any]) -> Sequence[Any]:
        return await batch(db, principal, keys)

    return DataLoader(load_fn=load)


class _Lazy:
    """A ``Loaders`` attribute: the request's loader over ``batch``, built on its first read."""

    __slots__ = ("batch", "name")

    def __init__(self, batch: Batch) -> None:
        self.batch = batch
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, loaders: Loaders | None, owner: type | None = None) -> Any:
        if loaders is None:
            return self
        built = loaders._built.get(self.name)
        if built is None:
            built = loaders._built[self.name] = _loader(loaders._db, loaders._principal, self.batch)
        return built


def _lazy(batch: Batch) -> Any:
    # Typed Any so that each attribute keeps its declared DataLoader type.
    return _Lazy(batch)


class Loaders:
    """A request's loaders, each built when the request first uses it (most requests use one or none,
    and building all of them cost about as much as a one-row read's statement).

    Each is a ``_Lazy`` of its batch function: built on the first read of it in a request.
    """

    __slots__ = ("_built", "_db", "_principal")

    people_by_id: DataLoader[int, Any] = _lazy(people.people_by_id)
    facilities_by_id: DataLoader[int, Any] = _lazy(people.facilities_by_id)
    identities_by_person_id: DataLoader[int, Any] = _lazy(people.identities_by_person_id)
    birth_dates_by_person_id: DataLoader[int, date | None] = _lazy(people.birth_dates_by_person_id)
    # People, custody, programs and reentry.
    identifiers_by_person_id: DataLoader[int, Any] = _lazy(people.identifiers_by_person_id)
    aliases_by_person_id: DataLoader[int, Any] = _lazy(people.aliases_by_person_id)
    sentences_by_person_id: DataLoader[int, Any] = _lazy(people.sentences_by_person_id)
    charges_by_sentence_id: DataLoader[int, Any] = _lazy(people.charges_by_sentence_id)
    custody_periods_by_person_id: DataLoader[int, Any] = _lazy(people.custody_periods_by_person_id)
    supervision_periods_by_person_id: DataLoader[int, Any] = _lazy(people.supervision_periods_by_person_id)
    parole_hearings_by_person_id: DataLoader[int, Any] = _lazy(people.parole_hearings_by_person_id)
    custody_events_by_person_id: DataLoader[int, Any] = _lazy(people.custody_events_by_person_id)
    conduct_reports_by_person_id: DataLoader[int, Any] = _lazy(people.conduct_reports_by_person_id)
    health_needs_by_person_id: DataLoader[int, Any] = _lazy(people.health_needs_by_person_id)
    population_by_facility_id: DataLoader[tuple[int, ChildPage], Any] = _lazy(
        people.population_by_facility_id
    )
    custody_events_by_id: DataLoader[int, Any] = _lazy(custody.custody_events_by_id)
    parole_hearings_by_id: DataLoader[int, Any] = _lazy(custody.parole_hearings_by_id)
    programs_by_id: DataLoader[int, Any] = _lazy(programs.programs_by_id)
    offerings_by_id: DataLoader[int, Any] = _lazy(programs.offerings_by_id)
    enrollments_by_id: DataLoader[int, Any] = _lazy(programs.enrollments_by_id)
    enrollments_by_person_id: DataLoader[int, Any] = _lazy(programs.enrollments_by_person_id)
    reparative_activities_by_enrollment_id: DataLoader[int, Any] = _lazy(
        programs.reparative_activities_by_enrollment_id
    )
    offerings_by_program_id: DataLoader[tuple[int, ChildPage], Any] = _lazy(programs.offerings_by_program_id)
    enrollments_by_program_id: DataLoader[tuple[int, ChildPage], Any] = _lazy(
        programs.enrollments_by_program_id
    )
    referrals_by_id: DataLoader[int, Any] = _lazy(reentry.referrals_by_id)
    referrals_by_person_id: DataLoader[int, Any] = _lazy(reentry.referrals_by_person_id)
    consents_by_id: DataLoader[int, Any] = _lazy(reentry.consents_by_id)
    consents_by_person_id: DataLoader[int, Any] = _lazy(reentry.consents_by_person_id)
    consent_categories_by_consent_id: DataLoader[int, Any] = _lazy(reentry.consent_categories_by_consent_id)
    services_by_id: DataLoader[int, Any] = _lazy(reentry.services_by_id)
    services_by_referral_id: DataLoader[int, Any] = _lazy(reentry.services_by_referral_id)
    inquiries_by_id: DataLoader[int, Any] = _lazy(inquiries.inquiries_by_id)
    inquiry_responses_by_inquiry_id: DataLoader[int, Any] = _lazy(inquiries.inquiry_responses_by_inquiry_id)
    victims_by_id: DataLoader[int, Any] = _lazy(victims.victims_by_id)
    victim_registrations_by_id: DataLoader[int, Any] = _lazy(victims.victim_registrations_by_id)
    victim_registrations_by_victim_id: DataLoader[int, Any] = _lazy(victims.victim_registrations_by_victim_id)
    notification_preferences_by_registration_id: DataLoader[int, Any] = _lazy(
        victims.notification_preferences_by_registration_id
    )
    notifications_by_registration_id: DataLoader[int, Any] = _lazy(victims.notifications_by_registration_id)
    delivery_attempts_by_notification_id: DataLoader[int, Any] = _lazy(
        victims.delivery_attempts_by_notification_id
    )
    impact_statements_by_id: DataLoader[int, Any] = _lazy(victims.impact_statements_by_id)
    impact_statements_by_registration_id: DataLoader[int, Any] = _lazy(
        victims.impact_statements_by_registration_id
    )
    hearing_participations_by_registration_id: DataLoader[int, Any] = _lazy(
        victims.hearing_participations_by_registration_id
    )
    protection_conditions_by_registration_id: DataLoader[int, Any] = _lazy(
        victims.protection_conditions_by_registration_id
    )
    restitution_orders_by_id: DataLoader[int, Any] = _lazy(victims.restitution_orders_by_id)
    restitution_orders_by_payee_victim_id: DataLoader[int, Any] = _lazy(
        victims.restitution_orders_by_payee_victim_id
    )
    restitution_payments_by_id: DataLoader[int, Any] = _lazy(victims.restitution_payments_by_id)
    restitution_payments_by_order_id: DataLoader[int, Any] = _lazy(victims.restitution_payments_by_order_id)
    federal_awards_by_id: DataLoader[int, Any] = _lazy(grants.federal_awards_by_id)
    subawards_by_id: DataLoader[int, Any] = _lazy(grants.subawards_by_id)
    subawards_by_award_id: DataLoader[int, Any] = _lazy(grants.subawards_by_award_id)
    disbursements_by_id: DataLoader[int, Any] = _lazy(grants.disbursements_by_id)
    disbursements_by_award_id: DataLoader[int, Any] = _lazy(grants.disbursements_by_award_id)
    award_reports_by_id: DataLoader[int, Any] = _lazy(grants.award_reports_by_id)
    award_reports_by_award_id: DataLoader[int, Any] = _lazy(grants.award_reports_by_award_id)
    fiscal_notes_by_id: DataLoader[int, Any] = _lazy(fiscal_notes.fiscal_notes_by_id)
    research_agreements_by_id: DataLoader[int, Any] = _lazy(research.research_agreements_by_id)
    research_extracts_by_agreement_id: DataLoader[int, Any] = _lazy(
        research.research_extracts_by_agreement_id
    )

    def clear_all(self) -> None:
        """Forget every cached row: called after each write, so what the operation reads next (the
        write's own payload, a later mutation's) comes from the store as the write left it.

        All of them, not the written row's alone: a write touches more than one row (a payment
        changes its order, hours change their enrollment, an admission its person) and more than one
        loader shows each row (by id, by parent, in a parent's page).
        """
        for loader in self._built.values():
            loader.clear_all()

    def __init__(self, db: RequestDb, principal: Principal) -> None:
        self._db = db
        self._principal = principal
        self._built: dict[str, DataLoader[Any, Any]] = {}

    @classmethod
    def build(cls, db: RequestDb, principal: Principal) -> Loaders:
        return cls(db, principal)

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """Every loader's name."""
        return tuple(name for name, value in vars(cls).items() if isinstance(value, _Lazy))
