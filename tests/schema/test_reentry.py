"""Reentry through HTTP: referrals, consents and services delivered, written by department staff and
read by the reentry partner they concern; each refusal names the field and rule and writes nothing."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from resolvers.models.partners import Audience, Partner
from resolvers.models.reentry import Consent, ConsentGrant, Referral, ServiceDelivered
from schema.ids import to_global_id
from tests.conftest import GraphQL
from tests.factories.people import make_inmate, make_person
from tests.factories.programs import make_enrollment, make_program
from tests.factories.reentry import make_consent, make_reentry_partner, make_referral

REFER = """
mutation($input: ReferPersonInput!, $key: String) {
  referPerson(input: $input, idempotencyKey: $key) {
    referral { id status serviceType version partnerName partnerId person { lastName } }
    errors { code field message } replayed
  }
}
"""
CLOSE = """
mutation($input: CloseReferralInput!) {
  closeReferral(input: $input) { referral { status closedOn closureReason version } errors { code field message } }
}
"""
SERVICE = """
mutation($input: RecordServiceInput!) {
  recordServiceDelivered(input: $input) {
    service { serviceType deliveredOn description outcome referral { id } } errors { code field message }
  }
}
"""
CONSENT = """
mutation($input: RecordConsentInput!) {
  recordConsent(input: $input) { consent { id categories active version purpose } errors { code field message } }
}
"""
REVOKE = """
mutation($input: RevokeConsentInput!) {
  revokeConsent(input: $input) { consent { active revokedOn version } errors { code field message } }
}
"""

TOMORROW = (date.today() + timedelta(days=2)).isoformat()
YESTERDAY = (date.today() - timedelta(days=1)).isoformat()


async def run(
    gql: GraphQL, document: str, name: str, audience: Audience = Audience.PROGRAMS, **variables: Any
) -> Any:
    body = (await gql(document, variables, audience=audience)).json()
    assert "errors" not in body, body
    return body["data"][name]


async def rows(session: AsyncSession) -> tuple[int, ...]:
    return tuple(
        [
            await session.scalar(select(func.count()).select_from(m)) or 0
            for m in (Referral, Consent, ConsentGrant, ServiceDelivered)
        ]
    )


def only_error(payload: Any, code: str, field: str, rule: str = "") -> None:
    assert len(payload["errors"]) == 1, payload
    error = payload["errors"][0]
    assert (error["code"], error["field"]) == (code, field), error
    assert rule in error["message"], error


async def test_refer_serve_and_close(
    gql: GraphQL, session: AsyncSession, partners: dict[Audience, Partner]
) -> None:
    person, _ = await make_inmate(session, last_name="Okafor")
    partner = partners[Audience.REENTRY]
    referral = await run(
        gql,
        REFER,
        "referPerson",
        input={
            "personId": to_global_id("Person", person.id),
            "partnerId": to_global_id("Partner", partner.id),
            "serviceType": "HOUSING",
            "referredOn": "2025-01-05",
        },
    )
    assert referral["errors"] == []
    r = referral["referral"]
    assert (r["status"], r["partnerName"], r["person"]["lastName"]) == ("OPEN", partner.name, "Okafor")
    # The partner sees the referral and records a placement.
    listed = await run(
        gql,
        "{ referrals { totalCount nodes { id person { lastName } } } }",
        "referrals",
        audience=Audience.REENTRY,
    )
    assert [n["id"] for n in listed["nodes"]] == [r["id"]]
    served = await run(
        gql,
        SERVICE,
        "recordServiceDelivered",
        audience=Audience.REENTRY,
        input={
            "referralId": r["id"],
            "deliveredOn": "2025-02-01",
            "description": "Placed in transitional housing",
            "outcome": "placed",
        },
    )
    assert served["errors"] == []
    assert served["service"]["serviceType"] == "HOUSING"
    services = await run(
        gql,
        "{ servicesDelivered { totalCount nodes { outcome } } }",
        "servicesDelivered",
        audience=Audience.REENTRY,
    )
    assert services["nodes"] == [{"outcome": "placed"}]
    closed = await run(
        gql,
        CLOSE,
        "closeReferral",
        input={"referralId": r["id"], "version": 1, "closedOn": "2025-03-01", "reason": "Housed"},
    )
    assert closed["referral"] == {
        "status": "CLOSED",
        "closedOn": "2025-03-01",
        "closureReason": "Housed",
        "version": 2,
    }
    before = await rows(session)
    again = await run(
        gql,
        CLOSE,
        "closeReferral",
        input={"referralId": r["id"], "version": 2, "closedOn": "2025-03-02", "reason": "Again"},
    )
    only_error(again, "CONFLICT", "referralId", "already closed")
    late = await run(
        gql,
        SERVICE,
        "recordServiceDelivered",
        input={"referralId": r["id"], "deliveredOn": "2025-03-05", "description": "More"},
    )
    only_error(late, "CONFLICT", "referralId", "open referrals")
    assert await rows(session) == before


async def test_a_partner_sees_only_its_own_referrals(
    gql: GraphQL, session: AsyncSession, partners: dict[Audience, Partner]
) -> None:
    other = await make_reentry_partner(session)
    person, _ = await make_inmate(session)
    theirs = await make_referral(session, person, other)
    listed = await run(gql, "{ referrals { totalCount } }", "referrals", audience=Audience.REENTRY)
    assert listed["totalCount"] == 0
    before = await rows(session)
    payload = await run(
        gql,
        SERVICE,
        "recordServiceDelivered",
        audience=Audience.REENTRY,
        input={
            "referralId": to_global_id("Referral", theirs.id),
            "deliveredOn": "2025-02-01",
            "description": "Not mine",
        },
    )
    only_error(payload, "NOT_FOUND", "referralId")
    assert await rows(session) == before


async def test_referral_refusals_write_nothing(
    gql: GraphQL, session: AsyncSession, partners: dict[Audience, Partner]
) -> None:
    person, _ = await make_inmate(session)
    partner = partners[Audience.REENTRY]
    await make_referral(session, person, partner, service_type="employment")
    inactive = await make_reentry_partner(session, active=False)
    discharged = await make_person(session, status="discharged")
    pid, partner_gid = to_global_id("Person", person.id), to_global_id("Partner", partner.id)
    cases: list[tuple[dict[str, Any], str, str, str]] = [
        ({"personId": to_global_id("Person", 99_999_999)}, "NOT_FOUND", "personId", ""),
        ({"partnerId": to_global_id("Partner", 99_999_999)}, "NOT_FOUND", "partnerId", ""),
        (
            {"partnerId": to_global_id("Partner", partners[Audience.LEGISLATIVE].id)},
            "INVALID",
            "partnerId",
            "reentry partner",
        ),
        ({"partnerId": to_global_id("Partner", inactive.id)}, "CONFLICT", "partnerId", "no longer active"),
        ({"referredOn": TOMORROW}, "INVALID", "referredOn", "future"),
        ({"notes": "x" * 2001}, "INVALID", "notes", "at most 2000"),
        ({"serviceType": "EMPLOYMENT"}, "CONFLICT", "partnerId", "already has an open referral"),
        ({"personId": to_global_id("Person", discharged.id)}, "CONFLICT", "personId", "no longer under"),
    ]
    before = await rows(session)
    for fields, code, field, rule in cases:
        values = {
            "personId": pid,
            "partnerId": partner_gid,
            "serviceType": "HOUSING",
            "referredOn": "2025-01-05",
            **fields,
        }
        only_error(await run(gql, REFER, "referPerson", input=values), code, field, rule)
    assert await rows(session) == before


async def test_close_and_service_refusals(
    gql: GraphQL, session: AsyncSession, partners: dict[Audience, Partner]
) -> None:
    person, _ = await make_inmate(session)
    referral = await make_referral(session, person, partners[Audience.REENTRY])
    rid = to_global_id("Referral", referral.id)
    before = await rows(session)
    checks: list[tuple[dict[str, Any], str, str, str]] = [
        ({"version": 9}, "STALE_VERSION", "version", "stale"),
        ({"closedOn": "2024-12-31"}, "INVALID", "closedOn", "must not be before referredOn"),
        ({"closedOn": TOMORROW}, "INVALID", "closedOn", "future"),
        ({"reason": " "}, "INVALID", "reason", "blank"),
        ({"reason": "x" * 201}, "INVALID", "reason", "at most 200"),
        ({"referralId": to_global_id("Referral", 99_999_999)}, "NOT_FOUND", "referralId", ""),
    ]
    for values, code, field, rule in checks:
        payload = await run(
            gql,
            CLOSE,
            "closeReferral",
            input={"referralId": rid, "version": 1, "closedOn": "2025-02-01", "reason": "Done", **values},
        )
        only_error(payload, code, field, rule)
    checks = [
        ({"deliveredOn": "2024-12-31"}, "INVALID", "deliveredOn", "before the referral"),
        ({"deliveredOn": TOMORROW}, "INVALID", "deliveredOn", "future"),
        ({"description": "x" * 501}, "INVALID", "description", "at most 500"),
        ({"outcome": "x" * 201}, "INVALID", "outcome", "at most 200"),
    ]
    for values, code, field, rule in checks:
        payload = await run(
            gql,
            SERVICE,
            "recordServiceDelivered",
            input={"referralId": rid, "deliveredOn": "2025-02-01", "description": "Met", **values},
        )
        only_error(payload, code, field, rule)
    assert await rows(session) == before


async def test_the_same_service_twice_is_refused_by_name(
    gql: GraphQL, session: AsyncSession, partners: dict[Audience, Partner]
) -> None:
    """A delivery's key (referral, day, service, description) gave a bare CONFLICT with no field."""
    person, _ = await make_inmate(session)
    referral = await make_referral(session, person, partners[Audience.REENTRY])
    service = {
        "referralId": to_global_id("Referral", referral.id),
        "deliveredOn": "2025-02-01",
        "description": "Met",
    }
    first = await run(gql, SERVICE, "recordServiceDelivered", input=service)
    assert first["errors"] == []
    before = await rows(session)
    again = await run(gql, SERVICE, "recordServiceDelivered", input=service)
    only_error(again, "CONFLICT", "description", "already recorded on the referral for 2025-02-01")
    assert await rows(session) == before
    other_day = await run(
        gql, SERVICE, "recordServiceDelivered", input={**service, "deliveredOn": "2025-02-02"}
    )
    assert other_day["errors"] == []


async def test_consent_record_and_revoke(
    gql: GraphQL, session: AsyncSession, partners: dict[Audience, Partner]
) -> None:
    person, _ = await make_inmate(session)
    partner = partners[Audience.REENTRY]
    await make_referral(session, person, partner)
    recorded = await run(
        gql,
        CONSENT,
        "recordConsent",
        input={
            "personId": to_global_id("Person", person.id),
            "partnerId": to_global_id("Partner", partner.id),
            "categories": ["RELEASE", "PROGRAMS"],
            "purpose": "Housing placement",
            "signedOn": YESTERDAY,
            "expiresOn": (date.today() + timedelta(days=365)).isoformat(),
        },
    )
    assert recorded["errors"] == []
    c = recorded["consent"]
    assert (sorted(c["categories"]), c["active"], c["version"]) == (["PROGRAMS", "RELEASE"], True, 1)
    revoked = await run(
        gql,
        REVOKE,
        "revokeConsent",
        input={"consentId": c["id"], "version": 1, "revokedOn": date.today().isoformat(), "reason": "Asked"},
    )
    assert revoked["consent"] == {"active": False, "revokedOn": date.today().isoformat(), "version": 2}
    before = await rows(session)
    again = await run(
        gql,
        REVOKE,
        "revokeConsent",
        input={"consentId": c["id"], "version": 2, "revokedOn": date.today().isoformat()},
    )
    only_error(again, "CONFLICT", "consentId", "already revoked")
    assert await rows(session) == before


async def test_consent_refusals_write_nothing(
    gql: GraphQL, session: AsyncSession, partners: dict[Audience, Partner]
) -> None:
    person, _ = await make_inmate(session)
    partner = partners[Audience.REENTRY]
    base = {
        "personId": to_global_id("Person", person.id),
        "partnerId": to_global_id("Partner", partner.id),
        "categories": ["RELEASE"],
        "purpose": "Housing",
        "signedOn": "2025-01-10",
        "expiresOn": "2027-01-10",
    }
    cases: list[tuple[dict[str, Any], str, str, str]] = [
        ({"categories": []}, "INVALID", "categories", "at least one"),
        ({"categories": ["RELEASE", "RELEASE"]}, "INVALID", "categories", "repeat"),
        ({"purpose": "x" * 201}, "INVALID", "purpose", "at most 200"),
        ({"signedOn": TOMORROW, "expiresOn": "2099-01-01"}, "INVALID", "signedOn", "future"),
        ({"expiresOn": "2025-01-10"}, "INVALID", "expiresOn", "after signedOn"),
        ({"signedOn": "2020-01-01", "expiresOn": "2021-01-01"}, "INVALID", "expiresOn", "past"),
        ({"expiresOn": "2030-01-10"}, "INVALID", "expiresOn", "three years"),
        ({"partnerId": to_global_id("Partner", 99_999_999)}, "NOT_FOUND", "partnerId", ""),
        ({"personId": to_global_id("Person", 99_999_999)}, "NOT_FOUND", "personId", ""),
    ]
    before = await rows(session)
    for fields, code, field, rule in cases:
        only_error(await run(gql, CONSENT, "recordConsent", input={**base, **fields}), code, field, rule)
    consent = await make_consent(session, person, partner)
    before = await rows(session)
    cid = to_global_id("Consent", consent.id)
    checks: list[tuple[dict[str, Any], str, str, str]] = [
        ({"revokedOn": "2025-01-01"}, "INVALID", "revokedOn", "must not be before signedOn"),
        ({"revokedOn": TOMORROW}, "INVALID", "revokedOn", "future"),
        ({"version": 5}, "STALE_VERSION", "version", ""),
        ({"reason": "x" * 201}, "INVALID", "reason", "at most 200"),
    ]
    for values, code, field, rule in checks:
        payload = await run(
            gql,
            REVOKE,
            "revokeConsent",
            input={"consentId": cid, "version": 1, "revokedOn": "2025-02-01", **values},
        )
        only_error(payload, code, field, rule)
    assert await rows(session) == before


async def test_a_partner_reads_programs_only_under_consent(
    gql: GraphQL, session: AsyncSession, partners: dict[Audience, Partner]
) -> None:
    partner = partners[Audience.REENTRY]
    person, _ = await make_inmate(session)
    await make_referral(session, person, partner)
    await make_enrollment(session, person, await make_program(session))
    query = "query($id: ID!) { person(id: $id) { enrollments { status } } }"
    variables = {"id": to_global_id("Person", person.id)}

    async def seen() -> Any:
        body = (await gql(query, variables, audience=Audience.REENTRY)).json()
        assert "errors" not in body, body
        return body["data"]["person"]["enrollments"]

    assert await seen() == []
    consent = await make_consent(session, person, partner, categories=("programs",))
    assert await seen() == [{"status": "ENROLLED"}]
    consent.revoked_on = date.today() - timedelta(days=1)
    consent.signed_on = date.today() - timedelta(days=10)
    await session.flush()
    assert await seen() == []


async def test_consents_list(gql: GraphQL, session: AsyncSession, partners: dict[Audience, Partner]) -> None:
    person, _ = await make_inmate(session)
    await make_consent(session, person, partners[Audience.REENTRY])
    await make_consent(session, person, partners[Audience.REENTRY], revoked_on=date(2025, 2, 1))
    query = "query($p: ID) { consents(personId: $p, active: true) { totalCount nodes { active } } }"
    body = await run(gql, query, "consents", p=to_global_id("Person", person.id))
    assert body == {"totalCount": 1, "nodes": [{"active": True}]}
