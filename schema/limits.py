"""Limits on what one operation may ask: size, depth, aliases, directives, and a static cost.

Each refusal names the limit and the value, so a partner can fix the query without guessing. The
cost model: every field costs 1; a connection multiplies what is below it by its page size (``first``,
default 20); a plain list multiplies by ``LIST_SIZE``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    Visitor,
    get_named_type,
    visit,
)
from graphql.execution.values import VariableValues, get_argument_values, get_variable_values

#: What a plain (bounded) list under one parent is assumed to hold.
LIST_SIZE = 10
DEFAULT_PAGE = 20
#: Coercion errors reported for one request's variables before the rest are left unchecked.
MAX_VARIABLE_ERRORS = 20


@dataclass(frozen=True, slots=True)
class Limits:
    max_depth: int = 10
    max_aliases: int = 15
    max_tokens: int = 1000
    max_directives: int = 20
    max_query_length: int = 15_000
    max_cost: int = 50_000


class LimitExceeded(GraphQLError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, extensions={"code": code})
        self.code = code


def _fragments(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


def _depth(
    selection_set: SelectionSetNode | None, fragments: dict[str, FragmentDefinitionNode], seen: frozenset[str]
) -> int:
    if selection_set is None:
        return 0
    deepest = 0
    for sel in selection_set.selections:
        if isinstance(sel, FieldNode):
            if sel.name.value.startswith("__"):
                continue  # introspection has its own depth rule in graphql-core
            deepest = max(deepest, 1 + _depth(sel.selection_set, fragments, seen))
        elif isinstance(sel, InlineFragmentNode):
            deepest = max(deepest, _depth(sel.selection_set, fragments, seen))
        elif isinstance(sel, FragmentSpreadNode) and sel.name.value not in seen:
            fragment = fragments.get(sel.name.value)
            if fragment is not None:
                deepest = max(deepest, _depth(fragment.selection_set, fragments, seen | {sel.name.value}))
    return deepest


class _Counter(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.aliases = 0
        self.directives = 0

    def enter_field(self, node: FieldNode, *_: Any) -> None:
        if node.alias is not None:
            self.aliases += 1

    def enter_directive(self, *_: Any) -> None:
        self.directives += 1


def check_shape(document: DocumentNode, limits: Limits) -> LimitExceeded | None:
    """Depth, aliases and directives: static properties of the document, checked once per document."""
    fragments = _fragments(document)
    for op in document.definitions:
        if isinstance(op, OperationDefinitionNode):
            depth = _depth(op.selection_set, fragments, frozenset())
            if depth > limits.max_depth:
                return LimitExceeded(
                    "QUERY_TOO_DEEP", f"the operation is {depth} levels deep; the limit is {limits.max_depth}"
                )
    counter = _Counter()
    visit(document, counter)
    if counter.aliases > limits.max_aliases:
        return LimitExceeded(
            "TOO_MANY_ALIASES",
            f"the document uses {counter.aliases} aliases; the limit is {limits.max_aliases}",
        )
    if counter.directives > limits.max_directives:
        return LimitExceeded(
            "TOO_MANY_DIRECTIVES",
            f"the document uses {counter.directives} directives; the limit is {limits.max_directives}",
        )
    return None


def _page_size(field: GraphQLField, node: FieldNode, variables: VariableValues) -> int:
    """The ``first`` a connection field will run with: literal, variable or default, coerced as
    execution coerces it (``variables`` are the operation's coerced variable values)."""
    first = field.args.get("first")
    if first is None:
        return DEFAULT_PAGE
    try:
        only_first = GraphQLField(field.type, args={"first": first})
        value = get_argument_values(only_first, node, variables).get("first")
    except GraphQLError:
        return DEFAULT_PAGE  # execution refuses the field the same way; nothing below it runs
    if isinstance(value, int):
        return max(0, value)
    return DEFAULT_PAGE


def coerce_variables(
    schema: GraphQLSchema, operation: OperationDefinitionNode, raw: dict[str, Any] | None
) -> VariableValues | list[GraphQLError]:
    """The operation's variable values as execution will see them (defaults applied, values coerced),
    or the coercion errors: graphql-core's ``get_variable_values``, the function ``execute`` calls."""
    return get_variable_values(
        schema,
        operation.variable_definitions or (),
        raw or {},
        max_errors=MAX_VARIABLE_ERRORS,
        hide_suggestions=True,
    )


def _is_connection(type_: Any) -> bool:
    named = get_named_type(type_)
    return (
        isinstance(named, GraphQLObjectType)
        and named.name.endswith("Connection")
        and "pageInfo" in named.fields
    )


def _is_list(type_: Any) -> bool:
    while isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    return isinstance(type_, GraphQLList)


def operation_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: VariableValues | Mapping[str, Any] | None,
) -> int:
    """The static cost of the operation that will run, before it runs.

    ``variables`` are the *coerced* values (``coerce_variables``, or a mapping of values already
    coerced), never the request's raw ones: those lack the operation's defaults.
    """
    fragments = _fragments(document)
    if not isinstance(variables, VariableValues):
        variables = VariableValues({}, dict(variables or {}))
    ops = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    op = next((o for o in ops if operation_name is None or (o.name and o.name.value == operation_name)), None)
    if op is None:
        return 0
    root = {
        OperationType.QUERY: schema.query_type,
        OperationType.MUTATION: schema.mutation_type,
        OperationType.SUBSCRIPTION: schema.subscription_type,
    }[op.operation]
    if root is None:
        return 0

    def cost(selection_set: SelectionSetNode | None, parent: Any, seen: frozenset[str]) -> int:
        if selection_set is None:
            return 0
        named = get_named_type(parent)
        fields = getattr(named, "fields", {})
        total = 0
        for sel in selection_set.selections:
            if isinstance(sel, FieldNode):
                field = fields.get(sel.name.value)
                if field is None:
                    continue  # __typename and introspection: free
                below = cost(sel.selection_set, field.type, seen)
                if _is_connection(field.type):
                    below *= _page_size(field, sel, variables)
                elif _is_list(field.type) and not _is_connection(named):
                    # A connection's own `nodes` list is the page already counted above.
                    below *= LIST_SIZE
                total += 1 + below
            elif isinstance(sel, InlineFragmentNode):
                target = schema.get_type(sel.type_condition.name.value) if sel.type_condition else named
                total += cost(sel.selection_set, target, seen)
            elif isinstance(sel, FragmentSpreadNode) and sel.name.value not in seen:
                fragment = fragments.get(sel.name.value)
                if fragment is not None:
                    target = schema.get_type(fragment.type_condition.name.value)
                    total += cost(fragment.selection_set, target, seen | {sel.name.value})
        return total

    return cost(op.selection_set, root, frozenset())
