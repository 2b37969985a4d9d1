"""``hub worker`` against a store of its own, a real SMTP server and a gateway stub on 127.0.0.1.

These tests commit (the worker does), so each builds a fresh store instead of using the shared,
rolled-back transaction. They run on SQLite and, with HUB_TEST_DATABASE_URL, on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from auth.principal import Principal
from auth.scopes import row_scope
from hub.app import create_app
from hub.db import session_factory
from hub.settings import Settings
from hub.worker import Worker, config_from, senders_from
from resolvers.custody_writes import NewCustodyEvent, record_custody_event
from resolvers.models.custody import CustodyEventKind
from resolvers.models.partners import Audience
from resolvers.models.people import Person
from resolvers.models.victims import DeliveryAttempt, Notification
from resolvers.session import RequestDb
from tests.factories.notifications import (
    Clock,
    GatewayStub,
    SmtpSink,
    free_port,
    gateway_server,
    smtp_server,
    worker_store,
)
from tests.factories.people import make_inmate
from tests.factories.victims import make_registration, make_victim

Prefs = tuple[tuple[str, str | None], ...]


@dataclass
class Rig:
    url: str
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    smtp: SmtpSink
    smtp_port: int
    gateway: GatewayStub
    gateway_url: str
    clock: Clock

    def settings(self, **overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "database_url": self.url,
            "issuer": "http://hub.test",
            "smtp_host": "127.0.0.1",
            "smtp_port": self.smtp_port,
            "smtp_security": "none",
            "smtp_timeout_s": 5,
            "sms_gateway_url": self.gateway_url,
            "gateway_timeout_s": 1,
            "notify_max_attempts": 3,
            "notify_backoff_s": 10,
            "notify_ack_repeat_s": 600,
            "notify_lease_s": 30,
            "notify_ack_secret": "test-secret",
        }
        values.update(overrides)
        return Settings(**values)

    def worker(self, **overrides: Any) -> Worker:
        settings = self.settings(**overrides)
        return Worker(self.sessions, senders_from(settings), config_from(settings), clock=self.clock)

    async def event(
        self, *preferences: Prefs, kind: CustodyEventKind = CustodyEventKind.ESCAPE, language: str = "en"
    ) -> int:
        """A person with one registration per ``preferences`` (registrants speaking ``language``), and
        a custody event, both committed."""
        async with self.sessions() as s:
            person, _ = await make_inmate(s)
            for prefs in preferences:
                victim = await make_victim(s, language=language)
                await make_registration(s, victim=victim, person=person, preferences=prefs)
            await s.commit()
        async with self.sessions() as s:
            event = NewCustodyEvent(
                person_id=person.id, kind=kind, occurred_at=self.clock() - timedelta(hours=1)
            )
            await record_custody_event(RequestDb(s), Principal(Audience.ADMIN), event, self.clock())
            await s.commit()
        return person.id

    async def notifications(self) -> list[Any]:
        async with self.sessions() as s:
            return list((await s.execute(select(Notification).order_by(Notification.id))).scalars())

    async def attempts(self, notification_id: int) -> list[tuple[str, str]]:
        async with self.sessions() as s:
            rows = await s.execute(
                select(DeliveryAttempt.outcome, DeliveryAttempt.detail)
                .where(DeliveryAttempt.notification_id == notification_id)
                .order_by(DeliveryAttempt.id)
            )
            return [(r.outcome, r.detail or "") for r in rows]


@pytest_asyncio.fixture(loop_scope="session")
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    async with worker_store(tmp_path) as (url, engine), gateway_server() as (gateway, gateway_url):
        with smtp_server() as (smtp, port):
            yield Rig(url, engine, session_factory(engine), smtp, port, gateway, gateway_url, Clock())


def email(address: str) -> Prefs:
    return (("email", address),)


async def test_one_email_per_registration_and_nothing_twice(rig: Rig) -> None:
    await rig.event(email("a@example.org"), email("b@example.org"), email("c@example.org"))
    report = await rig.worker().run_once()
    assert (report.claimed, report.delivered, report.failed) == (3, 3, 0)

    assert sorted(m.recipients[0] for m in rig.smtp.received) == [
        "a@example.org",
        "b@example.org",
        "c@example.org",
    ]
    notices = await rig.notifications()
    assert {n.status for n in notices} == {"delivered"}
    assert sorted(m.message_id for m in rig.smtp.received) == sorted(
        f"<notification-{n.id}@victim-notification.hub>" for n in notices
    )
    assert "escaped" in rig.smtp.received[0].body
    for n in notices:
        [(outcome, detail)] = await rig.attempts(n.id)
        assert outcome == "delivered"
        assert detail.startswith(f"accepted by the mail server at 127.0.0.1:{rig.smtp_port}")

    rig.clock.advance(3600)
    again = await rig.worker().run_once()
    assert again.claimed == 0
    assert len(rig.smtp.received) == 3


async def test_a_worker_killed_mid_delivery_loses_nothing_and_sends_nothing_twice(rig: Rig) -> None:
    await rig.event(email("a@example.org"), email("b@example.org"))
    rig.smtp.stall_next = True
    first = asyncio.create_task(rig.worker(worker_batch=1).run_once())
    await asyncio.to_thread(rig.smtp.stalled.wait, 10)
    first.cancel()  # killed while talking to the mail server
    with pytest.raises(asyncio.CancelledError):
        await first
    [stuck, waiting] = await rig.notifications()
    assert (stuck.status, stuck.attempts) == ("sending", 1)
    assert waiting.status == "pending"
    assert rig.smtp.received == []

    # Before the lease runs out, another worker leaves the claimed notification alone.
    second = rig.worker()
    assert (await second.run_once()).claimed == 1
    assert [m.recipients for m in rig.smtp.received] == [["b@example.org"]]

    rig.clock.advance(31)  # the dead worker's lease expires; it had begun sending: wait the grace too
    assert (await second.run_once()).claimed == 0
    [stuck, _] = await rig.notifications()
    assert (stuck.status, stuck.send_started_at is not None) == ("sending", True)
    rig.clock.advance(30)
    report = await second.run_once()
    assert (report.recovered, report.claimed, report.delivered) == (1, 1, 1)
    assert sorted(m.recipients[0] for m in rig.smtp.received) == ["a@example.org", "b@example.org"]
    outcomes = [o for o, _ in await rig.attempts(stuck.id)]
    assert outcomes == ["temporary_failure", "delivered"]
    assert {n.status for n in await rig.notifications()} == {"delivered"}


async def test_retries_back_off_and_stop_at_the_limit(rig: Rig) -> None:
    await rig.event(email("a@example.org"))
    down = free_port()  # nothing listens there
    worker = rig.worker(smtp_port=down)
    start = rig.clock()

    async def after_pass(advance: float) -> tuple[str, int, Any]:
        rig.clock.advance(advance)
        await worker.run_once()
        [n] = await rig.notifications()
        return n.status, n.attempts, n.next_attempt_at

    assert await after_pass(0) == ("pending", 1, start + timedelta(seconds=10))
    assert await after_pass(10) == ("pending", 2, start + timedelta(seconds=10 + 20))  # doubled
    assert await after_pass(10) == ("pending", 2, start + timedelta(seconds=30))  # not yet due
    assert await after_pass(10) == ("failed", 3, None)
    assert await after_pass(3600) == ("failed", 3, None)
    [n] = await rig.notifications()
    assert n.last_error.startswith(
        f"gave up after 3 attempts: the mail server at 127.0.0.1:{down} is unreachable"
    )
    attempts = await rig.attempts(n.id)
    assert [o for o, _ in attempts] == ["temporary_failure"] * 3
    assert rig.smtp.received == []


async def test_a_refused_recipient_fails_at_once_with_the_servers_answer(rig: Rig) -> None:
    await rig.event(email("nobody@example.org"), email("a@example.org"))
    await rig.worker().run_once()
    refused, fine = await rig.notifications()
    assert refused.status == "failed"
    assert refused.last_error == "the mail server refused the recipient: 550 5.1.1 mailbox unavailable"
    assert await rig.attempts(refused.id) == [("permanent_failure", refused.last_error)]
    assert fine.status == "delivered"


async def test_a_text_message_is_sent_once_though_its_first_answer_was_lost(rig: Rig) -> None:
    await rig.event((("sms", "573-555-0101"),))
    [n] = await rig.notifications()
    rig.gateway.slow_once.add(f"notification-{n.id}")
    await rig.worker().run_once()
    [n] = await rig.notifications()
    assert (n.status, n.last_error) == ("pending", "the messaging gateway did not answer within 1s")
    rig.clock.advance(10)
    await rig.worker().run_once()
    [n] = await rig.notifications()
    assert n.status == "delivered"
    assert [r["key"] for r in rig.gateway.requests] == [f"notification-{n.id}"] * 2
    assert len(rig.gateway.sent) == 1  # the gateway recognised the retry by its idempotency key
    assert rig.gateway.requests[0]["channel"] == "sms"
    assert [o for o, _ in await rig.attempts(n.id)] == ["temporary_failure", "delivered"]


async def test_an_email_whose_reply_timed_out_is_resent_with_the_same_message_id(rig: Rig) -> None:
    """The one duplicate a sender cannot avoid: the server kept the message but answered too late."""
    await rig.event(email("a@example.org"))
    rig.smtp.slow_reply_next = True
    worker = rig.worker(smtp_timeout_s=1)
    await worker.run_once()
    [n] = await rig.notifications()
    assert (n.status, n.last_error) == (
        "pending",
        f"the mail server at 127.0.0.1:{rig.smtp_port} did not answer within 1s",
    )
    rig.clock.advance(10)
    await worker.run_once()
    [n] = await rig.notifications()
    assert n.status == "delivered"
    assert [m.message_id for m in rig.smtp.received] == [f"<notification-{n.id}@victim-notification.hub>"] * 2


async def test_a_number_the_gateway_refuses_fails_with_its_answer(rig: Rig) -> None:
    await rig.event((("sms", "555-000-1234"),))
    await rig.worker().run_once()
    [n] = await rig.notifications()
    assert n.status == "failed"
    assert n.last_error == 'the messaging gateway answered HTTP 400: {"error":"invalid destination number"}'


async def test_no_gateway_configured_is_a_recorded_failure(rig: Rig) -> None:
    await rig.event((("sms", "573-555-0101"),))
    await rig.worker(sms_gateway_url=None).run_once()
    [n] = await rig.notifications()
    assert n.last_error == "no messaging gateway is configured (set HUB_SMS_GATEWAY_URL)"


async def test_calls_repeat_until_the_registrant_acknowledges(rig: Rig) -> None:
    await rig.event((("phone", "573-555-0102"),))
    worker = rig.worker()
    await worker.run_once()
    [n] = await rig.notifications()
    assert n.status == "delivered"
    [call] = rig.gateway.requests
    assert call["channel"] == "voice"
    code = worker.ack_code(n.id)
    assert code in call["message"]
    assert f"http://hub.test/notifications/ack?code={code}" in call["message"]
    assert n.ack_code_hash is not None
    assert code not in n.ack_code_hash  # only its hash is kept

    rig.clock.advance(601)  # no acknowledgement within the wait: call again
    await worker.run_once()
    assert len(rig.gateway.sent) == 2
    assert rig.gateway.requests[1]["message"] == call["message"]  # the same code

    app = create_app(rig.settings(), engine=rig.engine)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub.test") as c:
        answer = await c.post("/notifications/ack", data={"code": code})
    assert answer.status_code == 200
    [n] = await rig.notifications()
    assert (n.status, n.acknowledged_at is not None) == ("acknowledged", True)
    rig.clock.advance(6000)
    assert (await worker.run_once()).claimed == 0
    assert len(rig.gateway.requests) == 2


async def test_unacknowledged_calls_stop_at_the_limit_and_fail(rig: Rig) -> None:
    await rig.event((("phone", "573-555-0102"),))
    worker = rig.worker()
    for _ in range(5):
        await worker.run_once()
        rig.clock.advance(601)
    [n] = await rig.notifications()
    assert len(rig.gateway.requests) == 3
    assert (n.status, n.last_error) == ("failed", "not acknowledged after 3 deliveries")


async def test_letters_go_to_the_print_queue(rig: Rig) -> None:
    await rig.event((("letter", None),))
    await rig.worker().run_once()
    [n] = await rig.notifications()
    assert (n.channel, n.status) == ("letter", "delivered")
    [(outcome, detail)] = await rig.attempts(n.id)
    assert outcome == "delivered"
    assert detail.startswith("queued for printing, to ")
    assert detail.endswith("MO 65101")


async def test_partners_see_the_escape_after_the_embargo_not_when_the_worker_has_notified(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    person_id = await rig.event(email("a@example.org"))
    legislative = Principal(Audience.LEGISLATIVE, partner_id=None)

    async def visible() -> bool:
        async with rig.sessions() as s:
            found = await s.scalar(
                select(Person.id).where(row_scope(legislative, Person), Person.id == person_id)
            )
            return found is not None

    assert not await visible()
    await rig.worker().run_once()
    # Lifting on delivery would tell partners that victims are registered: the time decides.
    assert not await visible()
    later = datetime.now(UTC) + timedelta(minutes=legislative.embargo.minutes + 1)
    monkeypatch.setattr(legislative.embargo, "clock", lambda: later)
    assert await visible()


async def test_a_spanish_speaking_registrant_gets_the_notice_in_spanish(rig: Rig) -> None:
    await rig.event(email("es@example.org"), language="es")
    await rig.event(email("en@example.org"), language="en")
    report = await rig.worker().run_once()
    assert (report.claimed, report.delivered) == (2, 2)
    mail = {m.recipients[0]: m for m in rig.smtp.received}
    notices = {n.destination: n for n in await rig.notifications()}

    spanish = mail["es@example.org"]
    assert spanish.subject.startswith("Oficina de Servicios a Víctimas: aviso sobre ")
    assert spanish.body.startswith("Le escribe la Oficina de Servicios a Víctimas.")
    assert " se fugó de " in spanish.body
    assert "Llame al 911 si está en peligro." in spanish.body
    assert f"Referencia: aviso {notices['es@example.org'].id}." in spanish.body
    assert "escaped" not in spanish.body
    # The same Message-ID scheme whatever the language.
    assert spanish.message_id == f"<notification-{notices['es@example.org'].id}@victim-notification.hub>"

    english = mail["en@example.org"]
    assert english.subject.startswith("Office of Victim Services: notice about ")
    assert english.body.startswith("This is the Office of Victim Services.")
    assert " escaped from " in english.body
    assert "Call 911 if you are in danger." in english.body
    assert f"Reference: notification {notices['en@example.org'].id}." in english.body
    assert english.message_id == f"<notification-{notices['en@example.org'].id}@victim-notification.hub>"


async def test_the_worker_says_at_start_which_channels_are_configured(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    await rig.event(email("a@example.org"), (("sms", "573-555-0101"),), (("sms", "573-555-0102"),))
    await rig.event((("phone", "573-555-0103"),), (("letter", None),))
    # An inactive registration's preference does not count.
    async with rig.sessions() as s:
        person, _ = await make_inmate(s)
        await make_registration(s, person=person, status="inactive", preferences=(("sms", "573-555-0104"),))
        await s.commit()

    caplog.set_level(logging.INFO, logger="hub.worker")
    stranded = await rig.worker(sms_gateway_url=None).announce()
    assert stranded == {"phone": 1, "sms": 2}
    lines = [r.getMessage() for r in caplog.records if r.name == "hub.worker"]
    assert (
        "notification channels: email configured, sms NOT configured, letter configured, "
        "phone NOT configured" in lines
    )
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(
        w.startswith(
            "2 active registration(s) prefer the sms channel, which is not configured (set HUB_SMS_GATEWAY_URL)"
        )
        for w in warnings
    )
    assert any(w.startswith("1 active registration(s) prefer the phone channel") for w in warnings)
    assert not any("email" in w or "letter" in w for w in warnings)
    # Never a registrant: no address or number appears.
    assert not any("573-555" in line or "@example.org" in line for line in lines)

    caplog.clear()
    assert await rig.worker().announce() == {}
    assert "notification channels: email configured, sms configured, letter configured, phone configured" in [
        r.getMessage() for r in caplog.records
    ]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING and r.name == "hub.worker"]


async def test_the_cli_runs_one_pass(
    rig: Rig, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import logging

    from hub.cli import main

    # The command points the root logger at this test's captured stderr; later tests must not log there.
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", list(root.handlers))
    monkeypatch.setattr(root, "level", root.level)
    await rig.event((("letter", None),))
    monkeypatch.setenv("HUB_DATABASE_URL", rig.url)
    # The command runs its own event loop, as it does from a terminal.
    assert await asyncio.to_thread(main, ["worker", "--once", "--batch", "5"]) == 0
    assert "claimed 1: delivered 1, retries scheduled 0, gave up on 0" in capsys.readouterr().out
    with pytest.raises(SystemExit) as usage:
        main(["worker", "--batch", "0"])
    assert usage.value.code == 2
    assert "--batch: must be between 1 and 500" in capsys.readouterr().err


@pytest.mark.postgres
async def test_two_workers_and_one_killed_still_send_each_email_once(rig: Rig) -> None:
    addresses = [f"r{i}@example.org" for i in range(12)]
    await rig.event(*(email(a) for a in addresses))
    rig.smtp.stall_next = True
    first, second = rig.worker(worker_batch=2), rig.worker(worker_batch=2)

    async def drain(worker: Worker) -> Worker:
        while (await worker.run_once()).claimed:
            pass
        return worker

    tasks = {asyncio.create_task(drain(first)), asyncio.create_task(drain(second))}
    done, stuck = await asyncio.wait(tasks, timeout=30, return_when=asyncio.FIRST_COMPLETED)
    assert rig.smtp.stalled.is_set()
    [survivor_task] = done
    [dead] = stuck
    dead.cancel()  # the worker that hangs mid-delivery is killed
    with pytest.raises(asyncio.CancelledError):
        await dead
    assert len(rig.smtp.received) == 11

    rig.clock.advance(61)  # lease and grace
    report = await survivor_task.result().run_once()
    assert (report.recovered, report.delivered) == (1, 1)

    received = sorted(r for m in rig.smtp.received for r in m.recipients)
    assert received == sorted(addresses)  # each exactly once
    for n in await rig.notifications():
        assert n.status == "delivered"
        assert [o for o, _ in await rig.attempts(n.id)].count("delivered") == 1


# --- the store failing around a delivery (issue 14, item 3) ----------------------------------------


def connection_lost() -> Exception:
    from sqlalchemy.exc import OperationalError

    return OperationalError("COMMIT", {}, ConnectionResetError("connection reset by peer"))


async def test_a_store_outage_while_recording_sends_each_email_once(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The outcome write fails once or twice for every notification of an 18-email batch: the worker
    retries it while its lease holds, and no later pass sends anything again."""
    from resolvers import victims_delivery_queue as queue

    addresses = [f"r{i}@example.org" for i in range(18)]
    await rig.event(*(email(a) for a in addresses))
    real_record = queue.record
    failures: dict[int, int] = {}

    async def flaky_record(db: RequestDb, item: queue.Claim, *args: Any, **kwargs: Any) -> bool:
        if failures.get(item.id, 0) < 1 + item.id % 2:  # one or two failures each
            failures[item.id] = failures.get(item.id, 0) + 1
            raise connection_lost()
        return await real_record(db, item, *args, **kwargs)

    monkeypatch.setattr(queue, "record", flaky_record)
    worker = rig.worker()
    report = await worker.run_once()
    assert (report.claimed, report.delivered, report.lost_lease) == (18, 18, 0)
    assert sorted(failures.values()) == [1] * 9 + [2] * 9

    for _ in range(3):  # well past the lease and its grace: nothing is handed back
        rig.clock.advance(3600)
        assert (await worker.run_once()).claimed == 0
    assert sorted(m.recipients[0] for m in rig.smtp.received) == sorted(addresses)
    assert len({m.message_id for m in rig.smtp.received}) == 18
    for n in await rig.notifications():
        assert (n.status, n.claimed_until, n.send_started_at, n.attempts) == ("delivered", None, None, 1)
        assert [o for o, _ in await rig.attempts(n.id)] == ["delivered"]


async def test_a_lost_answer_to_a_committed_record_writes_it_once(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The record committed but its answer was lost: the retry finds it and writes nothing twice."""
    from resolvers import victims_delivery_queue as queue

    await rig.event(email("a@example.org"))
    real_record = queue.record
    calls = 0

    async def committed_then_lost(db: RequestDb, item: queue.Claim, *args: Any, **kwargs: Any) -> bool:
        nonlocal calls
        calls += 1
        kept = await real_record(db, item, *args, **kwargs)
        if calls == 1:
            await db.session.commit()
            raise connection_lost()
        return kept

    monkeypatch.setattr(queue, "record", committed_then_lost)
    report = await rig.worker().run_once()
    assert (report.delivered, report.lost_lease, calls) == (1, 0, 2)
    [n] = await rig.notifications()
    assert n.status == "delivered"
    assert [o for o, _ in await rig.attempts(n.id)] == ["delivered"]


async def test_a_store_outage_before_sending_sends_nothing_and_counts_no_attempt(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    from resolvers import victims_delivery_queue as queue

    await rig.event(email("a@example.org"))
    real_start = queue.start_sending

    async def down(*_: Any, **__: Any) -> bool:
        raise connection_lost()

    monkeypatch.setattr(queue, "start_sending", down)
    report = await rig.worker().run_once()
    assert (report.claimed, report.delivered, report.lost_lease) == (1, 0, 1)
    assert rig.smtp.received == []
    [n] = await rig.notifications()
    assert (n.status, n.attempts, n.send_started_at) == ("sending", 1, None)

    monkeypatch.setattr(queue, "start_sending", real_start)
    rig.clock.advance(31)  # the lease ends; nothing was sent, so no grace and no attempt counted
    report = await rig.worker().run_once()
    assert (report.recovered, report.claimed, report.delivered) == (1, 1, 1)
    [n] = await rig.notifications()
    assert (n.status, n.attempts) == ("delivered", 1)
    assert [o for o, _ in await rig.attempts(n.id)] == ["delivered"]
    assert len(rig.smtp.received) == 1


async def test_a_delivery_recorded_late_withdraws_a_claim_that_has_not_sent(rig: Rig) -> None:
    """Worker A sent, then could not record until its claim was handed back and taken by B."""
    from resolvers import victims_delivery_queue as queue
    from resolvers.models.victims import AttemptOutcome

    await rig.event(email("a@example.org"), email("b@example.org"))
    policy = queue.RetryPolicy(max_attempts=3)
    lease, grace = timedelta(seconds=30), timedelta(seconds=30)

    async def step(work: Any) -> Any:
        async with rig.sessions() as s, s.begin():
            return await work(RequestDb(s))

    claims = await step(lambda db: queue.claim(db, rig.clock(), lease, 5, 3))
    for c in claims:
        assert await step(lambda db, c=c: queue.start_sending(db, c, rig.clock(), None))
    first, second = claims
    sent_at = rig.clock()
    rig.clock.advance(31)
    recovered = await step(lambda db: queue.recover_expired(db, rig.clock(), 3, grace))
    assert (recovered.unsent, recovered.unknown) == ([], [])  # in the grace: A may still record
    rig.clock.advance(30)
    recovered = await step(lambda db: queue.recover_expired(db, rig.clock(), 3, grace))
    assert recovered.unknown == [first.id, second.id]
    taken = await step(lambda db: queue.claim(db, rig.clock(), lease, 5, 3))
    assert [t.id for t in taken] == [first.id, second.id]
    # B has begun sending the second one only.
    assert await step(lambda db: queue.start_sending(db, taken[1], rig.clock(), None))

    def late(item: queue.Claim) -> Any:
        return lambda db: queue.record(db, item, AttemptOutcome.DELIVERED, "250 OK", sent_at, policy)

    assert await step(late(first)) is True  # counted: B had not sent it, and now will not
    assert await step(lambda db: queue.start_sending(db, taken[0], rig.clock(), None)) is False
    assert await step(late(second)) is False  # B is sending it: that copy is the duplicate that remains
    by_id = {n.id: n for n in await rig.notifications()}
    assert (by_id[first.id].status, by_id[first.id].claimed_until) == ("delivered", None)
    assert by_id[second.id].status == "sending"


@pytest.mark.postgres
async def test_the_store_cut_off_mid_batch_sends_each_email_once(rig: Rig) -> None:
    """Through a TCP proxy the test cuts as the first message is accepted and restores 1.5 s later."""
    from sqlalchemy.engine import make_url

    from hub.db import create_engine
    from tests.hub.store_proxy import Proxy

    addresses = [f"r{i}@example.org" for i in range(18)]
    await rig.event(*(email(a) for a in addresses))
    url = make_url(rig.url)
    proxy = Proxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.up()
    through = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    settings = rig.settings(database_url=through)
    engine = create_engine(settings)
    senders = senders_from(settings)
    smtp = senders["email"]
    outage: list[asyncio.Task[None]] = []

    class CutAfterFirst:
        timeout_s = smtp.timeout_s

        async def send(self, message: Any) -> Any:
            sent = await smtp.send(message)
            if not outage:

                async def cut() -> None:
                    await proxy.down()
                    await asyncio.sleep(1.5)
                    await proxy.up()

                outage.append(asyncio.create_task(cut()))
                await asyncio.sleep(0.1)
            return sent

    senders["email"] = CutAfterFirst()
    worker = Worker(session_factory(engine), senders, config_from(settings), clock=rig.clock)
    try:
        report = await worker.run_once()
        await outage[0]
        # Those whose "sending" stamp met the outage were not sent; the rest were recorded late.
        assert report.claimed == 18
        assert report.delivered + report.lost_lease == 18
        # When the lease ends the unsent claims are handed back and sent; a stamp whose commit
        # answer was lost (so nothing was sent) waits the grace too.
        delivered = report.delivered
        for _ in range(3):
            rig.clock.advance(31)
            delivered += (await worker.run_once()).delivered
        assert delivered == 18
        rig.clock.advance(3600)
        assert (await worker.run_once()).claimed == 0
    finally:
        await engine.dispose()
        await proxy.down()
    assert sorted(m.recipients[0] for m in rig.smtp.received) == sorted(addresses)
    for n in await rig.notifications():
        assert n.status == "delivered"
        # (a stamp whose commit answer was lost is recorded "outcome unknown" before it is sent)
        assert [o for o, _ in await rig.attempts(n.id)][-1:] == ["delivered"]
        assert [o for o, _ in await rig.attempts(n.id)].count("delivered") == 1


async def test_the_cli_calls_a_temporary_failure_a_retry_scheduled(
    rig: Rig, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from hub.cli import main

    await rig.event(email("a@example.org"))
    monkeypatch.setenv("HUB_DATABASE_URL", rig.url)
    monkeypatch.setenv("HUB_SMTP_PORT", str(free_port()))  # the mail server is down
    monkeypatch.setenv("HUB_SMTP_SECURITY", "none")
    assert await asyncio.to_thread(main, ["worker", "--once"]) == 0
    out = capsys.readouterr().out
    assert "claimed 1: delivered 0, retries scheduled 1, gave up on 0" in out
    assert "failed" not in out
    [n] = await rig.notifications()
    assert (n.status, n.attempts) == ("pending", 1)
