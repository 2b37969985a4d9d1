"""Every error response of every route, made in one place: ``refusal_response``.

A route refuses a request by raising ``auth.refusals.Refusal`` (or letting a store outage escape);
the app's exception handlers below answer it: the refusal's status, headers and body, in the hub's
shape ``{"errors": [{"message", "extensions": {"code", "requestId"}}]}`` (RFC 6749's at the OAuth
endpoints, a page at the confirmation page). ``store_refusal`` is the one mapping from a store that
is gone, busy or stopped a statement to its refusal (503 or 504); ``POST /graphql``, which ledgers
its refusals before answering them, uses the same two functions.

Starlette answers some requests itself: a path no route has (404), a method a route does not take
(405), an exception nothing caught (500), a CORS preflight from an origin not allowed (400). Its
defaults are plain text without a code; these handlers answer them as the hub answers everything
else, with the security headers.
"""

from __future__ import annotations

import logging
import uuid
from http import HTTPStatus
from typing import Any

import orjson
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import ExceptionHandler

from auth.refusals import Form, Refusal
from hub.logs import note_access, request_id_var
from hub.middleware import NO_CONTENT_POLICY, SECURITY_HEADERS
from schema.execution import (
    STATEMENT_TIMEOUT,
    STORE_BUSY,
    STORE_UNAVAILABLE,
    is_statement_timeout,
    is_store_busy,
    is_store_failure,
)

log = logging.getLogger("hub.http")

JSON = "application/json"
#: GraphQL over HTTP's own media type: request errors answer 400 with it, 200 with ``application/json``.
GRAPHQL_RESPONSE = "application/graphql-response+json"
INTERNAL = "INTERNAL_SERVER_ERROR"
INTERNAL_MESSAGE = "internal error; quote the request id to the department"

#: What the caller is told for each way the store fails (a refusal, or a field's error in a result).
STORE_MESSAGES = {
    STORE_UNAVAILABLE: "the data store is unavailable; retry shortly",
    STORE_BUSY: "the hub is busy; retry shortly",
    STATEMENT_TIMEOUT: (
        "a database statement took longer than the hub's statement timeout and was stopped; "
        "ask for smaller pages or fewer nested lists"
    ),
}

_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>
<body><h1>{title}</h1><p>{text}</p>{form}</body></html>"""

#: The code of each status Starlette raises on its own; others are named after their status.
_CODES = {
    400: "BAD_REQUEST",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "BODY_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
}


def current_request_id(request: Request | None = None) -> str:
    """The id ``RequestContextMiddleware`` gave the request (a fresh one if it never ran)."""
    if request is not None:
        found = getattr(request.state, "request_id", None)
        if isinstance(found, str):
            return found
    return request_id_var.get(None) or uuid.uuid4().hex


def store_refusal(exc: BaseException) -> Refusal | None:
    """The refusal for a store that is busy or gone (503, ``Retry-After: 1``) or that stopped a
    statement at its timeout (504); None when ``exc`` is something else (a bug, not an outage)."""
    if is_store_busy(exc):
        code = STORE_BUSY
    elif is_statement_timeout(exc):
        return Refusal(504, STATEMENT_TIMEOUT, STORE_MESSAGES[STATEMENT_TIMEOUT])
    elif is_store_failure(exc):
        code = STORE_UNAVAILABLE
    else:
        return None
    return Refusal(503, code, STORE_MESSAGES[code], {"Retry-After": "1"})


def request_error_status(media_type: str) -> int:
    """GraphQL over HTTP: 400 for a request error under its own media type, 200 under JSON."""
    return 400 if media_type == GRAPHQL_RESPONSE else 200


def refusal_response(
    refusal: Refusal, request_id: str, media_type: str = JSON, *, outside_middleware: bool = False
) -> Response:
    """The answer to ``refusal``, the only place one is written. ``media_type``: a JSON body's
    (``/graphql`` negotiates it). ``outside_middleware``: the response leaves by way of Starlette's
    ``ServerErrorMiddleware``, around ``RequestContextMiddleware``, so it carries its own headers."""
    headers = dict(refusal.headers)
    if outside_middleware:
        headers["X-Request-Id"] = request_id
        headers.update(SECURITY_HEADERS)
        headers["Content-Security-Policy"] = NO_CONTENT_POLICY
    if refusal.form is Form.PAGE:
        html = page(refusal.title, refusal.message)
        return HTMLResponse(html, status_code=refusal.status, headers=headers)
    body: dict[str, Any]
    if refusal.form is Form.OAUTH:
        body = {"error": refusal.code, "error_description": refusal.message}
    elif refusal.errors is not None:
        body = {"errors": refusal.errors}
    else:
        extensions = {"code": refusal.code, "requestId": request_id, **refusal.extensions}
        body = {"errors": [{"message": refusal.message, "extensions": extensions}]}
    status = request_error_status(media_type) if refusal.request_error else refusal.status
    return Response(orjson.dumps(body), status_code=status, media_type=media_type, headers=headers)


def page(title: str, text: str, form: str = "") -> str:
    """An HTML page for a person: ``title`` over ``text`` (escaped by the caller), then ``form``."""
    return _PAGE.format(title=title, text=text, form=form)


def log_refusal(code: str, status: int, logger: logging.Logger = log, **extra: Any) -> None:
    """One WARNING line for a refusal for the store or its time (503, 504) in ``logger`` (the
    route's): an outage must not fill the log with tracebacks, and each line names its code."""
    if status in (503, 504):
        logger.warning("request refused: %s", code, extra={"code": code, "status": status, **extra})


def code_of_status(status: int) -> str:
    if status in _CODES:
        return _CODES[status]
    try:
        return HTTPStatus(status).name
    except ValueError:
        return "HTTP_ERROR"


async def refused(request: Request, exc: Exception) -> Response:
    """A ``Refusal`` a route raised (every route but ``/graphql``, which answers its own)."""
    assert isinstance(exc, Refusal)
    note_access(code=exc.code)
    log_refusal(exc.code, exc.status)
    return refusal_response(exc, current_request_id(request))


async def store_failed(request: Request, exc: Exception) -> Response:
    """A store error a route let escape: an outage is refused as such, anything else is a bug."""
    refusal = store_refusal(exc)
    if refusal is None:
        raise exc  # for the 500 handler below, and the server's log with its traceback
    return await refused(request, refusal)


async def http_exception(request: Request, exc: Exception) -> Response:
    """404, 405 and any ``HTTPException`` a route or Starlette raises."""
    assert isinstance(exc, HTTPException)
    status = exc.status_code
    headers = dict(exc.headers or {})
    if status == 404:
        message = f"no such resource: {request.url.path}"
    elif status == 405:
        allowed = headers.get("Allow", "")
        message = f"{request.method} is not allowed on {request.url.path}" + (
            f"; use {allowed}" if allowed else ""
        )
    else:
        message = exc.detail if isinstance(exc.detail, str) and exc.detail else HTTPStatus(status).phrase
    refusal = Refusal(status, code_of_status(status), message, headers)
    return refusal_response(refusal, current_request_id(request))


async def unhandled_exception(request: Request, exc: Exception) -> Response:
    """Whatever no route caught: the caller gets its request id, never the exception (Starlette
    re-raises it after this, so the server still logs it with its traceback)."""
    refusal = Refusal(500, INTERNAL, INTERNAL_MESSAGE)
    return refusal_response(refusal, current_request_id(request), outside_middleware=True)


EXCEPTION_HANDLERS: dict[Any, ExceptionHandler] = {
    Refusal: refused,
    # What a lost or busy store raises (OSError covers the builtin TimeoutError and ConnectionError).
    SQLAlchemyError: store_failed,
    OSError: store_failed,
    HTTPException: http_exception,
    Exception: unhandled_exception,
}


class JSONCORSMiddleware(CORSMiddleware):
    """Starlette's CORS, with a refused preflight answered in the hub's error shape."""

    def preflight_response(self, request_headers: Any) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code < 400:
            return response
        failures = bytes(response.body).decode("utf-8", "replace")
        headers = {
            k: v for k, v in response.headers.items() if k.lower() not in ("content-length", "content-type")
        }
        message = "CORS preflight refused: " + failures.lower()
        refusal = Refusal(response.status_code, "CORS_REFUSED", message, headers)
        return refusal_response(refusal, current_request_id())
