"""Victim notifications through HTTP: a custody event creates them in its own transaction, bad
contact details leave a failed notification that says why, partners wait (the embargo, for everyone),
and a registrant's code acknowledges a notice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.applications import Starlette

from auth.embargo import VictimEmbargo
from resolvers.models.partners import Audience, Partner
from resolvers.models.victims import Notification
from resolvers.victims_notifications import code_hash
from schema.ids import to_global_id
from tests.conftest import GraphQL
from tests.factories.people import make_facility, make_inmate, make_person
from tests.factories.reentry import make_referral
from tests.factories.victims import make_registration, make_victim

RECORD = """
mutation($input: CustodyEventInput!) {
  recordCustodyEvent(input: $input) { event { id } errors { code field message } }
}
"""

NOTIFICATIONS = """
query($person: ID!) {
  notifications(personId: $person, first: 50) {
    nodes { eventKind channel destination status attempts requiresAcknowledgement lastError
            registration { id } }
  }
}
"""

PERSON = "query($id: ID!) { person(id: $id) { id status } }"


async def record(gql: GraphQL, **fields: Any) -> str:
    fields.setdefault("occurredAt", "2025-06-01T10:00:00+00:00")
    body = (await gql(RECORD, {"input": fields}, audience=Audience.ADMIN)).json()
    assert "errors" not in body, body
    payload = body["data"]["recordCustodyEvent"]
    assert payload["errors"] == [], payload
    return str(payload["event"]["id"])


async def notifications_of(gql: GraphQL, person_id: int) -> list[dict[str, Any]]:
    body = (
        await gql(
            NOTIFICATIONS, {"person": to_global_id("Person", person_id)}, audience=Audience.VICTIM_SERVICES
        )
    ).json()
    assert "errors" not in body, body
    return list(body["data"]["notifications"]["nodes"])


async def release(gql: GraphQL, person_id: int) -> str:
    return await record(
        gql, personId=to_global_id("Person", person_id), kind="RELEASE", releaseType="SENTENCE_COMPLETED"
    )


async def test_a_release_notifies_each_active_registration_on_each_active_channel(
    gql: GraphQL, session: AsyncSession
) -> None:
    person, _ = await make_inmate(session)
    both = await make_registration(
        session, person=person, preferences=(("email", "ann@example.org"), ("sms", "573-555-0101"))
    )
    letter = await make_registration(session, person=person, preferences=(("letter", None),))
    await make_registration(session, person=person, status="inactive", ended_on=datetime(2024, 1, 1).date())
    await release(gql, person.id)

    found = await notifications_of(gql, person.id)
    got = sorted((n["channel"], n["status"], n["destination"]) for n in found)
    assert got[0] == ("EMAIL", "PENDING", "ann@example.org")
    assert got[1][0:2] == ("LETTER", "PENDING")
    assert got[1][2].endswith("Jefferson City, MO 65101")  # the registrant's postal address
    assert got[2] == ("SMS", "PENDING", "573-555-0101")
    assert {n["eventKind"] for n in found} == {"release"}
    regs = {n["registration"]["id"] for n in found}
    assert regs == {to_global_id("VictimRegistration", r.id) for r in (both, letter)}


async def test_phone_notices_require_acknowledgement(gql: GraphQL, session: AsyncSession) -> None:
    person, _ = await make_inmate(session)
    await make_registration(session, person=person, preferences=(("phone", "573-555-0102"),))
    await record(gql, personId=to_global_id("Person", person.id), kind="ESCAPE")
    [notice] = await notifications_of(gql, person.id)
    assert (notice["channel"], notice["requiresAcknowledgement"]) == ("PHONE", True)


async def test_events_victims_are_not_told_about_create_nothing(gql: GraphQL, session: AsyncSession) -> None:
    person = await make_person(session, status="discharged")
    await make_registration(session, person=person)
    prison = await make_facility(session)
    await record(
        gql,
        personId=to_global_id("Person", person.id),
        kind="ADMISSION",
        facilityId=to_global_id("Facility", prison.id),
        admissionType="PAROLE_RETURN",
    )
    assert await notifications_of(gql, person.id) == []


async def test_unusable_contact_details_leave_a_failed_notification_with_the_reason(
    gql: GraphQL, session: AsyncSession
) -> None:
    person, _ = await make_inmate(session)
    # Contact details that the API would refuse, as they may arrive from an older system.
    nothing = await make_registration(session, person=person, preferences=())
    bad_email = await make_registration(session, person=person, preferences=(("email", "not-an-address"),))
    homeless = await make_victim(session, address_line=None)
    no_address = await make_registration(
        session, person=person, victim=homeless, preferences=(("letter", None),)
    )
    mixed = await make_registration(
        session, person=person, preferences=(("sms", "12"), ("email", "fine@example.org"))
    )
    await release(gql, person.id)

    by_reg: dict[str, list[dict[str, Any]]] = {}
    for n in await notifications_of(gql, person.id):
        by_reg.setdefault(n["registration"]["id"], []).append(n)

    def of(registration: Any) -> list[dict[str, Any]]:
        return sorted(by_reg[to_global_id("VictimRegistration", registration.id)], key=lambda n: n["channel"])

    [n] = of(nothing)
    assert n["status"] == "FAILED"
    assert n["lastError"] == "no usable channel: the registration has no active notification preference"
    [n] = of(bad_email)
    assert n["status"] == "FAILED"
    assert n["lastError"].startswith("no usable channel: email: 'not-an-address' must look like an email")
    [n] = of(no_address)
    assert (
        n["lastError"] == "no usable channel: letter: the registrant has no complete postal address on file"
    )
    email, sms = of(mixed)
    assert (email["status"], email["lastError"]) == ("PENDING", None)
    assert sms["status"] == "FAILED"
    assert sms["lastError"].startswith("unusable preference: sms: '12' must look like a phone number")


# --- Victims first ------------------------------------------------------------------------------------


async def _visible(gql: GraphQL, person_id: int, audience: Audience) -> bool:
    body = (await gql(PERSON, {"id": to_global_id("Person", person_id)}, audience=audience)).json()
    assert "errors" not in body, body
    return body["data"]["person"] is not None


@pytest.fixture
def clock(app: Starlette, monkeypatch: pytest.MonkeyPatch) -> list[datetime]:
    """The embargo's clock, moved by the test: ``clock[0] += timedelta(...)``."""
    now = [datetime.now(UTC)]
    embargo: VictimEmbargo = app.state.victim_embargo
    monkeypatch.setattr(embargo, "clock", lambda: now[0])
    monkeypatch.setattr(embargo, "minutes", 60.0)
    return now


async def test_an_escape_stays_hidden_from_partners_for_the_embargo(
    gql: GraphQL, session: AsyncSession, partners: dict[Audience, Partner], clock: list[datetime]
) -> None:
    person, _ = await make_inmate(session)
    await make_referral(session, person, partners[Audience.REENTRY])
    await make_registration(session, person=person)
    assert await _visible(gql, person.id, Audience.LEGISLATIVE)
    await record(gql, personId=to_global_id("Person", person.id), kind="ESCAPE")

    assert not await _visible(gql, person.id, Audience.LEGISLATIVE)
    assert not await _visible(gql, person.id, Audience.REENTRY)
    assert await _visible(gql, person.id, Audience.VICTIM_SERVICES)
    assert await _visible(gql, person.id, Audience.CONSTITUENT_SERVICES)

    # The worker delivers: the embargo still runs its time (lifting early would say that victims
    # were registered and notified; tests/schema/test_victims_embargo.py).
    await session.execute(update(Notification).values(status="delivered"))
    assert not await _visible(gql, person.id, Audience.LEGISLATIVE)
    assert not await _visible(gql, person.id, Audience.REENTRY)
    clock[0] += timedelta(minutes=61)
    assert await _visible(gql, person.id, Audience.LEGISLATIVE)
    assert await _visible(gql, person.id, Audience.REENTRY)


async def test_the_embargo_lifts_when_its_time_has_passed(
    gql: GraphQL, session: AsyncSession, clock: list[datetime]
) -> None:
    person, _ = await make_inmate(session)
    await make_registration(session, person=person)
    await record(
        gql,
        personId=to_global_id("Person", person.id),
        kind="TRANSFER",
        facilityId=to_global_id("Facility", (await make_facility(session)).id),
    )
    # The notification was stamped with the request's time; the embargo counts from there.
    created = await session.scalar(select(Notification.created_at))
    assert created is not None
    clock[0] = created + timedelta(minutes=59)
    assert not await _visible(gql, person.id, Audience.LEGISLATIVE)
    clock[0] = created + timedelta(minutes=61)
    assert await _visible(gql, person.id, Audience.LEGISLATIVE)


async def test_failed_notifications_change_nothing_and_hearings_hold_nobody_back(
    gql: GraphQL, session: AsyncSession, clock: list[datetime]
) -> None:
    person, _ = await make_inmate(session)
    await make_registration(session, person=person, preferences=(("email", "bad"),))
    await record(gql, personId=to_global_id("Person", person.id), kind="ESCAPE")
    # Its only notification failed at once (no usable channel): the embargo runs all the same.
    assert not await _visible(gql, person.id, Audience.LEGISLATIVE)

    other, _ = await make_inmate(session)
    await make_registration(session, person=other)
    await record(
        gql,
        personId=to_global_id("Person", other.id),
        kind="HEARING_SCHEDULED",
        hearingType="INITIAL",
        scheduledFor="2025-07-01T09:00:00+00:00",
    )
    assert await _visible(gql, other.id, Audience.LEGISLATIVE)


async def test_without_registrations_a_release_waits_alike(
    gql: GraphQL, session: AsyncSession, clock: list[datetime]
) -> None:
    person, _ = await make_inmate(session)
    await record(gql, personId=to_global_id("Person", person.id), kind="ESCAPE")
    assert not await _visible(gql, person.id, Audience.LEGISLATIVE)
    clock[0] += timedelta(minutes=61)
    assert await _visible(gql, person.id, Audience.LEGISLATIVE)


# --- Acknowledgement ----------------------------------------------------------------------------------


async def test_a_registrant_acknowledges_with_the_code(
    gql: GraphQL, session: AsyncSession, client: httpx.AsyncClient
) -> None:
    person, _ = await make_inmate(session)
    await make_registration(session, person=person, preferences=(("phone", "573-555-0102"),))
    await record(gql, personId=to_global_id("Person", person.id), kind="ESCAPE")
    notice = (await session.execute(select(Notification))).scalar_one()
    code = f"{notice.id}.abcdefghijklmnop"
    await session.execute(
        update(Notification)
        .where(Notification.id == notice.id)
        .values(status="delivered", attempts=1, ack_code_hash=code_hash(code))
    )

    page = await client.get("/notifications/ack", params={"code": code})
    assert page.status_code == 200
    assert 'method="post"' in page.text  # a link preview does not acknowledge
    assert await session.scalar(select(Notification.acknowledged_at)) is None

    wrong = await client.post("/notifications/ack", data={"code": f"{notice.id}.wrongwrongwrong"})
    assert wrong.status_code == 404
    assert "not valid" in wrong.text
    assert (await client.post("/notifications/ack", data={"code": "garbage"})).status_code == 404
    assert (await client.post("/notifications/ack")).status_code == 400

    done = await client.post("/notifications/ack", data={"code": code})
    assert done.status_code == 200
    assert "recorded" in done.text
    again = await client.post("/notifications/ack", params={"code": code})
    assert "already" in again.text

    [seen] = await notifications_of(gql, person.id)
    assert seen["status"] == "ACKNOWLEDGED"


async def test_no_other_audience_reads_notifications(gql: GraphQL, session: AsyncSession) -> None:
    person, _ = await make_inmate(session)
    await make_registration(session, person=person)
    await release(gql, person.id)
    for audience in (Audience.ADMIN, Audience.LEGISLATIVE, Audience.REENTRY, Audience.CONSTITUENT_SERVICES):
        body = (
            await gql(NOTIFICATIONS, {"person": to_global_id("Person", person.id)}, audience=audience)
        ).json()
        assert body.get("data") is None or not body["data"].get("notifications", {}).get("nodes"), body
