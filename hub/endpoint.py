"""``POST /graphql``: GraphQL over HTTP, one transaction per operation."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from graphql import ExecutionResult, GraphQLError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from strawberry.http.ides import get_graphql_ide_html

from auth.principal import Principal, Unauthenticated
from resolvers.models.partners import Audience
from resolvers.session import RequestDb
from schema.context import Context
from schema.execution import (
    INTERNAL,
    STORE_UNAVAILABLE,
    Executor,
    error_code,
    is_mutation,
    is_store_failure,
)
from schema.loaders import Loaders

log = logging.getLogger("hub.graphql")

Authenticator = Callable[[Request], Awaitable[Principal]]

JSON = "application/json"


class RequestRejected(Exception):
    """The HTTP request itself is wrong: answered with ``status`` and one error."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(payload), status_code=status, media_type=JSON, headers=headers)


def error_payload(code: str, message: str, request_id: str) -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": {"code": code, "requestId": request_id}}]}


def release_request(context: Context) -> None:
    """Let go of the request's rows as soon as the operation ends.

    graphql-core's execution context holds the request context in a reference cycle, so without this
    every loader's cache (and all the rows in it) waits for the cyclic collector's next full pass.
    """
    loaders = context.loaders
    for name in Loaders.__slots__:
        getattr(loaders, name).clear_all()


def _store_unavailable() -> RequestRejected:
    log.warning("store unavailable")
    return RequestRejected(
        503, STORE_UNAVAILABLE, "the data store is unavailable; retry shortly", {"Retry-After": "1"}
    )


@dataclass
class GraphQLEndpoint:
    #: One executor per audience, each over that audience's own schema.
    executors: Mapping[Audience, Executor]
    sessions: async_sessionmaker[AsyncSession]
    authenticate: Authenticator
    max_body_bytes: int
    request_timeout_s: float
    graphiql: bool

    async def handle(self, request: Request) -> Response:
        request_id: str = request.state.request_id
        if request.method == "GET":
            if self.graphiql and "text/html" in request.headers.get("accept", ""):
                return HTMLResponse(get_graphql_ide_html())
            return json_response(
                error_payload("METHOD_NOT_ALLOWED", "send GraphQL operations with POST", request_id),
                405,
                {"Allow": "POST"},
            )
        try:
            principal = await self._authenticate(request)
            body = await self._read_body(request)
            return await self._run(request_id, principal, body)
        except Unauthenticated as exc:
            return json_response(
                error_payload(
                    "UNAUTHENTICATED" if exc.status == 401 else "BAD_REQUEST", exc.description, request_id
                ),
                exc.status,
                {"WWW-Authenticate": exc.www_authenticate},
            )
        except RequestRejected as exc:
            return json_response(error_payload(exc.code, exc.message, request_id), exc.status, exc.headers)

    async def _authenticate(self, request: Request) -> Principal:
        try:
            return await self.authenticate(request)
        except Exception as exc:
            # The token check reads client state from the store; an outage there is an outage.
            if is_store_failure(exc):
                raise _store_unavailable() from None
            raise

    async def _read_body(self, request: Request) -> dict[str, Any]:
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != JSON:
            raise RequestRejected(415, "UNSUPPORTED_MEDIA_TYPE", "send the operation as application/json")
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.max_body_bytes:
            raise RequestRejected(
                413, "BODY_TOO_LARGE", f"the request body is over {self.max_body_bytes} bytes"
            )
        raw = bytearray()
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > self.max_body_bytes:
                raise RequestRejected(
                    413, "BODY_TOO_LARGE", f"the request body is over {self.max_body_bytes} bytes"
                )
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise RequestRejected(400, "BAD_REQUEST", "the request body is not valid JSON") from None
        if isinstance(body, list):
            raise RequestRejected(400, "BATCH_NOT_SUPPORTED", "send one operation per request, not a list")
        if not isinstance(body, dict):
            raise RequestRejected(400, "BAD_REQUEST", "the request body must be a JSON object")
        query = body.get("query")
        if not isinstance(query, str) or not query.strip():
            raise RequestRejected(400, "BAD_REQUEST", "the request body needs a `query` string")
        variables = body.get("variables")
        if variables is not None and not isinstance(variables, dict):
            raise RequestRejected(400, "BAD_REQUEST", "`variables` must be a JSON object")
        operation_name = body.get("operationName")
        if operation_name is not None and not isinstance(operation_name, str):
            raise RequestRejected(400, "BAD_REQUEST", "`operationName` must be a string")
        return body

    async def _run(self, request_id: str, principal: Principal, body: dict[str, Any]) -> Response:
        executor = self.executors[principal.audience]
        prepared = executor.prepare(body["query"])
        if prepared.code is not None:
            errors = [self._format(e, prepared.code, request_id) for e in prepared.errors]
            return json_response({"errors": errors}, 400)
        operation_name = body.get("operationName")
        if prepared.operation(operation_name) is None:
            message = (
                f"no operation named {operation_name!r} in the document"
                if operation_name
                else "the document has several operations; name one in `operationName`"
            )
            raise RequestRejected(400, "BAD_REQUEST", message)
        mutation = is_mutation(prepared, operation_name)
        variables = body.get("variables")
        cost = executor.cost(prepared, operation_name, variables)
        if cost > executor.limits.max_cost:
            raise RequestRejected(
                400,
                "COST_EXCEEDED",
                f"the operation costs {cost:,}; the limit for your audience is {executor.limits.max_cost:,} "
                "(ask for smaller pages or fewer nested lists)",
            )
        try:
            async with asyncio.timeout(self.request_timeout_s), self.sessions() as session:
                db = RequestDb(session)
                context = Context(
                    db=db,
                    principal=principal,
                    request_id=request_id,
                    now=datetime.now(UTC),
                    loaders=Loaders.build(db, principal),
                )
                try:
                    result = await executor.execute(prepared, variables, operation_name, context)
                    if mutation and not result.errors:
                        await session.commit()
                    else:
                        await session.rollback()
                finally:
                    release_request(context)
        except TimeoutError:
            raise RequestRejected(
                504, "TIMEOUT", f"the request took longer than {self.request_timeout_s:g} s and was stopped"
            ) from None
        except Exception as exc:
            if is_store_failure(exc):
                raise _store_unavailable() from None
            raise
        return self._respond(result, request_id, cost)

    def _respond(self, result: ExecutionResult, request_id: str, cost: int) -> Response:
        payload: dict[str, Any] = {"data": result.data, "extensions": {"cost": cost, "requestId": request_id}}
        if result.errors:
            payload["errors"] = [self._format(e, error_code(e), request_id) for e in result.errors]
            if all(err["extensions"]["code"] == STORE_UNAVAILABLE for err in payload["errors"]):
                return json_response(payload, 503, {"Retry-After": "1"})
        return json_response(payload)

    def _format(self, error: GraphQLError, code: str, request_id: str) -> dict[str, Any]:
        if code == INTERNAL:
            log.error("resolver failed", exc_info=error.original_error or error)
            message = "internal error; quote the request id to the department"
        elif code == STORE_UNAVAILABLE:
            message = "the data store is unavailable; retry shortly"
        else:
            message = error.message
        formatted: dict[str, Any] = {"message": message}
        if error.locations:
            formatted["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
        if error.path:
            formatted["path"] = list(error.path)
        extensions: dict[str, Any] = {"code": code, "requestId": request_id}
        original = error.original_error
        field = getattr(original, "field", None)
        if code not in (INTERNAL, STORE_UNAVAILABLE) and isinstance(field, str):
            extensions["field"] = field
        formatted["extensions"] = extensions
        return formatted
