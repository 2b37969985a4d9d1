"""The signing keys through the API: the admin's key ring and rotation schedule, rotation and
retirement, retries, refusals, and no other audience."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auth import keys
from resolvers.models.ledger import AuditEvent
from resolvers.models.partners import Audience
from resolvers.models.signing_keys import SigningKey
from tests.conftest import GraphQL

RING = "keys { kid alg status signing createdAt retiredAt verifiesUntil } nextRotationDue rotateEveryDays"
KEYS = f"query {{ signingKeys {{ {RING} }} }}"
ROTATE = f"""
mutation ($key: String) {{
  rotateSigningKey(idempotencyKey: $key) {{ errors {{ code field message }} replayed retired keys {{ {RING} }} }}
}}"""
RETIRE = f"""
mutation ($input: RetireSigningKeyInput!, $key: String) {{
  retireSigningKey(input: $input, idempotencyKey: $key) {{
    errors {{ code field message }} replayed changed keys {{ {RING} }}
  }}
}}"""


async def _run(gql: GraphQL, document: str, field: str, variables: dict[str, Any]) -> dict[str, Any]:
    body = (await gql(document, variables)).json()
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"][field]
    return payload


def _signing(ring: dict[str, Any]) -> list[str]:
    return [k["kid"] for k in ring["keys"] if k["signing"]]


async def test_admin_sees_the_keys_and_when_the_next_rotation_is_due(gql: GraphQL) -> None:
    ring = await _run(gql, KEYS, "signingKeys", {})
    assert ring["rotateEveryDays"] == 90
    (signer,) = [k for k in ring["keys"] if k["signing"]]
    assert signer["status"] == "active"
    assert signer["retiredAt"] is None
    due = datetime.fromisoformat(ring["nextRotationDue"])
    assert due == datetime.fromisoformat(signer["createdAt"]) + timedelta(days=90)
    # Public facts only.
    assert "private" not in str(ring).lower()


async def test_rotate_then_retry_writes_once(gql: GraphQL, session: AsyncSession) -> None:
    before = _signing(await _run(gql, KEYS, "signingKeys", {}))
    rotated = await _run(gql, ROTATE, "rotateSigningKey", {"key": "rotate-1"})
    assert (rotated["errors"], rotated["replayed"], rotated["retired"]) == ([], False, 1)
    (new,) = _signing(rotated["keys"])
    assert new not in before
    old = next(k for k in rotated["keys"]["keys"] if k["kid"] == before[0])
    assert old["status"] == "retired"
    assert old["verifiesUntil"] is not None
    again = await _run(gql, ROTATE, "rotateSigningKey", {"key": "rotate-1"})
    assert (again["errors"], again["replayed"], again["retired"]) == ([], True, 1)
    assert _signing(again["keys"]) == [new]
    assert len(again["keys"]["keys"]) == len(rotated["keys"]["keys"])
    events = await session.scalars(select(AuditEvent.kind).where(AuditEvent.kind == "key.rotated"))
    assert len(list(events)) == 1


async def test_the_signing_key_cannot_be_retired(gql: GraphQL) -> None:
    (signer,) = _signing(await _run(gql, KEYS, "signingKeys", {}))
    payload = await _run(gql, RETIRE, "retireSigningKey", {"input": {"kid": signer}})
    assert payload["keys"] is None
    [error] = payload["errors"]
    assert (error["code"], error["field"]) == ("CONFLICT", "kid")
    assert "signing key" in error["message"]
    assert "rotate" in error["message"]
    missing = await _run(gql, RETIRE, "retireSigningKey", {"input": {"kid": "no-such-kid"}})
    assert [(e["code"], e["field"]) for e in missing["errors"]] == [("NOT_FOUND", "kid")]


async def test_a_second_active_key_is_retired_once(gql: GraphQL, session: AsyncSession) -> None:
    # Two keys able to sign (as two processes starting at once could leave): the older one is retired.
    (signer,) = _signing(await _run(gql, KEYS, "signingKeys", {}))
    extra = await keys.create_key(session, keys.KeyPolicy())
    extra.created_at = datetime.now(UTC) - timedelta(days=400)
    await session.flush()
    payload = await _run(gql, RETIRE, "retireSigningKey", {"input": {"kid": extra.kid}, "key": "retire-1"})
    assert (payload["errors"], payload["changed"], payload["replayed"]) == ([], True, False)
    assert _signing(payload["keys"]) == [signer]
    again = await _run(gql, RETIRE, "retireSigningKey", {"input": {"kid": extra.kid}, "key": "retire-1"})
    assert (again["changed"], again["replayed"]) == (True, True)
    fresh = await _run(gql, RETIRE, "retireSigningKey", {"input": {"kid": extra.kid}})
    assert (fresh["errors"], fresh["changed"]) == ([], False)
    await session.refresh(extra)
    assert extra.retired_at is not None
    assert extra.expires_at is not None
    kinds = list(await session.scalars(select(AuditEvent.kind).where(AuditEvent.kind == "key.retired")))
    assert kinds == ["key.retired"]


@pytest.mark.parametrize("audience", [a for a in Audience if a is not Audience.ADMIN])
async def test_no_other_audience_sees_or_changes_the_keys(
    gql: GraphQL, session: AsyncSession, audience: Audience
) -> None:
    before = list(await session.scalars(select(SigningKey.kid)))
    for document, variables in ((KEYS, {}), (ROTATE, {}), (RETIRE, {"input": {"kid": before[0]}})):
        body = (await gql(document, variables, audience=audience)).json()
        # Not in that audience's schema: a validation error, and nothing ran.
        assert "data" not in body, body
        assert body["errors"]
    assert list(await session.scalars(select(SigningKey.kid))) == before


def test_only_the_admin_schema_has_the_key_mutations() -> None:
    from auth.policy_fields import MUTATIONS

    for name in ("rotateSigningKey", "retireSigningKey"):
        assert MUTATIONS[name][1] == frozenset({Audience.ADMIN}), name
