"""The ledger's one-call append on PostgreSQL (``hub_ledger_append``, migration 0010): the canonical
JSON it is sent joins to the bytes the Python chain hashes, its chain is the Python chain (events
of both paths, mixed, verify), a batch writes its disclosures, concurrent appenders of every kind
keep one chain that ``hub audit verify`` accepts, and a failed call fails every request of its batch."""

from __future__ import annotations

import asyncio
import importlib
import random
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import auth.ledger_appender
from auth.audit import (
    LEDGER_LOCK,
    Disclosure,
    append_chain,
    append_in_python,
    canonical,
    canonical_parts,
    chain_hash,
    new_event,
)
from auth.ledger import verify
from auth.ledger_appender import LedgerAppender
from hub.cli import main
from hub.db import create_engine
from resolvers.models.ledger import AuditDisclosure, AuditEvent
from tests.factories.stores import fresh_store

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)
texts = st.none() | st.text(max_size=20)


@settings(max_examples=200, deadline=None)
@given(
    kind=st.text(min_size=1, max_size=10),
    request_id=texts,
    audience=st.none() | st.sampled_from(["admin", "victim_services"]),
    variables=st.none() | st.dictionaries(st.text(max_size=12), json_values, max_size=4),
    detail=st.none() | st.dictionaries(st.sampled_from(["occurred_at", "n", "zz", "ä"]), json_values),
    correlation_id=texts,
    source_address=texts,
    # The function stamps its own clock's times: years of four digits.
    time=st.datetimes(datetime(1970, 1, 1), datetime(9999, 1, 1), timezones=st.just(UTC)),
    disclosures=st.lists(
        st.tuples(st.sampled_from(["person", "victim"]), st.integers(0, 2**31 - 1), st.lists(st.text())),
        max_size=3,
    ),
)
def test_the_canonical_parts_join_to_the_canonical_json(
    kind: str,
    request_id: str | None,
    audience: str | None,
    variables: dict[str, object] | None,
    detail: dict[str, object] | None,
    correlation_id: str | None,
    source_address: str | None,
    time: datetime,
    disclosures: list[Disclosure],
) -> None:
    event = new_event(
        kind=kind,
        request_id=request_id,
        audience=audience,
        variables=variables,
        detail=detail,
        correlation_id=correlation_id,
        source_address=source_address,
    )
    head, tail = canonical_parts(event, disclosures)
    assert tail is not None
    event.occurred_at = time
    # What hub_ledger_append puts in between: the time as the function's to_char writes it.
    stamp = '"' + time.strftime("%Y-%m-%dT%H:%M:%S.%f") + '+00:00"'
    assert head + stamp.encode() + tail == canonical(event, disclosures)
    assert canonical_parts(event, disclosures) == (canonical(event, disclosures), None)


def _event(n: int, **fields: object) -> AuditEvent:
    return new_event(
        kind="graphql",
        request_id=f"r{n}",
        audience="victim_services" if n % 3 == 0 else "admin",
        variables={"id": f"ä{n}", "nested": {"b": [1, None, "\u2028"], "a": n}},
        **fields,  # type: ignore[arg-type]
    )


@pytest.mark.postgres
async def test_the_function_chains_as_python_does_and_both_paths_verify_mixed(session: AsyncSession) -> None:
    disclosed: list[Disclosure] = [("person", 7, ["identity", "public_person"]), ("victim", 8, ["victims"])]
    batches: list[list[tuple[AuditEvent, list[Disclosure]]]] = [
        [(_event(1), [])],
        [(_event(2), disclosed), (_event(3), disclosed[:1]), (_event(4), [])],
        [(_event(5), disclosed)],
        [(_event(6, occurred_at=datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)), disclosed)],
        [(_event(7, correlation_id="caller-1", source_address="10.0.0.1"), disclosed)],
    ]
    for i, batch in enumerate(batches):
        # Python's path (SQLite's, and PostgreSQL's before 0010) and the function's, alternating.
        await (append_in_python if i % 2 else append_chain)(session, batch)
    events = [(event, d) for batch in batches for event, d in batch]
    for (before, _), (event, disclosures) in pairwise(events):
        assert event.prev_hash == before.hash
        assert event.hash == chain_hash(event.prev_hash, event, disclosures)
        assert event.id > before.id
    assert events[5][0].occurred_at == datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)

    rows = await session.execute(
        select(AuditDisclosure.event_id, AuditDisclosure.subject_kind, AuditDisclosure.field_classes)
        .where(AuditDisclosure.event_id.in_([e.id for e, _ in events]))
        .order_by(AuditDisclosure.id)
    )
    assert [tuple(r) for r in rows] == [
        (event.id, kind, sorted(classes)) for event, d in events for kind, _pk, classes in d
    ]
    nothing = (
        select(func.count()).select_from(AuditDisclosure).where(AuditDisclosure.event_id == events[3][0].id)
    )
    assert await session.scalar(nothing) == 0
    assert (await verify(session)).broken is None
    # What verify reads back hashes as what the function wrote.
    stored = await session.get(AuditEvent, events[1][0].id)
    assert stored is not None
    assert stored.occurred_at == events[1][0].occurred_at
    assert stored.hash == events[1][0].hash


@pytest.mark.postgres
async def test_a_victim_services_batch_seals_its_disclosures(session: AsyncSession) -> None:
    event = new_event(kind="graphql", audience="victim_services")
    other = new_event(kind="graphql", audience="admin")
    await append_chain(
        session, [(event, [("person", 1, ["identity"])]), (other, [("person", 1, ["identity"])])]
    )
    query = select(AuditDisclosure.event_id, AuditDisclosure.sealed)
    rows = await session.execute(query.where(AuditDisclosure.event_id.in_([event.id, other.id])))
    assert {row.event_id: row.sealed for row in rows} == {event.id: True, other.id: False}


@pytest.mark.postgres
async def test_concurrent_appends_of_every_kind_keep_one_chain(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Three appenders on connections of their own (three hub processes' worth), events appended one
    per transaction and Python-path appends, all at once: one chain, every disclosure written."""
    async with fresh_store(tmp_path, "ledger_fn") as (settings_, engine):
        engines = [create_engine(settings_) for _ in range(3)]
        appenders = [LedgerAppender(async_sessionmaker(e), window_s=0.001, engine=e) for e in engines]
        sessions = async_sessionmaker(engine, expire_on_commit=False)
        rng = random.Random(16)
        disclosed: list[Disclosure] = [("person", 1, ["public_person"]), ("victim", 2, ["victims"])]

        async def grouped(a: LedgerAppender, n: int) -> None:
            for i in range(n):
                await a.append(_event(i), disclosed[: i % 3])
                if rng.random() < 0.1:
                    await asyncio.sleep(0.002)

        async def alone(n: int, python: bool) -> None:
            for i in range(n):
                async with sessions() as s:
                    batch = [(_event(i), disclosed)]
                    await (append_in_python if python else append_chain)(s, batch)
                    await s.commit()

        try:
            await asyncio.gather(
                *(grouped(a, 40) for a in appenders for _ in range(12)),
                *(alone(20, python=i % 2 == 1) for i in range(4)),
            )
        finally:
            for a in appenders:
                await a.close()
            for e in engines:
                await e.dispose()
        total = 3 * 12 * 40 + 4 * 20
        async with sessions() as s:
            assert await s.scalar(select(func.count()).select_from(AuditEvent)) == total
            disclosures = 3 * 12 * sum(i % 3 for i in range(40)) + 4 * 20 * 2
            assert await s.scalar(select(func.count()).select_from(AuditDisclosure)) == disclosures
            times = list(await s.scalars(select(AuditEvent.occurred_at).order_by(AuditEvent.id)))
            # Taken under the lock: never backwards along the chain (the database's clock, and for the
            # Python-path appends this process's: the same machine's here).
            assert all(a <= b for a, b in pairwise(times))
            result = await verify(s)
            assert result.broken is None
            assert result.events == total
        monkeypatch.setenv("HUB_DATABASE_URL", settings_.database_url)
        capsys.readouterr()
        assert await asyncio.to_thread(main, ["audit", "verify"]) == 0
        assert f"the chain holds: {total} events" in capsys.readouterr().out


@pytest.mark.postgres
async def test_a_failed_call_fails_every_request_of_its_batch_and_the_next_batch_writes(
    tmp_path: Path,
) -> None:
    async with fresh_store(tmp_path, "ledger_fn_fail") as (settings_, engine):
        own = create_engine(settings_)
        appender = LedgerAppender(async_sessionmaker(own), window_s=0.01, engine=own)
        try:
            await appender.append(new_event(kind="graphql", request_id="first"))
            # One event the store refuses (its CHECK on outcome) fails the whole call: no event of the
            # batch is written, and every request in it is told.
            outcomes = await asyncio.gather(
                *(appender.append(new_event(kind="graphql", request_id=f"r{i}")) for i in range(4)),
                appender.append(new_event(kind="graphql", request_id="bad", outcome="forged")),
                return_exceptions=True,
            )
            assert all(isinstance(o, Exception) for o in outcomes), outcomes
            await appender.append(
                new_event(kind="graphql", request_id="after"), [("person", 1, ["identity"])]
            )
        finally:
            await appender.close()
            await own.dispose()
        async with async_sessionmaker(engine)() as s:
            assert list(await s.scalars(select(AuditEvent.request_id).order_by(AuditEvent.id))) == [
                "first",
                "after",
            ]
            assert (await verify(s)).broken is None


def test_the_function_takes_the_lock_every_other_append_takes() -> None:
    migration = importlib.import_module("migrations.versions.0010_ledger_append")
    assert migration.LEDGER_LOCK == LEDGER_LOCK
    assert f"pg_advisory_xact_lock({LEDGER_LOCK})" in migration._CREATE


@pytest.mark.postgres
async def test_the_held_connection_dropped_by_the_server_is_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The appender keeps its connection across batches; one the server dropped fails at most the
    batch that finds it, and none after an idle second (the pool's ping at check-out replaces it)."""
    async with fresh_store(tmp_path, "ledger_fn_drop") as (settings_, engine):
        own = create_engine(settings_)
        appender = LedgerAppender(async_sessionmaker(own), window_s=0.001, engine=own)

        async def drop_the_held_connection() -> None:
            held = appender._connection
            assert held is not None
            pid = await held.scalar(select(func.pg_backend_pid()))
            await held.commit()
            async with engine.connect() as admin:
                assert await admin.scalar(select(func.pg_terminate_backend(pid)))

        try:
            await appender.append(new_event(kind="graphql", request_id="first"))
            await drop_the_held_connection()
            monkeypatch.setattr(auth.ledger_appender, "IDLE_S", 0.0)  # as if it sat idle
            await appender.append(new_event(kind="graphql", request_id="after-idle"))
            monkeypatch.setattr(auth.ledger_appender, "IDLE_S", 3600.0)
            await drop_the_held_connection()
            with pytest.raises(Exception):  # noqa: B017, PT011 - whatever the driver says
                await appender.append(new_event(kind="graphql", request_id="lost"))
            await appender.append(new_event(kind="graphql", request_id="next"))
        finally:
            await appender.close()
            await own.dispose()
        async with async_sessionmaker(engine)() as s:
            written = list(await s.scalars(select(AuditEvent.request_id).order_by(AuditEvent.id)))
            assert written == ["first", "after-idle", "next"]
            assert (await verify(s)).broken is None
