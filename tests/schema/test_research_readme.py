"""The README's research section: every GraphQL example validates against the researcher's or the
research unit's schema (whichever it is written for)."""

from __future__ import annotations

import re

from graphql import parse, validate

from resolvers.models.partners import Audience
from schema.audiences import audience_schema
from schema.root import build_schema
from tests import docs


def test_every_example_of_the_research_section_validates() -> None:
    section = docs.section("research")
    blocks = re.findall(r"```graphql\n(.*?)```", section, flags=re.DOTALL)
    assert len(blocks) >= 3
    schema = build_schema()
    schemas = [audience_schema(schema, a) for a in (Audience.RESEARCHER, Audience.RESEARCH_UNIT)]
    for block in blocks:
        document = parse(block)
        failures = [validate(s, document) for s in schemas]
        assert any(not f for f in failures), (block, failures)
