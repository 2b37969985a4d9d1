"""Global ids whose key no row can have (zero, past a 32-bit integer, past 64 bits) are simply not
found, on both stores, for every root field and mutation argument that takes an id (issue 14, item 6).

The schema is walked, so a new field that takes an id is covered without touching this file: each
id argument's type is learnt by sending a probe through the one decoder (``schema.ids.key_of``), then
the field is asked with an in-range id that names nothing and with out-of-range ids, and the answers
must be the same (null, an empty list, or the same typed NOT_FOUND), never an internal error.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    get_named_type,
)

import schema.ids
from resolvers.models.partners import Audience
from schema.audiences import audience_schemas
from schema.ids import MAX_KEY, NO_ROW, from_global_id, key_of, to_global_id
from schema.root import build_schema
from tests.conftest import GraphQL

SCHEMAS: dict[Audience, GraphQLSchema] = audience_schemas(build_schema(), record=False)
#: Department audiences first: admin reaches most fields; the others add their own.
ORDER = [Audience.ADMIN, *(a for a in Audience if a is not Audience.ADMIN)]
OUT_OF_RANGE = [0, 2**31, 2**32 + 1, 2**63, 10**30]
SAMPLES: dict[str, Any] = {
    "String": "x",
    "Int": 1,
    "Float": 1.0,
    "Boolean": False,
    "Date": "2026-01-02",
    "DateTime": "2026-01-02T00:00:00+00:00",
    "Decimal": "1.00",
    "JSON": {},
}

Path = tuple[str, ...]


@dataclass(frozen=True)
class RootField:
    audience: Audience
    operation: str  # "query" or "mutation"
    name: str

    def __str__(self) -> str:
        return f"{self.audience}:{self.operation}:{self.name}"

    @property
    def field(self) -> GraphQLField:
        root = SCHEMAS[self.audience].query_type if self.operation == "query" else None
        root = root or SCHEMAS[self.audience].mutation_type
        assert root is not None
        found: GraphQLField = root.fields[self.name]
        return found


def _has_id(t: GraphQLInputType, seen: frozenset[str] = frozenset()) -> bool:
    named = get_named_type(t)
    if isinstance(named, GraphQLScalarType):
        return named.name == "ID"
    if isinstance(named, GraphQLInputObjectType) and named.name not in seen:
        return any(_has_id(f.type, seen | {named.name}) for f in named.fields.values())
    return False


def root_fields_taking_ids() -> Iterator[RootField]:
    seen: set[tuple[str, str]] = set()
    for audience in ORDER:
        schema = SCHEMAS[audience]
        for operation, root in (("query", schema.query_type), ("mutation", schema.mutation_type)):
            if root is None:
                continue
            for name, field in root.fields.items():
                if (operation, name) in seen or not any(_has_id(a.type) for a in field.args.values()):
                    continue
                seen.add((operation, name))
                yield RootField(audience, operation, name)


FIELDS = list(root_fields_taking_ids())


def _sample(t: GraphQLInputType, path: Path, ids: dict[Path, str]) -> Any:
    """A value of type ``t``: ids from ``ids`` (a probe when absent), required fields filled."""
    if isinstance(t, GraphQLNonNull):
        return _sample(t.of_type, path, ids)
    if isinstance(t, GraphQLList):
        return [_sample(t.of_type, path, ids)]
    if isinstance(t, GraphQLEnumType):
        return next(iter(t.values))
    if isinstance(t, GraphQLInputObjectType):
        return {
            name: _sample(f.type, (*path, name), ids)
            for name, f in t.fields.items()
            if isinstance(f.type, GraphQLNonNull) or _has_id(f.type)
        }
    assert isinstance(t, GraphQLScalarType)
    if t.name == "ID":
        return ids.get(path, "probe:" + ".".join(path))
    return SAMPLES[t.name]


def operation(root: RootField, ids: dict[Path, str]) -> tuple[str, dict[str, Any]]:
    field = root.field
    args = {n: a for n, a in field.args.items() if isinstance(a.type, GraphQLNonNull) or _has_id(a.type)}
    variables = {n: _sample(a.type, (n,), ids) for n, a in args.items()}
    declared = ", ".join(f"${n}: {a.type}" for n, a in args.items())
    passed = ", ".join(f"{n}: ${n}" for n in args)
    selection = ""
    returned = get_named_type(field.type)
    if isinstance(returned, GraphQLObjectType):
        wanted = ["__typename"]
        if "totalCount" in returned.fields:
            wanted.append("totalCount")
        if "errors" in returned.fields:
            wanted.append("errors { code field message }")
        selection = "{ " + " ".join(wanted) + " }"
    return f"{root.operation}({declared}) {{ {root.name}({passed}) {selection} }}", variables


def _comparable(body: dict[str, Any]) -> dict[str, Any]:
    body.pop("extensions", None)
    for error in body.get("errors", []):
        error["extensions"].pop("requestId", None)
    return body


def test_the_walk_finds_the_fields_of_the_issue() -> None:
    names = {(f.operation, f.name) for f in FIELDS}
    for expected in [
        ("query", "person"),
        ("query", "facility"),
        ("query", "people"),
        ("query", "inquiries"),
        ("mutation", "submitInquiry"),
        ("mutation", "recordDisbursement"),
    ]:
        assert expected in names


def test_keys_no_row_can_have_decode_to_no_row() -> None:
    assert from_global_id("Person", to_global_id("Person", MAX_KEY)) == MAX_KEY
    assert from_global_id("Person", to_global_id("Person", 1)) == 1
    for key in OUT_OF_RANGE:
        assert key_of("Person", to_global_id("Person", key)) == NO_ROW, key
    # Not ids of that type at all: malformed, another type, a sign, non-ASCII digits.
    for raw in [
        "Person:-1",
        "Person:+1",
        "Person:",
        "Person:1.0",
        "Person: 1",
        "Facility:1",
        "Person:\u0661",
    ]:
        assert (
            key_of("Person", to_global_id("Person", 0).replace(to_global_id("Person", 0), _b64(raw))) is None
        )
    assert key_of("Person", "!!!") is None


def _b64(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@pytest.mark.parametrize("root", FIELDS, ids=str)
async def test_an_id_no_row_can_have_is_simply_not_found(
    gql: GraphQL, monkeypatch: pytest.MonkeyPatch, root: RootField
) -> None:
    decoded: dict[Path, str] = {}
    results: list[int | None] = []
    original = schema.ids.key_of

    def spy(type_name: str, global_id: str) -> int | None:
        if global_id.startswith("probe:"):
            decoded[tuple(global_id.removeprefix("probe:").split("."))] = type_name
            return MAX_KEY  # a key in range that names nothing: the resolver goes on to the next id
        key = original(type_name, global_id)
        results.append(key)
        return key

    monkeypatch.setattr(schema.ids, "key_of", spy)
    query, variables = operation(root, {})
    await gql(query, variables, audience=root.audience)
    assert decoded, f"{root}: no id argument reached the decoder"

    missing = {path: to_global_id(kind, MAX_KEY) for path, kind in decoded.items()}
    query, variables = operation(root, missing)
    baseline = await gql(query, variables, audience=root.audience)
    assert baseline.status_code == 200, baseline.text
    expected = _comparable(baseline.json())
    codes = {e["extensions"]["code"] for e in expected.get("errors", [])}
    assert not codes & {"INTERNAL_SERVER_ERROR", "STORE_UNAVAILABLE", "LEDGER_UNAVAILABLE"}, expected

    for path, kind in decoded.items():
        for key in OUT_OF_RANGE:
            results.clear()
            query, variables = operation(root, {**missing, path: to_global_id(kind, key)})
            response = await gql(query, variables, audience=root.audience)
            assert response.status_code == 200, (path, key, response.text)
            assert _comparable(response.json()) == expected, (path, key)
            assert NO_ROW in results or not results, (path, key, results)
