"""From a selection on an audience schema to one SQL expression that builds the selection's JSON.

Every level of the selection reads its own aliased table, filtered by ``row_scope(principal, Model)``
adapted to that alias (consent conditions and the victim embargo included), so a compiled read reaches
exactly the rows the resolver path's loaders reach. Values are serialized in SQL exactly as the resolver
path serializes them (enums by name, global ids, booleans, ISO dates); a field or type the compiler
does not know raises ``NotCompilable`` and the whole root field runs on the resolver path.

Alongside the JSON, each root row yields what it disclosed for the ledger: an array of
``[kind, pk, class, ...]`` entries (a class is null where the field it came from was null), the same
``(subject kind, pk) -> classes`` the resolver path records field by field (``schema/disclosures.py``).
A child's subjects are folded into the parent's row when they are the rows the relation joins on
(a person's enrollments are about that person), under the condition that such a child exists in scope.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLEnumType,
    GraphQLIncludeDirective,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLSkipDirective,
    InlineFragmentNode,
    SelectionSetNode,
)
from graphql.execution.values import VariableValues, get_argument_values, get_directive_values
from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Date,
    DateTime,
    FromClause,
    Integer,
    String,
    Text,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.sql.util import ClauseAdapter

from auth.policy import field_class
from auth.principal import Principal
from auth.scopes import row_scope
from resolvers.errors import InvalidInput
from resolvers.pagination import check_page_size, decode_cursor, keyset_after
from schema.compiled.sources import TABLES, Column, Computed, GlobalId, Many, One, Paged, Source
from schema.disclosures import PERSON_CLASSES, SUBJECTS
from schema.fields import SOURCE

STRUCTURE = "structure"
TYPENAME = "__typename"
#: json_build_object takes at most 100 arguments: 50 keys a level.
MAX_KEYS = 50
#: Relations nested in one statement: SQLite's parser has a fixed stack (a "parser stack overflow"
#: past about six); deeper selections run on the resolver path.
MAX_DEPTH = {True: 12, False: 4}


class NotCompilable(Exception):
    """The selection asks for something the compiler does not declare: the resolver path answers."""


# --- the two stores' JSON functions ------------------------------------------------------------------


#: A key of a JSON object, its value, and whether the value is JSON already (an object or a list).
Pair = tuple[str, ColumnElement[Any], bool]


@dataclass(frozen=True, slots=True)
class Dialect:
    """The response's JSON text: on PostgreSQL written by concatenation (``to_json`` for each value,
    ``string_agg`` for lists) so it is as compact as the resolver path's (``json_build_object`` puts
    spaces around every ``:``); on SQLite ``json_object`` and ``json_group_array``, compact already.
    The ledger's disclosure arrays, never sent to a caller, use the JSON functions on both."""

    postgres: bool

    def obj(self, pairs: list[Pair]) -> ColumnElement[Any]:
        """A JSON object (text on PostgreSQL); keys are bound parameters like every other value."""
        if not self.postgres:
            args: list[Any] = []
            for key, value, _ in pairs:
                args += [literal(key, String), value]
            return func.json_object(*args)
        text_: ColumnElement[Any] | None = None
        for i, (key, value, piece) in enumerate(pairs):
            prefix = literal(("{" if i == 0 else ",") + json.dumps(key) + ":", String)
            part = prefix.concat(value if piece else self._json_text(value))
            text_ = part if text_ is None else text_.concat(part)
        assert text_ is not None
        return text_.concat("}")

    def _json_text(self, value: ColumnElement[Any]) -> ColumnElement[Any]:
        return func.coalesce(cast(func.to_json(value), Text), "null")

    def data_one(
        self, element: ColumnElement[Any], child: FromClause, where: ColumnElement[bool], parent: FromClause
    ) -> ColumnElement[Any]:
        """A related object as a value of ``obj`` (null when there is none in scope)."""
        found = self.one(element, child, where, parent)
        return func.coalesce(found, "null") if self.postgres else func.json(found)

    def data_many(
        self,
        element: ColumnElement[Any],
        child: FromClause,
        where: ColumnElement[bool],
        order: list[ColumnElement[Any]],
        parent: FromClause,
        *,
        objects: bool,
    ) -> ColumnElement[Any]:
        """Related rows as a JSON list, a value of ``obj`` (objects, or scalars with ``objects=False``)."""
        if not self.postgres:
            return func.json(self.many(element, child, where, order, parent, objects=objects))
        item = element if objects else self._json_text(element)
        joined = func.string_agg(item, aggregate_order_by(literal_column("','"), *order))
        inner = select(func.coalesce(literal("[", String).concat(joined).concat("]"), "[]"))
        return inner.select_from(child).where(where).correlate(parent).scalar_subquery()

    def arr(self, items: Iterable[ColumnElement[Any]]) -> ColumnElement[Any]:
        items = list(items)
        return func.json_build_array(*items) if self.postgres else func.json_array(*items)

    def nested(self, value: ColumnElement[Any]) -> ColumnElement[Any]:
        """A JSON value from a subquery, as an argument of obj/arr (SQLite loses the JSON type)."""
        return value if self.postgres else func.json(value)

    def boolean(self, expr: ColumnElement[Any]) -> ColumnElement[Any]:
        if self.postgres:
            return expr
        return func.json(case((expr.is_(None), "null"), (expr, "true"), else_="false"))

    def iso_datetime(self, at: ColumnElement[Any]) -> ColumnElement[Any]:
        """A UTC timestamp as ``datetime.isoformat()`` writes it (the hub's columns are UTC:
        ``resolvers/models/base.UTCDateTime``): microseconds only when there are any, then +00:00."""
        if self.postgres:
            utc = func.timezone("UTC", at)
            seconds = func.to_char(utc, 'YYYY-MM-DD"T"HH24:MI:SS')
            micro = case((func.to_char(utc, "US") == "000000", ""), else_=func.to_char(utc, ".US"))
            text_ = seconds.concat(micro).concat("+00:00")
        else:
            # SQLAlchemy stores SQLite datetimes as "YYYY-MM-DD HH:MM:SS.ffffff" (UTC, naive).
            seconds = func.replace(func.substr(at, 1, 19), " ", "T")
            fraction = func.substr(at, 21, 6)
            micro = case(
                (or_(fraction == "", fraction == "000000"), ""), else_=literal(".", String).concat(fraction)
            )
            text_ = seconds.concat(micro).concat("+00:00")
        return case((at.is_(None), None), else_=text_)

    def text(self, json_value: ColumnElement[Any]) -> ColumnElement[Any]:
        """A JSON function's value (a disclosure array) as text."""
        return cast(json_value, Text) if self.postgres else json_value

    def many(
        self,
        element: ColumnElement[Any],
        child: FromClause,
        where: ColumnElement[bool],
        order: list[ColumnElement[Any]],
        parent: FromClause,
        *,
        objects: bool = True,
    ) -> ColumnElement[Any]:
        if self.postgres:
            agg = func.json_agg(aggregate_order_by(element, *order))
            inner = select(func.coalesce(agg, literal_column("'[]'::json"))).select_from(child).where(where)
            return inner.correlate(parent).scalar_subquery()
        ordered = (
            select(element.label("e"))
            .select_from(child)
            .where(where)
            .order_by(*order)
            .correlate(parent)
            .subquery()
        )
        return (
            select(
                func.coalesce(func.json_group_array(func.json(ordered.c.e) if objects else ordered.c.e), "[]")
            )
            .select_from(ordered)
            .scalar_subquery()
        )

    def one(
        self, element: ColumnElement[Any], child: FromClause, where: ColumnElement[bool], parent: FromClause
    ) -> ColumnElement[Any]:
        return select(element).select_from(child).where(where).correlate(parent).scalar_subquery()

    def global_id(self, type_name: str, pk: ColumnElement[Any]) -> ColumnElement[Any]:
        """``base64url("Type:pk")`` without padding, as ``schema/ids.to_global_id``."""
        if self.postgres:
            raw = func.encode(
                func.convert_to(literal(type_name + ":", String) + cast(pk, Text), "UTF8"), "base64"
            )
            return func.rtrim(func.translate(raw, "+/", "-_"), "=")
        return func.hub_global_id(literal(type_name, String), pk)

    def cursor(self, values: Sequence[ColumnElement[Any]]) -> ColumnElement[Any]:
        """A keyset cursor of ``values`` as ``resolvers/pagination.encode_cursor`` writes it:
        base64url, unpadded, of the compact JSON array (dates as ``{"d": "YYYY-MM-DD"}``)."""
        if self.postgres:
            text_: ColumnElement[Any] = literal("[", String)
            for i, value in enumerate(values):
                piece: ColumnElement[Any] = cast(func.to_json(value), Text)
                if isinstance(value.type, Date):
                    piece = literal('{"d":', String).concat(piece).concat("}")
                text_ = text_.concat(piece) if i == 0 else text_.concat(",").concat(piece)
            raw = func.encode(func.convert_to(text_.concat("]"), "UTF8"), "base64")
            # PostgreSQL breaks base64 into lines of 76: the newlines go with the translation.
            return func.rtrim(func.translate(raw, literal("+/\n", String), "-_"), "=")
        items = [func.json_object(literal("d", String), v) if isinstance(v.type, Date) else v for v in values]
        return func.hub_cursor(func.json_array(*items))

    def page_nodes(self, limited: FromClause, order: Sequence[ColumnElement[Any]]) -> ColumnElement[Any]:
        """The ``e`` column of a page's rows (objects) as a JSON list, a value of ``obj``."""
        if self.postgres:
            joined = func.string_agg(limited.c.e, aggregate_order_by(literal_column("','"), *order))
            return select(
                func.coalesce(literal("[", String).concat(joined).concat("]"), "[]")
            ).scalar_subquery()
        listed = select(func.coalesce(func.json_group_array(func.json(limited.c.e)), "[]")).scalar_subquery()
        return func.json(listed)

    def arr_of(self, column: ColumnElement[Any], rows: FromClause) -> ColumnElement[Any]:
        """A column of JSON arrays (each row's disclosures) over ``rows`` as one JSON array."""
        if self.postgres:
            return select(func.json_agg(column)).select_from(rows).scalar_subquery()
        return select(func.json_group_array(func.json(column))).select_from(rows).scalar_subquery()

    def years_between(self, born: ColumnElement[Any], today: ColumnElement[Any]) -> ColumnElement[Any]:
        """Whole years from ``born`` to ``today`` (an age), as ``schema/people._age`` counts them."""
        if self.postgres:
            years = func.date_part("year", today) - func.date_part("year", born)
            before = func.to_char(today, "MM-DD") < func.to_char(born, "MM-DD")
        else:
            years = cast(func.strftime("%Y", today), Integer) - cast(func.strftime("%Y", born), Integer)
            before = func.strftime("%m-%d", today) < func.strftime("%m-%d", born)
        return cast(years - case((before, 1), else_=0), Integer)


# --- one level of the selection -----------------------------------------------------------------------


@dataclass(slots=True)
class Entry:
    """What one row discloses about one subject: its pk and each class with the condition it holds
    under (None: always)."""

    kind: str
    pk: ColumnElement[Any]
    classes: dict[str, ColumnElement[bool] | None] = field(default_factory=dict)

    def add(self, cls: str, condition: ColumnElement[bool] | None) -> None:
        if cls in self.classes:
            held = self.classes[cls]
            if held is None or condition is None:
                self.classes[cls] = None
            else:
                self.classes[cls] = or_(held, condition)
        else:
            self.classes[cls] = condition


@dataclass(slots=True)
class Compiled:
    """A level compiled: its JSON value and its disclosures, both over the level's alias."""

    value: ColumnElement[Any]
    entries: list[Entry]
    #: Disclosures of nested rows about other subjects (a person's parole hearings): JSON arrays
    #: built in the child's own subquery, nested as deep as the selection.
    extras: list[ColumnElement[Any]] = field(default_factory=list)


@dataclass(slots=True)
class Level:
    """What building one level needs: the store, the caller, the request's bound values."""

    dialect: Dialect
    schema: GraphQLSchema
    principal: Principal
    fragments: Mapping[str, FragmentDefinitionNode]
    variables: VariableValues
    #: The request's date (``context.now``), bound at execution.
    today: BindParameter[Any]

    def scope(self, model: type[Any], alias: FromClause) -> ColumnElement[bool]:
        return adapt(row_scope(self.principal, model), alias)


def adapt(condition: ColumnElement[Any], alias: FromClause) -> ColumnElement[Any]:
    """``condition`` over ``alias`` instead of the alias's table (nested subqueries of other tables
    keep their own tables, so they never correlate with an enclosing level by accident)."""
    adapted: ColumnElement[Any] = ClauseAdapter(alias).traverse(condition)
    return adapted


def _included(node: Any, variables: VariableValues) -> bool:
    skip = get_directive_values(GraphQLSkipDirective, node, variables)
    if skip is not None and skip.get("if") is True:
        return False
    include = get_directive_values(GraphQLIncludeDirective, node, variables)
    return not (include is not None and include.get("if") is False)


def collect(
    type_name: str, selection_sets: Iterable[SelectionSetNode | None], level: Level
) -> dict[str, list[FieldNode]]:
    """The fields a selection asks of ``type_name``, by response key, in order, fragments merged."""
    out: dict[str, list[FieldNode]] = {}

    def walk(selection_set: SelectionSetNode | None, depth: int) -> None:
        if selection_set is None:
            return
        if depth > 32:
            raise NotCompilable("fragments nest too deep")
        for node in selection_set.selections:
            if not _included(node, level.variables):
                continue
            if isinstance(node, FieldNode):
                key = node.alias.value if node.alias else node.name.value
                out.setdefault(key, []).append(node)
            elif isinstance(node, InlineFragmentNode):
                condition = node.type_condition
                if condition is not None and condition.name.value != type_name:
                    raise NotCompilable("a fragment on another type")
                walk(node.selection_set, depth + 1)
            elif isinstance(node, FragmentSpreadNode):
                fragment = level.fragments.get(node.name.value)
                if fragment is None or fragment.type_condition.name.value != type_name:
                    raise NotCompilable("a fragment on another type")
                walk(fragment.selection_set, depth + 1)

    for selection_set in selection_sets:
        walk(selection_set, 0)
    return out


def _unwrap(t: Any) -> tuple[Any, bool, bool]:
    """(named type, non-null, list) of an output type (lists of lists are not compiled)."""
    non_null = isinstance(t, GraphQLNonNull)
    if non_null:
        t = t.of_type
    if isinstance(t, GraphQLList):
        inner = t.of_type
        if isinstance(inner, GraphQLNonNull):
            inner = inner.of_type
        if isinstance(inner, GraphQLList):
            raise NotCompilable("a list of lists")
        return inner, non_null, True
    return t, non_null, False


_SCALARS = frozenset({"String", "Int", "Float", "ID", "Boolean", "Date", "DateTime"})


def scalar(level: Level, expr: ColumnElement[Any], named: Any) -> ColumnElement[Any]:
    """``expr`` as the JSON value the resolver path serializes for a field of type ``named``."""
    if isinstance(named, GraphQLEnumType):
        whens = []
        for name, value in named.values.items():
            raw = value.value.value if isinstance(value.value, enum.Enum) else value.value
            whens.append((expr == literal(raw, String), literal(name, String)))
        return case(*whens, else_=None)
    if not isinstance(named, GraphQLScalarType) or named.name not in _SCALARS:
        raise NotCompilable(f"scalar {getattr(named, 'name', named)}")
    if named.name == "Boolean":
        return level.dialect.boolean(expr)
    if named.name == "DateTime":
        return level.dialect.iso_datetime(expr)
    # Dates: json_build_object writes "YYYY-MM-DD"; SQLite stores that text already.
    return expr


def _pk_column(attr: str) -> str:
    if attr == "pk":
        return "id"
    if attr.endswith("_pk"):
        return attr[: -len("_pk")] + "_id"
    raise NotCompilable(f"subject attribute {attr}")


def _source(gfield: Any) -> tuple[Source | None, bool, str]:
    definition = gfield.extensions.get("strawberry-definition")
    if definition is None:
        raise NotCompilable("a field without a declaration")
    source = (definition.metadata or {}).get(SOURCE)
    has_resolver = definition.base_resolver is not None
    return source, has_resolver, definition.python_name


def compile_object(
    level: Level, type_name: str, nodes: list[FieldNode], alias: FromClause, model: type[Any], depth: int = 0
) -> Compiled:
    """The JSON object for ``nodes``' selection on a row of ``alias`` (a ``type_name``)."""
    if depth > MAX_DEPTH[level.dialect.postgres]:
        raise NotCompilable("relations nested too deep for one statement")
    gtype = level.schema.type_map.get(type_name)
    if not isinstance(gtype, GraphQLObjectType):
        raise NotCompilable(f"type {type_name}")
    fields = collect(type_name, (n.selection_set for n in nodes), level)
    if len(fields) > MAX_KEYS:
        raise NotCompilable("too many fields in one object")
    subjects = [(kind, alias.c[_pk_column(attr)]) for kind, attr in SUBJECTS.get(type_name, ())]
    own = [Entry(kind, pk) for kind, pk in subjects]
    folded: list[Entry] = []
    extras: list[ColumnElement[Any]] = []
    pairs: list[Pair] = []

    def record(cls: str, condition: ColumnElement[bool] | None) -> None:
        for entry in own:
            entry.add(cls, condition)

    for key, field_nodes in fields.items():
        name = field_nodes[0].name.value
        if name == TYPENAME:
            pairs.append((key, literal(type_name, String), False))
            record(STRUCTURE, None)
            continue
        gfield = gtype.fields.get(name)
        if gfield is None:
            raise NotCompilable(f"{type_name}.{name}")
        source, has_resolver, python_name = _source(gfield)
        if not isinstance(source, Paged) and (any(n.arguments for n in field_nodes) or gfield.args):
            raise NotCompilable(f"{type_name}.{name} takes arguments")
        if source is None:
            if has_resolver:
                raise NotCompilable(f"{type_name}.{name} is computed in Python")
            source = Column(python_name)
        cls = field_class(type_name, name)
        recorded = cls is not None and str(cls) in PERSON_CLASSES_TEXT
        named, non_null, is_list = _unwrap(gfield.type)
        if isinstance(source, Column | Computed | GlobalId):
            if is_list:
                raise NotCompilable(f"{type_name}.{name}: a list from a column")
            if isinstance(source, GlobalId):
                expr = level.dialect.global_id(source.type_name, alias.c[source.column])
                value = expr
            else:
                expr = alias.c[source.name] if isinstance(source, Column) else source.build(level, alias)
                value = scalar(level, expr, named)
            pairs.append((key, value, False))
            if recorded:
                record(str(cls), None if non_null else expr.is_not(None))
        elif isinstance(source, One):
            child_type = named.name
            child_model = TABLES.get(source.target)
            if child_model is None or source.target != child_type:
                raise NotCompilable(f"{type_name}.{name}: no table for {source.target}")
            child = child_model.__table__.alias()
            key_expr = alias.c[source.key] if isinstance(source.key, str) else source.key(level, alias)
            where = and_(child.c[source.target_key] == key_expr, level.scope(child_model, child))
            inner = compile_object(level, child_type, field_nodes, child, child_model, depth + 1)
            pairs.append((key, level.dialect.data_one(inner.value, child, where, alias), True))
            present = exists(select(literal(1)).select_from(child).where(where).correlate(alias))
            if recorded:
                record(str(cls), present)
            kept, apart = _fold(inner.entries, child, {source.target_key: key_expr}, where, alias)
            folded += kept
            nested = disclosure(level, apart, inner.extras)
            if nested is not None:
                extras.append(level.dialect.nested(level.dialect.one(nested, child, where, alias)))
        elif isinstance(source, Many):
            target = source.target
            if source.scalar is not None:
                if not isinstance(target, type):
                    raise NotCompilable(f"{type_name}.{name}: scalar list needs a model")
                child_model = target
                child = child_model.__table__.alias()
                element = scalar(level, child.c[source.scalar], named)
                entries: list[Entry] = []
                inner_extras: list[ColumnElement[Any]] = []
            else:
                if not isinstance(target, str) or target != named.name or target not in TABLES:
                    raise NotCompilable(f"{type_name}.{name}: no table for {target}")
                child_model = TABLES[target]
                child = child_model.__table__.alias()
                inner = compile_object(level, target, field_nodes, child, child_model, depth + 1)
                element, entries, inner_extras = inner.value, inner.entries, inner.extras
            where = and_(child.c[source.fk] == alias.c.id, level.scope(child_model, child))
            if source.where is not None:
                where = and_(where, source.where(child))
            order = [child.c[o] for o in source.order]
            many = level.dialect.data_many(element, child, where, order, alias, objects=source.scalar is None)
            pairs.append((key, many, True))
            if recorded:
                record(str(cls), None)  # a list is never null: even an empty one is disclosed
            kept, apart = _fold(entries, child, {source.fk: alias.c.id}, where, alias)
            folded += kept
            nested = disclosure(level, apart, inner_extras)
            if nested is not None:
                extras.append(level.dialect.nested(level.dialect.many(nested, child, where, order, alias)))
        elif isinstance(source, Paged):
            if source.target not in TABLES:
                raise NotCompilable(f"{type_name}.{name}: no table for {source.target}")
            connection, extra = compile_page(level, source, gfield, field_nodes, alias, depth + 1)
            pairs.append((key, connection, True))
            if recorded:
                record(str(cls), None)  # a connection is never null
            if extra is not None:
                extras.append(extra)
        else:  # pragma: no cover - the Source union is closed
            raise NotCompilable(f"{type_name}.{name}: unknown source")
    entries = [e for e in own if e.classes] + folded
    return Compiled(level.dialect.obj(pairs), _merge(entries), extras)


PERSON_CLASSES_TEXT = frozenset(str(c) for c in PERSON_CLASSES)

_PAGE_INFO = frozenset({"hasNextPage", "endCursor", "startCursor", TYPENAME})


def compile_page(
    level: Level, source: Paged, gfield: Any, nodes: list[FieldNode], parent: FromClause, depth: int
) -> tuple[ColumnElement[Any], ColumnElement[Any] | None]:
    """A nested connection on a row of ``parent``: its JSON object, and the disclosures of the rows
    of its page (about other subjects than the parent: a facility's population are people).

    The field's arguments are read here, at compile time, so the runner keys its plans by the values
    of the variables such arguments use (``nested_variables``); they reach the SQL as bound values."""
    if depth > MAX_DEPTH[level.dialect.postgres]:
        raise NotCompilable("relations nested too deep for one statement")
    model = TABLES[source.target]
    child = model.__table__.alias()
    try:
        args = get_argument_values(gfield, nodes[0], level.variables)
        size = check_page_size(args.get("first"))
        order = [child.c[o] for o in source.order]
        if not all(_cursor_column(c) for c in order):
            raise NotCompilable("a cursor of other than dates, text and whole numbers")
        scoped = and_(
            adapt(source.parent(), child) == parent.c.id,
            level.scope(model, child),
            *[adapt(c, child) for c in source.conditions(args)],
        )
        after = args.get("after")
        paged = and_(scoped, keyset_after(order, decode_cursor(after, len(order)))) if after else scoped
    except InvalidInput as exc:
        raise NotCompilable(f"refused argument: {exc}") from None
    connection = _unwrap(gfield.type)[0]
    pairs: list[Pair] = []
    disclosed: ColumnElement[Any] | None = None
    for key, field_nodes in collect(connection.name, (n.selection_set for n in nodes), level).items():
        name = field_nodes[0].name.value
        if name == TYPENAME:
            pairs.append((key, literal(connection.name, String), False))
        elif name == "totalCount":
            total = select(func.count()).select_from(child).where(scoped).correlate(parent).scalar_subquery()
            pairs.append((key, total, False))
        elif name == "nodes":
            inner = compile_object(level, source.target, field_nodes, child, model, depth)
            columns = [inner.value.label("e"), *[c.label(f"o{i}") for i, c in enumerate(order)]]
            rows = disclosure(level, inner.entries, inner.extras)
            if rows is not None:
                columns.append(rows.label("d"))
            limited = (
                select(*columns)
                .select_from(child)
                .where(paged)
                .order_by(*order)
                .limit(size)
                .correlate(parent)
            ).subquery()
            listed_order = [limited.c[f"o{i}"] for i in range(len(order))]
            pairs.append((key, level.dialect.page_nodes(limited, listed_order), True))
            if rows is not None and disclosed is None:
                disclosed = level.dialect.nested(level.dialect.arr_of(limited.c.d, limited))
        elif name == "pageInfo":
            pairs.append((key, _page_info(level, field_nodes, child, paged, order, size, parent), True))
        else:
            raise NotCompilable(f"connection field {name}")
    return level.dialect.obj(pairs), disclosed


def _cursor_column(column: ColumnElement[Any]) -> bool:
    """Whether the SQL cursor writes ``column`` as ``encode_cursor`` does (timestamps and decimals
    have their own forms there)."""
    if isinstance(column.type, DateTime):
        return False
    return isinstance(column.type, Date | Integer | String)


def _page_info(
    level: Level,
    nodes: list[FieldNode],
    child: FromClause,
    paged: ColumnElement[bool],
    order: list[ColumnElement[Any]],
    size: int,
    parent: FromClause,
) -> ColumnElement[Any]:
    """``pageInfo`` of one parent's page: whether a row follows it, its first and last cursors."""
    pairs: list[Pair] = []
    for key, field_nodes in collect("PageInfo", (n.selection_set for n in nodes), level).items():
        name = field_nodes[0].name.value
        if name not in _PAGE_INFO:
            raise NotCompilable(f"pageInfo field {name}")
        if name == TYPENAME:
            pairs.append((key, literal("PageInfo", String), False))
        elif name == "hasNextPage":
            beyond = (
                select(literal(1).label("one"))
                .select_from(child)
                .where(paged)
                .order_by(*order)
                .limit(1)
                .offset(size)
                .correlate(parent)
            )
            pairs.append((key, level.dialect.boolean(exists(beyond)), False))
        else:
            page = select(*[c.label(f"o{i}") for i, c in enumerate(order)]).select_from(child).where(paged)
            limited = page.order_by(*order).limit(size).correlate(parent).subquery()
            columns = [limited.c[f"o{i}"] for i in range(len(order))]
            last = [c.desc() for c in columns] if name == "endCursor" else columns
            cursor = select(level.dialect.cursor(columns)).select_from(limited).order_by(*last).limit(1)
            pairs.append((key, cursor.scalar_subquery(), False))
    return level.dialect.obj(pairs)


def _fold(
    entries: list[Entry],
    child: FromClause,
    joins: Mapping[str, ColumnElement[Any]],
    where: ColumnElement[bool],
    parent: FromClause,
) -> tuple[list[Entry], list[Entry]]:
    """A child's entries over the parent's alias where each is about the row the relation joins on
    (``joins``: child column -> the parent's expression for it); and the entries that are not."""
    out: list[Entry] = []
    apart: list[Entry] = []
    for entry in entries:
        pk = entry.pk
        mapped = None
        for column, parent_expr in joins.items():
            if pk is child.c[column]:
                mapped = parent_expr
        if mapped is None:
            apart.append(entry)
            continue
        folded = Entry(entry.kind, mapped)
        for cls, condition in entry.classes.items():
            held = where if condition is None else and_(where, condition)
            folded.add(cls, exists(select(literal(1)).select_from(child).where(held).correlate(parent)))
        out.append(folded)
    return out, apart


def _merge(entries: list[Entry]) -> list[Entry]:
    merged: dict[tuple[str, int], Entry] = {}
    for entry in entries:
        key = (entry.kind, id(entry.pk))
        held = merged.get(key)
        if held is None:
            merged[key] = Entry(entry.kind, entry.pk, dict(entry.classes))
        else:
            for cls, condition in entry.classes.items():
                held.add(cls, condition)
    return list(merged.values())


def disclosure(
    level: Level, entries: list[Entry], extras: Iterable[ColumnElement[Any]] = ()
) -> ColumnElement[Any] | None:
    """The row's disclosures as a JSON array of ``[kind, pk, class-or-null, ...]`` entries and of
    nested arrays of the same (``extras``: from the rows under it, each array built in its subquery)."""
    extras = list(extras)
    if not entries and not extras:
        return None
    items = []
    for entry in entries:
        classes = [
            literal(cls, String) if condition is None else case((condition, literal(cls, String)), else_=None)
            for cls, condition in entry.classes.items()
        ]
        items.append(level.dialect.arr([literal(entry.kind, String), entry.pk, *classes]))
    return level.dialect.arr([*items, *extras])


__all__ = [
    "Compiled",
    "Dialect",
    "Level",
    "NotCompilable",
    "adapt",
    "collect",
    "compile_object",
    "disclosure",
]
