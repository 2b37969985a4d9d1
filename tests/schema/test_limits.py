"""Each limit at its edge: accepted at the limit, refused one past it, with the limit named."""

from __future__ import annotations

from typing import Any

import hypothesis.strategies as st
import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLObjectType,
    GraphQLScalarType,
    Undefined,
    get_named_type,
    is_non_null_type,
    parse,
)
from hypothesis import given, settings

from schema.execution import Executor
from schema.limits import Limits, check_shape, operation_cost
from schema.root import build_schema
from tests.conftest import GraphQL


def nested(depth: int) -> str:
    """A document ``depth`` levels deep (no schema needed for the shape check)."""
    text = "leaf"
    for i in range(depth - 1):
        text = f"f{i} {{ {text} }}"
    return "{ " + text + " }"


def test_depth_at_the_limit_is_accepted_and_one_past_is_refused() -> None:
    assert check_shape(parse(nested(10)), Limits()) is None
    refused = check_shape(parse(nested(11)), Limits())
    assert refused is not None
    assert refused.code == "QUERY_TOO_DEEP"
    assert "11 levels deep; the limit is 10" in refused.message


def test_depth_follows_fragments() -> None:
    document = parse("query { ...A } fragment A on Query { a { b { ...B } } } fragment B on X { c { d } }")
    assert check_shape(document, Limits(max_depth=4)) is None
    refused = check_shape(document, Limits(max_depth=3))
    assert refused is not None
    assert refused.code == "QUERY_TOO_DEEP"


def aliases(n: int) -> str:
    return "{ " + " ".join(f"a{i}: __typename" for i in range(n)) + " }"


def test_aliases_at_the_limit() -> None:
    assert check_shape(parse(aliases(15)), Limits()) is None
    refused = check_shape(parse(aliases(16)), Limits())
    assert refused is not None
    assert refused.code == "TOO_MANY_ALIASES"
    assert "16 aliases; the limit is 15" in refused.message


def directives(n: int) -> str:
    return "{ " + " ".join(f"f{i}: __typename @include(if: true)" for i in range(n)) + " }"


def test_directives_at_the_limit() -> None:
    assert check_shape(parse(directives(20)), Limits(max_aliases=100)) is None
    refused = check_shape(parse(directives(21)), Limits(max_aliases=100))
    assert refused is not None
    assert refused.code == "TOO_MANY_DIRECTIVES"


def test_duplicate_directives_are_invalid() -> None:
    executor = Executor.for_schema(build_schema())
    prepared = executor.prepare("{ __typename @include(if: true) @include(if: true) }")
    assert prepared.code == "GRAPHQL_VALIDATION_FAILED"


def test_tokens_at_the_limit() -> None:
    executor = Executor.for_schema(build_schema(), Limits(max_tokens=7))
    # `{ __typename }` plus <SOF> and <EOF>: exactly the tokens the lexer counts.
    assert executor.prepare("{ a: __typename }").code is None  # { a : __typename } = 5 (+SOF/EOF)
    refused = executor.prepare("{ a: __typename b: __typename }")
    assert refused.code == "TOO_MANY_TOKENS"


def test_query_length_at_the_limit() -> None:
    executor = Executor.for_schema(build_schema(), Limits(max_query_length=30))
    at_limit = "{ __typename }".ljust(30)
    assert executor.prepare(at_limit).code is None
    refused = executor.prepare(at_limit + " ")
    assert refused.code == "QUERY_TOO_LONG"
    assert "31 characters long; the limit is 30" in refused.errors[0].message


def test_cost_multiplies_connections_by_their_page_size() -> None:
    schema = build_schema()._schema
    document = parse("query($n: Int) { people(first: $n) { totalCount nodes { docId facility { name } } } }")
    # people 1 + (totalCount 1 + nodes (1 + n * (docId 1 + facility (1 + name 1)))) ... per the model
    small = operation_cost(schema, document, None, {"n": 10})
    large = operation_cost(schema, document, None, {"n": 100})
    assert large > small
    assert operation_cost(schema, document, None, {}) == operation_cost(schema, document, None, {"n": 20})


@pytest.mark.parametrize("code", ["QUERY_TOO_DEEP"])
async def test_a_refused_operation_names_the_limit_over_http(gql: GraphQL, code: str) -> None:
    response = await gql(nested(11))
    assert response.status_code == 200  # a request error under application/json; nothing ran
    assert "data" not in response.json()
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == code
    assert "the limit is 10" in error["message"]


async def test_the_cost_is_reported_in_extensions(gql: GraphQL) -> None:
    response = await gql("{ facilities(first: 5) { totalCount nodes { name } } }")
    body = response.json()
    assert body["extensions"]["cost"] > 0


def test_a_connections_nodes_are_counted_once() -> None:
    schema = build_schema()._schema
    one = operation_cost(schema, parse("{ facilities(first: 1) { nodes { name } } }"), None, {})
    hundred = operation_cost(schema, parse("{ facilities(first: 100) { nodes { name } } }"), None, {})
    # facilities 1 + page x (nodes 1 + name 1): the page multiplies once, not page x 10.
    assert one == 1 + 1 * (1 + 1)
    assert hundred == 1 + 100 * (1 + 1)


# --- the cost is that of the coerced variables: defaults and floats count ----------------------------


_SCHEMA = build_schema()._schema
_EXECUTOR = Executor(_SCHEMA, Limits(max_depth=20, max_aliases=100, max_tokens=10_000))


def variables_cost(document: str, variables: dict[str, Any] | None = None) -> int:
    """The cost the endpoint charges: the document's variables coerced as execution coerces them."""
    executor = _EXECUTOR
    prepared = executor.prepare(document)
    assert prepared.code is None, prepared.errors
    coerced = executor.coerce(prepared, None, variables)
    assert not isinstance(coerced, list), coerced
    return executor.cost(prepared, None, coerced)


FACILITIES = "{ facilities(first: 100) { nodes { name } } }"


def test_a_variables_default_is_its_page_size() -> None:
    # Before: the default was not read, so `$n: Int = 100` cost the 20-row default page (41, not 201).
    with_default = variables_cost("query($n: Int = 100) { facilities(first: $n) { nodes { name } } }")
    assert with_default == variables_cost(FACILITIES) == 1 + 100 * 2


def test_a_float_page_size_counts_as_the_integer_it_coerces_to() -> None:
    # Before: 100.0 is not an int to the cost, but execution coerces it to 100.
    query = "query($n: Int) { facilities(first: $n) { nodes { name } } }"
    assert variables_cost(query, {"n": 100.0}) == variables_cost(FACILITIES)


def test_a_sent_value_overrides_the_default_and_null_is_the_default_page() -> None:
    query = "query($n: Int = 100) { facilities(first: $n) { nodes { name } } }"
    assert variables_cost(query, {"n": 3}) == 1 + 3 * 2
    assert variables_cost(query, {"n": None}) == variables_cost(
        "{ facilities(first: null) { nodes { name } } }"
    )
    assert variables_cost("{ facilities { nodes { name } } }") == 1 + 20 * 2


def test_nested_defaults_multiply() -> None:
    # Three levels of defaulted pages: the shape the issue measured (25,661 charged vs 4,040,301 real).
    query = """query($a: Int = 100, $b: Int = 100, $c: Int = 100) {
      programs(first: $a) { nodes { enrollments(first: $b) { nodes { program {
        offerings(first: $c) { nodes { id } } } } } } }
    }"""
    inline = """{ programs(first: 100) { nodes { enrollments(first: 100) { nodes { program {
        offerings(first: 100) { nodes { id } } } } } } } }"""
    assert variables_cost(query) == variables_cost(inline) > 2_000_000
    # What the cost model made of it from the sent variables alone (none): 20-row pages.
    assert operation_cost(_SCHEMA, parse(query), None, {}) < 25_000


# A generated operation is written twice: once with its page sizes inline, once through variables
# (sent as ints, sent as floats, left to the variable's default, overriding a default, null or absent).
# Both must cost the same. Fields are picked from the real schema; required ID arguments get a literal.

_MODES = ("inline", "sent", "float", "default", "override", "null", "absent", "nonnull_default")


def _selectable(type_: Any) -> list[tuple[str, Any]]:
    named = get_named_type(type_)
    fields = getattr(named, "fields", None) or {}
    usable = []
    for name, field in fields.items():
        required = [
            a for a in field.args.values() if is_non_null_type(a.type) and a.default_value is Undefined
        ]
        if all(str(a.type) == "ID!" for a in required):
            usable.append((name, field))
    return usable


@st.composite
def operations(draw: st.DrawFn) -> tuple[str, dict[str, Any], str]:
    """(document with variables, their values, the same document with the values inline)."""
    definitions: list[str] = []
    values: dict[str, Any] = {}

    def selection(type_: Any, depth: int) -> tuple[str, str]:
        choices = _selectable(type_)
        leaves = [
            (n, f)
            for n, f in choices
            if isinstance(get_named_type(f.type), GraphQLScalarType | GraphQLEnumType)
        ]
        objects = [
            (n, f)
            for n, f in choices
            if (n, f) not in leaves and isinstance(get_named_type(f.type), GraphQLObjectType)
        ]
        pool = leaves + (objects if depth < 3 else [])
        if not pool:
            return "__typename", "__typename"
        picked = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3, unique_by=lambda p: p[0]))
        with_vars, inline = [], []
        for name, field in picked:
            args_vars, args_inline = [], []
            for arg_name, arg in field.args.items():
                if is_non_null_type(arg.type) and arg.default_value is Undefined:
                    args_vars.append(f'{arg_name}: "UGVyc29uOjE="')
                    args_inline.append(f'{arg_name}: "UGVyc29uOjE="')
            if "first" in field.args:
                mode = draw(st.sampled_from(_MODES))
                page = draw(st.integers(0, 100))
                var = f"v{len(definitions)}"
                if mode == "inline":
                    args_vars.append(f"first: {page}")
                    args_inline.append(f"first: {page}")
                else:
                    args_vars.append(f"first: ${var}")
                    if mode == "sent":
                        definitions.append(f"${var}: Int")
                        values[var] = page
                    elif mode == "float":
                        definitions.append(f"${var}: Int")
                        values[var] = float(page)
                    elif mode == "default":
                        definitions.append(f"${var}: Int = {page}")
                    elif mode == "nonnull_default":
                        definitions.append(f"${var}: Int! = {page}")
                    elif mode == "override":
                        definitions.append(f"${var}: Int = {draw(st.integers(0, 100))}")
                        values[var] = page
                    elif mode == "null":
                        definitions.append(f"${var}: Int = {page}")
                        values[var] = None
                    else:  # absent: no value, no default — as if the argument were not written
                        definitions.append(f"${var}: Int")
                    if mode == "null":
                        args_inline.append("first: null")
                    elif mode != "absent":
                        args_inline.append(f"first: {page}")
            below_vars = below_inline = ""
            if isinstance(get_named_type(field.type), GraphQLObjectType):
                sub_vars, sub_inline = selection(field.type, depth + 1)
                below_vars, below_inline = f" {{ {sub_vars} }}", f" {{ {sub_inline} }}"
            a_vars = f"({', '.join(args_vars)})" if args_vars else ""
            a_inline = f"({', '.join(args_inline)})" if args_inline else ""
            with_vars.append(f"{name}{a_vars}{below_vars}")
            inline.append(f"{name}{a_inline}{below_inline}")
        return " ".join(with_vars), " ".join(inline)

    sel_vars, sel_inline = selection(_SCHEMA.query_type, 0)
    header = f"query({', '.join(definitions)})" if definitions else "query"
    return f"{header} {{ {sel_vars} }}", values, f"{{ {sel_inline} }}"


@settings(max_examples=150, deadline=None, database=None, derandomize=True)
@given(operations())
def test_the_cost_with_variables_is_the_cost_with_the_values_inline(
    operation: tuple[str, dict[str, Any], str],
) -> None:
    with_variables, values, inline = operation
    assert variables_cost(with_variables, values) == variables_cost(inline), (with_variables, values, inline)
