"""``hub audit`` against a store of its own: verify's exit code and message, export, purge's refusal."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import async_sessionmaker

from auth.audit import record_event
from hub.cli import main
from resolvers.models.ledger import AuditEvent
from tests.factories.stores import fresh_store


async def test_verify_export_and_purge_from_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async with fresh_store(tmp_path, "auditcli") as (settings, engine):
        monkeypatch.setenv("HUB_DATABASE_URL", settings.database_url)
        sessions = async_sessionmaker(engine, expire_on_commit=False)
        async with sessions() as s:
            events = [await record_event(s, kind="graphql", request_id=f"r{i}") for i in range(3)]
            await s.commit()

        assert await asyncio.to_thread(main, ["audit", "verify"]) == 0
        assert "the chain holds: 3 events" in capsys.readouterr().out

        assert await asyncio.to_thread(main, ["audit", "export", "--format", "jsonl"]) == 0
        lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert [line["request_id"] for line in lines] == ["r0", "r1", "r2"]

        today = datetime.now(UTC).date().isoformat()
        assert await asyncio.to_thread(main, ["audit", "purge", "--before", today]) == 2
        assert "365-day retention" in capsys.readouterr().err

        a_year_ago = (datetime.now(UTC) - timedelta(days=366)).date().isoformat()
        assert await asyncio.to_thread(main, ["audit", "purge", "--before", a_year_ago]) == 0
        assert "nothing purged" in capsys.readouterr().out

        async with sessions() as s:
            # Someone with the database owner's rights goes around the triggers and edits an event.
            if engine.dialect.name == "postgresql":
                await s.execute(text("SET LOCAL session_replication_role = replica"))
            else:
                await s.execute(text("DROP TRIGGER audit_events_no_update"))
            await s.execute(
                update(AuditEvent).where(AuditEvent.id == events[1].id).values(request_id="forged")
            )
            await s.commit()
        assert await asyncio.to_thread(main, ["audit", "verify"]) == 1
        assert f"broken at event {events[1].id}" in capsys.readouterr().err
