"""The custody transition table: every kind of event has its entry, and its states are enforced."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from auth.principal import Principal
from resolvers.custody_writes import TRANSITIONS, NewCustodyEvent, record_custody_event
from resolvers.errors import Conflict
from resolvers.models.custody import CustodyEventKind
from resolvers.models.partners import Audience
from resolvers.models.people import PersonStatus
from resolvers.session import RequestDb
from tests.factories.people import make_person

NOW = datetime(2026, 10, 5, 12, 0, tzinfo=UTC)


def test_every_kind_of_event_has_a_transition() -> None:
    assert set(TRANSITIONS) == set(CustodyEventKind)


def test_no_transition_is_recorded_for_a_deceased_person() -> None:
    for kind, transition in TRANSITIONS.items():
        assert transition.allowed_from, kind
        assert PersonStatus.DECEASED not in transition.allowed_from, kind


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        (kind, status)
        for kind, transition in TRANSITIONS.items()
        for status in PersonStatus
        if status is not PersonStatus.DECEASED and status not in transition.allowed_from
    ],
)
async def test_a_state_outside_the_table_is_refused_on_kind(
    session: AsyncSession, db: RequestDb, kind: CustodyEventKind, status: PersonStatus
) -> None:
    person = await make_person(session, status=status.value)
    event = NewCustodyEvent(person_id=person.id, kind=kind, occurred_at=NOW)

    with pytest.raises(Conflict) as refused:
        await record_custody_event(db, Principal(Audience.ADMIN), event, NOW)

    assert refused.value.field == "kind"
    assert refused.value.rule == TRANSITIONS[kind].refused.format(kind=kind.value, status=status.value)
