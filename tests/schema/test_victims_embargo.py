"""The victims-first embargo says nothing about who has victims: every partner audience gets the same
answers about a released person with registered victims and one without, before, during and after
the embargo (issue 13, item 7: only people with victims used to vanish, so polling `person` after a
release answered "has victims")."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.applications import Starlette

from auth.embargo import VictimEmbargo
from resolvers.models.partners import PARTNER_AUDIENCES, Audience, Partner
from resolvers.models.people import Person
from resolvers.models.victims import Notification
from schema.ids import to_global_id
from tests.conftest import GraphQL
from tests.factories.people import make_facility, make_inmate
from tests.factories.reentry import make_referral
from tests.factories.victims import make_registration

RECORD = """
mutation($input: CustodyEventInput!) {
  recordCustodyEvent(input: $input) { event { id } errors { code field message } }
}
"""
PERSON = "query($id: ID!) { person(id: $id) { id status } }"
PEOPLE = "{ people(first: 100) { nodes { id } } }"


@pytest.fixture
def clock(app: Starlette, monkeypatch: pytest.MonkeyPatch) -> list[datetime]:
    now = [datetime.now(UTC)]
    embargo: VictimEmbargo = app.state.victim_embargo
    monkeypatch.setattr(embargo, "clock", lambda: now[0])
    monkeypatch.setattr(embargo, "minutes", 60.0)
    return now


async def _record(gql: GraphQL, person: Person, **fields: Any) -> None:
    fields |= {"personId": to_global_id("Person", person.id), "occurredAt": "2025-06-01T10:00:00+00:00"}
    body = (await gql(RECORD, {"input": fields}, audience=Audience.ADMIN)).json()
    assert body["data"]["recordCustodyEvent"]["errors"] == [], body


def _scrub(value: Any) -> Any:
    """The answer without what differs per request anyway (its request id)."""
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items() if k != "requestId"}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


async def _answers(gql: GraphQL, person: Person) -> dict[Audience, str]:
    """What each partner audience is told about ``person``, with the person's own id taken out."""
    gid = to_global_id("Person", person.id)
    told: dict[Audience, str] = {}
    for audience in PARTNER_AUDIENCES:
        one = _scrub((await gql(PERSON, {"id": gid}, audience=audience)).json())
        listed = (await gql(PEOPLE, audience=audience)).json()
        nodes = ((listed.get("data") or {}).get("people") or {}).get("nodes") or []
        listed_errors = _scrub(listed.get("errors", []))
        told[audience] = json.dumps(
            [one, any(n["id"] == gid for n in nodes), listed_errors], sort_keys=True
        ).replace(gid, "<person>")
    return told


@pytest.mark.parametrize("kind", ["ESCAPE", "TRANSFER"])
async def test_partners_cannot_tell_a_person_with_victims_from_one_without(
    gql: GraphQL,
    session: AsyncSession,
    partners: dict[Audience, Partner],
    clock: list[datetime],
    kind: str,
) -> None:
    facility = await make_facility(session)
    with_victims, _ = await make_inmate(session, facility)
    without, _ = await make_inmate(session, facility)
    await make_registration(session, person=with_victims)
    for person in (with_victims, without):
        await make_referral(session, person, partners[Audience.REENTRY])
    fields: dict[str, Any] = {"kind": kind}
    if kind == "TRANSFER":
        fields["facilityId"] = to_global_id("Facility", (await make_facility(session)).id)

    before = await _answers(gql, with_victims)
    assert before == await _answers(gql, without)
    for person in (with_victims, without):
        await _record(gql, person, **fields)

    during = await _answers(gql, with_victims)
    assert during == await _answers(gql, without)
    assert during != before  # the embargo is in force: for both of them
    # The victims' notifications going out changes nothing either.
    await session.execute(update(Notification).values(status="delivered"))
    assert await _answers(gql, with_victims) == during == await _answers(gql, without)

    clock[0] += timedelta(minutes=61)
    after = await _answers(gql, with_victims)
    assert after == await _answers(gql, without)
    assert after != during
    # Both are back in the reentry partner's and the legislative office's sight.
    assert json.loads(after[Audience.REENTRY])[1] is True
    assert json.loads(after[Audience.LEGISLATIVE])[1] is True
