"""The partner onboarding guide (docs/partners.md) tells a partner's developer the truth: introspection
with a partner's token gives exactly the audience's committed SDL (what codegen is pointed at), and
its retry table covers every code the hardening table answers with ``Retry-After`` or a 5xx."""

from __future__ import annotations

import re

from graphql import build_client_schema, build_schema, get_introspection_query
from graphql.utilities import find_breaking_changes, find_dangerous_changes

from hub.commands.schema_sdl import SDL_DIR
from resolvers.models.partners import Audience
from tests import docs
from tests.conftest import GraphQL


async def test_introspection_with_a_partner_token_is_the_audiences_committed_sdl(gql: GraphQL) -> None:
    response = await gql(get_introspection_query(descriptions=True), audience=Audience.LEGISLATIVE)
    body = response.json()
    assert "errors" not in body, body
    introspected = build_client_schema(body["data"])
    committed = build_schema((SDL_DIR / "legislative.graphql").read_text(encoding="utf-8"))
    assert find_breaking_changes(committed, introspected) == []
    assert find_dangerous_changes(committed, introspected) == []
    assert find_breaking_changes(introspected, committed) == []
    assert set(introspected.type_map) == set(committed.type_map)
    # and it is the legislative schema, not another audience's: no identity, no victims
    assert "identity" not in introspected.get_type("Person").fields  # type: ignore[union-attr]
    assert "victims" not in introspected.query_type.fields  # type: ignore[union-attr]


def _codes(text: str) -> set[str]:
    return set(re.findall(r"`([A-Z][A-Z_]+)`", text))


def test_the_retry_table_covers_every_code_answered_with_retry_after_or_5xx() -> None:
    hardening = docs.section("hardening")
    table = hardening.split("| code | status | meaning |", 1)[1].split("\n\n", 1)[0]
    retryable = set()
    for row in table.splitlines()[1:]:
        cells = row.split("|")
        if "Retry-After" in row or re.search(r"\b50\d\b", cells[2]):
            retryable |= _codes(cells[1])
    retryable -= {"INTERNAL_SERVER_ERROR"}  # a bug: the guide says to quote the request id, not to retry
    guide = docs.section("partner-guide")
    retries = guide.split("## 5. Errors and retries", 1)[1].split("\n## ", 1)[0]
    assert retryable - _codes(retries) == set()
    assert {"COMMIT_OUTCOME_UNKNOWN", "RATE_LIMITED", "STORE_UNAVAILABLE"} <= retryable
