"""``hub worker``: delivers victim notifications, one committed step at a time.

A pass (``Worker.run_once``):

1. hands back notifications whose worker stopped mid-delivery (lease expired), and fails those
   that used their attempts — one transaction;
2. claims a batch of due notifications with a lease (``claimed_until``) — one transaction;
3. stamps each claimed notification ``send_started_at`` (fenced on the lease) — one transaction
   each; a notification whose stamp cannot be written is not sent;
4. sends it with no transaction open, through its channel's adapter;
5. records the attempt and the notification's next state, fenced on the lease — one transaction
   per notification, shielded from cancellation so a stopping worker still records what it sent,
   and retried with backoff while the store is unreachable (for up to the lease plus its grace).

Guarantees (the README says the same): a delivered notification is never claimed again; a worker
killed or cut off from the store before step 3 committed sent nothing, and its claim is handed back
when the lease ends; a claim stamped in step 3 whose outcome was never recorded is handed back only
a further lease later (the grace), and a delivery recorded late still withdraws any claim that has
not begun sending. The windows that stay at-least-once: a worker killed (or cut off from the store
for longer than the grace) between the server accepting a message and step 5 committing, and a
server that accepted the message but whose reply never arrived (a timeout). The message then goes
out a second time with the same idempotency key (SMTP Message-ID, gateway ``Idempotency-Key``),
which the gateway deduplicates and mail readers can recognise.

Heartbeat: a worker writes its row of ``worker_heartbeats`` (its random id, host, pid, when it
started, its last beat and the last pass that found work) when it starts and after passes, at least
every ``heartbeat_s`` (``HUB_WORKER_HEARTBEAT_S``), and marks it stopped on a clean shutdown.
``hubHealth`` (the console's Health page) calls a running worker stale after three intervals without a
beat. A heartbeat that cannot be written is logged and does not stop deliveries.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import logging
import os
import secrets
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.delivery import Outbound, Sender, Sent
from hub.delivery import messages as compose
from hub.delivery.email import SmtpSender
from hub.delivery.gateway import GatewaySender
from hub.delivery.letters import PrintQueue
from hub.metrics import WorkerMetrics
from hub.settings import Settings
from resolvers import victims_delivery_queue as queue
from resolvers.models.victims import Channel, NotificationStatus, WorkerHeartbeat
from resolvers.session import RequestDb
from resolvers.victims_notifications import code_hash
from schema.execution import is_store_failure

log = logging.getLogger("hub.worker")

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    batch: int = 20
    poll_interval_s: float = 5.0
    lease: timedelta = timedelta(minutes=2)
    policy: queue.RetryPolicy = field(default_factory=queue.RetryPolicy)
    #: Signs acknowledgement codes, so every repeat of a notice carries the same code.
    ack_secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    ack_url: str | None = None
    #: Longest pause between two tries of recording an outcome while the store is unreachable.
    record_retry_max_s: float = 2.0
    #: Longest time between two heartbeats (``HUB_WORKER_HEARTBEAT_S``); stale after three.
    heartbeat_s: float = 15.0

    @property
    def grace(self) -> timedelta:
        """How much longer than the lease a claim that began sending waits before it is handed back:
        its worker may still be retrying the record of a delivery."""
        return self.lease


@dataclass(frozen=True, slots=True)
class PassReport:
    recovered: int = 0
    expired: int = 0
    claimed: int = 0
    delivered: int = 0
    #: Not delivered this time: retries scheduled plus those given up on.
    failed: int = 0
    lost_lease: int = 0
    #: Of ``failed``: temporary failures that will be tried again (``failed - retrying`` were given up).
    retrying: int = 0


def senders_from(settings: Settings) -> dict[str, Sender]:
    gateway = GatewaySender(
        url=settings.sms_gateway_url,
        token=settings.sms_gateway_token.get_secret_value() if settings.sms_gateway_token else None,
        timeout_s=settings.gateway_timeout_s,
    )
    return {
        Channel.EMAIL: SmtpSender(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.smtp_from,
            security=settings.smtp_security,
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
            timeout_s=settings.smtp_timeout_s,
        ),
        Channel.SMS: gateway,
        Channel.PHONE: gateway,
        Channel.LETTER: PrintQueue(),
    }


def config_from(settings: Settings, *, batch: int | None = None, poll_s: float | None = None) -> WorkerConfig:
    secret = settings.notify_ack_secret
    if secret is None:
        log.warning(
            "HUB_NOTIFY_ACK_SECRET is not set: acknowledgement codes change when the worker restarts "
            "(the newest code of a notice always works)"
        )
    return WorkerConfig(
        batch=batch or settings.worker_batch,
        poll_interval_s=poll_s if poll_s is not None else settings.worker_poll_s,
        lease=timedelta(seconds=settings.notify_lease_s),
        policy=queue.RetryPolicy(
            max_attempts=settings.notify_max_attempts,
            backoff=timedelta(seconds=settings.notify_backoff_s),
            backoff_max=timedelta(seconds=settings.notify_backoff_max_s),
            ack_repeat=timedelta(seconds=settings.notify_ack_repeat_s),
        ),
        ack_secret=secret.get_secret_value().encode() if secret else secrets.token_bytes(32),
        ack_url=f"{settings.issuer}/notifications/ack",
        heartbeat_s=settings.worker_heartbeat_s,
    )


#: A heartbeat row whose worker stopped or died longer ago than this is deleted by the next beat.
HEARTBEAT_KEPT = timedelta(days=7)


def _found_work(report: PassReport) -> bool:
    return bool(report.claimed or report.recovered or report.expired)


def work_summary(report: PassReport) -> str:
    """A pass that found work, in a line for the heartbeat row."""
    gave_up = report.failed - report.retrying + report.expired
    return (
        f"claimed {report.claimed}: delivered {report.delivered}, retries scheduled {report.retrying}, "
        f"gave up on {gave_up}"
    )


#: The setting that configures each channel, named when it is missing.
CHANNEL_SETTING = {
    Channel.EMAIL: "HUB_SMTP_HOST",
    Channel.SMS: "HUB_SMS_GATEWAY_URL",
    Channel.PHONE: "HUB_SMS_GATEWAY_URL",
    Channel.LETTER: None,
}


def _idempotency_key(item: queue.Claim) -> str:
    # Retries of one delivery share a key (a receiver can drop the copy); a repeat awaiting an
    # acknowledgement is a new call and gets its own.
    if item.repeat:
        return f"notification-{item.id}-repeat-{item.attempts}"
    return f"notification-{item.id}"


class Worker:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        senders: Mapping[str, Sender],
        config: WorkerConfig | None = None,
        clock: Clock = utc_now,
        metrics: WorkerMetrics | None = None,
    ) -> None:
        self.sessions = sessions
        self.senders = senders
        self.config = config or WorkerConfig()
        self.clock = clock
        self.metrics = metrics
        #: This worker's row in ``worker_heartbeats``.
        self.worker_id = secrets.token_hex(16)
        self.started_at: datetime | None = None
        self._passes = 0
        self._last_beat: float | None = None
        compose.templates()  # a template file with a missing key or an unknown placeholder stops us here
        slowest = max((s.timeout_s for s in senders.values()), default=0.0)
        if self.config.lease.total_seconds() < 2 * slowest:
            raise ValueError(
                f"the claim lease ({self.config.lease.total_seconds():g}s) must be at least twice the "
                f"slowest channel timeout ({slowest:g}s), or a slow send could be claimed twice"
            )

    def ack_code(self, notification_id: int) -> str:
        mac = hmac.new(self.config.ack_secret, f"ack:{notification_id}".encode(), hashlib.sha256).digest()
        return f"{notification_id}.{base64.b32encode(mac[:10]).decode().lower()}"

    def channels(self) -> dict[str, bool]:
        """Whether each channel can send: an adapter is there and its setting is set."""
        return {
            channel.value: channel.value in self.senders
            and bool(getattr(self.senders[channel.value], "configured", True))
            for channel in Channel
        }

    async def announce(self) -> dict[str, int]:
        """At start: log each channel and whether it is configured, and warn (with a count, never a
        registrant) when active registrations prefer a channel that is not. Answers those counts."""
        configured = self.channels()
        log.info(
            "notification channels: %s",
            ", ".join(
                f"{channel} {'configured' if ok else 'NOT configured'}" for channel, ok in configured.items()
            ),
        )
        async with self.sessions() as session:
            wanted = await queue.preferred_channels(RequestDb(session))
        stranded = {c: n for c, n in sorted(wanted.items()) if n and not configured.get(c, False)}
        for channel, count in stranded.items():
            setting = CHANNEL_SETTING.get(Channel(channel)) if channel in CHANNEL_SETTING else None
            log.warning(
                "%d active registration(s) prefer the %s channel, which is not configured%s: those "
                "notices cannot be delivered until it is",
                count,
                channel,
                f" (set {setting})" if setting else "",
            )
        return stranded

    async def run_once(self) -> PassReport:
        policy = self.config.policy
        async with self.sessions() as session, session.begin():
            db = RequestDb(session)
            recovered = await queue.recover_expired(db, self.clock(), policy.max_attempts, self.config.grace)
            expired = await queue.expire_exhausted(db, self.clock(), policy.max_attempts)
        if recovered.unsent:
            log.warning("handed back %d claimed notifications that were never sent", len(recovered.unsent))
        if recovered.unknown:
            log.warning(
                "handed back %d notifications whose worker stopped mid-delivery (outcome unknown)",
                len(recovered.unknown),
            )
        # Records are retried until the claim could be handed to another worker (lease + grace).
        deadline = time.monotonic() + (self.config.lease + self.config.grace).total_seconds()
        async with self.sessions() as session, session.begin():
            db = RequestDb(session)
            claims = await queue.claim(
                db, self.clock(), self.config.lease, self.config.batch, policy.max_attempts
            )
        if not claims:
            return PassReport(recovered=len(recovered), expired=len(expired))
        async with self.sessions() as session:
            facts = await queue.event_facts(RequestDb(session), [c.id for c in claims])
        outcomes = await asyncio.gather(*(self._deliver(c, facts.get(c.id), deadline) for c in claims))
        return PassReport(
            recovered=len(recovered),
            expired=len(expired),
            claimed=len(claims),
            delivered=sum(1 for sent, _ in outcomes if sent.outcome == "delivered"),
            failed=sum(1 for sent, _ in outcomes if sent.outcome != "delivered"),
            lost_lease=sum(1 for _, kept in outcomes if not kept),
            retrying=sum(
                1
                for c, (sent, _) in zip(claims, outcomes, strict=True)
                if sent.outcome == "temporary_failure" and c.attempts < policy.max_attempts
            ),
        )

    async def _deliver(
        self, item: queue.Claim, facts: queue.EventFacts | None, deadline: float
    ) -> tuple[Sent, bool]:
        sender = self.senders.get(item.channel)
        if sender is None:
            sent = Sent.refused(f"no adapter for the {item.channel} channel")
        elif facts is None or not item.destination:
            sent = Sent.refused("nothing to send: the notification has no event or no destination")
        else:
            code = self.ack_code(item.id) if item.requires_ack else None
            try:
                async with self.sessions() as session, session.begin():
                    kept = await queue.start_sending(
                        RequestDb(session), item, self.clock(), code_hash(code) if code else None
                    )
            except Exception as exc:
                if not is_store_failure(exc):
                    raise
                # Nothing has left: the claim is handed back when its lease ends, attempt uncounted.
                log.warning("notification %d: the store is unreachable; not sent", item.id)
                return Sent.retry("the store is unreachable; not sent"), False
            if not kept:
                return Sent.retry("lease lost before sending"), False
            url = f"{self.config.ack_url}?code={code}" if code and self.config.ack_url else None
            message = Outbound(
                notification_id=item.id,
                channel=item.channel,
                destination=item.destination,
                subject=compose.subject(facts),
                body=compose.body(facts, code, url),
                idempotency_key=_idempotency_key(item),
            )
            sent = await sender.send(message)
        # Once a message may have left, its record must be written even if the worker is stopping.
        kept = await asyncio.shield(self._record(item, sent, deadline))
        return sent, kept

    async def _record(self, item: queue.Claim, sent: Sent, deadline: float) -> bool:
        """Record the attempt, retrying with backoff while the store is unreachable.

        Giving up after one failure would leave the claim to expire and the message to be sent
        again; the retries last until ``deadline``, when another worker may hand the claim back.
        """
        now = self.clock()  # the attempt's time: the same on every try, so a retry writes nothing twice
        pause = 0.05
        tries = 0
        while True:
            tries += 1
            try:
                async with self.sessions() as session, session.begin():
                    kept = await queue.record(
                        RequestDb(session),
                        item,
                        sent.outcome,
                        sent.detail,
                        now,
                        self.config.policy,
                        retried=tries > 1,
                    )
                break
            except Exception as exc:
                if not is_store_failure(exc):
                    raise
                if time.monotonic() + pause > deadline:
                    log.error(
                        "notification %d: could not record its %s attempt after %d tries (the store is "
                        "unreachable); it will be handed back and sent again with the same idempotency key",
                        item.id,
                        sent.outcome,
                        tries,
                    )
                    return False
                if tries == 1:
                    log.warning(
                        "notification %d: recording its %s attempt failed (the store is unreachable); retrying",
                        item.id,
                        sent.outcome,
                    )
                await asyncio.sleep(pause)
                pause = min(pause * 2, self.config.record_retry_max_s)
        if tries > 1:
            log.info("notification %d: %s attempt recorded after %d tries", item.id, sent.outcome, tries)
        if not kept:
            log.warning("notification %d: lease lost before the attempt was recorded", item.id)
        if self.metrics is not None:
            self.metrics.deliveries.labels(item.channel, sent.outcome.value).inc()
        return kept

    async def observe(self) -> None:
        """Report the heartbeat and the queue's state to the metrics (one read, after a pass)."""
        if self.metrics is None:
            return
        now = self.clock()
        async with self.sessions() as session:
            state = await queue.queue_state(RequestDb(session), now)
        for status in NotificationStatus:
            self.metrics.notifications.labels(status.value).set(state.by_status.get(status.value, 0))
        self.metrics.awaiting_acknowledgement.set(state.awaiting_acknowledgement)
        self.metrics.oldest_due.set(state.oldest_due_s)
        self.metrics.heartbeat.set(now.timestamp())

    async def beat(self, report: PassReport | None = None) -> None:
        """Write this worker's heartbeat row (inserted at the first beat): now, and ``report`` when
        that pass found work. Rows of workers gone for longer than ``HEARTBEAT_KEPT`` are deleted."""
        now = self.clock()
        if self.started_at is None:
            self.started_at = now
        values: dict[str, object] = {"beat_at": now, "passes": self._passes, "stopped_at": None}
        if report is not None and _found_work(report):
            values.update(last_work_at=now, last_work=work_summary(report)[:300])
        async with self.sessions() as session, session.begin():
            done = await session.execute(
                update(WorkerHeartbeat).where(WorkerHeartbeat.worker_id == self.worker_id).values(**values)
            )
            if not getattr(done, "rowcount", 0):
                await session.execute(
                    delete(WorkerHeartbeat).where(WorkerHeartbeat.beat_at < now - HEARTBEAT_KEPT)
                )
                session.add(
                    WorkerHeartbeat(
                        worker_id=self.worker_id,
                        host=socket.gethostname()[:255],
                        pid=os.getpid(),
                        started_at=self.started_at,
                        interval_s=self.config.heartbeat_s,
                        **values,
                    )
                )
        self._last_beat = time.monotonic()

    async def stopped(self) -> None:
        """Mark this worker's row stopped (a clean shutdown: it is not stale, it is gone)."""
        async with self.sessions() as session, session.begin():
            await session.execute(
                update(WorkerHeartbeat)
                .where(WorkerHeartbeat.worker_id == self.worker_id)
                .values(stopped_at=self.clock(), passes=self._passes)
            )

    async def _beat_logged(self, report: PassReport | None = None) -> None:
        try:
            await self.beat(report)
        except Exception as exc:  # noqa: BLE001 - a missed heartbeat must not stop deliveries
            log.warning("could not write the worker's heartbeat: %s", type(exc).__name__)

    def _beat_due(self, report: PassReport) -> bool:
        if _found_work(report):
            return True
        return self._last_beat is None or time.monotonic() - self._last_beat >= self.config.heartbeat_s

    async def run(self, stop: asyncio.Event) -> None:
        """Passes until ``stop`` is set; a pass that found work is followed at once by another. Beats
        at start, after passes that found work and at least every ``heartbeat_s``; marks the row
        stopped when ``stop`` ends it."""
        await self._beat_logged()
        await self._run(stop)
        # Only a clean stop says so: a worker that crashed or was cancelled turns stale instead.
        try:
            await self.stopped()
        except Exception as exc:  # noqa: BLE001 - stopping goes on; the row turns stale instead
            log.warning("could not mark the worker's heartbeat stopped: %s", type(exc).__name__)

    async def _run(self, stop: asyncio.Event) -> None:
        wait_s = min(self.config.poll_interval_s, self.config.heartbeat_s)
        while not stop.is_set():
            try:
                report = await self.run_once()
            except Exception as exc:  # noqa: BLE001 - a pass that fails must not stop the worker
                # The store may be briefly unreachable; the next pass tries again.
                log.error("delivery pass failed: %s", type(exc).__name__)
                report = PassReport()
            else:
                self._passes += 1
                try:
                    await self.observe()
                except Exception as exc:  # noqa: BLE001 - metrics must not stop deliveries
                    log.warning("could not read the queue for the metrics: %s", type(exc).__name__)
                if self._beat_due(report):
                    await self._beat_logged(report)
            if report.claimed:
                log.info(
                    "delivered %d of %d claimed; %d retries scheduled, %d given up",
                    report.delivered,
                    report.claimed,
                    report.retrying,
                    report.failed - report.retrying,
                )
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), wait_s)
