"""``hub worker``: run the victim notification worker against HUB_DATABASE_URL.

On PostgreSQL any number of workers may run (claims use ``FOR UPDATE SKIP LOCKED``); on an SQLite
store run exactly one. SIGINT/SIGTERM stop it after the pass in progress has recorded its attempts.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from typing import Any

from hub.errors import ConfigError
from hub.settings import Settings
from hub.worker import PassReport


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"takes a whole number, not {text!r}") from None
    if not 1 <= value <= 500:
        raise argparse.ArgumentTypeError(f"must be between 1 and 500 (got {value})")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"takes a number of seconds, not {text!r}") from None
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError(f"must be more than 0 and at most 3600 seconds (got {text})")
    return value


def pass_summary(report: PassReport) -> str:
    """What one pass did, in the words of the queue: a temporary failure is a retry scheduled."""
    gave_up = report.failed - report.retrying + report.expired
    return (
        f"claimed {report.claimed}: delivered {report.delivered}, retries scheduled {report.retrying}, "
        f"gave up on {gave_up} (attempts used up or refused for good); "
        f"handed back {report.recovered} stopped mid-delivery"
    )


async def _work(settings: Settings, once: bool, batch: int | None, poll_s: float | None) -> int:
    from hub.db import check_runtime_role, check_store, create_engine, session_factory
    from hub.delivery.messages import TemplateError
    from hub.logs import configure_logging
    from hub.metrics import WorkerMetrics, serve_metrics
    from hub.worker import Worker, config_from, senders_from

    configure_logging(settings.log_level)
    engine = create_engine(settings)
    listener = None
    try:
        await check_store(engine, settings)
        await check_runtime_role(engine, settings)
        metrics = WorkerMetrics() if settings.worker_metrics_port and not once else None
        try:
            worker = Worker(
                session_factory(engine),
                senders_from(settings),
                config_from(settings, batch=batch, poll_s=poll_s),
                metrics=metrics,
            )
        except TemplateError as exc:
            raise ConfigError(f"notification templates: {exc}") from None
        except ValueError as exc:
            raise ConfigError(f"HUB_NOTIFY_LEASE_S: {exc}") from None
        await worker.announce()
        if metrics is not None and settings.worker_metrics_port:
            listener = serve_metrics(settings.metrics_host, settings.worker_metrics_port, metrics.registry)
        if once:
            report = await worker.run_once()
            print(pass_summary(report))
            return 0
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        await worker.run(stop)
        return 0
    finally:
        if listener is not None:
            listener.shutdown()
            listener.server_close()
        await engine.dispose()


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(_work(settings, args.once, args.batch, args.poll_interval))


def register(sub: Any) -> None:
    p = sub.add_parser(
        "worker",
        help="deliver victim notifications (email, text, calls, letters); one per SQLite store",
    )
    p.add_argument("--once", action="store_true", help="run one pass and exit")
    p.add_argument("--batch", type=_positive_int, default=None, help="notifications claimed at once")
    p.add_argument("--poll-interval", type=_seconds, default=None, help="seconds to wait when nothing is due")
    p.set_defaults(handler=cmd_worker)
