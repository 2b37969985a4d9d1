"""DataLoaders, built fresh for every request (a shared cache would leak rows between partners).

Each field has the name of the batch function it wraps: ``<things>_by_<key>``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
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


@dataclass(slots=True)
class Loaders:
    people_by_id: DataLoader[int, Any]
    facilities_by_id: DataLoader[int, Any]
    identities_by_person_id: DataLoader[int, Any]
    birth_dates_by_person_id: DataLoader[int, date | None]
    # People, custody, programs and reentry.
    identifiers_by_person_id: DataLoader[int, Any]
    aliases_by_person_id: DataLoader[int, Any]
    sentences_by_person_id: DataLoader[int, Any]
    charges_by_sentence_id: DataLoader[int, Any]
    custody_periods_by_person_id: DataLoader[int, Any]
    supervision_periods_by_person_id: DataLoader[int, Any]
    parole_hearings_by_person_id: DataLoader[int, Any]
    custody_events_by_person_id: DataLoader[int, Any]
    conduct_reports_by_person_id: DataLoader[int, Any]
    health_needs_by_person_id: DataLoader[int, Any]
    population_by_facility_id: DataLoader[tuple[int, ChildPage], Any]
    custody_events_by_id: DataLoader[int, Any]
    parole_hearings_by_id: DataLoader[int, Any]
    programs_by_id: DataLoader[int, Any]
    offerings_by_id: DataLoader[int, Any]
    enrollments_by_id: DataLoader[int, Any]
    enrollments_by_person_id: DataLoader[int, Any]
    reparative_activities_by_enrollment_id: DataLoader[int, Any]
    offerings_by_program_id: DataLoader[tuple[int, ChildPage], Any]
    enrollments_by_program_id: DataLoader[tuple[int, ChildPage], Any]
    referrals_by_id: DataLoader[int, Any]
    referrals_by_person_id: DataLoader[int, Any]
    consents_by_id: DataLoader[int, Any]
    consents_by_person_id: DataLoader[int, Any]
    consent_categories_by_consent_id: DataLoader[int, Any]
    services_by_id: DataLoader[int, Any]
    services_by_referral_id: DataLoader[int, Any]
    inquiries_by_id: DataLoader[int, Any]
    inquiry_responses_by_inquiry_id: DataLoader[int, Any]
    victims_by_id: DataLoader[int, Any]
    victim_registrations_by_id: DataLoader[int, Any]
    victim_registrations_by_victim_id: DataLoader[int, Any]
    notification_preferences_by_registration_id: DataLoader[int, Any]
    notifications_by_registration_id: DataLoader[int, Any]
    delivery_attempts_by_notification_id: DataLoader[int, Any]
    impact_statements_by_id: DataLoader[int, Any]
    impact_statements_by_registration_id: DataLoader[int, Any]
    hearing_participations_by_registration_id: DataLoader[int, Any]
    protection_conditions_by_registration_id: DataLoader[int, Any]
    restitution_orders_by_id: DataLoader[int, Any]
    restitution_orders_by_payee_victim_id: DataLoader[int, Any]
    restitution_payments_by_id: DataLoader[int, Any]
    restitution_payments_by_order_id: DataLoader[int, Any]
    federal_awards_by_id: DataLoader[int, Any]
    subawards_by_id: DataLoader[int, Any]
    subawards_by_award_id: DataLoader[int, Any]
    disbursements_by_id: DataLoader[int, Any]
    disbursements_by_award_id: DataLoader[int, Any]
    award_reports_by_id: DataLoader[int, Any]
    award_reports_by_award_id: DataLoader[int, Any]
    fiscal_notes_by_id: DataLoader[int, Any]
    research_agreements_by_id: DataLoader[int, Any]
    research_extracts_by_agreement_id: DataLoader[int, Any]

    def clear_all(self) -> None:
        """Forget every cached row: called after each write, so what the operation reads next (the
        write's own payload, a later mutation's) comes from the store as the write left it.

        All of them, not the written row's alone: a write touches more than one row (a payment
        changes its order, hours change their enrollment, an admission its person) and more than one
        loader shows each row (by id, by parent, in a parent's page).
        """
        for name in self.__dataclass_fields__:
            loader: DataLoader[Any, Any] = getattr(self, name)
            loader.clear_all()

    @classmethod
    def build(cls, db: RequestDb, principal: Principal) -> Loaders:
        return cls(
            people_by_id=_loader(db, principal, people.people_by_id),
            facilities_by_id=_loader(db, principal, people.facilities_by_id),
            identities_by_person_id=_loader(db, principal, people.identities_by_person_id),
            birth_dates_by_person_id=_loader(db, principal, people.birth_dates_by_person_id),
            identifiers_by_person_id=_loader(db, principal, people.identifiers_by_person_id),
            aliases_by_person_id=_loader(db, principal, people.aliases_by_person_id),
            sentences_by_person_id=_loader(db, principal, custody.sentences_by_person_id),
            charges_by_sentence_id=_loader(db, principal, custody.charges_by_sentence_id),
            custody_periods_by_person_id=_loader(db, principal, custody.custody_periods_by_person_id),
            supervision_periods_by_person_id=_loader(db, principal, custody.supervision_periods_by_person_id),
            parole_hearings_by_person_id=_loader(db, principal, custody.parole_hearings_by_person_id),
            custody_events_by_person_id=_loader(db, principal, custody.custody_events_by_person_id),
            conduct_reports_by_person_id=_loader(db, principal, custody.conduct_reports_by_person_id),
            health_needs_by_person_id=_loader(db, principal, custody.health_needs_by_person_id),
            population_by_facility_id=_loader(db, principal, people.population_by_facility_id),
            custody_events_by_id=_loader(db, principal, custody.custody_events_by_id),
            parole_hearings_by_id=_loader(db, principal, custody.parole_hearings_by_id),
            programs_by_id=_loader(db, principal, programs.programs_by_id),
            offerings_by_id=_loader(db, principal, programs.offerings_by_id),
            enrollments_by_id=_loader(db, principal, programs.enrollments_by_id),
            enrollments_by_person_id=_loader(db, principal, programs.enrollments_by_person_id),
            reparative_activities_by_enrollment_id=_loader(
                db, principal, programs.reparative_activities_by_enrollment_id
            ),
            offerings_by_program_id=_loader(db, principal, programs.offerings_by_program_id),
            enrollments_by_program_id=_loader(db, principal, programs.enrollments_by_program_id),
            referrals_by_id=_loader(db, principal, reentry.referrals_by_id),
            referrals_by_person_id=_loader(db, principal, reentry.referrals_by_person_id),
            consents_by_id=_loader(db, principal, reentry.consents_by_id),
            consents_by_person_id=_loader(db, principal, reentry.consents_by_person_id),
            consent_categories_by_consent_id=_loader(db, principal, reentry.consent_categories_by_consent_id),
            services_by_id=_loader(db, principal, reentry.services_by_id),
            services_by_referral_id=_loader(db, principal, reentry.services_by_referral_id),
            inquiries_by_id=_loader(db, principal, inquiries.inquiries_by_id),
            inquiry_responses_by_inquiry_id=_loader(db, principal, inquiries.inquiry_responses_by_inquiry_id),
            victims_by_id=_loader(db, principal, victims.victims_by_id),
            victim_registrations_by_id=_loader(db, principal, victims.victim_registrations_by_id),
            victim_registrations_by_victim_id=_loader(
                db, principal, victims.victim_registrations_by_victim_id
            ),
            notification_preferences_by_registration_id=_loader(
                db, principal, victims.notification_preferences_by_registration_id
            ),
            notifications_by_registration_id=_loader(db, principal, victims.notifications_by_registration_id),
            delivery_attempts_by_notification_id=_loader(
                db, principal, victims.delivery_attempts_by_notification_id
            ),
            impact_statements_by_id=_loader(db, principal, victims.impact_statements_by_id),
            impact_statements_by_registration_id=_loader(
                db, principal, victims.impact_statements_by_registration_id
            ),
            hearing_participations_by_registration_id=_loader(
                db, principal, victims.hearing_participations_by_registration_id
            ),
            protection_conditions_by_registration_id=_loader(
                db, principal, victims.protection_conditions_by_registration_id
            ),
            restitution_orders_by_id=_loader(db, principal, victims.restitution_orders_by_id),
            restitution_orders_by_payee_victim_id=_loader(
                db, principal, victims.restitution_orders_by_payee_victim_id
            ),
            restitution_payments_by_id=_loader(db, principal, victims.restitution_payments_by_id),
            restitution_payments_by_order_id=_loader(db, principal, victims.restitution_payments_by_order_id),
            federal_awards_by_id=_loader(db, principal, grants.federal_awards_by_id),
            subawards_by_id=_loader(db, principal, grants.subawards_by_id),
            subawards_by_award_id=_loader(db, principal, grants.subawards_by_award_id),
            disbursements_by_id=_loader(db, principal, grants.disbursements_by_id),
            disbursements_by_award_id=_loader(db, principal, grants.disbursements_by_award_id),
            award_reports_by_id=_loader(db, principal, grants.award_reports_by_id),
            award_reports_by_award_id=_loader(db, principal, grants.award_reports_by_award_id),
            fiscal_notes_by_id=_loader(db, principal, fiscal_notes.fiscal_notes_by_id),
            research_agreements_by_id=_loader(db, principal, research.research_agreements_by_id),
            research_extracts_by_agreement_id=_loader(
                db, principal, research.research_extracts_by_agreement_id
            ),
        )
