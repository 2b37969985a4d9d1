"""The README cookbook's Victims, Inquiries, Grants and fiscal notes, and Research agreements
operations are valid against the schema, so a partner who copies one gets no validation error."""

from __future__ import annotations

import re

import pytest
from graphql import parse, validate

from schema.limits import Limits, operation_cost
from schema.root import build_schema
from tests import docs

HEADINGS = ("Victims", "Inquiries", "Grants and fiscal notes", "Research agreements")


def _operations() -> list[tuple[str, str]]:
    section = docs.section("cookbook")
    found = []
    for part in re.split(r"(?m)^(?=#{2,3} )", section):
        heading = part.splitlines()[0].lstrip("#").strip() if part.strip() else ""
        if heading in HEADINGS:
            found += [(heading, block) for block in re.findall(r"```graphql\n(.*?)```", part, re.S)]
    return found


def test_every_heading_has_operations() -> None:
    assert {heading for heading, _ in _operations()} == set(HEADINGS)


@pytest.mark.parametrize(("heading", "operation"), _operations())
def test_the_operation_is_valid(heading: str, operation: str) -> None:
    schema = build_schema()._schema
    document = parse(operation)
    assert validate(schema, document) == [], heading
    # Copied as written, it also fits the static cost limit.
    assert operation_cost(schema, document, None, {}) <= Limits().max_cost
