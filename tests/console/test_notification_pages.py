"""Victim services on the console's notification page: the failed, pending and awaiting queues, a
failed notice retried and an acknowledgement taken by phone, through the API's mutations."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from resolvers.models.ledger import AuditEvent
from resolvers.models.partners import Audience
from resolvers.models.victims import Notification
from schema.ids import to_global_id
from tests.console.conftest import SignIn, csrf_of
from tests.factories.victims import make_notification, make_registration


async def test_victim_services_retries_a_failed_notice_and_records_a_phone_acknowledgement(
    client: httpx.AsyncClient, sign_in: SignIn, session: AsyncSession
) -> None:
    registration = await make_registration(session)
    failed = await make_notification(session, registration, status="failed", attempts=5, last_error="bounced")
    awaited = await make_notification(session, registration, status="delivered", requires_ack=True)
    await sign_in(Audience.VICTIM_SERVICES)
    page = await client.get("/console/notifications", params={"status": "FAILED"})
    assert page.status_code == 200, page.text
    failed_id = to_global_id("Notification", failed.id)
    assert f"/console/notifications/{failed_id}/retry" in page.text
    assert 'href="/console/notifications?unacknowledged=1"' in page.text
    csrf = csrf_of(page.text)
    retried = await client.post(
        f"/console/notifications/{failed_id}/retry",
        data={"csrf": csrf, "idempotency_key": "k-retry", "status": "FAILED"},
    )
    assert retried.status_code == 303
    assert retried.headers["location"] == "/console/notifications?status=FAILED"
    assert "Notification sent back to the queue" in (await client.get(retried.headers["location"])).text
    await session.refresh(failed)
    assert (failed.status, failed.attempts) == ("pending", 0)

    page = await client.get("/console/notifications", params={"unacknowledged": "1"})
    awaited_id = to_global_id("Notification", awaited.id)
    assert f"/console/notifications/{awaited_id}/acknowledge" in page.text
    done = await client.post(
        f"/console/notifications/{awaited_id}/acknowledge",
        data={"csrf": csrf, "idempotency_key": "k-ack", "taken_by": "J. Advocate", "unacknowledged": "1"},
    )
    assert done.status_code == 303
    assert "Acknowledgement recorded" in (await client.get(done.headers["location"])).text
    status = await session.scalar(select(Notification.status).where(Notification.id == awaited.id))
    assert status == "acknowledged"
    operations = list(
        await session.scalars(select(AuditEvent.operation_name).where(AuditEvent.kind == "graphql"))
    )
    assert "ConsoleRetryNotification" in operations
    assert "ConsoleRecordNotificationAcknowledgement" in operations


async def test_a_second_retry_says_why_it_was_refused(
    client: httpx.AsyncClient, sign_in: SignIn, session: AsyncSession
) -> None:
    pending = await make_notification(session, await make_registration(session), status="pending")
    await sign_in(Audience.VICTIM_SERVICES)
    page = await client.get("/console/notifications")
    gid = to_global_id("Notification", pending.id)
    refused = await client.post(
        f"/console/notifications/{gid}/retry", data={"csrf": csrf_of(page.text), "idempotency_key": "k"}
    )
    assert refused.status_code == 303
    assert "only a failed notification can be retried" in (await client.get("/console/notifications")).text


async def test_the_notification_forms_need_the_csrf_token(client: httpx.AsyncClient, sign_in: SignIn) -> None:
    await sign_in(Audience.VICTIM_SERVICES)
    gid = to_global_id("Notification", 1)
    for action in ("retry", "acknowledge"):
        refused = await client.post(f"/console/notifications/{gid}/{action}", data={"csrf": "forged"})
        assert refused.status_code == 403
