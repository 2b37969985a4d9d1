"""Every loader of victims, inquiries, grants, fiscal notes and research: N keys cost one statement,
results line up with the keys, and the row scope holds inside the batch."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from auth.principal import Principal
from resolvers.models.partners import Audience
from resolvers.session import RequestDb
from schema.loaders import Loaders
from tests.factories.grants import make_award, make_disbursement, make_fiscal_note, make_report, make_subaward
from tests.factories.inquiries import make_inquiry, make_response
from tests.factories.people import make_person
from tests.factories.research import make_agreement, make_extract, make_research_partner
from tests.factories.victims import (
    make_attempt,
    make_hearing,
    make_impact_statement,
    make_notification,
    make_participation,
    make_payment,
    make_protection_condition,
    make_registration,
    make_restitution_order,
    make_victim,
)

N = 5
MISSING = 99_999_999


async def _registrations(s: AsyncSession) -> list[Any]:
    return [await make_registration(s) for _ in range(N)]


async def _victim_keys(s: AsyncSession) -> list[int]:
    regs = await _registrations(s)
    return [r.victim_id for r in regs]


async def _registration_keys(s: AsyncSession) -> list[int]:
    return [r.id for r in await _registrations(s)]


async def _notification_keys(s: AsyncSession) -> list[int]:
    reg = await make_registration(s)
    keys = []
    for _ in range(N):
        n = await make_notification(s, reg)
        await make_attempt(s, n)
        keys.append(n.id)
    return keys


async def _registration_keys_with_children(s: AsyncSession) -> list[int]:
    keys = []
    for _ in range(N):
        person = await make_person(s)
        reg = await make_registration(s, person=person)
        await make_notification(s, reg)
        await make_impact_statement(s, reg)
        await make_participation(s, reg, await make_hearing(s, person))
        await make_protection_condition(s, reg)
        keys.append(reg.id)
    return keys


async def _statement_keys(s: AsyncSession) -> list[int]:
    reg = await make_registration(s)
    return [(await make_impact_statement(s, reg)).id for _ in range(N)]


async def _order_keys(s: AsyncSession) -> list[int]:
    keys = []
    for _ in range(N):
        order = await make_restitution_order(s, await make_person(s), payee=await make_victim(s))
        await make_payment(s, order)
        keys.append(order.id)
    return keys


async def _payee_keys(s: AsyncSession) -> list[int]:
    keys = []
    for _ in range(N):
        victim = await make_victim(s)
        await make_restitution_order(s, await make_person(s), payee=victim)
        keys.append(victim.id)
    return keys


async def _payment_keys(s: AsyncSession) -> list[int]:
    order = await make_restitution_order(s, await make_person(s))
    return [(await make_payment(s, order)).id for _ in range(N)]


async def _inquiry_keys(s: AsyncSession) -> list[int]:
    keys = []
    for _ in range(N):
        inquiry = await make_inquiry(s)
        await make_response(s, inquiry)
        keys.append(inquiry.id)
    return keys


async def _award_keys(s: AsyncSession) -> list[int]:
    keys = []
    for _ in range(N):
        award = await make_award(s)
        await make_subaward(s, award)
        await make_disbursement(s, award)
        await make_report(s, award)
        keys.append(award.id)
    return keys


async def _subaward_keys(s: AsyncSession) -> list[int]:
    award = await make_award(s)
    return [(await make_subaward(s, award)).id for _ in range(N)]


async def _disbursement_keys(s: AsyncSession) -> list[int]:
    award = await make_award(s)
    return [(await make_disbursement(s, award)).id for _ in range(N)]


async def _report_keys(s: AsyncSession) -> list[int]:
    award = await make_award(s)
    return [(await make_report(s, award)).id for _ in range(N)]


async def _note_keys(s: AsyncSession) -> list[int]:
    return [(await make_fiscal_note(s)).id for _ in range(N)]


async def _agreement_keys(s: AsyncSession) -> list[int]:
    keys = []
    for _ in range(N):
        agreement = await make_agreement(s, await make_research_partner(s))
        await make_extract(s, agreement)
        keys.append(agreement.id)
    return keys


Keys = Callable[[AsyncSession], Awaitable[list[int]]]
VS, CS, BG, RU = (
    Audience.VICTIM_SERVICES,
    Audience.CONSTITUENT_SERVICES,
    Audience.BUDGET_GRANTS,
    Audience.RESEARCH_UNIT,
)

CASES: list[tuple[str, Keys, Audience, bool]] = [
    # (loader, keys, audience that owns the data, one row per key (True) or a list per key (False))
    ("victims_by_id", _victim_keys, VS, True),
    ("victim_registrations_by_id", _registration_keys, VS, True),
    ("victim_registrations_by_victim_id", _victim_keys, VS, False),
    ("notification_preferences_by_registration_id", _registration_keys, VS, False),
    ("notifications_by_registration_id", _registration_keys_with_children, VS, False),
    ("delivery_attempts_by_notification_id", _notification_keys, VS, False),
    ("impact_statements_by_id", _statement_keys, VS, True),
    ("impact_statements_by_registration_id", _registration_keys_with_children, VS, False),
    ("hearing_participations_by_registration_id", _registration_keys_with_children, VS, False),
    ("protection_conditions_by_registration_id", _registration_keys_with_children, VS, False),
    ("restitution_orders_by_id", _order_keys, VS, True),
    ("restitution_orders_by_payee_victim_id", _payee_keys, VS, False),
    ("restitution_payments_by_id", _payment_keys, VS, True),
    ("restitution_payments_by_order_id", _order_keys, VS, False),
    ("inquiries_by_id", _inquiry_keys, CS, True),
    ("inquiry_responses_by_inquiry_id", _inquiry_keys, CS, False),
    ("federal_awards_by_id", _award_keys, BG, True),
    ("subawards_by_id", _subaward_keys, BG, True),
    ("subawards_by_award_id", _award_keys, BG, False),
    ("disbursements_by_id", _disbursement_keys, BG, True),
    ("disbursements_by_award_id", _award_keys, BG, False),
    ("award_reports_by_id", _report_keys, BG, True),
    ("award_reports_by_award_id", _award_keys, BG, False),
    ("fiscal_notes_by_id", _note_keys, BG, True),
    ("research_agreements_by_id", _agreement_keys, RU, True),
    ("research_extracts_by_agreement_id", _agreement_keys, RU, False),
]


@pytest.mark.parametrize(("name", "keys", "audience", "single"), CASES, ids=[c[0] for c in CASES])
async def test_n_keys_cost_one_statement(
    session: AsyncSession, name: str, keys: Keys, audience: Audience, single: bool
) -> None:
    pks = await keys(session)
    db = RequestDb(session)
    loaders = Loaders.build(db, Principal(audience=audience, client_id="loader-test"))
    results = await getattr(loaders, name).load_many([*pks, MISSING])
    assert db.statements == 1
    assert len(results) == len(pks) + 1
    if single:
        assert [r.id for r in results[:-1]] == pks
        assert results[-1] is None
    else:
        assert all(len(group) >= 1 for group in results[:-1]), name
        assert results[-1] == []


@pytest.mark.parametrize(("name", "keys", "audience", "single"), CASES, ids=[c[0] for c in CASES])
async def test_the_row_scope_holds_inside_the_batch(
    session: AsyncSession, name: str, keys: Keys, audience: Audience, single: bool
) -> None:
    pks = await keys(session)
    # Reentry partners are outside every one of these tables' scopes.
    db = RequestDb(session)
    loaders = Loaders.build(
        db, Principal(audience=Audience.REENTRY, partner_id=MISSING, client_id="outsider")
    )
    results = await getattr(loaders, name).load_many(pks)
    expected: list[Any] = [None if single else [] for _ in pks]
    assert results == expected
