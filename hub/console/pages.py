"""The console's routes: sign-in, sign-out and the pages of each unit.

A page names the audiences it is for; anyone else signed in gets a 403 page (and the API would refuse
them anyway: the page's query is not in their schema). Every POST carries the session's CSRF token.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates
from starlette.types import Scope

from auth.issuance import TokenIssuer
from auth.keys import KeyStore
from auth.oauth import granted_scopes
from hub.console.api import ApiResult, ConsoleApi, SignedOut, caller_address
from hub.console.sessions import (
    COOKIE,
    OIDC_COOKIE,
    SECURE_COOKIE,
    SECURE_OIDC_COOKIE,
    ConsoleSession,
    SessionStore,
    csrf_matches,
)
from hub.demo import demo_client_id, is_demo_store
from hub.settings import Settings
from resolvers.models.partners import PARTNER_AUDIENCES, Audience, Client, Partner

if TYPE_CHECKING:
    from hub.console.oidc import OidcSignIn

#: How long a sign-in started at an identity provider may take.
PENDING_S = 600

A = Audience
TEMPLATES = Path(__file__).parent / "templates"
#: Rows per table page.
PAGE_SIZE = 25
#: The department's units: the audiences a staff member (and a demo account) signs in as.
STAFF_UNITS = tuple(a for a in Audience if a not in PARTNER_AUDIENCES)


@dataclass(frozen=True)
class Section:
    """A page in the navigation, and who may open it."""

    path: str
    title: str
    audiences: frozenset[Audience]


SECTIONS = (
    Section("/partners", "Partners", frozenset({A.ADMIN})),
    Section("/clients", "Clients", frozenset({A.ADMIN})),
    Section("/ledger/who-saw", "Who saw a person", frozenset({A.ADMIN})),
    Section("/ledger/events", "Ledger events", frozenset({A.ADMIN})),
    Section("/keys", "Signing keys", frozenset({A.ADMIN})),
    Section("/health", "Health", frozenset({A.ADMIN})),
    Section("/inquiries", "Inquiry queue", frozenset({A.CONSTITUENT_SERVICES, A.ADMIN})),
    Section("/notifications", "Victim notifications", frozenset({A.VICTIM_SERVICES})),
    Section("/registrations", "Registrations by person", frozenset({A.VICTIM_SERVICES})),
    Section("/research/agreements", "Research agreements", frozenset({A.RESEARCH_UNIT, A.ADMIN})),
)
SECTION_BY_PATH = {s.path: s for s in SECTIONS}


class Refused(Exception):
    """Answered with the error page: ``status`` and a sentence saying what to do."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Console:
    """The state the routes share: settings, sessions, templates, the API and the demo sign-in."""

    def __init__(
        self,
        settings: Settings,
        *,
        api: ConsoleApi,
        keys: KeyStore,
        issuer: TokenIssuer,
        db_sessions: async_sessionmaker[AsyncSession],
    ) -> None:
        self.settings = settings
        self.api = api
        self.keys = keys
        self.issuer = issuer
        self.db_sessions = db_sessions
        self.store = SessionStore(settings.console_session_timeout_s, db_sessions)
        self.templates = Jinja2Templates(directory=TEMPLATES)
        self.demo = settings.console_demo_signin
        self.graphiql = settings.graphiql
        #: Sign-in through the department's identity providers (None: none configured).
        self.oidc: OidcSignIn | None = None

    # --- sessions and cookies ---------------------------------------------------------------------

    def _secure(self, request: Request) -> bool:
        return request.url.scheme == "https" or self.settings.issuer.startswith("https://")

    def _cookie_name(self, request: Request) -> str:
        return SECURE_COOKIE if self._secure(request) else COOKIE

    def oidc_cookie_name(self, request: Request) -> str:
        return SECURE_OIDC_COOKIE if self._secure(request) else OIDC_COOKIE

    def set_oidc_cookie(self, request: Request, response: Response, pending_id: str | None) -> Response:
        """The pending sign-in's id, SameSite=Lax: it must come back with the provider's redirect."""
        name = self.oidc_cookie_name(request)
        if pending_id is None:
            response.delete_cookie(
                name, path="/", secure=self._secure(request), httponly=True, samesite="lax"
            )
            return response
        response.set_cookie(
            name,
            self.store.sign(pending_id),
            max_age=PENDING_S,
            path="/",
            httponly=True,
            samesite="lax",
            secure=self._secure(request),
        )
        return response

    async def load_session(self, scope: Scope) -> None:
        """Reads the session the request's cookie names from the store, before the routes run
        (``SessionMiddleware``): ``session`` then needs no I/O."""
        request = Request(scope)
        session = await self.store.get(request.cookies.get(self._cookie_name(request)))
        if session is not None:
            scope["console_session"] = session

    async def save_session(self, scope: Scope) -> None:
        """Writes the request's session (if it used one) to the store, before the response goes out:
        the next request may reach another worker."""
        session = scope.get("console_session")
        if isinstance(session, ConsoleSession):
            await self.store.save(session)

    def session(self, request: Request) -> ConsoleSession:
        """The request's session, or a new anonymous one (its cookie is set with the response)."""
        cached = request.scope.get("console_session")
        if isinstance(cached, ConsoleSession):
            return cached
        session = self.store.new()
        request.scope["console_session_new"] = True
        request.scope["console_session"] = session
        return session

    def set_cookie(self, request: Request, response: Response, session: ConsoleSession) -> Response:
        response.set_cookie(
            self._cookie_name(request),
            self.store.cookie_value(session),
            path="/",
            httponly=True,
            samesite="strict",
            secure=self._secure(request),
        )
        return response

    def finish(self, request: Request, response: Response) -> Response:
        """Sets the cookie of a session this request started."""
        session = request.scope.get("console_session")
        if isinstance(session, ConsoleSession) and request.scope.get("console_session_new"):
            self.set_cookie(request, response, session)
        return response

    # --- rendering --------------------------------------------------------------------------------

    def render(self, request: Request, template: str, status_code: int = 200, **context: Any) -> Response:
        session = self.session(request)
        sections = [s for s in SECTIONS if session.audience in s.audiences] if session.signed_in else []
        flash, session.flash = session.flash, []
        response = self.templates.TemplateResponse(
            request,
            template,
            {
                "session": session,
                "sections": sections,
                "flash": flash,
                "demo": self.demo,
                "graphiql": self.graphiql,
                "unit_label": unit_label,
                **context,
            },
            status_code=status_code,
        )
        return self.finish(request, response)

    def refused(self, request: Request, exc: Refused) -> Response:
        return self.render(request, "error.html", exc.status, message=exc.message, title=f"{exc.status}")

    def redirect(self, request: Request, path: str) -> Response:
        return self.finish(request, RedirectResponse(f"/console{path}", status_code=303))

    # --- guards -----------------------------------------------------------------------------------

    def staff(self, request: Request, section: Section) -> ConsoleSession:
        session = self.session(request)
        if not session.signed_in:
            raise _SignIn(request.url.path)
        assert session.audience is not None
        if session.audience not in section.audiences:
            raise Refused(
                403,
                f"{section.title} is not open to {unit_label(session.audience)}: "
                f"it is for {', '.join(sorted(unit_label(a) for a in section.audiences))}.",
            )
        return session

    async def form(self, request: Request) -> tuple[ConsoleSession, dict[str, str]]:
        """The POSTed form, once its CSRF token matches the session's (else 403)."""
        session = self.session(request)
        raw = await request.form(max_files=0, max_fields=50)
        form = {k: v for k, v in raw.items() if isinstance(v, str)}
        if not csrf_matches(session, form.get("csrf")):
            raise Refused(
                403,
                "The form's security token is missing or out of date (CSRF check). "
                "Reload the page and submit the form again.",
            )
        return session, form

    async def call(
        self, request: Request, session: ConsoleSession, document: str, variables: dict[str, Any]
    ) -> ApiResult:
        assert session.token is not None
        caller_address.set(getattr(request.state, "source_address", None) or "127.0.0.1")
        try:
            return await self.api.call(
                session.token,
                document,
                variables,
                correlation_id=getattr(request.state, "request_id", None),
            )
        except SignedOut:
            await self.store.end(session)
            raise _SignIn(request.url.path, "Your sign-in has expired; please sign in again.") from None

    # --- demo sign-in -----------------------------------------------------------------------------

    async def demo_token(self, unit: Audience, request_id: str | None) -> tuple[str, int]:
        """A staff token for the demo account of ``unit``, issued as the hub issues every token (the
        demo client of that unit, its partner, its scopes); refused unless ``hub demo`` made the store."""
        signer = await self.keys.signer()
        async with self.db_sessions() as db:
            if not await is_demo_store(db):
                raise Refused(
                    403,
                    "The demo sign-in is refused: this store was not made by `hub demo` "
                    "(it has no demo marker). Sign in through the department's identity provider.",
                )
            client = await db.scalar(select(Client).where(Client.client_id == demo_client_id(unit)))
            partner = None if client is None else await db.get(Partner, client.partner_id)
            if client is None or partner is None or partner.audience != unit.value:
                raise Refused(409, f"The demo has no account for {unit_label(unit)}; run `hub demo` again.")
            issued = await self.issuer.issue(
                db,
                client,
                partner,
                granted_scopes(client, None),
                now=int(time.time()),
                request_id=request_id,
                signer=signer,
            )
            await db.commit()
        return issued.access_token, issued.expires_in


class _SignIn(Exception):
    """Redirect to the sign-in page, then back to ``next``."""

    def __init__(self, next_path: str, message: str | None = None) -> None:
        super().__init__(next_path)
        self.next_path = next_path
        self.message = message


def unit_label(audience: Audience | str | None) -> str:
    if audience is None:
        return "nobody"
    value = audience.value if isinstance(audience, Audience) else audience
    return value.replace("_", " ")


def safe_next(raw: str | None) -> str:
    """A path inside the console to return to after sign-in; anything else is the home page."""
    if raw and raw.startswith("/console/") and "//" not in raw and "\\" not in raw:
        return raw
    return "/console/"


def page_args(request: Request) -> dict[str, Any]:
    after = request.query_params.get("after") or None
    return {"first": PAGE_SIZE, "after": after}


def next_link(request: Request, page_info: dict[str, Any] | None) -> str | None:
    if not page_info or not page_info.get("hasNextPage"):
        return None
    params = {k: v for k, v in request.query_params.items() if k != "after"}
    params["after"] = page_info["endCursor"]
    return f"{request.url.path}?{urlencode(params)}"


def first_link(request: Request) -> str | None:
    if not request.query_params.get("after"):
        return None
    params = {k: v for k, v in request.query_params.items() if k != "after"}
    return f"{request.url.path}?{urlencode(params)}" if params else request.url.path


def new_idempotency_key() -> str:
    return secrets.token_urlsafe(18)


def http_error(request: Request, exc: HTTPException) -> Refused:
    messages = {404: "There is no such page in the console.", 405: "That page does not take this method."}
    return Refused(exc.status_code, messages.get(exc.status_code, exc.detail))


def json_refusal(exc: Refused) -> JSONResponse:
    return JSONResponse({"error": exc.message}, exc.status)
