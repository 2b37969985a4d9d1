"""Every error response of every route in one shape: JSON with a code and the request id.

Starlette answers some requests itself: a path no route has (404), a method a route does not take
(405), an exception nothing caught (500), a CORS preflight from an origin not allowed (400). Its
defaults are plain text without a code; these handlers answer them as the hub answers everything
else: ``{"errors": [{"message", "extensions": {"code", "requestId"}}]}``, with the security headers.
"""

from __future__ import annotations

import logging
import uuid
from http import HTTPStatus
from typing import Any

import orjson
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ExceptionHandler

from hub.logs import request_id_var
from hub.middleware import NO_CONTENT_POLICY, SECURITY_HEADERS

log = logging.getLogger("hub.http")

JSON = "application/json"
INTERNAL = "INTERNAL_SERVER_ERROR"
INTERNAL_MESSAGE = "internal error; quote the request id to the department"

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


def error_response(
    status: int,
    code: str,
    message: str,
    request_id: str,
    headers: dict[str, str] | None = None,
    *,
    outside_middleware: bool = False,
) -> Response:
    """The hub's error shape. ``outside_middleware``: the response leaves by way of Starlette's
    ``ServerErrorMiddleware``, around ``RequestContextMiddleware``, so it carries its own headers."""
    body: dict[str, Any] = {
        "errors": [{"message": message, "extensions": {"code": code, "requestId": request_id}}]
    }
    all_headers = dict(headers or {})
    if outside_middleware:
        all_headers["X-Request-Id"] = request_id
        all_headers.update(SECURITY_HEADERS)
        all_headers["Content-Security-Policy"] = NO_CONTENT_POLICY
    return Response(orjson.dumps(body), status_code=status, media_type=JSON, headers=all_headers)


def code_of_status(status: int) -> str:
    if status in _CODES:
        return _CODES[status]
    try:
        return HTTPStatus(status).name
    except ValueError:
        return "HTTP_ERROR"


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
    return error_response(status, code_of_status(status), message, current_request_id(request), headers)


async def unhandled_exception(request: Request, exc: Exception) -> Response:
    """Whatever no route caught: the caller gets its request id, never the exception (Starlette
    re-raises it after this, so the server still logs it with its traceback)."""
    return error_response(
        500, INTERNAL, INTERNAL_MESSAGE, current_request_id(request), outside_middleware=True
    )


EXCEPTION_HANDLERS: dict[Any, ExceptionHandler] = {
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
        return error_response(response.status_code, "CORS_REFUSED", message, current_request_id(), headers)
