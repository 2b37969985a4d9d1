"""DataLoaders, built fresh for every request (a shared cache would leak rows between partners).

Each attribute has the name of the batch function it wraps: ``<things>_by_<key>``, and the type of
what that function answers per key: a typed row (``resolvers/rows.py``, or the row its statement
declares beside it), a list of them, or a page. mypy reads the type off the batch function, so a
loader cannot claim rows its function does not answer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar, overload

from strawberry.dataloader import DataLoader

from auth.principal import Principal
from resolvers import custody, fiscal_notes, grants, inquiries, people, programs, reentry, research, victims
from resolvers.session import RequestDb

K = TypeVar("K")
V = TypeVar("V")

#: A batch function: the principal's rows (or lists, or pages) for these keys, aligned with them.
Batch = Callable[[RequestDb, Principal, Sequence[K]], Awaitable[Sequence[V]]]


def _loader(db: RequestDb, principal: Principal, batch: Batch[K, V]) -> DataLoader[K, V]:
    async def load(keys: list[K]) -> Sequence[V]:
        return await batch(db, principal, keys)

    return DataLoader(load_fn=load)


class _Lazy(Generic[K, V]):
    """A ``Loaders`` attribute: the request's loader over ``batch``, built on its first read."""

    __slots__ = ("batch", "name")

    def __init__(self, batch: Batch[K, V]) -> None:
        self.batch = batch
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, loaders: None, owner: type | None = None) -> _Lazy[K, V]: ...
    @overload
    def __get__(self, loaders: Loaders, owner: type | None = None) -> DataLoader[K, V]: ...
    def __get__(self, loaders: Loaders | None, owner: type | None = None) -> _Lazy[K, V] | DataLoader[K, V]:
        if loaders is None:
            return self
        built = loaders._built.get(self.name)
        if built is None:
            built = loaders._built[self.name] = _loader(loaders._db, loaders._principal, self.batch)
        return built


class Loaders:
    """A request's loaders, each built when the request first uses it (most requests use one or none,
    and building all of them cost about as much as a one-row read's statement).

    Each is a ``_Lazy`` of its batch function: built on the first read of it in a request.
    """

    __slots__ = ("_built", "_db", "_principal")

    people_by_id = _Lazy(people.people_by_id)
    facilities_by_id = _Lazy(people.facilities_by_id)
    identities_by_person_id = _Lazy(people.identities_by_person_id)
    birth_dates_by_person_id = _Lazy(people.birth_dates_by_person_id)
    # People, custody, programs and reentry.
    identifiers_by_person_id = _Lazy(people.identifiers_by_person_id)
    aliases_by_person_id = _Lazy(people.aliases_by_person_id)
    sentences_by_person_id = _Lazy(custody.sentences_by_person_id)
    charges_by_sentence_id = _Lazy(custody.charges_by_sentence_id)
    custody_periods_by_person_id = _Lazy(custody.custody_periods_by_person_id)
    supervision_periods_by_person_id = _Lazy(custody.supervision_periods_by_person_id)
    parole_hearings_by_person_id = _Lazy(custody.parole_hearings_by_person_id)
    custody_events_by_person_id = _Lazy(custody.custody_events_by_person_id)
    conduct_reports_by_person_id = _Lazy(custody.conduct_reports_by_person_id)
    health_needs_by_person_id = _Lazy(custody.health_needs_by_person_id)
    population_by_facility_id = _Lazy(people.population_by_facility_id)
    custody_events_by_id = _Lazy(custody.custody_events_by_id)
    parole_hearings_by_id = _Lazy(custody.parole_hearings_by_id)
    programs_by_id = _Lazy(programs.programs_by_id)
    offerings_by_id = _Lazy(programs.offerings_by_id)
    enrollments_by_id = _Lazy(programs.enrollments_by_id)
    enrollments_by_person_id = _Lazy(programs.enrollments_by_person_id)
    reparative_activities_by_enrollment_id = _Lazy(programs.reparative_activities_by_enrollment_id)
    offerings_by_program_id = _Lazy(programs.offerings_by_program_id)
    enrollments_by_program_id = _Lazy(programs.enrollments_by_program_id)
    referrals_by_id = _Lazy(reentry.referrals_by_id)
    referrals_by_person_id = _Lazy(reentry.referrals_by_person_id)
    consents_by_id = _Lazy(reentry.consents_by_id)
    consents_by_person_id = _Lazy(reentry.consents_by_person_id)
    consent_categories_by_consent_id = _Lazy(reentry.consent_categories_by_consent_id)
    services_by_id = _Lazy(reentry.services_by_id)
    services_by_referral_id = _Lazy(reentry.services_by_referral_id)
    inquiries_by_id = _Lazy(inquiries.inquiries_by_id)
    inquiry_responses_by_inquiry_id = _Lazy(inquiries.inquiry_responses_by_inquiry_id)
    victims_by_id = _Lazy(victims.victims_by_id)
    victim_registrations_by_id = _Lazy(victims.victim_registrations_by_id)
    victim_registrations_by_victim_id = _Lazy(victims.victim_registrations_by_victim_id)
    notification_preferences_by_registration_id = _Lazy(victims.notification_preferences_by_registration_id)
    notifications_by_registration_id = _Lazy(victims.notifications_by_registration_id)
    delivery_attempts_by_notification_id = _Lazy(victims.delivery_attempts_by_notification_id)
    impact_statements_by_id = _Lazy(victims.impact_statements_by_id)
    impact_statements_by_registration_id = _Lazy(victims.impact_statements_by_registration_id)
    hearing_participations_by_registration_id = _Lazy(victims.hearing_participations_by_registration_id)
    protection_conditions_by_registration_id = _Lazy(victims.protection_conditions_by_registration_id)
    restitution_orders_by_id = _Lazy(victims.restitution_orders_by_id)
    restitution_orders_by_payee_victim_id = _Lazy(victims.restitution_orders_by_payee_victim_id)
    restitution_payments_by_id = _Lazy(victims.restitution_payments_by_id)
    restitution_payments_by_order_id = _Lazy(victims.restitution_payments_by_order_id)
    federal_awards_by_id = _Lazy(grants.federal_awards_by_id)
    subawards_by_id = _Lazy(grants.subawards_by_id)
    subawards_by_award_id = _Lazy(grants.subawards_by_award_id)
    disbursements_by_id = _Lazy(grants.disbursements_by_id)
    disbursements_by_award_id = _Lazy(grants.disbursements_by_award_id)
    award_reports_by_id = _Lazy(grants.award_reports_by_id)
    award_reports_by_award_id = _Lazy(grants.award_reports_by_award_id)
    fiscal_notes_by_id = _Lazy(fiscal_notes.fiscal_notes_by_id)
    research_agreements_by_id = _Lazy(research.research_agreements_by_id)
    research_extracts_by_agreement_id = _Lazy(research.research_extracts_by_agreement_id)

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
