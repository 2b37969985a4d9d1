"""DataLoaders, built fresh for every request (a shared cache would leak rows between partners).

Each field has the name of the batch function it wraps: ``<things>_by_<key>``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from strawberry.dataloader import DataLoader

from auth.principal import Principal
from resolvers import fiscal_notes, grants, inquiries, people, research, victims
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

    @classmethod
    def build(cls, db: RequestDb, principal: Principal) -> Loaders:
        return cls(
            people_by_id=_loader(db, principal, people.people_by_id),
            facilities_by_id=_loader(db, principal, people.facilities_by_id),
            identities_by_person_id=_loader(db, principal, people.identities_by_person_id),
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
