"""``/notifications/ack``: where a registrant confirms a notice with its one-time code.

No bearer token: the code is the credential (80 random bits bound to one notification; only its
hash is stored). GET only shows a confirmation form, because mail scanners and link previews
fetch links on their own; POST (form field or query parameter ``code``) records the confirmation.
A missing or unknown code is refused with a page (a ``Refusal`` in ``Form.PAGE``, answered by the
app's exception handlers, hub/http_errors.py); so is a store outage, with the status, code and
``Retry-After`` the one outage mapping gives it on every route.
"""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from auth.refusals import Form, Refusal
from hub.http_errors import page, store_refusal
from resolvers.session import RequestDb
from resolvers.victims_notifications import UnknownCode, acknowledge

MAX_CODE = 100


def _page(title: str, text: str, form: str = "") -> Response:
    return HTMLResponse(page(title, text, form))


def acknowledgements(
    sessions: async_sessionmaker[AsyncSession],
) -> Callable[[Request], Awaitable[Response]]:
    """The ASGI endpoint, bound to the store's sessions."""

    async def endpoint(request: Request) -> Response:
        code = request.query_params.get("code", "")
        if request.method == "POST" and not code:
            posted = await request.form()
            value = posted.get("code", "")
            code = value if isinstance(value, str) else ""
        code = code.strip()
        if not code or len(code) > MAX_CODE:
            raise Refusal(
                400,
                "BAD_REQUEST",
                "The link is missing its confirmation code.",
                form=Form.PAGE,
                title="Confirmation code needed",
            )
        if request.method == "GET":
            escaped = html.escape(code, quote=True)
            form = (
                '<form method="post"><input type="hidden" name="code" value="' + escaped + '">'
                '<button type="submit">I received this notice</button></form>'
            )
            return _page("Confirm the notice", "Press the button to confirm you received the notice.", form)
        try:
            async with sessions() as session:
                done = await acknowledge(RequestDb(session), code, datetime.now(UTC))
                await session.commit()
        except UnknownCode:
            raise Refusal(
                404,
                "NOT_FOUND",
                "This confirmation code is not valid. Please call the Office of Victim Services.",
                form=Form.PAGE,
                title="Code not recognised",
            ) from None
        except Exception as exc:
            outage = store_refusal(exc)
            if outage is None:
                raise
            # A person reads this page: the outage's status and Retry-After, in words.
            raise outage.as_page(
                "Please try again shortly",
                "Your confirmation could not be recorded just now. Please use the link again in a minute.",
            ) from None
        text = "You had already confirmed it. Thank you." if done.already else "Thank you: it is recorded."
        return _page("Notice confirmed", text)

    return endpoint
