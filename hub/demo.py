"""``hub demo``: an embedded store with a synthetic department and demo partners, ready to query.

Each audience gets one demo client, ``demo-<audience>``, owned by the first partner (lowest id) of
that audience in the seeded data. Its secret is fresh and random on every run (the old one stops
working) and is written only to ``<demo_dir>/clients.json``, readable by its owner alone.

The store also gets a demo marker (a ``server_secrets`` row no other command writes): the console's
demo sign-in (``HUB_CONSOLE_DEMO_SIGNIN``, which ``hub demo`` sets) works only on a store that has it,
so a production store never answers a demo sign-in, whatever its settings say.
"""

from __future__ import annotations

import json
import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from auth import clients as registry
from auth.keys import KeyPolicy, ensure_signing_key
from hub.db import create_engine, session_factory, upgrade
from hub.settings import Settings
from resolvers.models.partners import Audience, Client, ClientStatus, Partner, ServerSecret
from resolvers.models.people import Person

#: The ``server_secrets`` row that marks a store as the one ``hub demo`` made.
DEMO_MARKER = "demo_store"


def demo_client_id(audience: Audience) -> str:
    return f"demo-{audience.value.replace('_', '-')}"


async def mark_demo_store(session: AsyncSession) -> None:
    """Write the demo marker once; the caller commits."""
    if await session.get(ServerSecret, DEMO_MARKER) is None:
        session.add(ServerSecret(name=DEMO_MARKER, value=secrets.token_bytes(16)))


async def is_demo_store(session: AsyncSession) -> bool:
    """Whether ``hub demo`` made this store (its marker row is there)."""
    return await session.scalar(select(ServerSecret.name).where(ServerSecret.name == DEMO_MARKER)) is not None


async def _first_partner(session: AsyncSession, audience: Audience) -> Partner:
    partner = await session.scalar(
        select(Partner).where(Partner.audience == audience.value).order_by(Partner.id).limit(1)
    )
    if partner is None:
        partner = await registry.add_partner(
            session, name=f"Demo {audience.value.replace('_', ' ')} partner", audience=audience.value
        )
    return partner


async def register_demo_clients(
    session: AsyncSession, *, pepper: bytes | None = None
) -> list[dict[str, Any]]:
    """One client per audience with a fresh secret (hashed under ``pepper``, else the store's own);
    the caller commits."""
    credentials: list[dict[str, Any]] = []
    for audience in Audience:
        partner = await _first_partner(session, audience)
        client_id = demo_client_id(audience)
        existing = await session.scalar(select(Client).where(Client.client_id == client_id))
        if existing is None:
            new = await registry.add_client(
                session, partner, name=f"Demo {audience.value} client", client_id=client_id, pepper=pepper
            )
            secret = new.secret
        else:
            if existing.status == ClientStatus.DISABLED:
                await registry.enable(session, client_id)
            secret = (await registry.rotate_secret(session, client_id, pepper=pepper)).secret
        credentials.append(
            {
                "client_id": client_id,
                "client_secret": secret,
                "audience": audience.value,
                "partner": partner.name,
            }
        )
    return credentials


def write_credentials(demo_dir: Path, credentials: list[dict[str, Any]]) -> Path:
    demo_dir.mkdir(parents=True, exist_ok=True)
    path = demo_dir / "clients.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(credentials, fh, indent=2)
        fh.write("\n")
    path.chmod(0o600)
    return path


async def prepare_demo(settings: Settings, scale: int) -> None:
    """Migrate, seed once, and (re)issue demo credentials. Safe to run again: nothing is duplicated."""
    from hub.synthetic import seed_department

    engine = create_engine(settings)
    try:
        await upgrade(engine)
        async with session_factory(engine)() as session:
            people = await session.scalar(select(func.count()).select_from(Person))
        if not people:
            print(await seed_department(engine, scale=scale, random_seed=20261127, progress=None))
        else:
            print(f"reusing the demo department already in {settings.database_url} ({people:,} people)")
        async with session_factory(engine)() as session:
            policy = KeyPolicy(
                alg=settings.signing_alg,
                passphrase=settings.passphrase,
                token_ttl=timedelta(seconds=settings.token_ttl_s),
            )
            await ensure_signing_key(session, policy)
            credentials = await register_demo_clients(session, pepper=settings.secret_pepper_key)
            await mark_demo_store(session)
            await session.commit()
        path = write_credentials(Path(settings.demo_dir), credentials)
        print(f"demo clients for {len(credentials)} audiences written to {path} (fresh secrets)")
    finally:
        await engine.dispose()
