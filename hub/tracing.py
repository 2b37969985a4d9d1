"""OpenTelemetry traces, opt-in through the standard ``OTEL_*`` variables.

With ``OTEL_TRACES_EXPORTER`` unset (or ``none``) the hub builds no tracer provider and every span is
OpenTelemetry's no-op. With ``otlp`` the spans go to ``OTEL_EXPORTER_OTLP_ENDPOINT`` (OTLP over HTTP;
the exporter reads its own ``OTEL_EXPORTER_OTLP_*`` variables), with ``console`` to standard output;
``OTEL_SERVICE_NAME`` and ``OTEL_RESOURCE_ATTRIBUTES`` name the service as usual.

A request's trace: the request span (``POST /graphql``), under it the parse and validation of the
document, the execution, each SQL statement (``db.statement``: the operation and the table, never
the parameters: they hold people's data) and the ledger append. The trace id is in every log line
written while a span is current.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.trace import Span, SpanKind, Tracer
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

INSTRUMENTATION = "partner-data-hub"


class TracingConfigError(ValueError):
    """``OTEL_TRACES_EXPORTER`` names an exporter the hub does not ship."""


EXPORTERS = ("otlp", "console", "none")


def exporter_name(environ: Mapping[str, str] | None = None) -> str:
    """``OTEL_TRACES_EXPORTER``, checked: one of :data:`EXPORTERS` (unset: none)."""
    env = os.environ if environ is None else environ
    name = env.get("OTEL_TRACES_EXPORTER", "none").strip().lower() or "none"
    if name not in EXPORTERS:
        raise TracingConfigError(f"OTEL_TRACES_EXPORTER: {name!r} is not one of {', '.join(EXPORTERS)}")
    return name


def provider_from_environment(environ: Mapping[str, str] | None = None) -> TracerProvider | None:
    """The tracer provider the ``OTEL_*`` variables ask for, or None when tracing is off."""
    env = os.environ if environ is None else environ
    name = exporter_name(env)
    if name == "none":
        return None
    exporter: SpanExporter
    if name == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter()
    else:
        exporter = ConsoleSpanExporter()
    resource = Resource.create({"service.name": env.get("OTEL_SERVICE_NAME", "partner-data-hub")})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def tracer_for(provider: trace.TracerProvider | None) -> Tracer:
    """The hub's tracer from ``provider`` (None: OpenTelemetry's no-op tracer)."""
    return trace.get_tracer(INSTRUMENTATION, tracer_provider=provider or trace.NoOpTracerProvider())


_TABLE = re.compile(r"\b(?:FROM|INTO|UPDATE|JOIN)\s+\"?([A-Za-z_][\w.]*)", re.IGNORECASE)


def _statement_summary(statement: str) -> tuple[str, str]:
    """The SQL operation and its first table, for a span's name: never the text's values."""
    head = statement.lstrip()[:16].split(None, 1)
    operation = head[0].upper() if head else "SQL"
    found = _TABLE.search(statement)
    return operation, found.group(1) if found else ""


def instrument_engine(engine: AsyncEngine, tracer: Tracer) -> Callable[[], None]:
    """A span per SQL statement the engine runs, a child of whatever span is current; returns the
    function that takes the instrumentation off again (for an engine the app does not own)."""
    system = engine.dialect.name
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "before_cursor_execute")
    def _start(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
    ) -> None:
        operation, table = _statement_summary(statement)
        span = tracer.start_span(
            f"db.statement {operation} {table}".strip(),
            kind=SpanKind.CLIENT,
            attributes={"db.system": system, "db.operation": operation, "db.sql.table": table},
        )
        conn.info.setdefault("hub_spans", []).append(span)

    @event.listens_for(sync_engine, "after_cursor_execute")
    def _end(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
    ) -> None:
        spans: list[Span] = conn.info.get("hub_spans", [])
        if spans:
            spans.pop().end()

    @event.listens_for(sync_engine, "handle_error")
    def _failed(exception_context: Any) -> None:
        conn = exception_context.connection
        spans: list[Span] = conn.info.get("hub_spans", []) if conn is not None else []
        if spans:
            span = spans.pop()
            span.set_status(
                trace.Status(trace.StatusCode.ERROR, type(exception_context.original_exception).__name__)
            )
            span.end()

    def uninstrument() -> None:
        event.remove(sync_engine, "before_cursor_execute", _start)
        event.remove(sync_engine, "after_cursor_execute", _end)
        event.remove(sync_engine, "handle_error", _failed)

    return uninstrument


def current_trace_id() -> str | None:
    """The current span's trace id in hex, for log lines (None outside a recorded span)."""
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None
