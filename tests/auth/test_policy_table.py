"""The policy table and the schema agree: every field has an entry, every entry a field, and the
class in the table is the class the field declares. The committed SDL of every audience is current."""

from __future__ import annotations

import pytest
from graphql import GraphQLObjectType, is_introspection_type

from auth.policy import MATRIX
from auth.policy_fields import FIELDS, MUTATIONS
from hub.commands.schema_sdl import SDL_DIR, policy_markdown, sdl
from resolvers.models.partners import Audience
from schema.fields import SENSITIVITY
from schema.root import build_schema
from tests import docs

SCHEMA = build_schema()


def declared_classes() -> dict[tuple[str, str], object]:
    """(type, field) -> the sensitivity class the Strawberry field carries."""
    found: dict[tuple[str, str], object] = {}
    for name, t in SCHEMA._schema.type_map.items():
        if not isinstance(t, GraphQLObjectType) or is_introspection_type(t):
            continue
        definition = t.extensions["strawberry-definition"]
        by_name = {SCHEMA.config.name_converter.get_graphql_name(f): f for f in definition.fields}
        for field_name in t.fields:
            metadata = by_name[field_name].metadata or {}
            found[(name, field_name)] = metadata.get(SENSITIVITY)
    return found


DECLARED = declared_classes()


def test_every_field_has_an_entry() -> None:
    missing = sorted(
        f"{t}.{f}" for (t, f) in DECLARED if t != "Mutation" and f not in FIELDS.get(t, {})
    ) + sorted(f"Mutation.{f}" for (t, f) in DECLARED if t == "Mutation" and f not in MUTATIONS)
    assert missing == []


def test_every_entry_has_a_field() -> None:
    stale = sorted(f"{t}.{f}" for t, fields in FIELDS.items() for f in fields if (t, f) not in DECLARED)
    stale += sorted(f"Mutation.{m}" for m in MUTATIONS if ("Mutation", m) not in DECLARED)
    assert stale == []


def test_the_table_and_the_fields_declare_the_same_class() -> None:
    differ = []
    for (t, f), declared in DECLARED.items():
        table = MUTATIONS[f][0] if t == "Mutation" and f in MUTATIONS else FIELDS.get(t, {}).get(f)
        if table is not None and table != declared:
            differ.append(f"{t}.{f}: table {table}, field {declared}")
    assert differ == []


def test_every_class_in_use_has_a_row_in_the_matrix() -> None:
    used = {cls for fields in FIELDS.values() for cls in fields.values()} | {c for c, _ in MUTATIONS.values()}
    assert used - set(MATRIX) == set()
    for cls, row in MATRIX.items():
        assert set(row) == set(Audience), cls


@pytest.mark.parametrize("audience", [None, *Audience], ids=lambda a: a.value if a else "full")
def test_committed_sdl_is_current(audience: Audience | None) -> None:
    path = SDL_DIR / f"{audience.value if audience else 'full'}.graphql"
    assert path.exists(), f"run `make sdl` and review {path}"
    assert path.read_text(encoding="utf-8") == sdl(audience), (
        f"the {path.name} schema changed; run `make sdl`, review the difference and commit it"
    )


def test_readme_carries_the_matrix_from_the_table() -> None:
    matrix = docs.section("disclosure-matrix")
    assert policy_markdown() in matrix, (
        "run `hub policy` and paste it into the disclosure matrix (docs/disclosure.md)"
    )
