"""Every person-related field is recorded: its type is a subject (with the private pk attribute the
recorder reads), or it is reached only through subjects' fields, which record it on the subject. The
check runs from the schema and from the policy table (``auth/policy_fields.py``), which is what the
audience schemas and the compiled reads go by."""

from __future__ import annotations

from graphql import GraphQLInterfaceType, GraphQLObjectType, get_named_type

from auth.ledger import DIRECT, INDIRECT
from auth.policy import field_class
from auth.policy_fields import FIELDS
from schema.disclosures import COVERED, PERSON_CLASSES, SUBJECTS
from schema.root import build_schema

SCHEMA = build_schema()
OBJECTS = {
    name: t
    for name, t in SCHEMA._schema.type_map.items()
    if isinstance(t, GraphQLObjectType | GraphQLInterfaceType) and not name.startswith("__")
}


def _returned(t: GraphQLObjectType | GraphQLInterfaceType, field: str) -> str:
    """The type a field returns, looking through a connection to its nodes."""
    named = get_named_type(t.fields[field].type)
    if named.name.endswith("Connection") and isinstance(named, GraphQLObjectType):
        named = get_named_type(named.fields["nodes"].type)
    return str(named.name)


def _unrecorded(name: str) -> list[str]:
    """Person-related fields of ``name`` that nothing records (a field returning a subject is recorded
    by the subject itself)."""
    t = OBJECTS[name]
    return [f for f in t.fields if field_class(name, f) in PERSON_CLASSES and _returned(t, f) not in SUBJECTS]


def test_every_type_with_person_related_fields_is_a_subject_or_covered() -> None:
    missing = sorted(
        f"{name}.{field}"
        for name in OBJECTS
        if name not in ("Query", "Mutation") and name not in SUBJECTS and name not in COVERED
        for field in _unrecorded(name)
    )
    assert missing == [], f"add these types to SUBJECTS or COVERED in schema/disclosures.py: {missing}"
    assert sorted((set(SUBJECTS) | COVERED) - set(OBJECTS)) == []


def test_covered_types_are_only_reached_through_subjects() -> None:
    parents: dict[str, set[str]] = {}
    for name, t in OBJECTS.items():
        for field in t.fields.values():
            parents.setdefault(get_named_type(field.type).name, set()).add(name)
    for name in COVERED:
        outside = sorted(parents.get(name, set()) - set(SUBJECTS) - COVERED)
        assert outside == [], f"{name} is reached from {outside}, which records nothing"


def test_subject_kinds_and_attributes_exist() -> None:
    for name, subjects in SUBJECTS.items():
        definition = SCHEMA.get_type_by_name(name)
        assert definition is not None, name
        annotations = getattr(definition.origin, "__annotations__", {})  # type: ignore[union-attr]
        for kind, attribute in subjects:
            assert kind in DIRECT or kind in INDIRECT, (name, kind)
            # A private attribute: the recorder reads it, the schema never shows it.
            assert "Private" in str(annotations.get(attribute)), (name, attribute)


def test_every_type_of_the_policy_table_with_person_classes_is_recorded() -> None:
    # Root fields of a person class must return subjects (nothing above them records); other types'
    # person-class fields are recorded by their type or return subjects.
    missing = sorted(
        f"{name}.{field}"
        for name, fields in FIELDS.items()
        if name != "Mutation" and (name == "Query" or (name not in SUBJECTS and name not in COVERED))
        for field, cls in fields.items()
        if cls in PERSON_CLASSES and _returned(OBJECTS[name], field) not in SUBJECTS
    )
    assert missing == [], f"nothing records these person-related fields of the policy table: {missing}"
