"""For every audience and every field of the full schema, a real request with a real token shows
that the field is readable exactly when the policy table says so.

The expected answer is computed from the table alone (a field is reachable when some path from the
root consists of fields the audience may read); the actual answer is what the hub says to a request
for that field along a path, with the audience's own token.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import pytest
from graphql import (
    GraphQLField,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    get_named_type,
    is_introspection_type,
)

from auth.policy import readable
from resolvers.models.partners import Audience
from schema.audiences import audience_schema
from schema.root import build_schema
from tests.conftest import GraphQL

FULL = build_schema()
SCHEMA: GraphQLSchema = FULL._schema
VICTIM_TYPES = {
    "Victim",
    "VictimRegistration",
    "NotificationPreference",
    "Notification",
    "DeliveryAttempt",
    "ImpactStatement",
    "HearingParticipation",
    "ProtectionCondition",
    "RestitutionOrder",
    "RestitutionPayment",
}

Path = tuple[tuple[str, str], ...]  # ((type, field), ...) from the root


def paths(allowed: Any) -> dict[str, Path]:
    """Shortest path from a root to every object type, over the fields ``allowed`` accepts."""
    found: dict[str, Path] = {}
    queue: deque[tuple[GraphQLObjectType, Path]] = deque()
    for root in (SCHEMA.query_type, SCHEMA.mutation_type):
        if root is not None:
            found[root.name] = ()
            queue.append((root, ()))
    while queue:
        t, path = queue.popleft()
        for name, field in t.fields.items():
            if not allowed(t.name, name):
                continue
            target = get_named_type(field.type)
            if isinstance(target, GraphQLObjectType) and target.name not in found:
                found[target.name] = (*path, (t.name, name))
                queue.append((target, found[target.name]))
    return found


def _variables_for(field: GraphQLField, counter: list[int], declared: list[str]) -> str:
    """Arguments for every required argument, as variables that are declared but left unset."""
    parts = []
    for arg_name, arg in field.args.items():
        if str(arg.type).endswith("!"):
            counter[0] += 1
            var = f"v{counter[0]}"
            declared.append(f"${var}: {arg.type}")
            parts.append(f"{arg_name}: ${var}")
    return f"({', '.join(parts)})" if parts else ""


def document(path: Path, leaf: tuple[str, str]) -> str:
    """An operation selecting ``leaf`` at the end of ``path``."""
    counter = [0]
    declared: list[str] = []
    steps = [*path, leaf]
    text = ""
    for type_name, field_name in reversed(steps):
        t = SCHEMA.get_type(type_name)
        assert isinstance(t, GraphQLObjectType)
        field = t.fields[field_name]
        args = _variables_for(field, counter, declared)
        target: GraphQLNamedType = get_named_type(field.type)
        inner = text if text else ("__typename" if isinstance(target, GraphQLObjectType) else "")
        text = f"{field_name}{args}" + (f" {{ {inner} }}" if inner else "")
    kind = "mutation" if steps[0][0] == "Mutation" else "query"
    return f"{kind}{'(' + ', '.join(declared) + ')' if declared else ''} {{ {text} }}"


def all_fields() -> list[tuple[str, str]]:
    return [
        (name, field)
        for name, t in SCHEMA.type_map.items()
        if isinstance(t, GraphQLObjectType) and not is_introspection_type(t)
        for field in t.fields
    ]


ANY_PATH = paths(lambda t, f: True)


@pytest.mark.parametrize("audience", list(Audience), ids=lambda a: a.value)
async def test_each_field_is_readable_exactly_when_the_policy_says(gql: GraphQL, audience: Audience) -> None:
    readable_paths = paths(lambda t, f: readable(audience, t, f))
    wrong: list[str] = []
    checked = 0
    for type_name, field_name in all_fields():
        path = readable_paths.get(type_name)
        expected = path is not None and readable(audience, type_name, field_name)
        query = document(path if path is not None else ANY_PATH[type_name], (type_name, field_name))
        response = await gql(query, audience=audience)
        body = response.json()
        codes = {e.get("extensions", {}).get("code") for e in body.get("errors", [])}
        refused = "GRAPHQL_VALIDATION_FAILED" in codes
        if refused == expected:
            wrong.append(
                f"{type_name}.{field_name}: expected {'readable' if expected else 'refused'}, got {codes or 'data'}"
            )
        for error in body.get("errors", []):
            assert "Did you mean" not in error["message"]
            assert error["extensions"]["code"] != "INTERNAL_SERVER_ERROR", (query, error)
        checked += 1
    assert checked == len(all_fields())
    assert wrong == []


@pytest.mark.parametrize(
    "audience", [a for a in Audience if a is not Audience.VICTIM_SERVICES], ids=lambda a: a.value
)
def test_the_victim_firewall(audience: Audience) -> None:
    """No path in any schema but victim services' leads to anything about victims."""
    schema = audience_schema(FULL, audience)
    reachable = set(schema.type_map)
    assert reachable & VICTIM_TYPES == set()
    for name, t in schema.type_map.items():
        assert "victim" not in name.lower(), name
        if isinstance(t, GraphQLObjectType):
            for field_name, field in t.fields.items():
                assert "victim" not in field_name.lower(), f"{name}.{field_name}"
                assert "restitution" not in field_name.lower(), f"{name}.{field_name}"
                for arg in field.args:
                    assert "victim" not in arg.lower(), f"{name}.{field_name}({arg})"


def test_victim_services_does_reach_victims() -> None:
    schema = audience_schema(FULL, Audience.VICTIM_SERVICES)
    assert set(schema.type_map) >= VICTIM_TYPES


def test_introspection_shows_exactly_the_readable_fields() -> None:
    for audience in Audience:
        schema = audience_schema(FULL, audience)
        for name, t in schema.type_map.items():
            if isinstance(t, GraphQLObjectType) and not is_introspection_type(t) and name in SCHEMA.type_map:
                for field_name in t.fields:
                    assert readable(audience, name, field_name), f"{audience}: {name}.{field_name}"
