"""``POST /graphql``: GraphQL over HTTP, one transaction per operation."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import orjson
from graphql import ExecutionResult, GraphQLError
from opentelemetry.trace import Tracer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from strawberry.http.ides import get_graphql_ide_html

from auth.audit import lock_ledger
from auth.embargo import VictimEmbargo
from auth.keys import KeyPolicy
from auth.ledger_requests import (
    ERROR,
    INVALID,
    SERVED,
    RequestEntry,
    RequestLedger,
    outcome_of_status,
)
from auth.persisted import PersistedOperations, Resolved
from auth.principal import Principal
from auth.rate_limits import RateLimiter
from auth.refusals import Refusal
from hub.db import ReadReplica
from hub.http_errors import (
    GRAPHQL_RESPONSE,
    INTERNAL_MESSAGE,
    JSON,
    STORE_MESSAGES,
    log_refusal,
    refusal_response,
    store_refusal,
)
from hub.logs import note_access
from hub.metrics import HubMetrics
from hub.slow_clients import BODY_TIMED_OUT, BODY_TIMEOUT, CLIENT_DISCONNECTED
from hub.tracing import tracer_for
from resolvers.models.partners import Audience
from resolvers.session import RequestDb
from schema.context import Context
from schema.disclosures import redact_variables
from schema.execution import (
    BAD_USER_INPUT,
    INTERNAL,
    STATEMENT_TIMEOUT,
    STORE_BUSY,
    STORE_UNAVAILABLE,
    Executor,
    Prepared,
    document_problem,
    error_code,
    is_mutation,
    is_store_failure,
)
from schema.input_text import scrub
from schema.loaders import Loaders

log = logging.getLogger("hub.graphql")

#: The request could not be recorded in the ledger, so it was not served (503).
LEDGER_UNAVAILABLE = "LEDGER_UNAVAILABLE"
#: A mutation's COMMIT was sent but its answer never came (the connection broke, or the request
#: timed out during it): the write may or may not be in the store (503).
COMMIT_OUTCOME_UNKNOWN = "COMMIT_OUTCOME_UNKNOWN"
COMMIT_OUTCOME_UNKNOWN_MESSAGE = (
    "the data store stopped answering while your change was being committed, so it may or may not "
    "have been saved; retry with the same idempotencyKey (if it was saved, the retry answers with the "
    "first result and writes nothing twice; an update retried with the version it read answers a "
    "version conflict if it was saved), or read the record before writing again"
)


@dataclass(slots=True)
class _Commit:
    """Whether the operation's COMMIT was sent: a failure from then on leaves the write's fate unknown."""

    started: bool = False


def _commit_outcome_unknown() -> Refusal:
    return Refusal(503, COMMIT_OUTCOME_UNKNOWN, COMMIT_OUTCOME_UNKNOWN_MESSAGE, {"Retry-After": "1"})


def _outcome(result: ExecutionResult, entry: RequestEntry) -> str:
    """served, invalid (bad variables: nothing ran) or error (the hub or its store failed)."""
    if not result.errors:
        return SERVED
    codes = sorted({error_code(e) for e in result.errors})
    entry.detail["errors"] = codes
    if INTERNAL in codes or any(code.startswith("STORE_") for code in codes):
        return ERROR
    return INVALID if result.data is None else SERVED


def _note_access(entry: RequestEntry) -> None:
    """The request's facts for its access log line and metrics (hub/middleware.py)."""
    principal = entry.principal
    codes = entry.detail.get("errors") or []
    note_access(
        client_id=principal.client_id if principal else None,
        staff_subject=principal.subject if principal and not principal.client_id else None,
        audience=principal.audience.value if principal else None,
        operation=entry.operation_name,
        code=entry.detail.get("code") or (codes[0] if codes else None),
    )


Authenticator = Callable[[Request], Awaitable[Principal]]

_MEDIA_TYPES = (GRAPHQL_RESPONSE, JSON)


def response_media_type(accept: str) -> str:
    """The media type to answer in: the client's most preferred of the two the hub speaks.

    No ``Accept`` header, ``*/*``, or only types the hub does not speak: ``application/json`` (as the
    GraphQL-over-HTTP spec asks of servers for clients from before its media type). On a tie the
    spec's own type wins.
    """
    best, best_q = JSON, 0.0
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        media = media.lower()
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if media in _MEDIA_TYPES and q > 0 and (q > best_q or (q == best_q and media == GRAPHQL_RESPONSE)):
            best, best_q = media, q
    return best


def request_errors(errors: list[dict[str, Any]]) -> Refusal:
    """GraphQL request errors (parse, validation, limits, variables): nothing ran, so no ``data``.
    The refusal's code is the first error's."""
    first = errors[0]
    return Refusal(400, first["extensions"]["code"], first["message"], request_error=True, errors=errors)


def json_response(
    payload: Any, status: int = 200, headers: dict[str, str] | None = None, media_type: str = JSON
) -> Response:
    return Response(orjson.dumps(payload), status_code=status, media_type=media_type, headers=headers)


def release_request(context: Context) -> None:
    """Let go of the request's rows as soon as the operation ends.

    graphql-core's execution context holds the request context in a reference cycle, so without this
    every loader's cache (and all the rows in it) waits for the cyclic collector's next full pass.
    """
    context.loaders.clear_all()


#: graphql-core's variable coercion messages: "Variable '$input' has invalid value at .a[0]: …".
_VARIABLE_IN_MESSAGE = re.compile(r"^Variable '\$(\w+)' has invalid value(?: at ((?:\.\w+|\[\d+\])+))?: ")
#: graphql-core writes Python's None and echoes the input as a Python repr ("…, found: {'a': None}.").
_PYTHON_NONE = re.compile(r"\bnot to be None\b")
_FOUND_REPR = re.compile(r",? found: .*$", re.DOTALL)


def plain_message(message: str) -> str:
    """graphql-core's message in GraphQL's words: ``null`` for None, without the Python repr of the
    input it echoes (which may also carry what the caller sent)."""
    message = _PYTHON_NONE.sub("not to be null", message)
    cut = _FOUND_REPR.sub("", message)
    if cut != message and not cut.endswith("."):
        cut += "."
    return cut


#: Codes answered 503 with Retry-After when every error of a result carries one of them.
_RETRY_CODES = frozenset({STORE_UNAVAILABLE, STORE_BUSY})


@dataclass
class GraphQLEndpoint:
    #: One executor per audience, each over that audience's own schema.
    executors: Mapping[Audience, Executor]
    sessions: async_sessionmaker[AsyncSession]
    authenticate: Authenticator
    max_body_bytes: int
    request_timeout_s: float
    graphiql: bool
    #: Where a browser's GET finds GraphiQL: the console's page of vendored assets (None: strawberry's
    #: page, which loads GraphiQL from a public CDN).
    graphiql_url: str | None = None
    ledger: RequestLedger = field(default_factory=RequestLedger)
    persisted: PersistedOperations | None = None
    rate_limits: RateLimiter | None = None
    metrics: HubMetrics | None = None
    tracer: Tracer = field(default_factory=lambda: tracer_for(None))
    #: Where queries read (``HUB_READ_DATABASE_URL``); None: in the request's own primary session.
    replica: ReadReplica | None = None
    #: This app's victims-first embargo (``HUB_VICTIM_EMBARGO_MINUTES``), set on every request's
    #: principal for the row scopes to apply.
    embargo: VictimEmbargo = field(default_factory=VictimEmbargo)
    #: This app's ``HUB_SECRET_PEPPER``, handed to the mutations that make client secrets.
    pepper: bytes | None = None
    #: This app's signing-key policy, for the admin's key queries and mutations.
    key_policy: KeyPolicy = field(default_factory=KeyPolicy)
    #: The newest migration of this code, for ``hubHealth``.
    migration_head: str | None = None

    def _document_problem(self, audience: Audience, text: str) -> str | None:
        return document_problem(self.executors[audience], text)

    async def handle(self, request: Request) -> Response:
        """Answer one request and record it in the ledger: an operation that ran records itself, a
        refusal is recorded here with its code and then answered like any route's."""
        request_id: str = request.state.request_id
        entry = RequestEntry(request_id)
        media = response_media_type(request.headers.get("accept", ""))
        try:
            response = await self._handle(request, entry, media)
        except Exception as exc:  # noqa: BLE001 - every failure is answered; _refusal logs a bug's traceback
            refusal = self._refusal(request, exc)
            response = refusal_response(refusal, request_id, media)
            if not entry.written:
                await self._record_unserved(entry, refusal, response.status_code)
            log_refusal(refusal.code, response.status_code, log, ledgered=entry.written)
        _note_access(entry)
        return response

    @staticmethod
    def _refusal(request: Request, exc: Exception) -> Refusal:
        """What ``exc`` answers: a refusal as it is, a store outage as ``store_refusal`` maps it (as on
        every route), a client gone before its body, and anything else as the bug it is (500)."""
        if isinstance(exc, Refusal):
            return exc
        if isinstance(exc, ClientDisconnect):
            # The answer goes nowhere, but the ledger records it: gone (499), or out of time (408,
            # already answered by the middleware).
            if request.scope.get("state", {}).get(BODY_TIMED_OUT):
                return Refusal(408, BODY_TIMEOUT, "the request body did not arrive in time")
            message = "the client disconnected before sending the whole body"
            log.info(message, extra={"code": CLIENT_DISCONNECTED})
            return Refusal(499, CLIENT_DISCONNECTED, message)
        outage = store_refusal(exc)
        if outage is not None:
            return outage
        # The caller gets its request id, never the exception.
        log.exception("request failed")
        return Refusal(500, INTERNAL, INTERNAL_MESSAGE)

    async def _handle(self, request: Request, entry: RequestEntry, media: str) -> Response:
        if request.method not in ("GET", "POST"):
            raise Refusal(
                405,
                "METHOD_NOT_ALLOWED",
                f"{request.method} is not allowed on /graphql; send GraphQL operations with POST",
                {"Allow": "GET, POST" if self.graphiql else "POST"},
            )
        if request.method == "GET":
            if self.graphiql and "text/html" in request.headers.get("accept", ""):
                if self.graphiql_url:
                    return RedirectResponse(self.graphiql_url, 303)
                return HTMLResponse(get_graphql_ide_html())
            raise Refusal(405, "METHOD_NOT_ALLOWED", "send GraphQL operations with POST", {"Allow": "POST"})
        principal = entry.principal = replace(await self.authenticate(request), embargo=self.embargo)
        body = await self._read_body(request)
        return await self._run(request.state.request_id, principal, body, entry, media)

    async def _read_body(self, request: Request) -> dict[str, Any]:
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != JSON:
            raise Refusal(415, "UNSUPPORTED_MEDIA_TYPE", "send the operation as application/json")
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.max_body_bytes:
            raise Refusal(413, "BODY_TOO_LARGE", f"the request body is over {self.max_body_bytes} bytes")
        raw = bytearray()
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > self.max_body_bytes:
                raise Refusal(413, "BODY_TOO_LARGE", f"the request body is over {self.max_body_bytes} bytes")
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise Refusal(400, "BAD_REQUEST", "the request body is not valid JSON") from None
        if isinstance(body, list):
            raise Refusal(400, "BATCH_NOT_SUPPORTED", "send one operation per request, not a list")
        if not isinstance(body, dict):
            raise Refusal(400, "BAD_REQUEST", "the request body must be a JSON object")
        query = body.get("query")
        if query is not None and not isinstance(query, str):
            raise Refusal(400, "BAD_REQUEST", "`query` must be a string")
        variables = body.get("variables")
        if variables is not None and not isinstance(variables, dict):
            raise Refusal(400, "BAD_REQUEST", "`variables` must be a JSON object")
        operation_name = body.get("operationName")
        if operation_name is not None and not isinstance(operation_name, str):
            raise Refusal(400, "BAD_REQUEST", "`operationName` must be a string")
        return body

    async def _run(
        self, request_id: str, principal: Principal, body: dict[str, Any], entry: RequestEntry, media: str
    ) -> Response:
        executor = self.executors[principal.audience]
        resolved = await self._resolve(principal, body)
        with self.tracer.start_as_current_span("graphql.validate"):
            prepared = executor.prepare(resolved.query)
        self._describe(entry, executor, prepared, body)
        operation_name = body.get("operationName")
        variables = body.get("variables")
        runnable = prepared.code is None and prepared.operation(operation_name) is not None
        # The cost is that of the values execution will run with: the variables as graphql-core coerces
        # them, the operation's defaults applied (a default `$n: Int = 100` or `100.0` costs 100).
        coerced = executor.coerce(prepared, operation_name, variables) if runnable else None
        cost = executor.cost(prepared, operation_name, coerced) if not isinstance(coerced, list | None) else 0
        note_access(cost=cost)
        # Every request counts against the client's rate; only an operation that will run spends cost.
        await self._charge(principal, cost if cost <= executor.limits.max_cost else 0)
        if prepared.code is not None:
            raise request_errors([self._format(e, prepared.code, request_id) for e in prepared.errors])
        if prepared.operation(operation_name) is None:
            message = (
                f"no operation named {operation_name!r} in the document"
                if operation_name
                else "the document has several operations; name one in `operationName`"
            )
            raise Refusal(400, "BAD_REQUEST", message, request_error=True)
        if isinstance(coerced, list):
            raise request_errors([self._variable_error(e, request_id) for e in coerced])
        mutation = is_mutation(prepared, operation_name)
        if cost > executor.limits.max_cost:
            raise Refusal(
                400,
                "COST_EXCEEDED",
                f"the operation costs {cost:,}; the limit for your audience is {executor.limits.max_cost:,} "
                "(ask for smaller pages or fewer nested lists)",
                request_error=True,
                extensions={"cost": cost, "maxCost": executor.limits.max_cost},
            )
        if resolved.register is not None and self.persisted is not None:
            await self.persisted.remember(principal, resolved.register, resolved.query)
        deadline = asyncio.timeout(self.request_timeout_s)
        commit = _Commit()
        try:
            async with (
                deadline,
                self.sessions() as session,
                self._reads(session, principal, mutation) as reads,
            ):
                db = RequestDb(reads)
                context = Context(
                    db=db,
                    principal=principal,
                    request_id=request_id,
                    now=datetime.now(UTC),
                    loaders=Loaders.build(db, principal),
                    pepper=self.pepper,
                    key_policy=self.key_policy,
                    migration_head=self.migration_head,
                    document_problem=self._document_problem,
                )
                try:
                    if mutation:
                        await self._lock_first(session)
                    with self.tracer.start_as_current_span(
                        "graphql.execute",
                        attributes={
                            "graphql.operation.type": "mutation" if mutation else "query",
                            "graphql.operation.name": entry.operation_name or "",
                        },
                    ):
                        result = await executor.execute(prepared, variables, operation_name, context)
                    await db.close()  # fields cancelled by a failed sibling may still be mid-statement
                    await self._settle(session, context, result, mutation, entry, commit)
                finally:
                    release_request(context)
        except Exception as exc:
            # The COMMIT went out and no answer came back (a broken connection, or the request's
            # time ran out during it): "nothing was written" would not be true.
            unanswered = (isinstance(exc, TimeoutError) and deadline.expired()) or is_store_failure(exc)
            if commit.started and mutation and unanswered and not isinstance(exc, Refusal):
                raise _commit_outcome_unknown() from None
            # A driver's own TimeoutError (a connection that never came) is the store's, not ours.
            if isinstance(exc, TimeoutError) and deadline.expired():
                raise Refusal(
                    504,
                    "TIMEOUT",
                    f"the request took longer than {self.request_timeout_s:g} s and was stopped",
                ) from None
            raise  # a store outage is refused in ``handle``, as on every route
        return self._respond(result, request_id, cost, media, entry)

    def _reads(
        self, session: AsyncSession, principal: Principal, mutation: bool
    ) -> contextlib.AbstractAsyncContextManager[AsyncSession]:
        """The session the operation reads in: ``session`` (the primary's, which the ledger event is
        appended and committed in) or, for a query, a replica's (hub/db.py ``ReadReplica``)."""
        if self.replica is None:
            return contextlib.nullcontext(session)
        return self.replica.reads(session, principal.key, mutation)

    async def _resolve(self, principal: Principal, body: dict[str, Any]) -> Resolved:
        if self.persisted is None:
            query = body.get("query")
            if not isinstance(query, str) or not query.strip():
                raise Refusal(400, "BAD_REQUEST", "the request body needs a `query` string")
            return Resolved(query)
        return await self.persisted.resolve(principal, body)

    async def _charge(self, principal: Principal, cost: int) -> None:
        if self.rate_limits is not None:
            await self.rate_limits.charge(principal, cost)

    # --- the disclosure ledger -----------------------------------------------------------------------

    @staticmethod
    def _describe(entry: RequestEntry, executor: Executor, prepared: Prepared, body: dict[str, Any]) -> None:
        operation_name = body.get("operationName")
        operation = prepared.operation(operation_name)
        entry.document_hash = prepared.digest
        entry.operation_name = scrub(
            operation_name or (operation.name.value if operation is not None and operation.name else None)
        )
        # A control character (refused below) must not reach the ledger's own columns either.
        entry.variables = scrub(redact_variables(executor.graphql_schema, operation, body.get("variables")))

    async def _lock_first(self, session: AsyncSession) -> None:
        """On SQLite a mutation takes the write lock before it reads, as the ledger append will need it.

        A transaction that reads and only then writes fails at its first write when another connection
        committed in between (a stale snapshot cannot become a writer); SQLite serializes writers anyway.
        """
        if self.ledger.enabled and session.get_bind().dialect.name == "sqlite":
            await lock_ledger(session)

    async def _settle(
        self,
        session: AsyncSession,
        context: Context,
        result: ExecutionResult,
        mutation: bool,
        entry: RequestEntry,
        commit: _Commit,
    ) -> None:
        """End the operation's transaction with its ledger event in it: no event, nothing served."""
        keep = mutation and not result.errors
        if not self.ledger.enabled:
            if keep:
                commit.started = True
                await session.commit()
            else:
                await session.rollback()
            return
        # Only a mutation that keeps its writes needs its event in its own transaction; any other
        # event joins the process's next group commit when there is one (HUB_LEDGER_BATCH_MS).
        grouped = self.ledger.grouped and not keep
        try:
            # A refused mutation's writes go. On SQLite a transaction that only read must end before the
            # ledger takes the write lock (a stale read snapshot cannot be upgraded to a writer).
            # On PostgreSQL a read that failed may have failed in a statement, which aborts the whole
            # transaction: the ledger's event goes into a fresh one, never into a ledger outage.
            if not keep and (
                mutation or result.errors or (session.get_bind().dialect.name != "postgresql" and not grouped)
            ):
                await session.rollback()
            started = time.perf_counter()
            with self.tracer.start_as_current_span("ledger.append"):
                outcome = _outcome(result, entry)
                disclosed = context.disclosed if result.data is not None else None
                today = context.now.date()
                if grouped:
                    content = await self.ledger.content(
                        session, entry, outcome, disclosed=disclosed, authority=context.authority, today=today
                    )
                    await session.rollback()  # the connection goes back to the pool while the event waits
                    await self.ledger.commit_grouped(content, entry)
                else:
                    await self.ledger.append(
                        session, entry, outcome, disclosed=disclosed, authority=context.authority, today=today
                    )
                    commit.started = keep
                    await session.commit()
            if self.metrics is not None:
                self.metrics.observe_append(time.perf_counter() - started, failed=False)
        except Exception as exc:
            if self.metrics is not None:
                self.metrics.observe_append(0.0, failed=True)
            if commit.started and is_store_failure(exc):
                entry.written = False
                raise _commit_outcome_unknown() from None
            if not is_store_failure(exc):  # an outage is logged once, as the refusal
                log.exception("ledger write failed; the response is withheld")
            entry.written = False
            with contextlib.suppress(Exception):
                await session.rollback()
            raise Refusal(
                503,
                LEDGER_UNAVAILABLE,
                "the request could not be recorded in the disclosure ledger, so nothing was served or "
                "written; retry shortly, or quote the request id to the department",
                {"Retry-After": "1"},
            ) from None

    async def _record_unserved(self, entry: RequestEntry, refusal: Refusal, status: int) -> None:
        """The event of a request that was refused or failed before (or instead of) being served:
        the refusal's code and the status it was answered with."""
        entry.detail["status"] = status
        entry.detail["code"] = refusal.code
        outcome = outcome_of_status(status, refusal.code)
        try:
            if self.ledger.grouped:
                await self.ledger.commit_grouped(await self.ledger.content(None, entry, outcome), entry)
                return
            async with self.sessions() as session:
                await self.ledger.append(session, entry, outcome)
                await session.commit()
        except Exception as exc:
            # Nothing is served on these paths; the failure itself must still be seen (an outage is
            # seen in the refusal's own log line, which says whether it was ledgered).
            if not is_store_failure(exc):
                log.exception("ledger write failed for an unserved request")

    def _respond(
        self, result: ExecutionResult, request_id: str, cost: int, media: str, entry: RequestEntry
    ) -> Response:
        payload: dict[str, Any] = {"data": result.data, "extensions": {"cost": cost, "requestId": request_id}}
        if result.errors:
            payload["errors"] = [self._format(e, error_code(e), request_id) for e in result.errors]
            codes = {err["extensions"]["code"] for err in payload["errors"]}
            # A result whose every error is the store's is refused for the store, with the result.
            status = 503 if codes <= _RETRY_CODES else 504 if codes == {STATEMENT_TIMEOUT} else 200
            if status != 200:
                log_refusal(payload["errors"][0]["extensions"]["code"], status, log, ledgered=entry.written)
                return json_response(payload, status, {"Retry-After": "1"} if status == 503 else None, media)
        return json_response(payload, 200, None, media)

    def _variable_error(self, error: GraphQLError, request_id: str) -> dict[str, Any]:
        """A variable that does not coerce to its type: BAD_USER_INPUT naming the variable in
        ``extensions.variable`` and, in ``extensions.field``, the place in it (``input.personId``)."""
        formatted = self._format(error, BAD_USER_INPUT, request_id)
        match = _VARIABLE_IN_MESSAGE.match(error.message)
        if match is not None:
            name, inner = match.group(1), match.group(2) or ""
            formatted["extensions"]["variable"] = name
            formatted["extensions"]["field"] = name + inner
        return formatted

    def _format(self, error: GraphQLError, code: str, request_id: str) -> dict[str, Any]:
        if code == INTERNAL:
            log.error("resolver failed", exc_info=error.original_error or error)
            message = INTERNAL_MESSAGE
        elif code in STORE_MESSAGES:
            message = STORE_MESSAGES[code]
        else:
            message = plain_message(error.message)
        formatted: dict[str, Any] = {"message": message}
        if error.locations:
            formatted["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
        if error.path:
            formatted["path"] = list(error.path)
        extensions: dict[str, Any] = {"code": code, "requestId": request_id}
        original = error.original_error
        field = getattr(original, "field", None)
        if code not in (INTERNAL, STORE_UNAVAILABLE, STORE_BUSY, STATEMENT_TIMEOUT) and isinstance(
            field, str
        ):
            extensions["field"] = field
        formatted["extensions"] = extensions
        return formatted
