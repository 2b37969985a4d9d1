"""Each app keeps its own settings: nothing create_app configures lives in module state, so two apps
built in one process with different settings answer by their own (issue 19, item 4)."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.applications import Starlette
from starlette.requests import Request

from auth.principal import Principal
from hub.app import create_app
from hub.settings import Settings
from resolvers.custody_writes import NewCustodyEvent, record_custody_event
from resolvers.models.custody import CustodyEventKind
from resolvers.models.partners import Audience, Partner
from resolvers.session import RequestDb
from schema.ids import to_global_id
from tests.factories.people import make_inmate

PERSON = "query($id: ID!) { person(id: $id) { id status } }"


async def _seen_by_legislative(app: Starlette, person_id: int) -> bool:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub.test") as http:
        response = await http.post(
            "/graphql", json={"query": PERSON, "variables": {"id": to_global_id("Person", person_id)}}
        )
    body = response.json()
    assert "errors" not in body, body
    return body["data"]["person"] is not None


async def test_two_apps_with_different_embargoes_answer_by_their_own(
    settings: Settings,
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    session: AsyncSession,
    db: RequestDb,
    partners: dict[Audience, Partner],
) -> None:
    legislative = Principal(
        Audience.LEGISLATIVE, partner_id=partners[Audience.LEGISLATIVE].id, client_id="tests"
    )

    async def authenticate(request: Request) -> Principal:
        return legislative

    def build(minutes: float) -> Starlette:
        configured = settings.model_copy(update={"victim_embargo_minutes": minutes})
        return create_app(configured, engine=engine, sessions=sessions, authenticate=authenticate)

    waiting, immediate = build(60.0), build(0.0)
    # Built second, the 0-minute app must not have changed the first one's embargo (it used to: one
    # module-level embargo that every create_app overwrote).
    assert waiting.state.victim_embargo.minutes == 60.0
    assert immediate.state.victim_embargo.minutes == 0.0

    person, _ = await make_inmate(session)
    now = datetime.now(UTC)
    event = NewCustodyEvent(person_id=person.id, kind=CustodyEventKind.ESCAPE, occurred_at=now)
    await record_custody_event(db, Principal(Audience.ADMIN), event, now)

    assert not await _seen_by_legislative(waiting, person.id)
    assert await _seen_by_legislative(immediate, person.id)
    # And again in the other order: neither request leaves its app's embargo behind for the next.
    assert await _seen_by_legislative(immediate, person.id)
    assert not await _seen_by_legislative(waiting, person.id)


def test_two_apps_with_different_peppers_hash_with_their_own(
    settings: Settings, engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    peppered = create_app(
        settings.model_copy(update={"secret_pepper": SecretStr("q" * 40)}), engine=engine, sessions=sessions
    )
    plain = create_app(settings, engine=engine, sessions=sessions)
    # Each token endpoint hashes and verifies client secrets with its own app's pepper (the plain one
    # built second used to reset the process-wide pepper under the first).
    assert peppered.state.identity.oauth.clients.pepper == b"q" * 40
    assert plain.state.identity.oauth.clients.pepper is None
