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
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from resolvers.errors import Conflict, InvalidInput, NotFound

#: Codes callers may rely on, in ``errors[].extensions.code``.
PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
BAD_USER_INPUT = "BAD_USER_INPUT"
NOT_FOUND = "NOT_FOUND"
CONFLICT = "CONFLICT"
INTERNAL = "INTERNAL_SERVER_ERROR"
STORE_UNAVAILABLE = "STORE_UNAVAILABLE"


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

    schema: strawberry.Schema
    cache_size: int = 512
    _cache: OrderedDict[str, Prepared] = field(default_factory=OrderedDict)

    @property
    def graphql_schema(self) -> GraphQLSchema:
        return self.schema._schema

    def prepare(self, text: str) -> Prepared:
        digest = hashlib.sha256(text.encode()).hexdigest()
        cached = self._cache.get(digest)
        if cached is not None:
            self._cache.move_to_end(digest)
            return cached
        try:
            document = parse(text)
        except GraphQLError as exc:
            prepared = Prepared(None, (exc,), PARSE_FAILED, digest)
        else:
            errors = validate(self.graphql_schema, document, hide_suggestions=True)
            prepared = Prepared(
                None if errors else document, tuple(errors), VALIDATION_FAILED if errors else None, digest
            )
        self._cache[digest] = prepared
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return prepared

    async def execute(
        self,
        prepared: Prepared,
        variables: dict[str, Any] | None,
        operation_name: str | None,
        context: Any,
    ) -> ExecutionResult:
        assert prepared.document is not None
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
    if is_store_failure(original):
        return STORE_UNAVAILABLE
    return INTERNAL


def is_store_failure(exc: BaseException) -> bool:
    """The store could not be reached or dropped the connection (not a bug in the query)."""
    if isinstance(exc, OSError | TimeoutError | ConnectionError):
        return True
    if isinstance(exc, DBAPIError):
        return bool(exc.connection_invalidated) or isinstance(exc, OperationalError | InterfaceError)
    return False


def is_internal(error: GraphQLError) -> bool:
    return error_code(error) == INTERNAL
