"""Signed checkpoints: a rewrite of the ledger that recomputes every hash passes ``hub audit verify``
but not ``hub audit verify --checkpoints`` against a checkpoint taken before it."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from auth.audit import GENESIS, chain_hash, record_event
from auth.ledger import events_in_order
from hub.cli import main
from resolvers.models.ledger import AuditEvent, LedgerCheckpointRecord
from tests.factories.stores import fresh_store


async def _rewrite_and_rehash(engine: AsyncEngine, event_id: int) -> None:
    """What the tables' owner can do: step around the triggers, change a past event, and recompute
    the chain after it so that every link holds again."""
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    async with sessions() as s:
        if engine.dialect.name == "postgresql":
            await s.execute(text("ALTER TABLE audit_events DISABLE TRIGGER ALL"))
        else:
            await s.execute(text("DROP TRIGGER audit_events_no_update"))
        await s.execute(update(AuditEvent).where(AuditEvent.id == event_id).values(request_id="forged"))
        previous = GENESIS
        rehashed: list[tuple[int, str, str]] = []
        async for event, disclosures in events_in_order(s):
            digest = chain_hash(previous, event, disclosures)
            rehashed.append((event.id, previous, digest))
            previous = digest
        for pk, prev_hash, digest in rehashed:
            await s.execute(
                update(AuditEvent).where(AuditEvent.id == pk).values(prev_hash=prev_hash, hash=digest)
            )
        if engine.dialect.name == "postgresql":
            await s.execute(text("ALTER TABLE audit_events ENABLE TRIGGER ALL"))
        await s.commit()


async def test_a_rehashed_rewrite_passes_verify_but_not_verify_against_an_earlier_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async with fresh_store(tmp_path, "checkpoints") as (settings, engine):
        monkeypatch.setenv("HUB_DATABASE_URL", settings.database_url)
        sessions = async_sessionmaker(engine, expire_on_commit=False)
        async with sessions() as s:
            first = [await record_event(s, kind="graphql", request_id=f"r{i}") for i in range(3)]
            await s.commit()
        checkpoints = tmp_path / "checkpoints.jsonl"
        assert await asyncio.to_thread(main, ["audit", "checkpoint", "--out", str(checkpoints)]) == 0
        async with sessions() as s:
            for i in range(2):
                await record_event(s, kind="graphql", request_id=f"s{i}")
            await s.commit()
        # The second checkpoint goes to standard output, as to a log collector, and is kept too.
        assert await asyncio.to_thread(main, ["audit", "checkpoint"]) == 0
        printed = capsys.readouterr().out.strip().splitlines()[-1]
        with checkpoints.open("a") as sink:
            sink.write(json.dumps({"message": "ledger checkpoint", "checkpoint": json.loads(printed)}) + "\n")
            sink.write("a line of something else\n")
        lines = checkpoints.read_text().splitlines()
        signed = json.loads(lines[0])
        assert signed["events"] >= 3
        assert signed["head"] is not None
        assert signed["jws"].count(".") == 2

        assert await asyncio.to_thread(main, ["audit", "verify", "--checkpoints", str(checkpoints)]) == 0
        assert "extends all 2 checkpoints" in capsys.readouterr().out
        # Both were recorded in the store as well.
        assert await asyncio.to_thread(main, ["audit", "verify", "--stored-checkpoints"]) == 0
        assert "extends all 2 checkpoints in <the store's ledger_checkpoints>" in capsys.readouterr().out

        await _rewrite_and_rehash(engine, first[1].id)
        assert await asyncio.to_thread(main, ["audit", "verify"]) == 0  # the chain itself holds again
        capsys.readouterr()
        assert await asyncio.to_thread(main, ["audit", "verify", "--checkpoints", str(checkpoints)]) == 1
        err = capsys.readouterr().err
        assert f"checkpoints.jsonl:1 does not hold: the checkpoint of {signed['at']} signed event" in err
        assert "the chain was rewritten" in err
        assert await asyncio.to_thread(main, ["audit", "verify", "--stored-checkpoints"]) == 1
        assert "the chain was rewritten" in capsys.readouterr().err


async def test_a_checkpoint_not_signed_by_the_hub_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async with fresh_store(tmp_path, "forged_checkpoint") as (settings, engine):
        monkeypatch.setenv("HUB_DATABASE_URL", settings.database_url)
        async with async_sessionmaker(engine)() as s:
            await record_event(s, kind="graphql")
            await s.commit()
        assert await asyncio.to_thread(main, ["audit", "checkpoint"]) == 0
        line = json.loads(capsys.readouterr().out)
        header, payload, signature = line["jws"].split(".")
        forged = tmp_path / "forged.jsonl"
        forged.write_text(json.dumps({**line, "jws": f"{header}.{payload}.{signature[::-1]}"}) + "\n")
        assert await asyncio.to_thread(main, ["audit", "verify", "--checkpoints", str(forged)]) == 1
        assert "forged.jsonl:1 does not hold: the checkpoint is not the hub's" in capsys.readouterr().err

        empty = tmp_path / "empty.jsonl"
        empty.write_text("nothing here\n")
        assert await asyncio.to_thread(main, ["audit", "verify", "--checkpoints", str(empty)]) == 1
        assert "holds no checkpoint" in capsys.readouterr().err
        assert (
            await asyncio.to_thread(main, ["audit", "verify", "--checkpoints", str(tmp_path / "missing")])
            == 2
        )
        assert "cannot be read" in capsys.readouterr().err


async def test_the_server_logs_a_checkpoint_and_records_it_in_the_store(
    session: AsyncSession, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    from auth.ledger_checkpoints import emit_checkpoints
    from auth.tokens import generate_key, load_signer

    key = generate_key("ES256")
    signer = load_signer(key.kid, key.alg, key.private_pem, None)

    async def sign() -> object:
        return signer

    class Sessions:
        """The test's session, lent as a session factory; counts the sessions given back."""

        closed = 0

        def __call__(self) -> Sessions:
            return self

        async def __aenter__(self) -> AsyncSession:
            return session

        async def __aexit__(self, *exc: object) -> None:
            Sessions.closed += 1

    await record_event(session, kind="graphql")
    head = await session.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1))
    with caplog.at_level(logging.INFO, logger="hub.ledger"):
        task = asyncio.create_task(
            emit_checkpoints(Sessions(), sign, 3600, logging.getLogger("hub.ledger"))  # type: ignore[arg-type]
        )
        # Signed in one session and recorded in the store in a second: then it waits its interval.
        for _ in range(500):
            if Sessions.closed >= 2:
                break
            await asyncio.sleep(0.01)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    stored = await session.scalar(select(LedgerCheckpointRecord))
    assert stored is not None
    assert stored.head == head
    assert stored.kid == key.kid
    [record] = [r for r in caplog.records if r.getMessage() == "ledger checkpoint"]
    assert record.checkpoint["head"] == head  # type: ignore[attr-defined]
