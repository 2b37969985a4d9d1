"""The ledger's chain: verify finds an edited or removed row, the stores refuse edits and deletes,
purge keeps a year and leaves a chain that still verifies, and concurrent requests keep one line."""

from __future__ import annotations

import asyncio
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request

from auth.audit import record_event
from auth.ledger import RetentionRefused, purge, verify
from auth.principal import Principal
from hub.app import create_app
from hub.commands.audit import export
from resolvers.models.ledger import AuditDisclosure, AuditEvent
from resolvers.models.partners import Audience
from tests.factories.stores import fresh_store


async def _three_events(session: AsyncSession) -> list[AuditEvent]:
    events = [
        await record_event(
            session, kind="graphql", request_id=f"r{i}", disclosures=[("person", 7, ["identity"])]
        )
        for i in range(3)
    ]
    await session.flush()
    return events


async def _allow_tampering(session: AsyncSession, is_postgres: bool) -> None:
    """Take the append-only triggers out for this test's transaction only (rolled back after it)."""
    if is_postgres:
        await session.execute(text("SET LOCAL session_replication_role = replica"))
    else:
        for name in (
            "audit_events_no_update",
            "audit_disclosures_no_update",
            "audit_events_keep_a_year",
            "audit_disclosures_keep_a_year",
        ):
            await session.execute(text(f"DROP TRIGGER {name}"))


async def test_the_chain_holds(session: AsyncSession) -> None:
    await _three_events(session)
    result = await verify(session)
    assert result.broken is None
    assert result.events >= 3


async def test_verify_names_an_edited_event(session: AsyncSession, is_postgres: bool) -> None:
    events = await _three_events(session)
    await _allow_tampering(session, is_postgres)
    await session.execute(update(AuditEvent).where(AuditEvent.id == events[1].id).values(outcome="denied"))
    result = await verify(session)
    assert result.broken is not None
    assert result.broken[0] == events[1].id
    assert "changed" in result.broken[1]


async def test_verify_names_an_edited_disclosure(session: AsyncSession, is_postgres: bool) -> None:
    events = await _three_events(session)
    await _allow_tampering(session, is_postgres)
    await session.execute(
        update(AuditDisclosure).where(AuditDisclosure.event_id == events[2].id).values(subject_id=8)
    )
    result = await verify(session)
    assert result.broken is not None
    assert result.broken[0] == events[2].id


async def test_verify_names_the_event_after_a_deleted_one(session: AsyncSession, is_postgres: bool) -> None:
    events = await _three_events(session)
    await _allow_tampering(session, is_postgres)
    await session.execute(delete(AuditDisclosure).where(AuditDisclosure.event_id == events[1].id))
    await session.execute(delete(AuditEvent).where(AuditEvent.id == events[1].id))
    result = await verify(session)
    assert result.broken is not None
    assert result.broken[0] == events[2].id
    assert "removed" in result.broken[1]


async def test_the_store_refuses_to_edit_or_delete_ledger_rows(session: AsyncSession) -> None:
    events = await _three_events(session)
    for statement in (
        update(AuditEvent).where(AuditEvent.id == events[0].id).values(outcome="denied"),
        delete(AuditEvent).where(AuditEvent.id == events[0].id),
        update(AuditDisclosure).where(AuditDisclosure.event_id == events[0].id).values(subject_id=1),
        delete(AuditDisclosure).where(AuditDisclosure.event_id == events[0].id),
    ):
        with pytest.raises(DBAPIError):
            async with session.begin_nested():
                await session.execute(statement)
    assert (await verify(session)).broken is None


@pytest.mark.postgres
async def test_postgres_refuses_edits_deletes_truncation_and_young_purges(session: AsyncSession) -> None:
    events = await _three_events(session)
    for statement in (
        "UPDATE audit_events SET outcome = 'denied'",
        "DELETE FROM audit_events",
        "TRUNCATE audit_events CASCADE",
        "UPDATE audit_disclosures SET subject_id = 1",
        "DELETE FROM audit_disclosures",
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            async with session.begin_nested():
                await session.execute(text(statement))
    # The purge path itself cannot remove anything younger than a year.
    with pytest.raises(DBAPIError, match="365 days"):
        await _purge_path(session, events[0].id)


async def _purge_path(session: AsyncSession, event_id: int) -> None:
    """Delete one young event's disclosures the way ``hub audit purge`` deletes (its setting on)."""
    async with session.begin_nested():
        await session.execute(text("SET LOCAL hub.ledger_purge = 'on'"))
        await session.execute(delete(AuditDisclosure).where(AuditDisclosure.event_id == event_id))


async def test_purge_refuses_anything_younger_than_a_year(session: AsyncSession) -> None:
    with pytest.raises(RetentionRefused, match="365-day"):
        await purge(session, datetime.now(UTC) - timedelta(days=300))


async def test_purge_removes_old_events_and_the_chain_still_verifies(tmp_path: Path) -> None:
    async with fresh_store(tmp_path, "purge") as (_settings, engine):
        sessions = async_sessionmaker(engine, expire_on_commit=False)
        old = datetime.now(UTC) - timedelta(days=800)
        async with sessions() as s:
            for i in range(3):
                await record_event(
                    s,
                    kind="graphql",
                    occurred_at=old + timedelta(minutes=i),
                    disclosures=[("person", i + 1, ["health"])],
                )
            await s.commit()
            for i in range(2):
                await record_event(s, kind="graphql", request_id=f"new{i}")
            await s.commit()
        async with sessions() as s:
            done = await purge(s, datetime.now(UTC) - timedelta(days=400))
            await s.commit()
        assert done.events == 3
        async with sessions() as s:
            kinds = list(await s.scalars(select(AuditEvent.kind).order_by(AuditEvent.id)))
            assert kinds == ["graphql", "graphql", "ledger.purge"]
            assert await s.scalar(select(func.count()).select_from(AuditDisclosure)) == 0
            result = await verify(s)
            assert result.broken is None
            assert result.events == 3
            # Removing the first remaining event is still found: it no longer follows the anchor.
            first = await s.scalar(select(func.min(AuditEvent.id)))
            if engine.dialect.name == "postgresql":
                await s.execute(text("SET LOCAL session_replication_role = replica"))
            else:
                await s.execute(text("DROP TRIGGER audit_events_keep_a_year"))
            await s.execute(delete(AuditEvent).where(AuditEvent.id == first))
            broken = await verify(s)
            assert broken.broken is not None
            await s.rollback()


async def test_export_streams_every_event_with_its_disclosures(session: AsyncSession) -> None:
    events = await _three_events(session)
    out = io.StringIO()
    count = await export(session, out, "jsonl", None, None)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert count == len(lines) >= 3
    last = lines[-1]
    assert last["id"] == events[-1].id
    assert last["disclosures"] == [{"subject_kind": "person", "subject_id": 7, "field_classes": ["identity"]}]
    csv_out = io.StringIO()
    await export(session, csv_out, "csv", datetime.now(UTC) - timedelta(minutes=5), None)
    header, *rows = csv_out.getvalue().splitlines()
    assert header.startswith("id,occurred_at,kind,outcome")
    assert len(rows) >= 3


async def test_concurrent_requests_keep_one_chain(tmp_path: Path) -> None:
    async with fresh_store(tmp_path, "concurrent") as (settings, engine):

        async def as_admin(request: Request) -> Principal:
            return Principal(audience=Audience.ADMIN, client_id="auditor")

        app = create_app(settings, engine=engine, authenticate=as_admin)
        transport = httpx.ASGITransport(app=app)
        query = {"query": "{ people(first: 5) { totalCount nodes { id } } facilities { totalCount } }"}
        # Mutations that read before they write, some refused (typed errors: nothing written).
        inquiry: dict[str, str] = {
            "source": "PUBLIC",
            "category": "OTHER",
            "channel": "EMAIL",
            "requesterName": "Someone",
            "summary": "A question",
            "details": "Details.",
        }
        mutation = "mutation($i: SubmitInquiryInput!) { submitInquiry(input: $i) { errors { code } } }"
        submit = {"query": mutation, "variables": {"i": inquiry}}
        refused = {"query": mutation, "variables": {"i": {**inquiry, "summary": ""}}}
        bodies = [query, submit, refused] * 8
        async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
            responses = await asyncio.gather(*(client.post("/graphql", json=body) for body in bodies))
        assert [r.status_code for r in responses] == [200] * 24
        assert all("errors" not in r.json() for r in responses), [r.json() for r in responses]
        async with async_sessionmaker(engine)() as s:
            served = await s.scalar(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.kind == "graphql")
            )
            assert served == 24
            result = await verify(s)
            assert result.broken is None
