"""One schema per audience, derived from the one set of types by the policy table.

A field an audience may not read is not in its schema at all: validation fails on it exactly as on a
field that does not exist, and introspection never shows it. Types left with no readable field, and
fields whose type was removed, disappear too; what cannot be reached from the roots is pruned.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import strawberry
from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLField,
    GraphQLFieldResolver,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLType,
    GraphQLUnionType,
    get_named_type,
    is_introspection_type,
    is_specified_scalar_type,
)

from auth.policy import readable
from resolvers.models.partners import Audience
from schema.disclosures import record_disclosures

#: (type name, field name) -> keep the field in this audience's schema?
KeepField = Callable[[str, str], bool]
#: (type name, field name, resolver) -> the resolver this audience's schema runs (e.g. a consent gate)
WrapResolver = Callable[[str, str, GraphQLFieldResolver | None], GraphQLFieldResolver | None]


def _composite(t: GraphQLNamedType) -> bool:
    return isinstance(t, GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType)


def _removed_types(source: GraphQLSchema, keep: KeepField) -> set[str]:
    """Composite types with nothing left to read, to a fixed point (removing one can empty another)."""
    removed: set[str] = set()
    changed = True
    while changed:
        changed = False
        for name, t in source.type_map.items():
            if name in removed or is_introspection_type(t) or not _composite(t):
                continue
            if isinstance(t, GraphQLUnionType):
                alive = [m for m in t.types if m.name not in removed]
            else:
                fields = cast(GraphQLObjectType | GraphQLInterfaceType, t).fields
                alive = [
                    f
                    for f, field in fields.items()
                    if keep(name, f) and get_named_type(field.type).name not in removed
                ]
            if not alive:
                removed.add(name)
                changed = True
    return removed


def filter_schema(source: GraphQLSchema, keep: KeepField, wrap: WrapResolver | None = None) -> GraphQLSchema:
    """A new schema with only the fields ``keep`` allows (and the types they still reach)."""
    removed = _removed_types(source, keep)
    built: dict[str, GraphQLNamedType] = {}

    def rewrap(t: GraphQLType) -> Any:
        if isinstance(t, GraphQLNonNull):
            return GraphQLNonNull(rewrap(t.of_type))
        if isinstance(t, GraphQLList):
            return GraphQLList(rewrap(t.of_type))
        return named(cast(GraphQLNamedType, t))

    def args(field: GraphQLField) -> dict[str, GraphQLArgument]:
        return {
            n: GraphQLArgument(
                rewrap(a.type),
                default_value=a.default_value,
                description=a.description,
                deprecation_reason=a.deprecation_reason,
                out_name=a.out_name,
                extensions=a.extensions,
                ast_node=a.ast_node,
            )
            for n, a in field.args.items()
        }

    def fields_of(t: GraphQLObjectType | GraphQLInterfaceType) -> Callable[[], dict[str, GraphQLField]]:
        def thunk() -> dict[str, GraphQLField]:
            out: dict[str, GraphQLField] = {}
            for fname, field in t.fields.items():
                if not keep(t.name, fname) or get_named_type(field.type).name in removed:
                    continue
                resolve = wrap(t.name, fname, field.resolve) if wrap else field.resolve
                out[fname] = GraphQLField(
                    rewrap(field.type),
                    args=args(field),
                    resolve=resolve,
                    subscribe=field.subscribe,
                    description=field.description,
                    deprecation_reason=field.deprecation_reason,
                    extensions=field.extensions,
                    ast_node=field.ast_node,
                )
            return out

        return thunk

    def named(t: GraphQLNamedType) -> GraphQLNamedType:
        if is_introspection_type(t) or is_specified_scalar_type(t):
            return t
        done = built.get(t.name)
        if done is not None:
            return done
        new: GraphQLNamedType
        if isinstance(t, GraphQLScalarType | GraphQLEnumType):
            new = t  # leaves: nothing inside them to filter
        elif isinstance(t, GraphQLObjectType):
            new = GraphQLObjectType(
                t.name,
                fields_of(t),
                interfaces=lambda t=t: [
                    cast(GraphQLInterfaceType, named(i)) for i in t.interfaces if i.name not in removed
                ],
                is_type_of=t.is_type_of,
                description=t.description,
                extensions=t.extensions,
                ast_node=t.ast_node,
            )
        elif isinstance(t, GraphQLInterfaceType):
            new = GraphQLInterfaceType(
                t.name,
                fields_of(t),
                resolve_type=t.resolve_type,
                description=t.description,
                extensions=t.extensions,
                ast_node=t.ast_node,
            )
        elif isinstance(t, GraphQLUnionType):
            new = GraphQLUnionType(
                t.name,
                lambda t=t: [cast(GraphQLObjectType, named(m)) for m in t.types if m.name not in removed],  # type: ignore[misc]
                resolve_type=t.resolve_type,
                description=t.description,
                extensions=t.extensions,
                ast_node=t.ast_node,
            )
        elif isinstance(t, GraphQLInputObjectType):
            new = GraphQLInputObjectType(
                t.name,
                lambda t=t: {  # type: ignore[misc]
                    n: GraphQLInputField(
                        rewrap(f.type),
                        default_value=f.default_value,
                        description=f.description,
                        deprecation_reason=f.deprecation_reason,
                        out_name=f.out_name,
                        extensions=f.extensions,
                        ast_node=f.ast_node,
                    )
                    for n, f in t.fields.items()
                },
                description=t.description,
                out_type=t.out_type,
                extensions=t.extensions,
                ast_node=t.ast_node,
            )
        else:  # pragma: no cover - graphql-core has no other named types
            raise TypeError(f"unexpected type {t!r}")
        built[t.name] = new
        return new

    def root(t: GraphQLObjectType | None) -> GraphQLObjectType | None:
        if t is None or t.name in removed:
            return None
        return cast(GraphQLObjectType, named(t))

    query = root(source.query_type)
    if query is None:
        # GraphQL requires a query root; an audience that may read nothing still gets a valid schema.
        query = GraphQLObjectType("Query", {"_empty": GraphQLField(GraphQLScalarType("Void"))})
    schema = GraphQLSchema(
        query=query,
        mutation=root(source.mutation_type),
        directives=source.directives,
        description=source.description,
        extensions=source.extensions,
    )
    # Strawberry's Info reaches its own schema object through this attribute.
    schema._strawberry_schema = getattr(source, "_strawberry_schema", None)  # type: ignore[attr-defined]
    return schema


def audience_schema(schema: strawberry.Schema, audience: Audience, *, record: bool = True) -> GraphQLSchema:
    """The schema ``audience`` sees: every field the policy table lets it read, nothing else.

    With ``record``, person-related fields note what they disclose for the ledger
    (``schema/disclosures.py``); only a benchmark of the ledger's cost turns it off.
    """
    return filter_schema(
        schema._schema,
        lambda type_name, field_name: readable(audience, type_name, field_name),
        record_disclosures if record else None,
    )


def audience_schemas(schema: strawberry.Schema, *, record: bool = True) -> dict[Audience, GraphQLSchema]:
    return {audience: audience_schema(schema, audience, record=record) for audience in Audience}
