"""The Decimal scalar takes plain finite decimals only: NaN, infinities, exponents, underscores,
spaces and non-ASCII digits are a clear BAD_USER_INPUT, in a variable and inline, never an internal
error (issue 14, item 8)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from graphql import GraphQLError

from resolvers.models.partners import Audience
from schema.scalars import parse_decimal
from tests.conftest import GraphQL

RECORD = """mutation($amount: Decimal!) { recordFederalAward(input: {
  awardNumber: "D-1", agency: "BJA", assistanceListing: "16.812", title: "Second Chance",
  periodStart: "2026-01-01", periodEnd: "2026-12-31", amount: $amount
}) { errors { code field message } award { amount } } }"""

REFUSED = [
    "NaN",
    "sNaN",
    "-NaN",
    "Infinity",
    "-Infinity",
    "inf",
    "1e3",
    "1E3",
    "1_000",
    " 12 ",
    "12 ",
    "١٢٣",
    "\uff11\uff12",  # fullwidth digits
    "+12",
    "12.",
    ".5",
    "",
    "-",
    "0x10",
    "1,000",
    "1.2.3",
    "1" * 16,
]


@pytest.mark.parametrize("amount", REFUSED)
async def test_a_decimal_that_is_not_plain_is_refused_as_bad_input(gql: GraphQL, amount: str) -> None:
    body = (await gql(RECORD, {"amount": amount}, audience=Audience.BUDGET_GRANTS)).json()
    assert body.get("data") is None, body
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", body
    assert "plain decimal" in error["message"], body


@pytest.mark.parametrize("literal", ['"NaN"', '"sNaN"', '"Infinity"', '"1_000"', '" 12 "', '"١٢٣"'])
async def test_an_inline_decimal_that_is_not_plain_is_refused(gql: GraphQL, literal: str) -> None:
    """An inline literal is checked when the document is validated: refused before anything runs."""
    query = RECORD.replace("mutation($amount: Decimal!)", "mutation").replace("$amount", literal)
    response = await gql(query, audience=Audience.BUDGET_GRANTS)
    body = response.json()
    assert body.get("data") is None, body
    assert [e["extensions"]["code"] for e in body["errors"]] == ["GRAPHQL_VALIDATION_FAILED"], body
    assert "plain decimal" in body["errors"][0]["message"], body


@pytest.mark.parametrize(
    ("amount", "stored"), [("1250.00", "1250.00"), ("1250", "1250.00"), (1250, "1250.00")]
)
async def test_a_plain_decimal_is_accepted(gql: GraphQL, amount: Any, stored: str) -> None:
    body = (await gql(RECORD, {"amount": amount}, audience=Audience.BUDGET_GRANTS)).json()
    assert "errors" not in body, body
    assert body["data"]["recordFederalAward"] == {"errors": [], "award": {"amount": stored}}


async def test_a_decimal_past_the_column_gets_the_fields_own_rule(gql: GraphQL) -> None:
    body = (await gql(RECORD, {"amount": "1.005"}, audience=Audience.BUDGET_GRANTS)).json()
    [error] = body["data"]["recordFederalAward"]["errors"]
    assert (error["code"], error["field"]) == ("INVALID", "amount"), body


def test_parse_decimal() -> None:
    assert parse_decimal("-0.50") == Decimal("-0.50")
    assert parse_decimal(12.5) == Decimal("12.5")
    for bad in (True, None, [1], {"n": 1}, float("nan"), float("inf"), 1e20):
        with pytest.raises(GraphQLError, match="plain decimal"):
            parse_decimal(bad)
