"""The console's "retry a failed notification" flow, end to end: the mail server down, the worker gives
up on an e-mail notice after its attempts, the server comes back, victim-services staff press *Retry*
on the Victim notifications page, the worker's next pass delivers it and the page shows it sent.

Everything is real except the clock the worker reads: a store of its own (the worker and the API
commit), an SMTP sink on 127.0.0.1 (aiosmtpd), the hub app with its console called over HTTP
in-process, and ``Worker.run_once`` driven one pass at a time, so nothing races a sleep. The staff
would add nothing the Retry form's POST does not: ``tests/console/test_browser.py`` clicks *Retry*.
"""

from __future__ import annotations

import re
import time
from datetime import timedelta
from pathlib import Path

import httpx
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from auth.principal import Principal
from hub.app import create_app
from hub.console.sessions import COOKIE
from hub.db import session_factory
from hub.settings import Settings
from hub.worker import Worker, config_from, senders_from
from resolvers.custody_writes import NewCustodyEvent, record_custody_event
from resolvers.models.custody import CustodyEventKind
from resolvers.models.ledger import AuditEvent
from resolvers.models.partners import Audience
from resolvers.models.victims import DeliveryAttempt, Notification
from resolvers.session import RequestDb
from schema.ids import to_global_id
from tests.console.conftest import console_of, csrf_of
from tests.factories.notifications import Clock, free_port, smtp_server, worker_store
from tests.factories.partners import make_client, make_partner
from tests.factories.people import make_inmate
from tests.factories.victims import make_registration, make_victim

ADDRESS = "registrant@example.org"


def _only_row(html: str) -> list[str]:
    """The cells of the page's one notification (the store holds one)."""
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", body, re.DOTALL)
    assert len(rows) == 1, body
    return [c.strip() for c in re.findall(r"<t[hd][^>]*>([^<]*)", rows[0])]


async def _failed_after_its_attempts(
    sessions: async_sessionmaker[AsyncSession], worker: Worker, clock: Clock
) -> Notification:
    """Passes of the worker, the clock moved past each backoff, until it gives up."""
    for _ in range(3):  # HUB_NOTIFY_MAX_ATTEMPTS below
        assert (await worker.run_once()).claimed == 1
        clock.advance(3600)
    async with sessions() as s:
        notification: Notification | None = await s.scalar(select(Notification))
    assert notification is not None
    return notification


async def test_a_notice_that_failed_while_the_mail_server_was_down_is_retried_and_delivered(
    tmp_path: Path,
) -> None:
    down = free_port()  # nothing listens there yet
    async with worker_store(tmp_path) as (url, engine):
        settings = Settings(
            database_url=url,
            issuer="http://hub.test",
            rate_flush_ms=0,
            ledger_batch_ms=0,
            smtp_host="127.0.0.1",
            smtp_port=down,
            smtp_security="none",
            smtp_timeout_s=5,
            notify_max_attempts=3,
            notify_backoff_s=10,
            notify_lease_s=30,
            notify_ack_secret=SecretStr("test-secret"),
        )
        sessions = session_factory(engine)
        clock = Clock()
        worker = Worker(sessions, senders_from(settings), config_from(settings), clock=clock)
        app = create_app(settings, engine=engine)

        # A registrant who wants e-mail, the person's escape (which owes them a notice), and the
        # victim-services client whose token the console's session holds.
        async with sessions() as s:
            person, _ = await make_inmate(s)
            victim = await make_victim(s)
            await make_registration(s, victim=victim, person=person, preferences=(("email", ADDRESS),))
            partner = await make_partner(s, Audience.VICTIM_SERVICES)
            staff_client = await make_client(s, partner)
            await s.commit()
        async with sessions() as s:
            event = NewCustodyEvent(
                person_id=person.id, kind=CustodyEventKind.ESCAPE, occurred_at=clock() - timedelta(hours=1)
            )
            await record_custody_event(RequestDb(s), Principal(Audience.ADMIN), event, clock())
            await s.commit()
        async with sessions() as s:
            issued = await app.state.identity.issuer.issue(
                s, staff_client, partner, staff_client.scopes.split(), now=int(time.time())
            )
            await s.commit()
        console = console_of(app)
        signed_in = await console.store.sign_in(
            console.store.new(),
            audience=Audience.VICTIM_SERVICES,
            who="test victim services",
            token=issued.access_token,
            expires_in=600,
            demo=False,
        )

        # The mail server is down: every attempt fails, and the worker gives up after the last.
        failed = await _failed_after_its_attempts(sessions, worker, clock)
        assert (failed.status, failed.attempts) == ("failed", 3)
        assert (failed.last_error or "").startswith(
            f"gave up after 3 attempts: the mail server at 127.0.0.1:{down} is unreachable"
        )
        gid = to_global_id("Notification", failed.id)

        with smtp_server(port=down) as (sink, _port):  # the mail server is back
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as staff:
                staff.cookies.set(COOKIE, console.store.cookie_value(signed_in))
                page = await staff.get("/console/notifications", params={"status": "FAILED"})
                assert page.status_code == 200, page.text
                assert f'action="/console/notifications/{gid}/retry"' in page.text
                key = re.search(r'name="idempotency_key" value="([^"]+-retry-1)"', page.text)
                assert key is not None
                retried = await staff.post(
                    f"/console/notifications/{gid}/retry",
                    data={"csrf": csrf_of(page.text), "idempotency_key": key.group(1), "status": "FAILED"},
                )
                assert retried.status_code == 303
                back = await staff.get(retried.headers["location"])
                assert "Notification sent back to the queue" in back.text
                assert "No notifications." in back.text  # the failed queue is empty now
                pending = await staff.get("/console/notifications", params={"status": "PENDING"})
                assert _only_row(pending.text)[2:5] == ["email", "pending", "0"]

                # The worker's next pass: delivered to the sink, once.
                report = await worker.run_once()
                assert (report.claimed, report.delivered) == (1, 1)
                assert [m.recipients for m in sink.received] == [[ADDRESS]]
                assert sink.received[0].message_id == f"<notification-{failed.id}@victim-notification.hub>"
                assert "escaped" in sink.received[0].body

                sent = await staff.get("/console/notifications", params={"status": "DELIVERED"})
                assert sent.status_code == 200, sent.text
                assert _only_row(sent.text)[2:5] == ["email", "delivered", "1"]
                failed_queue = await staff.get("/console/notifications", params={"status": "FAILED"})
                assert "No notifications." in failed_queue.text

        async with sessions() as s:
            attempts = list(
                await s.scalars(
                    select(DeliveryAttempt.outcome)
                    .where(DeliveryAttempt.notification_id == failed.id)
                    .order_by(DeliveryAttempt.id)
                )
            )
            operations = list(await s.scalars(select(AuditEvent.operation_name)))
            kinds = list(await s.scalars(select(AuditEvent.kind)))
        # The earlier round stays in the delivery history; the retry is in the ledger under the console.
        assert attempts == ["temporary_failure"] * 3 + ["delivered"]
        assert "ConsoleRetryNotification" in operations
        assert "notification.retried" in kinds
