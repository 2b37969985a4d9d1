"""The worker's heartbeat row: written when ``run`` starts, marked stopped when it ends cleanly, and
rows of workers gone for a week deleted by the next new worker's beat."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.worker import HEARTBEAT_KEPT, Worker, WorkerConfig
from resolvers.models.victims import WorkerHeartbeat


async def _row(sessions: async_sessionmaker[AsyncSession], worker_id: str) -> WorkerHeartbeat | None:
    async with sessions() as session:
        return await session.get(WorkerHeartbeat, worker_id)


async def test_run_beats_at_start_and_marks_the_row_stopped_on_a_clean_stop(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    now = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
    worker = Worker(sessions, {}, WorkerConfig(heartbeat_s=7.0), clock=lambda: now)
    assert await _row(sessions, worker.worker_id) is None
    stop = asyncio.Event()
    stop.set()  # stopped before its first pass: the beat at start and the stop mark remain
    await worker.run(stop)
    row = await _row(sessions, worker.worker_id)
    assert row is not None
    assert row.beat_at == now
    assert row.started_at == now
    assert row.stopped_at == now
    assert row.interval_s == 7.0
    assert row.pid > 0
    assert row.host


async def test_a_new_worker_deletes_rows_of_workers_gone_for_a_week(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    now = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
    old = Worker(sessions, {}, clock=lambda: now - HEARTBEAT_KEPT - timedelta(minutes=1))
    recent = Worker(sessions, {}, clock=lambda: now - HEARTBEAT_KEPT + timedelta(minutes=1))
    await old.beat()
    await recent.beat()
    new = Worker(sessions, {}, clock=lambda: now)
    await new.beat()
    async with sessions() as session:
        ids = set((await session.scalars(select(WorkerHeartbeat.worker_id))).all())
    assert old.worker_id not in ids
    assert {recent.worker_id, new.worker_id} <= ids
