"""The data dictionary (``docs/data-dictionary.md``) is generated from the schema and the policy table
by ``hub schema --dictionary``, committed, and current: like the SDL, a schema change that is not
reflected in it fails here. Issue 14 item 20: one vocabulary for researchers, documented."""

from __future__ import annotations

from pathlib import Path

from graphql import GraphQLObjectType, is_introspection_type

from hub.cli import main
from hub.commands.schema_sdl import DICTIONARY, dictionary
from schema.root import build_schema


def test_the_committed_data_dictionary_is_current() -> None:
    assert DICTIONARY.exists(), "run `hub schema --dictionary` and commit docs/data-dictionary.md"
    assert DICTIONARY.read_text(encoding="utf-8") == dictionary(), (
        "the schema or the policy table changed; run `hub schema --dictionary`, review and commit it"
    )


def test_every_field_of_every_type_is_in_the_dictionary_with_its_class() -> None:
    text = DICTIONARY.read_text(encoding="utf-8")
    for name, t in build_schema()._schema.type_map.items():
        if not isinstance(t, GraphQLObjectType) or is_introspection_type(t):
            continue
        section = text.split(f"\n### {name}\n", 1)[1].split("\n### ", 1)[0]
        for field in t.fields:
            assert f"| `{field}` |" in section, (name, field)
    assert "| `birthYear` | `String` | `research_records` | researcher, research_unit |" in text
    # The research vocabulary: agreement field = CSV column, record field, enum values by GraphQL name.
    assert "| `sex` | `sex` | FEMALE, MALE, UNKNOWN | exact → withheld |" in text
    assert "| `offense_class` | `offenseClass` | FELONY_A," in text
    assert "| `returned_3y` | `returnedWithin3Years` |  | not a quasi-identifier |" in text


def test_hub_schema_dictionary_writes_it(tmp_path: Path, capsys: object) -> None:
    target = tmp_path / "dictionary.md"
    assert main(["schema", "--dictionary", "--write", str(target)]) == 0
    assert target.read_text(encoding="utf-8") == dictionary()
