"""The notification worker's metrics, scraped from its listener and parsed, after real deliveries."""

from __future__ import annotations

import asyncio

import httpx
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from hub.metrics import WorkerMetrics, serve_metrics
from hub.worker import Worker, config_from, senders_from
from tests.factories.notifications import free_port
from tests.hub.test_worker import Rig, email, rig

__all__ = ["rig"]  # the fixture, shared with the worker's own tests


def _worker(rig: Rig, metrics: WorkerMetrics) -> Worker:
    settings = rig.settings()
    return Worker(
        rig.sessions, senders_from(settings), config_from(settings), clock=rig.clock, metrics=metrics
    )


async def _scrape(metrics: WorkerMetrics) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    port = free_port()
    server = serve_metrics("127.0.0.1", port, metrics.registry)
    try:
        async with httpx.AsyncClient() as scraper:
            text = (await scraper.get(f"http://127.0.0.1:{port}/metrics")).text
    finally:
        server.shutdown()
        server.server_close()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def test_deliveries_the_queue_and_the_heartbeat_are_reported(rig: Rig) -> None:
    await rig.event(email("a@example.org"), (("phone", "573-555-0102"),))
    metrics = WorkerMetrics(CollectorRegistry())
    worker = _worker(rig, metrics)
    await worker.run_once()
    await worker.observe()

    samples = await _scrape(metrics)
    assert (
        samples[("hub_worker_deliveries_total", frozenset({("channel", "email"), ("outcome", "delivered")}))]
        == 1
    )
    assert (
        samples[("hub_worker_deliveries_total", frozenset({("channel", "phone"), ("outcome", "delivered")}))]
        == 1
    )
    assert samples[("hub_notifications", frozenset({("status", "delivered")}))] == 2
    assert samples[("hub_notifications", frozenset({("status", "failed")}))] == 0
    assert samples[("hub_notifications_awaiting_acknowledgement", frozenset())] == 1
    assert samples[("hub_notification_oldest_due_seconds", frozenset())] == 0
    assert samples[("hub_worker_heartbeat_timestamp_seconds", frozenset())] == rig.clock().timestamp()

    # The call's repeat falls due after HUB_NOTIFY_ACK_REPEAT_S (600 s here) and waits until a pass.
    rig.clock.advance(630)
    await worker.observe()
    waited = (await _scrape(metrics))[("hub_notification_oldest_due_seconds", frozenset())]
    assert 29 <= waited <= 31


async def test_the_worker_loop_reports_after_each_pass(rig: Rig) -> None:
    metrics = WorkerMetrics(CollectorRegistry())
    worker = _worker(rig, metrics)
    stop = asyncio.Event()
    loop = asyncio.create_task(worker.run(stop))
    for _ in range(100):
        if (metrics.registry.get_sample_value("hub_worker_heartbeat_timestamp_seconds") or 0) > 0:
            break
        await asyncio.sleep(0.05)
    stop.set()
    await loop
    assert (
        metrics.registry.get_sample_value("hub_worker_heartbeat_timestamp_seconds") == rig.clock().timestamp()
    )
