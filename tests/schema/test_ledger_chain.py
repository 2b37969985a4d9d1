"""``ledgerChain`` through the API: the head, the newest events checked link by link (a changed
event is named), and the admin audience only."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from auth.audit import record_event
from auth.keys import KeyPolicy, KeyStore
from auth.ledger_checkpoints import checkpoint, record
from resolvers.models.ledger import AuditEvent
from resolvers.models.partners import Audience
from schema.ids import to_global_id
from tests.conftest import GraphQL

CHAIN = """
query ($recent: Int!) {
  ledgerChain(recent: $recent) { events headId headHash headAt checkedEvents intact brokenReason brokenEventId }
}"""


async def test_admin_sees_the_head_and_the_newest_events_hold(gql: GraphQL, session: AsyncSession) -> None:
    for n in range(3):
        await record_event(session, kind="client.test", detail={"n": n})
    await session.flush()
    body = (await gql(CHAIN, {"recent": 3})).json()
    assert "errors" not in body, body
    chain = body["data"]["ledgerChain"]
    # The request's own event is appended after it answered: the head it saw is the one before.
    _own, newest = list(await session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(2)))
    assert chain["headId"] == to_global_id("AuditEvent", newest.id)
    assert chain["headHash"] == newest.hash
    assert chain["events"] >= 3
    assert (chain["checkedEvents"], chain["intact"], chain["brokenReason"]) == (3, True, None)


async def test_a_changed_event_is_named(gql: GraphQL, session: AsyncSession) -> None:
    for n in range(3):
        await record_event(session, kind="client.test", detail={"n": n})
    await session.flush()
    ids = list(await session.scalars(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(3)))
    changed = ids[1]
    postgres = session.get_bind().dialect.name == "postgresql"
    # The ledger's triggers refuse changes; an owner who disables them is whom the check catches
    # (for this test's transaction only: SQLite's DDL is rolled back with it too).
    if postgres:
        await session.execute(text("SET LOCAL session_replication_role = replica"))
    else:
        await session.execute(text("DROP TRIGGER audit_events_no_update"))
    await session.execute(
        text("UPDATE audit_events SET detail = :d WHERE id = :id"), {"d": '{"n": 99}', "id": changed}
    )
    if postgres:
        await session.execute(text("SET LOCAL session_replication_role = origin"))
    await session.flush()
    body = (await gql(CHAIN, {"recent": 5})).json()
    assert "errors" not in body, body
    chain = body["data"]["ledgerChain"]
    assert chain["intact"] is False
    assert chain["brokenEventId"] == to_global_id("AuditEvent", changed)
    assert "was changed" in chain["brokenReason"]


@pytest.mark.parametrize("audience", [Audience.VICTIM_SERVICES, Audience.RESEARCH_UNIT])
async def test_no_other_audience_sees_the_chain(gql: GraphQL, audience: Audience) -> None:
    body = (await gql(CHAIN, {"recent": 3}, audience=audience)).json()
    assert "data" not in body, body
    assert body["errors"]


LATEST = """
query {
  ledgerChain(recent: 1) {
    latestCheckpoint { events headId headHash signedAt keyId verified problem }
  }
}"""


async def _sign_and_record(
    session: AsyncSession, sessions: async_sessionmaker[AsyncSession]
) -> dict[str, object]:
    value = await checkpoint(session, await KeyStore(sessions, KeyPolicy()).signer())
    await record(session, value)
    await session.flush()
    return value


async def test_no_checkpoint_recorded_is_null(gql: GraphQL) -> None:
    body = (await gql(LATEST, {})).json()
    assert "errors" not in body, body
    assert body["data"]["ledgerChain"]["latestCheckpoint"] is None


async def test_the_latest_recorded_checkpoint_is_shown_and_verified(
    gql: GraphQL, session: AsyncSession, sessions: async_sessionmaker[AsyncSession]
) -> None:
    for n in range(2):
        await record_event(session, kind="client.test", detail={"n": n})
    await session.flush()
    await _sign_and_record(session, sessions)  # an older one
    await record_event(session, kind="client.test", detail={"n": 2})
    await session.flush()
    value = await _sign_and_record(session, sessions)
    head = await session.scalar(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1))
    assert head is not None
    body = (await gql(LATEST, {})).json()
    assert "errors" not in body, body
    latest = body["data"]["ledgerChain"]["latestCheckpoint"]
    assert latest["headId"] == to_global_id("AuditEvent", head.id)
    assert latest["headHash"] == head.hash
    assert latest["events"] == value["events"]
    assert latest["keyId"] == value["kid"]
    assert datetime.fromisoformat(latest["signedAt"]) == datetime.fromisoformat(str(value["at"]))
    assert (latest["verified"], latest["problem"]) == (True, None)


async def test_a_recorded_checkpoint_whose_event_changed_does_not_verify(
    gql: GraphQL, session: AsyncSession, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await record_event(session, kind="client.test", detail={"n": 0})
    await session.flush()
    value = await _sign_and_record(session, sessions)
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        await session.execute(text("SET LOCAL session_replication_role = replica"))
    else:
        await session.execute(text("DROP TRIGGER audit_events_no_update"))
    await session.execute(
        text("UPDATE audit_events SET hash = :h WHERE id = :id"), {"h": "0" * 64, "id": value["head_id"]}
    )
    if postgres:
        await session.execute(text("SET LOCAL session_replication_role = origin"))
    await session.flush()
    body = (await gql(LATEST, {})).json()
    assert "errors" not in body, body
    latest = body["data"]["ledgerChain"]["latestCheckpoint"]
    assert latest["verified"] is False
    assert "the chain was rewritten" in latest["problem"]
