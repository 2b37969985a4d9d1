"""Group commit of the ledger (issue 16, item 3): concurrent requests' events go into one transaction,
a request is released only once its event committed, a failed batch serves nobody in it, a mutation's
event stays in the mutation's own transaction, and processes appending at once keep one chain."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.applications import Starlette

import auth.ledger_appender
import auth.ledger_requests
from auth.audit import append_chain, new_event
from auth.keys import KeyPolicy, ensure_signing_key
from auth.ledger import verify
from auth.ledger_appender import LedgerAppender
from hub.app import create_app
from hub.cli import main
from hub.settings import Settings
from resolvers.models.inquiries import Inquiry
from resolvers.models.ledger import AuditDisclosure, AuditEvent
from resolvers.models.partners import Audience, Partner
from schema.ids import to_global_id
from tests.conftest import GraphQL
from tests.factories.people import make_inmate
from tests.factories.reentry import make_consent, make_referral
from tests.factories.stores import fresh_store
from tests.hub import ledger_process

ROOT = Path(__file__).resolve().parents[2]
PERSON = "query Look($id: ID!) { person(id: $id) { firstName identity { birthDate } } }"
SUBMIT = str(ledger_process.SUBMIT["query"])
INQUIRY = ledger_process.SUBMIT["variables"]


@pytest.fixture
def app(settings: Settings, engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]) -> Starlette:
    """The test transaction's app with group commit on (the suite's default is one event per transaction)."""
    return create_app(settings.model_copy(update={"ledger_batch_ms": 1.0}), engine=engine, sessions=sessions)


@pytest.fixture
def per_request_path_broken(monkeypatch: pytest.MonkeyPatch) -> None:
    """Appending an event in a request's own transaction fails: only group commit can record."""

    async def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("the per-request append was used")

    monkeypatch.setattr(auth.ledger_requests, "record_event", refuse)


@pytest.fixture
def group_commit_broken(monkeypatch: pytest.MonkeyPatch) -> None:
    async def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("ledger disk full")

    monkeypatch.setattr(auth.ledger_appender, "append_chain", refuse)


async def _graphql_events(session: AsyncSession) -> list[AuditEvent]:
    stmt = select(AuditEvent).where(AuditEvent.kind == "graphql").order_by(AuditEvent.id)
    return list(await session.scalars(stmt))


# --- the appender on its own -----------------------------------------------------------------------


async def test_concurrent_events_share_one_commit_and_one_chain(tmp_path: Path) -> None:
    async with fresh_store(tmp_path, "ledger_batch") as (_settings, engine):
        sessions = async_sessionmaker(engine, expire_on_commit=False)
        batches: list[tuple[int, bool]] = []
        appender = LedgerAppender(
            sessions, window_s=0.001, on_batch=lambda n, _s, failed: batches.append((n, failed))
        )
        events = [
            new_event(kind="graphql", request_id=f"r{i}", audience="victim_services" if i % 2 else "admin")
            for i in range(40)
        ]
        await asyncio.gather(
            *(appender.append(e, [("person", i, ["identity"])]) for i, e in enumerate(events))
        )
        # Handed over in one turn of the loop: one batch, one transaction.
        assert batches == [(40, False)]
        await appender.append(new_event(kind="graphql", request_id="later"))
        assert batches[-1] == (1, False)
        async with sessions() as s:
            ids = list(await s.scalars(select(AuditEvent.id).order_by(AuditEvent.id)))
            assert ids == [e.id for e in events] + [ids[-1]]  # ids follow the order they were handed in
            rows = await s.execute(select(AuditDisclosure.subject_id, AuditDisclosure.sealed))
            sealed = {subject: bool(value) for subject, value in rows}
            assert sealed == {i: bool(i % 2) for i in range(40)}
            result = await verify(s)
            assert result.broken is None
            assert result.events == 41


async def test_a_failed_batch_fails_every_event_in_it_and_the_next_batch_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with fresh_store(tmp_path, "ledger_fail") as (_settings, engine):
        sessions = async_sessionmaker(engine, expire_on_commit=False)
        appender = LedgerAppender(sessions, window_s=0.001)

        async def full_disk(*args: object, **kwargs: object) -> None:
            raise OSError("ledger disk full")

        monkeypatch.setattr(auth.ledger_appender, "append_chain", full_disk)
        outcomes = await asyncio.gather(
            *(appender.append(new_event(kind="graphql", request_id=f"r{i}")) for i in range(5)),
            return_exceptions=True,
        )
        assert [type(o) for o in outcomes] == [OSError] * 5
        monkeypatch.setattr(auth.ledger_appender, "append_chain", append_chain)
        await appender.append(new_event(kind="graphql", request_id="after"))
        async with sessions() as s:
            assert list(await s.scalars(select(AuditEvent.request_id))) == ["after"]


async def test_a_request_cancelled_before_its_batch_withdraws_its_event(tmp_path: Path) -> None:
    async with fresh_store(tmp_path, "ledger_cancel") as (_settings, engine):
        sessions = async_sessionmaker(engine, expire_on_commit=False)
        appender = LedgerAppender(sessions, window_s=0.05)
        ticket = appender.submit(new_event(kind="graphql", request_id="gone"))
        waiter = asyncio.ensure_future(appender.wait(ticket))
        await asyncio.sleep(0)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        assert ticket.withdrawn
        kept = appender.submit(new_event(kind="graphql", request_id="kept"))
        await appender.wait(kept)
        assert not kept.withdrawn
        await appender.close()
        async with sessions() as s:
            assert list(await s.scalars(select(AuditEvent.request_id))) == ["kept"]


# --- through the endpoint --------------------------------------------------------------------------


async def test_a_read_is_recorded_by_group_commit_with_its_disclosures_and_consents(
    gql: GraphQL,
    app: Starlette,
    session: AsyncSession,
    partners: dict[Audience, Partner],
    per_request_path_broken: None,
) -> None:
    person, _ = await make_inmate(session, first_name="Ada")
    shown = await gql(
        PERSON, {"id": to_global_id("Person", person.id)}, audience=Audience.CONSTITUENT_SERVICES
    )
    assert shown.status_code == 200, shown.text
    assert shown.json()["data"]["person"]["firstName"] == "Ada"
    partner = partners[Audience.REENTRY]
    await make_referral(session, person, partner)
    consent = await make_consent(session, person, partner)
    body = (await gql("{ referrals { nodes { person { firstName } } } }", audience=Audience.REENTRY)).json()
    assert body["data"]["referrals"]["nodes"], body

    first, second = await _graphql_events(session)
    assert (first.audience, first.operation_name, first.outcome) == ("constituent_services", "Look", "served")
    assert first.request_id == shown.json()["extensions"]["requestId"]
    classes = await session.scalar(
        select(AuditDisclosure.field_classes).where(AuditDisclosure.event_id == first.id)
    )
    assert classes == ["identity", "public_person"]
    assert second.authority == {"consents": [consent.id]}
    assert (await verify(session)).broken is None
    samples = {s.name: s.value for m in app.state.metrics.registry.collect() for s in m.samples}
    assert samples["hub_ledger_batch_events_count"] == 2


async def test_a_refused_request_is_recorded_by_group_commit(
    client: httpx.AsyncClient, session: AsyncSession, per_request_path_broken: None
) -> None:
    response = await client.post(
        "/graphql", json={"query": "{ facilities { totalCount } }"}, headers={"Authorization": "Bearer nope"}
    )
    assert response.status_code == 401
    [event] = await _graphql_events(session)
    assert event.outcome == "denied"
    assert event.detail == {"status": 401, "code": "UNAUTHENTICATED"}


async def test_when_the_group_commit_fails_no_read_is_served_but_a_mutation_commits_with_its_event(
    gql: GraphQL, session: AsyncSession, group_commit_broken: None
) -> None:
    person, _ = await make_inmate(session, first_name="Ada")
    response = await gql(
        PERSON, {"id": to_global_id("Person", person.id)}, audience=Audience.CONSTITUENT_SERVICES
    )
    assert response.status_code == 503
    assert "data" not in response.json()
    assert "Ada" not in response.text
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "LEDGER_UNAVAILABLE"

    before = await session.scalar(select(func.count()).select_from(Inquiry))
    written = await gql(SUBMIT, INQUIRY, audience=Audience.CONSTITUENT_SERVICES)
    assert written.status_code == 200, written.text
    assert written.json()["data"]["submitInquiry"]["errors"] == []
    assert await session.scalar(select(func.count()).select_from(Inquiry)) == (before or 0) + 1
    [event] = await _graphql_events(session)  # the mutation's own, committed with it
    assert event.outcome == "served"
    assert event.audience == "constituent_services"


async def test_a_mutation_whose_event_fails_commits_nothing_even_with_group_commit(
    gql: GraphQL, session: AsyncSession, per_request_path_broken: None
) -> None:
    before = await session.scalar(select(func.count()).select_from(Inquiry))
    response = await gql(SUBMIT, INQUIRY, audience=Audience.CONSTITUENT_SERVICES)
    assert response.status_code == 503
    assert response.json()["errors"][0]["extensions"]["code"] == "LEDGER_UNAVAILABLE"
    assert await session.scalar(select(func.count()).select_from(Inquiry)) == before


# --- processes -------------------------------------------------------------------------------------


async def test_two_processes_appending_at_once_keep_one_chain(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two hub processes, 32 requests at a time each (reads, mutations, refusals), on one store."""
    requests = 150
    async with fresh_store(tmp_path, "ledger_procs") as (settings, _engine):
        async with async_sessionmaker(_engine)() as s:
            # The store's signing key, as a first `hub serve` leaves it: two processes creating it at
            # once on SQLite is another race (a read, then a write) than the one this test is about.
            await ensure_signing_key(s, KeyPolicy())
            await s.commit()
        env = {**os.environ, "PYTHONPATH": str(ROOT), "HUB_CHECKPOINT_INTERVAL_S": "0"}
        command = [sys.executable, "-m", "tests.hub.ledger_process", settings.database_url, str(requests)]
        processes = [
            await asyncio.create_subprocess_exec(
                *command, cwd=ROOT, env=env, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
            )
            for _ in range(2)
        ]
        try:
            for p in processes:
                assert p.stdout is not None
                assert await asyncio.wait_for(p.stdout.readline(), 120) == b"ready\n"
            for p in processes:  # both start sending together
                assert p.stdin is not None
                p.stdin.write(b"go\n")
            outputs = await asyncio.wait_for(asyncio.gather(*(p.communicate() for p in processes)), 300)
        finally:
            for p in processes:
                if p.returncode is None:
                    p.kill()
        for p, (out, _err) in zip(processes, outputs, strict=True):
            assert p.returncode == 0
            assert json.loads(out.decode().strip().splitlines()[-1]) == {"200": requests}

        async with async_sessionmaker(_engine)() as s:
            served = await s.scalar(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.kind == "graphql")
            )
            assert served == 2 * requests
            assert await s.scalar(select(func.count()).select_from(Inquiry)) == 2 * requests // 5
            result = await verify(s)
            assert result.broken is None
            # Besides the requests' events: the signing key's creation.
            assert result.events == await s.scalar(select(func.count()).select_from(AuditEvent))
        monkeypatch.setenv("HUB_DATABASE_URL", settings.database_url)
        capsys.readouterr()
        assert await asyncio.to_thread(main, ["audit", "verify"]) == 0
        assert f"the chain holds: {result.events} events" in capsys.readouterr().out


@pytest.mark.postgres
async def test_the_appender_has_a_connection_of_its_own(settings: Settings) -> None:
    """On PostgreSQL the batch writer never waits in the requests' pool queue: a hub that owns its
    engine gives the appender an engine (a pool) of its own, closed with the app."""
    hub = create_app(settings.model_copy(update={"ledger_batch_ms": 2}))
    async with hub.router.lifespan_context(hub):
        appender = hub.state.ledger_appender
        assert appender is not None
        own = appender.sessions.kw["bind"]
        assert own is not hub.state.engine
        assert own.pool.size() == 1
        assert appender.engine is own  # whose one connection it holds across batches
        async with appender.sessions() as session:  # and it works: the batch writer's connection
            assert (await session.execute(select(func.count()).select_from(AuditEvent))).scalar_one() >= 0
