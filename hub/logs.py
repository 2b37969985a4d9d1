"""Structured logs: one JSON object a line, with the request id when there is one."""

from __future__ import annotations

import contextvars
import logging
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

import orjson

from hub.tracing import current_trace_id

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


@dataclass(slots=True)
class Access:
    """What the access log line and the request metrics say about a request beyond its HTTP facts.

    The request middleware creates one per request; the route that learns a fact notes it here
    (``access_var.get()``). Never data, variables or ids of people.
    """

    client_id: str | None = None
    staff_subject: str | None = None
    audience: str | None = None
    operation: str | None = None
    code: str | None = None
    cost: int | None = None
    outcome: str | None = None


access_var: contextvars.ContextVar[Access | None] = contextvars.ContextVar("access", default=None)


def note_access(**facts: Any) -> None:
    """Note facts of the current request for its access log line and metrics (no-op outside one)."""
    access = access_var.get()
    if access is not None:
        for name, value in facts.items():
            setattr(access, name, value)


_RESERVED = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        trace_id = current_trace_id()
        if trace_id:
            entry["trace_id"] = trace_id
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


class StderrHandler(logging.StreamHandler[TextIO]):
    """A handler writing to whatever ``sys.stderr`` is when a record is emitted, not the stream it was
    at configuration: a process (or a test) that replaces ``sys.stderr`` later and closes the old one
    would otherwise get "--- Logging error ---" for every line."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: object) -> None:
        pass  # always the current sys.stderr


def configure_logging(level: str) -> None:
    handler = StderrHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # The hub logs each request itself, with its id; uvicorn's access line would repeat it.
    logging.getLogger("uvicorn.access").disabled = True
