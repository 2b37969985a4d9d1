"""Traces: the span tree of one request, from the in-memory exporter; the trace id in log lines."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from hub.app import create_app
from hub.logs import JsonFormatter
from hub.settings import Settings
from hub.tracing import TracingConfigError, exporter_name, provider_from_environment
from resolvers.models.partners import Audience
from tests.conftest import Mint

PEOPLE = "query People { people(first: 2) { nodes { docId } } }"


@pytest.fixture
def exported() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider, exporter
    provider.shutdown()


def _children(spans: list[ReadableSpan], parent: ReadableSpan) -> list[ReadableSpan]:
    assert parent.context is not None
    return [s for s in spans if s.parent is not None and s.parent.span_id == parent.context.span_id]


async def test_one_request_is_one_trace_with_validation_execution_statements_and_the_ledger(
    settings: Settings,
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    mint: Mint,
    exported: tuple[TracerProvider, InMemorySpanExporter],
    caplog: pytest.LogCaptureFixture,
) -> None:
    provider, exporter = exported
    token = await mint(Audience.LEGISLATIVE)  # before the instrumentation: not part of the request
    app = create_app(settings, engine=engine, sessions=sessions, tracer_provider=provider)
    # The access log as production writes it: the JSON formatter on a handler, at the time of the call.
    written = io.StringIO()
    handler = logging.StreamHandler(written)
    handler.setFormatter(JsonFormatter())
    access_log = logging.getLogger("hub.http")
    access_log.addHandler(handler)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub.test") as c:
            with caplog.at_level(logging.INFO, logger="hub.http"):
                response = await c.post(
                    "/graphql", json={"query": PEOPLE}, headers={"Authorization": f"Bearer {token}"}
                )
    finally:
        access_log.removeHandler(handler)
        app.state.uninstrument_engine()
    assert response.status_code == 200

    spans = list(exporter.get_finished_spans())
    [root] = [s for s in spans if s.parent is None]
    assert root.name == "POST /graphql"
    assert root.attributes is not None
    assert root.attributes["http.response.status_code"] == 200
    assert root.attributes["hub.request_id"] == response.headers["X-Request-Id"]
    assert {s.context.trace_id for s in spans if s.context} == {root.context.trace_id}

    names = [s.name for s in _children(spans, root)]
    assert "graphql.validate" in names
    assert "graphql.execute" in names
    assert "ledger.append" in names
    [execute] = [s for s in spans if s.name == "graphql.execute"]
    assert execute.attributes is not None
    assert execute.attributes["graphql.operation.name"] == "People"
    statements = _children(spans, execute)
    assert statements, "the execution's SQL statements are its children"
    # (The test's own transaction adds savepoints around them.)
    control = ("db.statement SAVEPOINT", "db.statement RELEASE", "db.statement ROLLBACK")
    queries = [s.name for s in statements if not s.name.startswith(control)]
    assert queries
    assert all(name.startswith("db.statement SELECT") for name in queries)
    assert any("people" in name for name in queries)
    # A statement span names the operation and table, never a parameter value.
    [ledger] = [s for s in spans if s.name == "ledger.append"]
    # The ledger's append: an INSERT (on PostgreSQL one call of hub_ledger_append).
    appends = ("db.statement INSERT audit_events", "db.statement SELECT hub_ledger_append")
    assert any(s.name.startswith(appends) for s in _children(spans, ledger))

    # The access line was written inside the request's span: it carries the trace id.
    [line] = [json.loads(text) for text in written.getvalue().splitlines() if '"message":"request"' in text]
    assert line["trace_id"] == format(root.context.trace_id, "032x")


def test_the_exporter_comes_from_the_standard_variable() -> None:
    assert provider_from_environment({}) is None
    assert provider_from_environment({"OTEL_TRACES_EXPORTER": "none"}) is None
    provider = provider_from_environment({"OTEL_TRACES_EXPORTER": "console", "OTEL_SERVICE_NAME": "hub-a"})
    assert provider is not None
    assert provider.resource.attributes["service.name"] == "hub-a"
    provider.shutdown()
    with pytest.raises(TracingConfigError, match="OTEL_TRACES_EXPORTER: 'jaeger' is not one of otlp"):
        exporter_name({"OTEL_TRACES_EXPORTER": "jaeger"})


def test_without_tracing_no_line_has_a_trace_id(caplog: pytest.LogCaptureFixture) -> None:
    record = logging.makeLogRecord({"msg": "hello", "name": "hub.test", "levelname": "INFO"})
    assert "trace_id" not in JsonFormatter().format(record)
