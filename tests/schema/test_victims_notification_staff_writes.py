"""Victim services' part in delivery, through the API: retry a failed notification, record an
acknowledgement taken by phone; victim services alone may, and a retry of the request writes once."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from resolvers.models.ledger import AuditEvent
from resolvers.models.partners import Audience
from resolvers.models.victims import Notification
from schema.ids import to_global_id
from tests.conftest import GraphQL
from tests.factories.victims import make_notification, make_registration

PAYLOAD = (
    "errors { code field message } replayed notification { id status attempts acknowledgedAt nextAttemptAt }"
)
RETRY = f"""
mutation ($input: NotificationInput!, $key: String) {{
  retryNotification(input: $input, idempotencyKey: $key) {{ {PAYLOAD} }}
}}"""
ACK = f"""
mutation ($input: RecordNotificationAcknowledgementInput!, $key: String) {{
  recordNotificationAcknowledgement(input: $input, idempotencyKey: $key) {{ {PAYLOAD} }}
}}"""


async def _run(gql: GraphQL, document: str, field: str, variables: dict[str, Any]) -> dict[str, Any]:
    body = (await gql(document, variables, audience=Audience.VICTIM_SERVICES)).json()
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"][field]
    return payload


async def test_a_failed_notification_is_retried_once(gql: GraphQL, session: AsyncSession) -> None:
    failed = await make_notification(
        session, await make_registration(session), status="failed", attempts=5, last_error="bounced"
    )
    gid = to_global_id("Notification", failed.id)
    variables = {"input": {"id": gid}, "key": "retry-1"}
    first = await _run(gql, RETRY, "retryNotification", variables)
    assert first["errors"] == []
    assert (first["notification"]["status"], first["notification"]["attempts"]) == ("PENDING", 0)
    assert first["notification"]["nextAttemptAt"]
    again = await _run(gql, RETRY, "retryNotification", variables)
    assert again["replayed"] is True
    # Without the key it is a new request, refused: the notification is no longer failed.
    pending = await _run(gql, RETRY, "retryNotification", {"input": {"id": gid}})
    assert [(e["code"], e["field"]) for e in pending["errors"]] == [("CONFLICT", "id")]
    assert "only a failed notification" in pending["errors"][0]["message"]
    kinds = list(
        await session.scalars(select(AuditEvent.audience).where(AuditEvent.kind == "notification.retried"))
    )
    assert kinds == ["victim_services"]


async def test_an_acknowledgement_taken_by_phone(gql: GraphQL, session: AsyncSession) -> None:
    registration = await make_registration(session)
    awaited = await make_notification(session, registration, requires_ack=True, status="delivered")
    gid = to_global_id("Notification", awaited.id)
    variables = {"input": {"id": gid, "takenBy": "J. Advocate", "note": "called back"}}
    done = await _run(gql, ACK, "recordNotificationAcknowledgement", variables)
    assert done["errors"] == []
    assert done["notification"]["status"] == "ACKNOWLEDGED"
    assert done["notification"]["acknowledgedAt"]
    again = await _run(gql, ACK, "recordNotificationAcknowledgement", variables)
    assert again["errors"] == []
    assert again["notification"]["acknowledgedAt"] == done["notification"]["acknowledgedAt"]
    events = list(
        await session.scalars(select(AuditEvent).where(AuditEvent.kind == "notification.acknowledged"))
    )
    assert len(events) == 1
    assert events[0].detail is not None
    assert events[0].detail["taken_by"] == "J. Advocate"
    not_needed = await make_notification(session, registration, requires_ack=False)
    refused = await _run(
        gql,
        ACK,
        "recordNotificationAcknowledgement",
        {"input": {"id": to_global_id("Notification", not_needed.id), "takenBy": "x"}},
    )
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("CONFLICT", "id")]
    blank = await _run(gql, ACK, "recordNotificationAcknowledgement", {"input": {"id": gid, "takenBy": " "}})
    assert [(e["code"], e["field"]) for e in blank["errors"]] == [("INVALID", "takenBy")]
    missing = await _run(
        gql, RETRY, "retryNotification", {"input": {"id": to_global_id("Notification", 987_654)}}
    )
    assert [(e["code"], e["field"]) for e in missing["errors"]] == [("NOT_FOUND", "id")]


@pytest.mark.parametrize("audience", [a for a in Audience if a is not Audience.VICTIM_SERVICES])
async def test_only_victim_services_may(gql: GraphQL, session: AsyncSession, audience: Audience) -> None:
    failed = await make_notification(session, await make_registration(session), status="failed")
    body = (
        await gql(RETRY, {"input": {"id": to_global_id("Notification", failed.id)}}, audience=audience)
    ).json()
    assert "data" not in body, body
    status = await session.scalar(select(Notification.status).where(Notification.id == failed.id))
    assert status == "failed"
