"""A mutation whose COMMIT got no answer may have been saved (issue 14, item 4): the hub must not say
"nothing was written", and a retry with the same idempotency key must write it once."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event, func, select
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from auth.principal import Principal
from hub.app import create_app
from hub.db import create_engine, session_factory
from hub.settings import Settings
from resolvers.models.inquiries import Inquiry
from resolvers.models.partners import Audience
from tests.conftest import GraphQL
from tests.factories.notifications import worker_store
from tests.hub.store_proxy import Proxy

SUBMIT = """
mutation($input: SubmitInquiryInput!, $key: String) {
  submitInquiry(input: $input, idempotencyKey: $key) {
    inquiry { id reference }
    errors { code }
    replayed
  }
}
"""
INPUT = {
    "source": "FAMILY",
    "category": "MEDICAL",
    "channel": "PHONE",
    "requesterName": "A. Mother",
    "summary": "No medical appointment for weeks",
    "details": "Her son has asked for a doctor three times.",
}


def _lose_the_answer_of_the_next_commit(
    monkeypatch: pytest.MonkeyPatch, *, after: str | tuple[str, ...], applied: bool
) -> list[int]:
    """The first COMMIT after a statement containing ``after`` (or one of them) reaches the store
    (``applied``) or not; either way its answer is lost."""
    real_commit = AsyncSession.commit
    fired: list[int] = []
    seen: list[str] = []

    def watch(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        # Contained, not leading: on PostgreSQL the ledger's append is a call of hub_ledger_append.
        if any(text in statement for text in ((after,) if isinstance(after, str) else after)):
            seen.append(statement)

    event.listen(Engine, "before_cursor_execute", watch)
    monkeypatch.setattr(Engine, "_hub_test_watch", watch, raising=False)

    async def commit(self: AsyncSession) -> None:
        if seen and not fired:
            fired.append(1)
            if applied:
                await real_commit(self)
            raise OperationalError("COMMIT", {}, ConnectionResetError("connection reset by peer"))
        await real_commit(self)

    monkeypatch.setattr(AsyncSession, "commit", commit)
    return fired


@pytest.fixture(autouse=True)
def _stop_watching() -> Iterator[None]:
    yield
    watch = getattr(Engine, "_hub_test_watch", None)
    if watch is not None and event.contains(Engine, "before_cursor_execute", watch):
        event.remove(Engine, "before_cursor_execute", watch)


async def _count(session: AsyncSession) -> int:
    return (await session.scalar(select(func.count()).select_from(Inquiry))) or 0


@pytest.mark.parametrize("applied", [True, False], ids=["committed", "not-committed"])
async def test_a_commit_without_an_answer_says_the_write_may_be_saved(
    gql: GraphQL, session: AsyncSession, monkeypatch: pytest.MonkeyPatch, applied: bool
) -> None:
    before = await _count(session)
    variables = {"input": INPUT, "key": f"commit-lost-{applied}"}
    fired = _lose_the_answer_of_the_next_commit(monkeypatch, after="INSERT INTO inquiries", applied=applied)
    response = await gql(SUBMIT, variables, audience=Audience.CONSTITUENT_SERVICES)
    assert fired
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "1"
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "COMMIT_OUTCOME_UNKNOWN"
    assert "may or may not have been saved" in error["message"]
    assert "same idempotencyKey" in error["message"]
    assert "nothing was" not in error["message"]
    assert "connection reset" not in response.text

    retry = (await gql(SUBMIT, variables, audience=Audience.CONSTITUENT_SERVICES)).json()["data"]
    assert retry["submitInquiry"]["replayed"] is applied
    assert await _count(session) == before + 1  # once, whichever way the first commit went


async def test_a_read_whose_ledger_commit_fails_still_says_nothing_was_served(
    gql: GraphQL, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert (await gql("{ facilities(first: 1) { totalCount } }")).status_code == 200  # token minted
    ledger = ("INSERT INTO audit_events", "hub_ledger_append(")
    fired = _lose_the_answer_of_the_next_commit(monkeypatch, after=ledger, applied=False)
    response = await gql("{ facilities(first: 1) { totalCount } }")
    assert fired
    assert response.status_code == 503
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "LEDGER_UNAVAILABLE"
    assert "nothing was served" in error["message"]


@pytest.mark.postgres
async def test_a_backend_cut_during_commit_through_a_proxy(tmp_path: Path) -> None:
    """The real thing: the proxy forwards the mutation's COMMIT to PostgreSQL, then drops the
    connection before the answer comes back. The write is in the store; the hub says it may be."""
    async with worker_store(tmp_path) as (url, _):
        target = make_url(url)
        proxy = Proxy(target.host or "127.0.0.1", target.port or 5432)
        await proxy.up()
        armed = {"insert": False, "cut": False}

        def cut_at_commit(data: bytes) -> bool:
            if b"INSERT INTO inquiries" in data:
                armed["insert"] = True
            if armed["insert"] and not armed["cut"] and b"COMMIT" in data:
                armed["cut"] = True
                return True
            return False

        proxy.on_client_data = cut_at_commit
        through = target.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        settings = Settings(database_url=through, issuer="http://hub.test")
        engine = create_engine(settings)

        async def staff(_: object) -> Principal:
            return Principal(Audience.CONSTITUENT_SERVICES, subject="commit-test")

        app = create_app(settings, engine=engine, authenticate=staff)
        variables: dict[str, Any] = {"input": INPUT, "key": "cut-at-commit"}
        try:
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://hub.test"
            ) as client:
                first = await client.post("/graphql", json={"query": SUBMIT, "variables": variables})
                assert armed["cut"]
                assert first.status_code == 503, first.text
                assert first.json()["errors"][0]["extensions"]["code"] == "COMMIT_OUTCOME_UNKNOWN"
                async with session_factory(engine)() as s:
                    assert await _count(s) == 1  # it was committed after all
                retry = await client.post("/graphql", json={"query": SUBMIT, "variables": variables})
                assert retry.status_code == 200, retry.text
                assert retry.json()["data"]["submitInquiry"]["replayed"] is True
                async with session_factory(engine)() as s:
                    assert await _count(s) == 1
        finally:
            await engine.dispose()
            with contextlib.suppress(Exception):
                await proxy.down()
