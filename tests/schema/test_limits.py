"""Each limit at its edge: accepted at the limit, refused one past it, with the limit named."""

from __future__ import annotations

import pytest
from graphql import parse

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
    assert response.status_code == 400
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
