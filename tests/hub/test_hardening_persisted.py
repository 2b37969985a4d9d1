"""Persisted operations: a client's manifest (``hub clients operations add``), the automatic persisted
queries protocol, and persisted-only clients that run nothing else."""

from __future__ import annotations

import argparse
import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import pytest_asyncio
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from auth.persisted import ManifestError, PersistedOperations, PersistedQueryRefused, parse_manifest
from auth.persisted import register as persisted_register
from auth.principal import Principal
from hub.app import create_app
from hub.cli import main
from hub.commands.clients import clients_persisted_only, operations_add
from hub.errors import HubError
from hub.settings import Settings
from resolvers.models.partners import Audience, Client, Partner, PersistedOperation
from tests.conftest import Mint
from tests.factories.partners import make_client

QUERY = "{ facilities(first: 2) { totalCount } }"
OTHER = "{ facilities(first: 3) { totalCount } }"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest_asyncio.fixture(loop_scope="session")
async def http(
    settings: Settings, engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[httpx.AsyncClient]:
    """A fresh app per test: no client status or persisted document cached from another test."""
    app = create_app(settings, engine=engine, sessions=sessions)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub.test") as c:
        yield c


async def send(http: httpx.AsyncClient, token: str, **body: Any) -> httpx.Response:
    return await http.post("/graphql", json=body, headers={"Authorization": f"Bearer {token}"})


def apq(hash_: str, version: int = 1) -> dict[str, Any]:
    return {"persistedQuery": {"version": version, "sha256Hash": hash_}}


def code_of(response: httpx.Response) -> str | None:
    errors = response.json().get("errors")
    return errors[0]["extensions"]["code"] if errors else None


async def registered(session: AsyncSession, client: Client) -> list[str]:
    rows = await session.scalars(
        select(PersistedOperation.sha256).where(PersistedOperation.client_pk == client.id)
    )
    return list(rows)


# --- the automatic persisted queries protocol ------------------------------------------------------------


async def test_hash_then_query_then_hash(
    http: httpx.AsyncClient, mint: Mint, session: AsyncSession, partner_clients: dict[Audience, Client]
) -> None:
    token = await mint(Audience.LEGISLATIVE)
    unknown = await send(http, token, extensions=apq(sha(QUERY)))
    # What Apollo's clients look for before they resend with the query.
    assert unknown.status_code == 200
    error = unknown.json()["errors"][0]
    assert error["message"] == "PersistedQueryNotFound"
    assert error["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    assert error["extensions"]["requestId"] == unknown.headers["x-request-id"]

    first = await send(http, token, query=QUERY, extensions=apq(sha(QUERY)))
    assert first.status_code == 200, first.text
    assert "totalCount" in first.json()["data"]["facilities"]
    assert await registered(session, partner_clients[Audience.LEGISLATIVE]) == [sha(QUERY)]

    again = await send(http, token, extensions=apq(sha(QUERY)))
    assert again.json()["data"] == first.json()["data"]


async def test_a_registration_is_seen_by_another_process(
    settings: Settings, engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], mint: Mint
) -> None:
    token = await mint(Audience.LEGISLATIVE)
    apps = [create_app(settings, engine=engine, sessions=sessions) for _ in range(2)]
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=apps[0]), base_url="http://a") as one,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=apps[1]), base_url="http://b") as two,
    ):
        assert (await send(one, token, query=QUERY, extensions=apq(sha(QUERY)))).status_code == 200
        found = await send(two, token, extensions=apq(sha(QUERY)))
    assert "errors" not in found.json(), found.text


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"query": QUERY, "extensions": apq(sha(OTHER))}, 400, "PERSISTED_QUERY_HASH_MISMATCH"),
        ({"extensions": apq(sha(QUERY), version=2)}, 400, "PERSISTED_QUERY_NOT_SUPPORTED"),
        ({"extensions": {"persistedQuery": "yes"}}, 400, "PERSISTED_QUERY_NOT_SUPPORTED"),
        ({"extensions": apq("ABC")}, 400, "BAD_REQUEST"),
        ({"extensions": apq(sha(QUERY).upper())}, 400, "BAD_REQUEST"),
        ({"extensions": "persisted"}, 400, "BAD_REQUEST"),
        ({"query": 5}, 400, "BAD_REQUEST"),
        ({}, 400, "BAD_REQUEST"),
    ],
)
async def test_malformed_persisted_requests(
    http: httpx.AsyncClient, mint: Mint, body: dict[str, Any], status: int, code: str
) -> None:
    response = await send(http, await mint(Audience.LEGISLATIVE), **body)
    assert response.status_code == status, response.text
    assert code_of(response) == code


async def test_an_invalid_document_is_not_registered(
    http: httpx.AsyncClient, mint: Mint, session: AsyncSession, partner_clients: dict[Audience, Client]
) -> None:
    bad = "{ nothingHere }"
    response = await send(http, await mint(Audience.LEGISLATIVE), query=bad, extensions=apq(sha(bad)))
    assert code_of(response) == "GRAPHQL_VALIDATION_FAILED"
    assert await registered(session, partner_clients[Audience.LEGISLATIVE]) == []


async def test_one_clients_operations_are_not_anothers(
    http: httpx.AsyncClient, mint: Mint, session: AsyncSession, partners: dict[Audience, Partner]
) -> None:
    partner = partners[Audience.LEGISLATIVE]
    second = await make_client(session, partner)
    assert (
        await send(http, await mint(Audience.LEGISLATIVE), query=QUERY, extensions=apq(sha(QUERY)))
    ).status_code == 200
    other = await send(http, await mint(client=second, partner=partner), extensions=apq(sha(QUERY)))
    assert code_of(other) == "PERSISTED_QUERY_NOT_FOUND"


# --- persisted-only clients --------------------------------------------------------------------------------


@pytest_asyncio.fixture(loop_scope="session")
async def locked_down(
    session: AsyncSession, partners: dict[Audience, Partner], settings: Settings, tmp_path: Path
) -> Client:
    """A legislative client registered with a manifest of QUERY only, then set persisted-only, through
    the CLI's own actions."""
    client = await make_client(session, partners[Audience.LEGISLATIVE])
    manifest = tmp_path / "manifest.json"
    manifest.write_bytes(
        orjson.dumps(
            {
                "format": "apollo-persisted-query-manifest",
                "version": 1,
                "operations": [{"id": sha(QUERY), "name": "Facilities", "type": "query", "body": QUERY}],
            }
        )
    )
    await operations_add(
        session, argparse.Namespace(client_id=client.client_id, manifest=str(manifest)), settings
    )
    await clients_persisted_only(
        session, argparse.Namespace(client_id=client.client_id, state="on"), settings
    )
    return client


async def test_a_persisted_only_client_runs_its_operations_and_nothing_else(
    http: httpx.AsyncClient,
    mint: Mint,
    session: AsyncSession,
    partners: dict[Audience, Partner],
    locked_down: Client,
) -> None:
    token = await mint(client=locked_down, partner=partners[Audience.LEGISLATIVE])
    by_hash = await send(http, token, extensions=apq(sha(QUERY)))
    assert "errors" not in by_hash.json(), by_hash.text
    by_text = await send(http, token, query=QUERY)
    assert "errors" not in by_text.json(), by_text.text

    for body in ({"query": OTHER}, {"query": OTHER, "extensions": apq(sha(OTHER))}):
        refused = await send(http, token, **body)
        assert refused.status_code == 403
        error = refused.json()["errors"][0]
        assert error["extensions"]["code"] == "PERSISTED_QUERY_REQUIRED"
        assert "only its registered operations" in error["message"]
    # APQ cannot widen what a persisted-only client may run.
    assert await registered(session, locked_down) == [sha(QUERY)]
    unknown = await send(http, token, extensions=apq(sha(OTHER)))
    assert code_of(unknown) == "PERSISTED_QUERY_NOT_FOUND"


async def test_persisted_only_off_again(
    http: httpx.AsyncClient,
    mint: Mint,
    session: AsyncSession,
    partners: dict[Audience, Partner],
    locked_down: Client,
    settings: Settings,
) -> None:
    await clients_persisted_only(
        session, argparse.Namespace(client_id=locked_down.client_id, state="off"), settings
    )
    token = await mint(client=locked_down, partner=partners[Audience.LEGISLATIVE])
    response = await send(http, token, query=OTHER)
    assert "errors" not in response.json(), response.text


# --- manifests ----------------------------------------------------------------------------------------


def test_a_plain_map_manifest_is_read() -> None:
    assert parse_manifest(orjson.dumps({sha(QUERY): QUERY})) == {sha(QUERY): QUERY}


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{not json", "not valid JSON"),
        (b"[]", "must be a JSON object"),
        (b"{}", "no operations"),
        (orjson.dumps({sha(OTHER): QUERY}), "is not the sha256 of its document"),
        (orjson.dumps({"abc": QUERY}), "not a lowercase hex sha256"),
        (orjson.dumps({sha(QUERY): ""}), "has no document text"),
        (orjson.dumps({"operations": ["x"]}), "operations[0] is not an object"),
    ],
)
def test_a_bad_manifest_is_refused_with_the_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(ManifestError, match=reason.replace("[", r"\[").replace("]", r"\]")):
        parse_manifest(raw)


async def test_a_manifest_invalid_for_the_clients_audience_adds_nothing(
    session: AsyncSession, partners: dict[Audience, Partner], settings: Settings, tmp_path: Path
) -> None:
    client = await make_client(session, partners[Audience.LEGISLATIVE])
    # Victims are not in a legislative office's schema at all.
    victims = "{ victimRegistrants { totalCount } }"
    manifest = tmp_path / "m.json"
    manifest.write_bytes(orjson.dumps({sha(QUERY): QUERY, sha(victims): victims}))
    with pytest.raises(HubError, match="not valid for the legislative schema; nothing was added"):
        await operations_add(
            session, argparse.Namespace(client_id=client.client_id, manifest=str(manifest)), settings
        )
    count = await session.scalar(
        select(func.count()).select_from(PersistedOperation).where(PersistedOperation.client_pk == client.id)
    )
    assert count == 0


def test_the_cli_registers_lists_and_locks_down(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HUB_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    assert main(["migrate"]) == 0
    assert main(["partners", "add", "--name", "Office of Rep. Manifest", "--audience", "legislative"]) == 0
    assert main(["clients", "add", "--partner", "Office of Rep. Manifest"]) == 0
    client_id = capsys.readouterr().out.split("client_id:")[1].split()[0]
    manifest = tmp_path / "ops.json"
    manifest.write_bytes(orjson.dumps({sha(QUERY): QUERY, sha(OTHER): OTHER}))

    assert main(["clients", "operations", "add", client_id, str(manifest)]) == 0
    assert "2 new operation(s) registered" in capsys.readouterr().out
    assert main(["clients", "operations", "add", client_id, str(manifest)]) == 0
    assert "0 new operation(s) registered for" in capsys.readouterr().out
    assert main(["clients", "persisted-only", client_id, "on"]) == 0
    assert "runs only its 2 registered operation(s)" in capsys.readouterr().out
    assert main(["clients", "operations", "list", client_id]) == 0
    listed = capsys.readouterr().out
    assert sha(QUERY) in listed
    assert sha(OTHER) in listed
    assert "persisted-only" in listed
    assert main(["clients", "operations", "remove", client_id, sha(OTHER)]) == 0
    assert f"operation {sha(OTHER)} removed from {client_id}" in capsys.readouterr().out
    assert main(["clients", "operations", "remove", client_id, sha(OTHER)]) == 1
    assert "no such persisted operation" in capsys.readouterr().err
    assert main(["clients", "operations", "list", client_id]) == 0
    assert sha(OTHER) not in capsys.readouterr().out
    assert main(["clients", "limits", client_id, "--requests-per-minute", "30"]) == 0
    assert "30 requests and 2,000,000 cost per minute" in capsys.readouterr().out
    assert (
        main(["clients", "limits", client_id, "--requests-per-minute", "default", "--cost-per-minute", "0"])
        == 0
    )
    assert "1,200 requests and no limit cost per minute" in capsys.readouterr().out
    assert main(["clients", "operations", "add", client_id, str(tmp_path / "missing.json")]) == 1
    assert "cannot read the manifest" in capsys.readouterr().err


# --- the APQ registry is bounded: a quota per client, and unused entries expire -------------------------


def numbered(n: int) -> str:
    return f"{{ facilities(first: {n}) {{ totalCount }} }}"


@pytest_asyncio.fixture(loop_scope="session")
async def small_quota(
    settings: Settings, engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[httpx.AsyncClient]:
    changed = Settings.model_validate(
        {**settings.model_dump(), "apq_max_per_client": 3, "apq_expire_days": 7}
    )
    app = create_app(changed, engine=engine, sessions=sessions)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub.test") as c:
        yield c


async def test_a_client_registers_at_most_its_quota_and_the_least_recently_used_goes(
    small_quota: httpx.AsyncClient, mint: Mint, session: AsyncSession, partner_clients: dict[Audience, Client]
) -> None:
    # Before: every distinct hash with its query was a permanent row, without bound.
    token = await mint(Audience.LEGISLATIVE)
    client = partner_clients[Audience.LEGISLATIVE]
    for n in range(1, 4):
        assert (
            await send(small_quota, token, query=numbered(n), extensions=apq(sha(numbered(n))))
        ).status_code == 200
    # Last used: the first one an hour ago, the second five days ago, the third three days ago.
    for n, age in ((1, timedelta(hours=1)), (2, timedelta(days=5)), (3, timedelta(days=3))):
        await session.execute(
            update(PersistedOperation)
            .where(PersistedOperation.client_pk == client.id, PersistedOperation.sha256 == sha(numbered(n)))
            .values(last_used_at=datetime.now(UTC) - age)
        )
    await send(small_quota, token, query=numbered(4), extensions=apq(sha(numbered(4))))
    assert set(await registered(session, client)) == {sha(numbered(n)) for n in (1, 3, 4)}
    # The one pushed out answers PersistedQueryNotFound; the client resends it with its query.
    assert (
        code_of(await send(small_quota, token, extensions=apq(sha(numbered(2)))))
        == "PERSISTED_QUERY_NOT_FOUND"
    )
    resent = await send(small_quota, token, query=numbered(2), extensions=apq(sha(numbered(2))))
    assert resent.status_code == 200
    assert len(await registered(session, client)) == 3


async def test_unused_apq_entries_expire_but_manifest_operations_stay(
    small_quota: httpx.AsyncClient,
    mint: Mint,
    session: AsyncSession,
    partners: dict[Audience, Partner],
) -> None:
    partner = partners[Audience.LEGISLATIVE]
    client = await make_client(session, partner)
    token = await mint(client=client, partner=partner)
    await persisted_register(session, client.id, {sha(OTHER): OTHER})  # the department's manifest
    await send(small_quota, token, query=QUERY, extensions=apq(sha(QUERY)))
    assert set(await registered(session, client)) == {sha(QUERY), sha(OTHER)}
    # Eight days without use (HUB_APQ_EXPIRE_DAYS is 7 here): the next registration drops it.
    await session.execute(
        update(PersistedOperation)
        .where(PersistedOperation.client_pk == client.id)
        .values(last_used_at=datetime.now(UTC) - timedelta(days=8))
    )
    third = numbered(7)
    await send(small_quota, token, query=third, extensions=apq(sha(third)))
    assert set(await registered(session, client)) == {sha(OTHER), sha(third)}


async def test_another_clients_expired_entries_are_swept_too(
    sessions: async_sessionmaker[AsyncSession], session: AsyncSession, partners: dict[Audience, Partner]
) -> None:
    dormant = await make_client(session, partners[Audience.REENTRY])
    active = await make_client(session, partners[Audience.REENTRY])
    await persisted_register(session, dormant.id, {sha(QUERY): QUERY}, apq=True)
    await session.execute(
        update(PersistedOperation)
        .where(PersistedOperation.client_pk == dormant.id)
        .values(last_used_at=datetime.now(UTC) - timedelta(days=31))
    )
    operations = PersistedOperations(sessions, expire_days=30)
    principal = Principal(
        audience=Audience.REENTRY,
        partner_id=active.partner_id,
        client_id=active.client_id,
        client_pk=active.id,
    )
    await operations.remember(principal, sha(OTHER), OTHER)
    assert await registered(session, dormant) == []
    assert await registered(session, active) == [sha(OTHER)]


async def test_use_is_recorded_at_most_once_a_day_per_entry(
    sessions: async_sessionmaker[AsyncSession], session: AsyncSession, partners: dict[Audience, Partner]
) -> None:
    client = await make_client(session, partners[Audience.REENTRY])
    await persisted_register(session, client.id, {sha(QUERY): QUERY}, apq=True)
    long_ago = datetime(2026, 1, 1, tzinfo=UTC)
    await session.execute(update(PersistedOperation).values(last_used_at=long_ago))
    now = [datetime(2026, 6, 1, 12, tzinfo=UTC)]
    operations = PersistedOperations(sessions, clock=lambda: now[0])
    principal = Principal(
        audience=Audience.REENTRY,
        partner_id=client.partner_id,
        client_id=client.client_id,
        client_pk=client.id,
    )

    async def last_used() -> datetime:
        value = await session.scalar(
            select(PersistedOperation.last_used_at).where(PersistedOperation.client_pk == client.id)
        )
        assert value is not None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value

    assert await operations.lookup(principal, sha(QUERY)) == QUERY
    assert await last_used() == now[0]
    now[0] += timedelta(hours=5)
    await operations.lookup(principal, sha(QUERY))
    assert await last_used() == datetime(2026, 6, 1, 12, tzinfo=UTC)  # not written again the same day
    now[0] += timedelta(days=1)
    await operations.lookup(principal, sha(QUERY))
    assert await last_used() == now[0]


async def test_a_removed_operation_stops_running_within_the_recheck_interval(
    sessions: async_sessionmaker[AsyncSession], session: AsyncSession, partners: dict[Audience, Partner]
) -> None:
    client = await make_client(session, partners[Audience.REENTRY], persisted_only=True)
    await persisted_register(session, client.id, {sha(QUERY): QUERY})
    now = [datetime(2026, 6, 1, 12, tzinfo=UTC)]
    operations = PersistedOperations(sessions, recheck_s=3.0, clock=lambda: now[0])
    principal = Principal(
        audience=Audience.REENTRY,
        partner_id=client.partner_id,
        client_id=client.client_id,
        client_pk=client.id,
        persisted_only=True,
    )
    assert await operations.lookup(principal, sha(QUERY)) == QUERY
    # Removed by an administrator (another process's request, or this one's).
    await session.execute(delete(PersistedOperation).where(PersistedOperation.client_pk == client.id))
    now[0] += timedelta(seconds=1)
    assert await operations.lookup(principal, sha(QUERY)) == QUERY  # still trusted from the cache
    now[0] += timedelta(seconds=3)
    assert await operations.lookup(principal, sha(QUERY)) is None
    with pytest.raises(PersistedQueryRefused) as refused:
        await operations.resolve(principal, {"query": QUERY})
    assert refused.value.code == "PERSISTED_QUERY_REQUIRED"
