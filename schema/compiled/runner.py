"""Running a query operation on the compiled path: plans, statements, the spliced response.

A *plan* is what the compiler made of one operation for one caller: for each root field, either the
SQL expressions of its selection (the JSON of a row, its disclosures) or "resolver path". Plans are
cached per (document digest, operation name, partner, the Boolean variables that steer ``@skip`` and
``@include``), bounded; the audience is the executor's own. Arguments are read per request and bound
as parameters, never written into the SQL.

Each compiled root field's JSON comes back from the store as text and goes into the response as an
``orjson.Fragment``: no Python object per row. Root fields the compiler does not declare run on the
resolver path in the same transaction (one graphql-core execution of just those fields), and the
response keeps the operation's order.
"""

from __future__ import annotations

import json
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import orjson
from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValueNode,
    VariableNode,
)
from graphql import execute as graphql_execute
from graphql.execution.values import VariableValues, get_argument_values
from sqlalchemy import ColumnElement, Date, FromClause, bindparam, func, select
from sqlalchemy.exc import OperationalError

from resolvers.errors import InvalidInput
from resolvers.pagination import check_page_size, decode_cursor, encode_cursor, keyset_after
from schema.compiled.compiler import (
    TYPENAME,
    Dialect,
    Level,
    NotCompilable,
    collect,
    compile_object,
    disclosure,
)
from schema.compiled.roots import ROOTS, Root
from schema.limits import coerce_variables

TODAY = "hub_today"


@dataclass(slots=True)
class Nodes:
    """One compiled object selection: its JSON text and disclosure columns."""

    value: ColumnElement[Any]
    disclosed: ColumnElement[Any] | None


@dataclass(slots=True)
class RootPlan:
    key: str
    nodes: list[FieldNode]
    root: Root | None = None
    alias: FromClause | None = None
    scope: ColumnElement[bool] | None = None
    #: A single row: its selection; a connection: one per ``nodes`` key.
    objects: dict[str, Nodes] = field(default_factory=dict)
    #: A connection's selection: response key -> field name (nodes, pageInfo, totalCount, __typename).
    shape: dict[str, str] = field(default_factory=dict)
    page_info: dict[str, str] = field(default_factory=dict)
    type_name: str = ""
    non_null: bool = False


@dataclass(slots=True)
class Plan:
    roots: list[RootPlan]
    compiled: bool
    compile_ms: float


@dataclass
class CompiledReads:
    """The compiled path of one audience's executor."""

    schema: GraphQLSchema
    cache_size: int = 512
    _plans: OrderedDict[tuple[Any, ...], Plan] = field(default_factory=OrderedDict)
    #: Plans compiled, and the time it took (``hub_compile_seconds`` reads these).
    compiled_count: int = 0
    compile_seconds: float = 0.0
    #: Root fields answered by a compiled statement (the rest ran on the resolvers).
    roots_run: int = 0
    #: Document digest -> the variables its nested fields' arguments use.
    _nested: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def plan(
        self,
        digest: str,
        operation: OperationDefinitionNode,
        document: DocumentNode,
        variables: VariableValues,
        dialect: Dialect,
        principal: Any,
    ) -> Plan:
        flags = tuple(sorted((k, v) for k, v in variables.coerced.items() if isinstance(v, bool)))
        # A nested connection's arguments are compiled into the plan (bound values, per parent): the
        # plan is for the values of the variables they use.
        nested = self._nested.get(digest)
        if nested is None:
            nested = self._nested[digest] = nested_variables(document)
            if len(self._nested) > self.cache_size:
                self._nested.pop(next(iter(self._nested)))
        pages = tuple(
            (name, json.dumps(variables.coerced.get(name), sort_keys=True, default=str)) for name in nested
        )
        key = (
            digest,
            operation.name.value if operation.name else None,
            principal.partner_id,
            dialect.postgres,
            flags,
            pages,
        )
        plan = self._plans.get(key)
        if plan is not None:
            self._plans.move_to_end(key)
            return plan
        started = time.perf_counter()
        plan = self._compile(operation, document, variables, dialect, principal)
        elapsed = time.perf_counter() - started
        plan.compile_ms = elapsed * 1000
        self.compiled_count += 1
        self.compile_seconds += elapsed
        self._plans[key] = plan
        if len(self._plans) > self.cache_size:
            self._plans.popitem(last=False)
        return plan

    def _compile(
        self,
        operation: OperationDefinitionNode,
        document: DocumentNode,
        variables: VariableValues,
        dialect: Dialect,
        principal: Any,
    ) -> Plan:
        fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        level = Level(
            dialect=dialect,
            schema=self.schema,
            principal=principal,
            fragments=fragments,
            variables=variables,
            today=bindparam(TODAY, type_=Date),
        )
        query = self.schema.query_type
        assert query is not None
        roots: list[RootPlan] = []
        try:
            fields = collect(query.name, [operation.selection_set], level)
        except NotCompilable:
            return Plan([], False, 0.0)
        any_compiled = False
        for key, nodes in fields.items():
            plan = RootPlan(key, nodes)
            try:
                self._compile_root(plan, level)
                any_compiled = True
            except NotCompilable:
                plan.root = None
            roots.append(plan)
        return Plan(roots, any_compiled, 0.0)

    def _compile_root(self, plan: RootPlan, level: Level) -> None:
        name = plan.nodes[0].name.value
        query = self.schema.query_type
        assert query is not None
        if name == TYPENAME:
            plan.shape = {plan.key: TYPENAME}
            plan.type_name = query.name
            plan.root = ROOTS["person"]  # any declared root: the value is the type name alone
            return
        root = ROOTS.get(name)
        gfield = query.fields.get(name)
        if root is None or gfield is None:
            raise NotCompilable(f"root field {name}")
        plan.non_null = isinstance(gfield.type, GraphQLNonNull)
        alias = root.model.__table__.alias()
        plan.alias = alias
        plan.scope = level.scope(root.model, alias)
        if root.order is None:
            inner = compile_object(level, root.type_name, plan.nodes, alias, root.model)
            plan.objects[plan.key] = Nodes(inner.value, _text(level, inner))
        else:
            connection = gfield.type.of_type if isinstance(gfield.type, GraphQLNonNull) else gfield.type
            if not isinstance(connection, GraphQLObjectType):
                raise NotCompilable("a connection of another kind")
            plan.type_name = connection.name
            for key, nodes in collect(connection.name, (n.selection_set for n in plan.nodes), level).items():
                fname = nodes[0].name.value
                plan.shape[key] = fname
                if fname == "nodes":
                    inner = compile_object(level, root.type_name, nodes, alias, root.model)
                    plan.objects[key] = Nodes(inner.value, _text(level, inner))
                elif fname == "pageInfo":
                    info = collect("PageInfo", (n.selection_set for n in nodes), level)
                    shape = {k: ns[0].name.value for k, ns in info.items()}
                    plan.page_info.update(shape)
                    if len({*shape.values()} - {"hasNextPage", "endCursor", "startCursor", TYPENAME}):
                        raise NotCompilable("pageInfo field")
                elif fname not in ("totalCount", TYPENAME):
                    raise NotCompilable(f"connection field {fname}")
        plan.root = root

    async def execute(
        self,
        digest: str,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        variables: dict[str, Any] | None,
        context: Any,
        operation_name: str | None,
    ) -> ExecutionResult | None:
        """The operation's result with every compiled root field spliced in; None when nothing of it
        compiles (the caller then runs it on the resolver path as a whole)."""
        if operation.operation is not OperationType.QUERY:
            return None
        coerced = coerce_variables(self.schema, operation, variables)
        if isinstance(coerced, list):
            return None
        dialect = Dialect(context.db.session.get_bind().dialect.name == "postgresql")
        plan = self.plan(digest, operation, document, coerced, dialect, context.principal)
        if not plan.compiled:
            return None
        data: dict[str, Any] = {}
        fallback: list[RootPlan] = []
        errors: list[GraphQLError] = []
        for root in plan.roots:
            if root.root is None:
                fallback.append(root)
                data[root.key] = None
                continue
            try:
                data[root.key] = await self._run_root(root, coerced, context)
                self.roots_run += 1
            except NotCompilable:
                fallback.append(root)
                data[root.key] = None
            except Exception as exc:  # noqa: BLE001 - the store failed: graphql-core would catch it the same way
                if _beyond_the_parser(exc):
                    # SQLite refused to parse the statement (no side effect, the transaction goes
                    # on): this plan's root runs on the resolver path, now and from now on.
                    root.root = None
                    fallback.append(root)
                    data[root.key] = None
                    continue
                errors.append(GraphQLError(str(exc), root.nodes, path=[root.key], original_error=exc))
                if root.non_null:
                    return ExecutionResult(None, errors)
                data[root.key] = None
        if fallback:
            result = await self._run_fallback(
                document, operation, fallback, variables, context, operation_name
            )
            if result.data is None:
                return ExecutionResult(None, [*errors, *(result.errors or [])])
            for root in fallback:
                data[root.key] = result.data.get(root.key)
            errors += result.errors or []
        return ExecutionResult(data, errors or None)

    async def _run_root(self, plan: RootPlan, variables: VariableValues, context: Any) -> Any:
        if plan.shape.get(plan.key) == TYPENAME:
            return plan.type_name
        root = plan.root
        assert root is not None
        assert plan.alias is not None
        assert plan.scope is not None
        query = self.schema.query_type
        assert query is not None
        args = get_argument_values(query.fields[plan.nodes[0].name.value], plan.nodes[0], variables)
        alias = plan.alias
        today = context.now.date()
        where = [plan.scope, *root.where(args, alias, today)]
        params = {TODAY: today}
        db = context.db
        if root.order is None:
            (only,) = plan.objects.values()
            wanted = [only.value] + ([only.disclosed] if only.disclosed is not None else [])
            row = (await db.execute(select(*wanted).select_from(alias).where(*where), params)).first()
            if row is None:
                return None
            if only.disclosed is not None:
                _record(row[1], context.disclosed)
            return orjson.Fragment(row[0])
        try:
            size = check_page_size(args.get("first"))
            after = args.get("after")
            order = [alias.c[name] for name in root.order]
            if after:
                where.append(keyset_after(order, decode_cursor(after, len(order))))
        except InvalidInput as exc:
            raise NotCompilable(str(exc)) from None
        rows: list[Any] = []
        wants_rows = bool(plan.objects) or bool(plan.page_info)
        if size and wants_rows:
            columns: list[ColumnElement[Any]] = []
            for nodes in plan.objects.values():
                columns.append(nodes.value)
                if nodes.disclosed is not None:
                    columns.append(nodes.disclosed)
            stmt = select(*columns, *order).select_from(alias).where(*where).order_by(*order).limit(size + 1)
            rows = list((await db.execute(stmt, params)).all())
        has_next = len(rows) > size
        rows = rows[:size]
        width = len(root.order)
        out: dict[str, Any] = {}
        for key, fname in plan.shape.items():
            if fname == "nodes":
                index = list(plan.objects).index(key)
                position = sum(1 + (n.disclosed is not None) for n in list(plan.objects.values())[:index])
                disclosed = plan.objects[key].disclosed is not None
                texts = []
                for row in rows:
                    texts.append(row[position])
                    if disclosed:
                        _record(row[position + 1], context.disclosed)
                out[key] = orjson.Fragment("[" + ",".join(texts) + "]")
            elif fname == "pageInfo":
                info: dict[str, Any] = {}
                for ikey, iname in plan.page_info.items():
                    if iname == "hasNextPage":
                        info[ikey] = has_next
                    elif iname == "endCursor":
                        info[ikey] = encode_cursor(list(rows[-1][-width:])) if rows else None
                    elif iname == "startCursor":
                        info[ikey] = encode_cursor(list(rows[0][-width:])) if rows else None
                    else:
                        info[ikey] = "PageInfo"
                out[key] = info
            elif fname == "totalCount":
                base = [plan.scope, *root.where(args, alias, today)]
                count = await db.execute(select(func.count()).select_from(alias).where(*base), params)
                out[key] = int(count.scalar_one())
            else:
                out[key] = plan.type_name
        return out

    async def _run_fallback(
        self,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        roots: list[RootPlan],
        variables: dict[str, Any] | None,
        context: Any,
        operation_name: str | None,
    ) -> ExecutionResult:
        """Just ``roots``, on the resolver path (the operation's fragments and variables kept)."""
        selections = tuple(node for root in roots for node in root.nodes)
        reduced = OperationDefinitionNode(
            operation=operation.operation,
            name=operation.name,
            variable_definitions=operation.variable_definitions,
            directives=operation.directives,
            selection_set=SelectionSetNode(selections=selections),
        )
        others = tuple(
            d
            for d in document.definitions
            if d is not operation and not isinstance(d, OperationDefinitionNode)
        )
        result = graphql_execute(
            self.schema,
            DocumentNode(definitions=(reduced, *others)),
            context_value=context,
            variable_values=variables,
            operation_name=operation_name,
            hide_suggestions=True,
        )
        if not isinstance(result, ExecutionResult):
            result = await result
        assert isinstance(result, ExecutionResult)
        return result


def nested_variables(document: DocumentNode) -> tuple[str, ...]:
    """The variables the arguments of fields below the root use (anywhere in a fragment counts)."""
    found: set[str] = set()

    def values(node: ValueNode) -> None:
        if isinstance(node, VariableNode):
            found.add(node.name.value)
        elif isinstance(node, ListValueNode):
            for item in node.values:
                values(item)
        elif isinstance(node, ObjectValueNode):
            for object_field in node.fields:
                values(object_field.value)

    def walk(selection_set: SelectionSetNode | None, nested: bool) -> None:
        for node in selection_set.selections if selection_set is not None else ():
            if isinstance(node, FieldNode):
                if nested:
                    for argument in node.arguments or ():
                        values(argument.value)
                walk(node.selection_set, True)
            elif isinstance(node, InlineFragmentNode):
                walk(node.selection_set, nested)

    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            walk(definition.selection_set, False)
        elif isinstance(definition, FragmentDefinitionNode):
            walk(definition.selection_set, True)
    return tuple(sorted(found))


def _beyond_the_parser(exc: BaseException) -> bool:
    """SQLite's "parser stack overflow": a statement nested deeper than its fixed parser stack
    (``MAX_DEPTH`` keeps most selections under it; how deep a level nests varies with its fields)."""
    return isinstance(exc, OperationalError) and "parser stack overflow" in str(exc.orig)


def _text(level: Level, compiled: Any) -> ColumnElement[Any] | None:
    disclosed = disclosure(level, compiled.entries, compiled.extras)
    return None if disclosed is None else level.dialect.text(disclosed)


def _record(text: str | None, disclosed: dict[tuple[str, int], set[str]]) -> None:
    """Adds a row's ``[[kind, pk, class-or-null, ...], ...]`` to the request's disclosures."""
    if text:
        _walk(orjson.loads(text), disclosed)


def _walk(value: Any, disclosed: dict[tuple[str, int], set[str]]) -> None:
    if not isinstance(value, list) or not value:
        return
    if isinstance(value[0], str):  # an entry: [kind, pk, class-or-null, ...]
        kind, pk, *classes = value
        shown = [c for c in classes if c is not None]
        if pk is not None and shown:
            disclosed.setdefault((kind, int(pk)), set()).update(shown)
        return
    for item in value:  # entries, and arrays of them from nested rows
        _walk(item, disclosed)
