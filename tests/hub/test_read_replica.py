"""Queries read from a real streaming replica (``HUB_READ_DATABASE_URL``); mutations, the ledger and
everything else use the primary (issue 16, item 5).

The session starts its own primary and replica (tests/hub/streaming_replica.py: initdb, pg_basebackup
-R, two postmasters on free ports) and stops them at the end. Where a read went is proven by what it
sees: with the replica's replay paused, a row committed on the primary since is visible to a read on
the primary and not to one on the replica.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.requests import Request

from auth.principal import Principal
from hub.app import create_app
from hub.db import (
    LAGGING,
    NOT_STANDBY,
    REPLICA,
    REPLICA_DOWN,
    ReadReplica,
    create_engine,
    session_factory,
    upgrade,
)
from hub.settings import Settings
from resolvers.models.partners import Audience
from resolvers.models.people import Facility
from schema.ids import to_global_id
from tests.factories.people import make_facility, make_inmate
from tests.factories.programs import make_program
from tests.hub.store_proxy import Proxy
from tests.hub.streaming_replica import StreamingPair, unavailable_reason

pytestmark = pytest.mark.postgres

DATABASE = "hub_test_replica"
COUNT = "{ facilities(first: 1) { totalCount } }"
ENROL = """
mutation($input: EnrolPersonInput!) {
  enrolPerson(input: $input) { enrollment { id } errors { code message } }
}
"""
ENROLLMENTS = "query($id: ID!) { person(id: $id) { enrollments { id } } }"


@pytest.fixture(scope="session")
def pair() -> Iterator[StreamingPair]:
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    pair = StreamingPair.create()
    try:
        pair.start()
        pair.psql(f"CREATE DATABASE {DATABASE}")
        asyncio.run(_migrate(pair.url(DATABASE)))
        pair.wait_replayed()
        yield pair
    finally:
        pair.stop()


async def _migrate(url: str) -> None:
    engine = create_engine(Settings(database_url=url))
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


Build = Callable[..., Awaitable[tuple[Starlette, httpx.AsyncClient]]]


@pytest_asyncio.fixture(loop_scope="session")
async def hub(pair: StreamingPair) -> AsyncIterator[Build]:
    """``await hub(**settings)``: the hub on the pair (queries on the replica unless a setting says
    otherwise) and an HTTP client whose ``X-Test-Who`` header names the staff member calling."""
    # Each app runs under its own lifespan, as a server runs it: its exit closes every engine the app
    # opened (the primary's, the replica's and the ledger writer's own connection).
    async with contextlib.AsyncExitStack() as running:

        async def who(request: Request) -> Principal:
            return Principal(Audience.ADMIN, subject=request.headers.get("x-test-who", "someone"))

        async def build(**overrides: Any) -> tuple[Starlette, httpx.AsyncClient]:
            values: dict[str, Any] = {
                "database_url": pair.url(DATABASE),
                "read_database_url": pair.url(DATABASE, replica=True),
                "issuer": "http://hub.test",
                "rate_flush_ms": 0,
                "replica_check_s": 0.001,  # measured on every query
                "replica_max_lag_s": 60.0,
                "read_after_write_s": 120.0,
            }
            app = create_app(Settings(**{**values, **overrides}), authenticate=who)
            await running.enter_async_context(app.router.lifespan_context(app))
            client = await running.enter_async_context(
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub.test")
            )
            return app, client

        yield build


async def _post(client: httpx.AsyncClient, query: str, who: str, **variables: Any) -> dict[str, Any]:
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables}, headers={"X-Test-Who": who}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    return body


async def _count(client: httpx.AsyncClient, who: str) -> int:
    return int((await _post(client, COUNT, who))["data"]["facilities"]["totalCount"])


async def _add_facility(pair: StreamingPair) -> None:
    """A facility committed on the primary."""
    engine = create_engine(Settings(database_url=pair.url(DATABASE)))
    try:
        async with session_factory(engine)() as session:
            await make_facility(session)
            await session.commit()
    finally:
        await engine.dispose()


async def _facilities(url: str) -> int:
    engine = create_engine(Settings(database_url=url))
    try:
        async with session_factory(engine)() as session:
            return int(await session.scalar(select(func.count()).select_from(Facility)) or 0)
    finally:
        await engine.dispose()


def _events(pair: StreamingPair, request_id: str, *, replica: bool = False) -> str:
    return pair.psql(
        f"SELECT outcome FROM audit_events WHERE request_id = '{request_id}'",
        database=DATABASE,
        replica=replica,
    )


def _reads(app: Starlette, reason: str) -> float:
    value = app.state.metrics.registry.get_sample_value("hub_query_reads_total", {"reason": reason})
    return float(value or 0.0)


async def test_a_query_reads_the_replica_and_its_event_is_committed_on_the_primary(
    pair: StreamingPair, hub: Build
) -> None:
    app, client = await hub()
    await _add_facility(pair)
    with pair.replay_paused():
        await _add_facility(pair)  # on the primary only, until replay resumes
        on_primary = await _facilities(pair.url(DATABASE))
        on_replica = await _facilities(pair.url(DATABASE, replica=True))
        assert on_replica == on_primary - 1

        body = await _post(client, COUNT, "reader")
        assert body["data"]["facilities"]["totalCount"] == on_replica
        assert _reads(app, REPLICA) == 1
        # The query's ledger event was committed on the primary before the answer came back.
        request_id = body["extensions"]["requestId"]
        assert _events(pair, request_id) == "served"
        assert _events(pair, request_id, replica=True) == ""
        ready = (await client.get("/readyz")).json()
        assert ready["status"] == "ready"
        assert ready["replica"]["reads"] == REPLICA
    pair.wait_replayed()
    assert await _count(client, "reader") == on_primary
    assert _events(pair, request_id, replica=True) == "served"


async def test_a_client_reads_its_own_mutation_from_the_primary_and_others_from_the_replica(
    pair: StreamingPair, hub: Build
) -> None:
    app, client = await hub()
    engine = create_engine(Settings(database_url=pair.url(DATABASE)))
    try:
        async with session_factory(engine)() as session:
            person, _ = await make_inmate(session)
            program = await make_program(session)
            await session.commit()
    finally:
        await engine.dispose()
    person_id = to_global_id("Person", person.id)
    with pair.replay_paused():
        written = await _post(
            client,
            ENROL,
            "writer",
            input={
                "personId": person_id,
                "programId": to_global_id("Program", program.id),
                "enrolledOn": "2024-02-01",
            },
        )
        payload = written["data"]["enrolPerson"]
        assert payload["errors"] == [], payload  # written: a replica refuses every write
        assert _events(pair, written["extensions"]["requestId"]) == "served"

        # Within HUB_READ_AFTER_WRITE_S the writer reads the primary and sees its enrollment;
        # another client reads the replica, which has not replayed it yet.
        mine = await _post(client, ENROLLMENTS, "writer", id=person_id)
        theirs = await _post(client, ENROLLMENTS, "someone-else", id=person_id)
        assert mine["data"]["person"]["enrollments"] == [payload["enrollment"]]
        assert theirs["data"]["person"]["enrollments"] == []
        assert _reads(app, "recent_write") == 1
        assert _reads(app, REPLICA) == 1


async def test_a_replica_further_behind_than_the_bound_is_not_read(pair: StreamingPair, hub: Build) -> None:
    app, client = await hub(replica_max_lag_s=0.3, read_after_write_s=0)
    await _add_facility(pair)
    with pair.replay_paused():
        await _add_facility(pair)
        replica: ReadReplica = app.state.replica
        # The lag grows while replay is paused and the primary has written since.
        for _ in range(200):
            state = await replica.measure()
            if state.reason == LAGGING:
                break
            await asyncio.sleep(0.05)
        assert state.lag_s is not None
        assert state.lag_s > 0.3

        assert await _count(client, "reader") == await _facilities(pair.url(DATABASE))
        assert _reads(app, LAGGING) == 1
        assert _reads(app, REPLICA) == 0
        ready = (await client.get("/readyz")).json()
        assert ready["status"] == "ready"
        assert ready["replica"]["reads"] == LAGGING
        assert ready["replica"]["lagSeconds"] > 0.3
        registry = app.state.metrics.registry
        assert registry.get_sample_value("hub_replica_usable") == 0
        assert registry.get_sample_value("hub_replica_lag_seconds") > 0.3
    pair.wait_replayed()
    await _count(client, "reader")
    assert _reads(app, REPLICA) == 1
    assert app.state.metrics.registry.get_sample_value("hub_replica_usable") == 1


async def test_a_replica_that_goes_down_falls_back_to_the_primary(
    pair: StreamingPair, hub: Build, caplog: pytest.LogCaptureFixture
) -> None:
    proxy = Proxy("127.0.0.1", pair.replica_port)
    await proxy.up()
    through = f"postgresql+asyncpg://postgres@127.0.0.1:{proxy.port}/{DATABASE}"
    # Measured once a minute: the replica going down is found by the next query's connection check.
    app, client = await hub(read_database_url=through, replica_check_s=60.0, read_after_write_s=0)
    try:
        expected = await _count(client, "reader")
        assert _reads(app, REPLICA) == 1

        await proxy.down()
        caplog.set_level(logging.WARNING, logger="hub.db")
        assert await _count(client, "reader") == expected  # served, from the primary
        assert await _count(client, "reader") == expected
        assert _reads(app, REPLICA_DOWN) == 2
        ready = await client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["replica"]["reads"] == REPLICA_DOWN
        assert math.isnan(app.state.metrics.registry.get_sample_value("hub_replica_lag_seconds"))

        await proxy.up()
        app.state.replica.check_s = 0.001  # the next query measures again, and finds it back
        await _count(client, "reader")
        assert _reads(app, REPLICA) == 2
        # One line as queries moved to the primary and one as they came back, not one per query.
        lines = [r.getMessage() for r in caplog.records if r.name == "hub.db"]
        assert len(lines) == 2, lines
        assert lines[0].startswith("queries read from the primary: the replica is replica_down (")
        assert lines[1].startswith("queries read from the replica again")
    finally:
        await proxy.down()


async def test_a_replica_that_never_answered_is_never_needed(pair: StreamingPair, hub: Build) -> None:
    closed = Proxy("127.0.0.1", pair.replica_port)
    await closed.up()
    await closed.down()  # a port nobody listens on
    app, client = await hub(
        read_database_url=f"postgresql+asyncpg://postgres@127.0.0.1:{closed.port}/{DATABASE}"
    )
    assert await _count(client, "reader") == await _facilities(pair.url(DATABASE))
    assert _reads(app, REPLICA_DOWN) == 1
    assert (await client.get("/readyz")).status_code == 200


async def test_a_read_url_that_is_not_a_standby_is_not_read(pair: StreamingPair, hub: Build) -> None:
    app, client = await hub(read_database_url=pair.url(DATABASE))  # the primary itself
    await _count(client, "reader")
    assert _reads(app, NOT_STANDBY) == 1
    assert _reads(app, REPLICA) == 0
