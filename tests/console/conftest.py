"""Fixtures of the console's tests: the hub app with its console, and signed-in sessions.

A signed-in session here holds a real token from the hub's token service (``mint``), put in the
console's session store as a sign-in would; the sign-ins themselves are tested on their own.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import httpx
import pytest
from starlette.applications import Starlette

from hub.console.pages import Console
from hub.console.sessions import COOKIE
from resolvers.models.partners import Audience
from tests.conftest import Mint

SignIn = Callable[[Audience], Awaitable[None]]


def console_of(app: Starlette) -> Console:
    for route in app.routes:
        if getattr(route, "path", None) == "/console":
            console = route.app.app.state.console  # type: ignore[attr-defined]
            assert isinstance(console, Console)
            return console
    raise AssertionError("the hub mounts no console")


@pytest.fixture
def sign_in(app: Starlette, client: httpx.AsyncClient, mint: Mint) -> SignIn:
    """``await sign_in(Audience.ADMIN)``: the client's cookie names a session signed in as that unit."""

    async def signed_in(audience: Audience) -> None:
        console = console_of(app)
        token = await mint(audience)
        session = await console.store.sign_in(
            console.store.new(),
            audience=audience,
            who=f"test {audience.value}",
            token=token,
            expires_in=600,
            demo=False,
        )
        client.cookies.set(COOKIE, console.store.cookie_value(session))

    return signed_in


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)
