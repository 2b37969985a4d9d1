"""``hub partners|clients|keys`` as a person uses them, and the demo clients of ``hub demo``."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.cli import main
from hub.demo import register_demo_clients, write_credentials
from resolvers.models.partners import Audience, Client, Partner
from tests.auth.conftest import basic, graphql
from tests.factories.partners import make_partner


def test_cli_registers_rotates_disables_and_unthrottles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HUB_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    # `hub worker` run in-process by an earlier test leaves a root handler on that test's captured
    # (now closed) stderr; what this command prints to stderr is what is checked here.
    monkeypatch.setattr(logging.getLogger(), "handlers", [])
    assert main(["migrate"]) == 0
    assert main(["partners", "add", "--name", "Office of Rep. Test", "--audience", "legislative"]) == 0
    assert main(["partners", "add", "--name", "Office of Rep. Test", "--audience", "legislative"]) == 1
    assert "already exists" in capsys.readouterr().err
    assert main(["clients", "add", "--partner", "Office of Rep. Test"]) == 0
    out = capsys.readouterr().out
    client_id = out.split("client_id:")[1].split()[0]
    secret = out.split("client_secret:")[1].split()[0]
    assert len(secret) >= 40
    assert main(["clients", "list"]) == 0
    listed = capsys.readouterr().out
    assert client_id in listed
    assert secret not in listed
    assert main(["clients", "rotate-secret", client_id]) == 0
    assert secret not in capsys.readouterr().out
    assert main(["clients", "disable", client_id]) == 0
    assert main(["clients", "enable", client_id]) == 0
    capsys.readouterr()
    with pytest.raises(SystemExit):  # the lockout is gone: nothing to unlock
        main(["clients", "unlock", client_id])
    assert main(["clients", "unthrottle", client_id, "--address", "10.0.0.9"]) == 0
    assert "forgotten" in capsys.readouterr().out
    assert main(["clients", "unthrottle"]) == 1
    assert "name a client id" in capsys.readouterr().err
    assert main(["clients", "rehash"]) == 0
    assert "nothing to do" in capsys.readouterr().out
    assert main(["clients", "add", "--partner", "nobody"]) == 1
    assert capsys.readouterr().err.strip() == "hub: no partner 'nobody'; `hub partners list` shows them"
    assert main(["keys", "rotate"]) == 0
    assert main(["keys", "rotate"]) == 0
    assert "retired" in capsys.readouterr().out
    assert main(["keys", "list"]) == 0
    keys = capsys.readouterr().out
    assert "PRIVATE" not in keys
    assert keys.count("RS256") == 2


async def test_demo_clients_one_per_audience_rotated_on_rerun(
    client: httpx.AsyncClient, session: AsyncSession, tmp_path: Path
) -> None:
    first_reentry = await make_partner(session, Audience.REENTRY)
    await make_partner(session, Audience.REENTRY)
    # Partners made by other fixtures may exist; the demo takes the lowest id of each audience.
    lowest = await session.scalar(
        select(Partner.id).where(Partner.audience == "reentry").order_by(Partner.id).limit(1)
    )
    credentials = await register_demo_clients(session)
    await session.flush()
    assert [c["audience"] for c in credentials] == [a.value for a in Audience]
    reentry = next(c for c in credentials if c["audience"] == "reentry")
    owner = await session.scalar(select(Partner).join(Client).where(Client.client_id == reentry["client_id"]))
    assert owner is not None
    assert owner.id == lowest
    assert lowest <= first_reentry.id

    again = await register_demo_clients(session)
    await session.flush()
    assert [c["client_id"] for c in again] == [c["client_id"] for c in credentials]
    assert all(a["client_secret"] != b["client_secret"] for a, b in zip(again, credentials, strict=True))
    demo_ids = [c["client_id"] for c in credentials]
    count = await session.scalar(
        select(func.count()).select_from(Client).where(Client.client_id.in_(demo_ids))
    )
    assert count == len(Audience)

    for entry in again:
        response = await client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            headers={"Authorization": basic(entry["client_id"], entry["client_secret"])},
        )
        assert response.status_code == 200, (entry["audience"], response.text)
        query = await graphql(client, response.json()["access_token"], "{ __typename }")
        assert query.status_code == 200
    stale = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": basic(credentials[0]["client_id"], credentials[0]["client_secret"])},
    )
    assert stale.status_code == 401

    path = write_credentials(tmp_path / "demo", again)
    assert json.loads(path.read_text()) == again
    assert path.stat().st_mode & 0o777 == 0o600
    assert set(again[0]) == {"client_id", "client_secret", "audience", "partner"}


def test_cli_renames_suspends_and_removes_through_the_apis_functions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HUB_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setattr(logging.getLogger(), "handlers", [])
    assert main(["migrate"]) == 0
    assert main(["partners", "add", "--name", "Old Office", "--audience", "reentry"]) == 0
    assert main(["partners", "add", "--name", "Other Office", "--audience", "reentry"]) == 0
    assert main(["partners", "rename", "Old Office", "--name", "New Office"]) == 0
    assert "renamed from 'Old Office' to 'New Office'" in capsys.readouterr().out
    assert main(["partners", "rename", "New Office", "--name", "Other Office"]) == 1
    assert "already exists" in capsys.readouterr().err
    assert main(["partners", "disable", "New Office"]) == 0
    assert "suspended" in capsys.readouterr().out
    assert main(["partners", "disable", "New Office"]) == 0
    assert "already suspended" in capsys.readouterr().out
    assert main(["partners", "enable", "New Office"]) == 0
    assert "access restored" in capsys.readouterr().out
    assert main(["clients", "add", "--partner", "New Office", "--scopes", ""]) == 1
    assert "scopes: must name at least one scope" in capsys.readouterr().err
    assert main(["clients", "add", "--partner", "New Office"]) == 0
    client_id = capsys.readouterr().out.split("client_id:")[1].split()[0]
    assert main(["clients", "rotate", client_id]) == 0
    assert "client_secret:" in capsys.readouterr().out
    assert main(["clients", "remove", client_id]) == 1
    assert "disable it first" in capsys.readouterr().err
    assert main(["clients", "disable", client_id]) == 0
    assert main(["clients", "remove", client_id]) == 0
    assert "removed" in capsys.readouterr().out
    assert main(["clients", "remove", client_id]) == 1
    assert capsys.readouterr().err.strip() == "hub: no such client; `hub clients list` shows them"


def test_cli_lists_the_rotation_due_and_refuses_retiring_the_signing_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HUB_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'keys.db'}")
    monkeypatch.setenv("HUB_KEY_ROTATE_DAYS", "30")
    monkeypatch.setattr(logging.getLogger(), "handlers", [])
    assert main(["migrate"]) == 0
    assert main(["keys", "rotate"]) == 0
    kid = capsys.readouterr().out.split("new signing key ")[1].split()[0]
    assert main(["keys", "list"]) == 0
    listed = capsys.readouterr().out
    assert "signing" in listed
    assert "next rotation due" in listed
    assert "(every 30 days, HUB_KEY_ROTATE_DAYS)" in listed
    # The same function as the API's retireSigningKey: the signing key is retired by rotating.
    assert main(["keys", "retire", kid]) == 1
    assert "is the only signing key" in capsys.readouterr().err
    assert main(["keys", "retire", "no-such-kid"]) == 1
    assert "no signing key 'no-such-kid'" in capsys.readouterr().err
    assert main(["keys", "rotate"]) == 0
    capsys.readouterr()
    assert main(["keys", "retire", kid]) == 0
    assert capsys.readouterr().out.strip() == "unchanged"
