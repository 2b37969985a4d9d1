"""Limits on what one operation may ask: size, depth, aliases, directives, and a static cost.

Each refusal names the limit and the value, so a partner can fix the query without guessing. The
cost model: every field costs 1; a connection multiplies what is below it by its page size (``first``,
default 20); a plain list multiplies by ``LIST_SIZE``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    Visitor,
    get_named_type,
    visit,
)

#: What a plain (bounded) list under one parent is assumed to hold.
LIST_SIZE = 10
DEFAULT_PAGE = 20


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


def _page_size(node: FieldNode, variables: dict[str, Any]) -> int:
    for arg in node.arguments or ():
        if arg.name.value != "first":
            continue
        if isinstance(arg.value, IntValueNode):
            return max(0, int(arg.value.value))
        if isinstance(arg.value, VariableNode):
            value = variables.get(arg.value.name.value)
            if isinstance(value, int):
                return max(0, value)
    return DEFAULT_PAGE


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
    variables: dict[str, Any] | None,
) -> int:
    """The static cost of the operation that will run, before it runs."""
    fragments = _fragments(document)
    variables = variables or {}
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
                    below *= _page_size(sel, variables)
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
