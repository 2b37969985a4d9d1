"""The README's people, custody, programs and reentry cookbook is real: every operation in it
validates against the schema the hub serves."""

from __future__ import annotations

import re

import pytest
from graphql import parse, validate

from schema.root import build_schema
from tests import docs

HEADING = "People, custody, programs and reentry"


def _operations() -> list[str]:
    section = docs.section("cookbook")
    ours = re.split(rf"(?m)^#{{2,3}} {HEADING}\n", section, maxsplit=1)[1]
    ours = re.split(r"(?m)^#{2,3} ", ours, maxsplit=1)[0]
    return re.findall(r"```graphql\n(.*?)```", ours, flags=re.S)


def test_the_section_has_operations() -> None:
    assert len(_operations()) >= 8


@pytest.mark.parametrize("operation", _operations(), ids=lambda op: op.split("(")[0].split("{")[0].strip())
def test_each_operation_validates(operation: str) -> None:
    errors = validate(build_schema()._schema, parse(operation))
    assert errors == [], [e.message for e in errors]
