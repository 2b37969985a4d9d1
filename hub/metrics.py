"""Prometheus metrics: what the hub counts about its requests, served on a listener of their own.

The metrics never carry data, variables or ids of people: their labels are the route, the audience,
a bounded set of operation names, the outcome and the HTTP status. They are served on
``HUB_METRICS_HOST:HUB_METRICS_PORT`` (off unless the port is set), never on the public port, so a
partner cannot read another partner's traffic. With several uvicorn workers the values go through
prometheus_client's multiprocess files (``PROMETHEUS_MULTIPROC_DIR``, which ``hub serve`` sets).
"""

from __future__ import annotations

import math
import os
import re
import threading
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.multiprocess import MultiProcessCollector

#: Request latency buckets (seconds): a person by id is a few ms, a page of 100 people tens.
LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 15.0)
#: Operation cost buckets (the static cost of HUB_MAX_COST's model).
COST_BUCKETS = (1, 10, 100, 1_000, 10_000, 50_000, 200_000, 1_000_000)
#: The ledger append, the fixed cost on every request.
APPEND_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5)
#: Events per group commit of the ledger.
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)

_NAME = re.compile(r"^[_A-Za-z][_0-9A-Za-z]{0,63}$")
ANONYMOUS = "anonymous"
OTHER = "other"


class OperationNames:
    """Operation names as a label of bounded cardinality.

    A client chooses its operation names, so an unbounded label would let it grow the metrics
    without limit: the first ``limit`` distinct valid names a process sees are kept, later ones (and
    malformed ones) count as ``other``; an operation without a name is ``anonymous``.
    """

    def __init__(self, limit: int = 200) -> None:
        self.limit = limit
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def label(self, name: str | None) -> str:
        if not name:
            return ANONYMOUS
        if name in self._seen:
            return name
        if not _NAME.match(name):
            return OTHER
        with self._lock:
            if len(self._seen) >= self.limit:
                return OTHER
            self._seen.add(name)
        return name


class HubMetrics:
    """The hub's metrics in one registry (one per app, so tests and apps don't share values)."""

    def __init__(self, registry: CollectorRegistry | None = None, *, operation_limit: int = 200) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        self.operations = OperationNames(operation_limit)
        self._checked_out: Callable[[], int] | None = None
        r = self.registry
        self.requests = Counter(
            "hub_requests",
            "Requests answered, by route, audience, operation name, outcome and HTTP status.",
            ["route", "audience", "operation", "outcome", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "hub_request_duration_seconds",
            "Time from the first byte of a request to the end of its response.",
            ["route", "audience"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.cost = Histogram(
            "hub_operation_cost",
            "Static cost of the GraphQL operations that ran (coerced variables), by audience.",
            ["audience"],
            buckets=COST_BUCKETS,
            registry=r,
        )
        self.refusals = Counter(
            "hub_refusals",
            "Requests refused before or instead of running, by error code (rate limits, throttling, "
            "limits, authentication, store outages).",
            ["route", "code"],
            registry=r,
        )
        self.ledger_appends = Histogram(
            "hub_ledger_append_seconds",
            "Time from a request's end to its ledger event's commit (with group commit, its batch's).",
            buckets=APPEND_BUCKETS,
            registry=r,
        )
        self.ledger_batches = Histogram(
            "hub_ledger_batch_events",
            "Events written by one group commit of the ledger (HUB_LEDGER_BATCH_MS).",
            buckets=BATCH_BUCKETS,
            registry=r,
        )
        self.ledger_failures = Counter(
            "hub_ledger_append_failures",
            "Ledger appends that failed (the request was then not served: fail closed).",
            registry=r,
        )
        self.pool_in_use = Gauge(
            "hub_db_pool_connections_in_use",
            "Store connections checked out of the pool, as the latest request ended.",
            registry=r,
            multiprocess_mode="livesum",
        )

        #: The read replica's metrics, registered by ``track_replica`` (only with HUB_READ_DATABASE_URL).
        self.query_reads: Counter | None = None
        self.replica_lag: Gauge | None = None
        self.replica_usable: Gauge | None = None

    def observe_request(
        self,
        *,
        route: str,
        audience: str | None,
        operation: str | None,
        outcome: str,
        status: int,
        seconds: float,
        code: str | None,
        cost: int | None,
    ) -> None:
        aud = audience or "none"
        self.requests.labels(route, aud, self.operations.label(operation), outcome, str(status)).inc()
        self.latency.labels(route, aud).observe(seconds)
        if cost:
            self.cost.labels(aud).observe(cost)
        if code and status >= 400:
            self.refusals.labels(route, code).inc()
        if self._checked_out is not None:
            self.pool_in_use.set(self._checked_out())

    def observe_append(self, seconds: float, *, failed: bool) -> None:
        if failed:
            self.ledger_failures.inc()
        else:
            self.ledger_appends.observe(seconds)

    def track_replica(self) -> None:
        """Register the replica's metrics: a hub without one exports none (not a misleading 0)."""
        if self.query_reads is not None:
            return
        r = self.registry
        self.query_reads = Counter(
            "hub_query_reads",
            "GraphQL queries by where they read: reason replica, or why the primary (recent_write, "
            "lagging, replica_down, replica_busy, not_standby, unchecked). Only with HUB_READ_DATABASE_URL.",
            ["reason"],
            registry=r,
        )
        self.replica_lag = Gauge(
            "hub_replica_lag_seconds",
            "The read replica's lag as last measured (at most every HUB_REPLICA_CHECK_S); NaN while unknown.",
            registry=r,
            multiprocess_mode="livemax",
        )
        self.replica_usable = Gauge(
            "hub_replica_usable",
            "1 while queries may read from the replica (up, a standby, within HUB_REPLICA_MAX_LAG_S), else 0.",
            registry=r,
            multiprocess_mode="livemin",
        )
        self.replica_lag.set(math.nan)  # not measured yet

    def observe_read(self, reason: str) -> None:
        if self.query_reads is not None:
            self.query_reads.labels(reason).inc()

    def observe_replica(self, lag_s: float | None, *, usable: bool) -> None:
        if self.replica_lag is not None and self.replica_usable is not None:
            self.replica_lag.set(math.nan if lag_s is None else lag_s)
            self.replica_usable.set(1 if usable else 0)

    def observe_batch(self, events: int, seconds: float, failed: bool) -> None:
        """One group commit of the ledger (``LedgerAppender.on_batch``); its requests count their own
        appends and failures."""
        if not failed:
            self.ledger_batches.observe(events)

    def track_pool(self, checked_out: Callable[[], int]) -> None:
        """Report ``checked_out()`` as the pool gauge, read as each request ends (a gauge read at
        scrape time would not work across worker processes)."""
        self._checked_out = checked_out


def route_label(path: str) -> str:
    """The route template of a path: extracts' agreement ids and unknown paths stay out of labels."""
    if path.startswith("/research/extracts/"):
        return "/research/extracts/{agreement_id}.csv"
    if path in KNOWN_ROUTES:
        return path
    return "other"


KNOWN_ROUTES = frozenset(
    {
        "/graphql",
        "/oauth/token",
        "/oauth/revoke",
        "/.well-known/jwks.json",
        "/.well-known/oauth-authorization-server",
        "/healthz",
        "/readyz",
        "/notifications/ack",
    }
)


def serve_metrics(host: str, port: int, registry: CollectorRegistry | None = None) -> Any:
    """Serve the exposition format on ``host:port`` in a daemon thread; returns the server.

    With ``PROMETHEUS_MULTIPROC_DIR`` set (several workers), the values of every worker process are
    read from that directory instead of ``registry``.
    """
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    server, _thread = start_http_server(port, addr=host, registry=registry or CollectorRegistry())
    return server


class WorkerMetrics:
    """The notification worker's metrics (``hub worker``, served on ``HUB_WORKER_METRICS_PORT``).

    The queue's gauges are read from the store once per pass, so they describe the whole
    department's queue (every worker reports the same values: alert on ``max``, not ``sum``).
    """

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        r = self.registry
        self.heartbeat = Gauge(
            "hub_worker_heartbeat_timestamp_seconds",
            "Unix time at which this worker last completed a pass.",
            registry=r,
        )
        self.deliveries = Counter(
            "hub_worker_deliveries",
            "Delivery attempts, by channel and outcome (delivered, temporary_failure, permanent_failure).",
            ["channel", "outcome"],
            registry=r,
        )
        self.notifications = Gauge(
            "hub_notifications",
            "Notifications in the store, by status.",
            ["status"],
            registry=r,
        )
        self.oldest_due = Gauge(
            "hub_notification_oldest_due_seconds",
            "How long the oldest notification that is due has been waiting (0: none is due).",
            registry=r,
        )
        self.awaiting_acknowledgement = Gauge(
            "hub_notifications_awaiting_acknowledgement",
            "Delivered notifications that need an acknowledgement and have none yet.",
            registry=r,
        )
