"""Running one GraphQL operation: parse and validate once per distinct document, then execute.

The hub executes through graphql-core directly so it controls, in one place, the document cache,
the validation rules (no suggestions, ever) and how errors are classified.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import strawberry
from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    parse,
    validate,
)
from graphql import execute as graphql_execute
from graphql.execution.values import VariableValues
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from resolvers.errors import Conflict, InvalidInput, NotFound
from schema.compiled.runner import CompiledReads
from schema.input_text import refused_literals, refused_variables
from schema.limits import LimitExceeded, Limits, check_shape, coerce_variables, operation_cost

#: Codes callers may rely on, in ``errors[].extensions.code``.
PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
BAD_USER_INPUT = "BAD_USER_INPUT"
NOT_FOUND = "NOT_FOUND"
CONFLICT = "CONFLICT"
INTERNAL = "INTERNAL_SERVER_ERROR"
STORE_UNAVAILABLE = "STORE_UNAVAILABLE"
#: Every pooled connection was in use for the whole pool timeout: load, not an outage.
STORE_BUSY = "STORE_BUSY"
#: PostgreSQL stopped a statement at ``statement_timeout``.
STATEMENT_TIMEOUT = "STATEMENT_TIMEOUT"


@dataclass(frozen=True, slots=True)
class Prepared:
    """A parsed and validated document (or the errors that stop it)."""

    document: DocumentNode | None
    errors: tuple[GraphQLError, ...]
    code: str | None
    digest: str

    def operation(self, name: str | None) -> OperationDefinitionNode | None:
        if self.document is None:
            return None
        ops = [d for d in self.document.definitions if isinstance(d, OperationDefinitionNode)]
        if name is None:
            return ops[0] if len(ops) == 1 else None
        return next((op for op in ops if op.name and op.name.value == name), None)


@dataclass
class Executor:
    """One schema's executor with a bounded cache of prepared documents."""

    graphql_schema: GraphQLSchema
    limits: Limits = field(default_factory=Limits)
    cache_size: int = 512
    #: The compiled path (``schema/compiled``); None runs every query on the resolvers.
    compiled: CompiledReads | None = None
    _cache: OrderedDict[str, Prepared] = field(default_factory=OrderedDict)

    @classmethod
    def for_schema(
        cls, schema: strawberry.Schema, limits: Limits | None = None, *, compiled: bool = False
    ) -> Executor:
        return cls.over(schema._schema, limits, compiled=compiled)

    @classmethod
    def over(cls, schema: GraphQLSchema, limits: Limits | None = None, *, compiled: bool = False) -> Executor:
        return cls(schema, limits or Limits(), compiled=CompiledReads(schema) if compiled else None)

    def prepare(self, text: str) -> Prepared:
        digest = hashlib.sha256(text.encode()).hexdigest()
        cached = self._cache.get(digest)
        if cached is not None:
            self._cache.move_to_end(digest)
            return cached
        prepared = self._prepare(text, digest)
        self._cache[digest] = prepared
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return prepared

    def _prepare(self, text: str, digest: str) -> Prepared:
        limits = self.limits
        if len(text) > limits.max_query_length:
            error = LimitExceeded(
                "QUERY_TOO_LONG",
                f"the query is {len(text):,} characters long; the limit is {limits.max_query_length:,}",
            )
            return Prepared(None, (error,), error.code, digest)
        try:
            document = parse(text, max_tokens=limits.max_tokens)
        except GraphQLError as exc:
            if "tokens" in exc.message and "Parsing aborted" in exc.message:
                error = LimitExceeded(
                    "TOO_MANY_TOKENS",
                    f"the document has more than {limits.max_tokens:,} tokens; that is the limit",
                )
                return Prepared(None, (error,), error.code, digest)
            return Prepared(None, (exc,), PARSE_FAILED, digest)
        # The shape is checked before validation: some validation rules grow with the square of the
        # document, so an oversized document must not reach them.
        exceeded = check_shape(document, limits)
        if exceeded is not None:
            return Prepared(None, (exceeded,), exceeded.code, digest)
        errors = validate(self.graphql_schema, document, hide_suggestions=True)
        if errors:
            return Prepared(None, tuple(errors), VALIDATION_FAILED, digest)
        refused = refused_literals(document)
        if refused:
            return Prepared(None, tuple(refused), BAD_USER_INPUT, digest)
        return Prepared(document, (), None, digest)

    def coerce(
        self, prepared: Prepared, operation_name: str | None, variables: dict[str, Any] | None
    ) -> VariableValues | list[GraphQLError]:
        """The operation's variables as execution will coerce them (defaults applied), or the errors
        that stop it before it runs."""
        operation = prepared.operation(operation_name)
        assert operation is not None
        return coerce_variables(self.graphql_schema, operation, variables)

    def cost(self, prepared: Prepared, operation_name: str | None, coerced: VariableValues) -> int:
        """The operation's cost under its *coerced* variable values (``coerce``)."""
        assert prepared.document is not None
        return operation_cost(self.graphql_schema, prepared.document, operation_name, coerced)

    async def execute(
        self,
        prepared: Prepared,
        variables: dict[str, Any] | None,
        operation_name: str | None,
        context: Any,
    ) -> ExecutionResult:
        assert prepared.document is not None
        refused = refused_variables(variables)
        if refused:
            return ExecutionResult(None, refused)
        if self.compiled is not None:
            operation = prepared.operation(operation_name)
            assert operation is not None
            spliced = await self.compiled.execute(
                prepared.digest, prepared.document, operation, variables, context, operation_name
            )
            if spliced is not None:
                return spliced
        result = graphql_execute(
            self.graphql_schema,
            prepared.document,
            context_value=context,
            variable_values=variables,
            operation_name=operation_name,
            hide_suggestions=True,
        )
        if not isinstance(result, ExecutionResult):
            result = await result
        assert isinstance(result, ExecutionResult)
        return result


def is_mutation(prepared: Prepared, operation_name: str | None) -> bool:
    op = prepared.operation(operation_name)
    return op is not None and op.operation is OperationType.MUTATION


def error_code(error: GraphQLError) -> str:
    original = error.original_error
    if original is None or isinstance(original, GraphQLError):
        return BAD_USER_INPUT  # variable coercion and other request errors found during execution
    if isinstance(original, InvalidInput | NotFound | Conflict):
        return original.code
    if is_store_busy(original):
        return STORE_BUSY
    if is_statement_timeout(original):
        return STATEMENT_TIMEOUT
    if is_store_failure(original):
        return STORE_UNAVAILABLE
    return INTERNAL


def is_statement_timeout(exc: BaseException) -> bool:
    """The server cancelled the statement at its ``statement_timeout`` (SQLSTATE 57014)."""
    return isinstance(exc, DBAPIError) and getattr(exc.orig, "sqlstate", None) == "57014"


def is_store_busy(exc: BaseException) -> bool:
    """No pooled connection came free in time (SQLAlchemy's pool timeout, not the builtin one)."""
    return isinstance(exc, PoolTimeout)


def is_store_failure(exc: BaseException) -> bool:
    """The store could not be reached or dropped the connection (not a bug in the query)."""
    if isinstance(exc, OSError | TimeoutError | ConnectionError):
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated or isinstance(exc, OperationalError | InterfaceError):
            return True
        # asyncpg's refusals while the server shuts down or starts up come as plain DBAPIErrors:
        # connection exceptions (08…) and admin/crash shutdown, cannot connect now (57P01-57P03).
        sqlstate = str(getattr(exc.orig, "sqlstate", None) or "")
        return sqlstate.startswith("08") or sqlstate in _SERVER_GOING_AWAY
    return False


_SERVER_GOING_AWAY = frozenset({"57P01", "57P02", "57P03"})


def is_internal(error: GraphQLError) -> bool:
    return error_code(error) == INTERNAL


def document_problem(executor: Executor, text: str) -> str | None:
    """Why ``executor`` would refuse ``text`` (its code and first message), or None if it would run it:
    what a document must pass before it is registered as a client's persisted operation."""
    prepared = executor.prepare(text)
    if prepared.code is None:
        return None
    return f"{prepared.code}: {prepared.errors[0].message}"
