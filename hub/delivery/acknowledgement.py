"""``/notifications/ack``: where a registrant confirms a notice with its one-time code.

No bearer token: the code is the credential (80 random bits bound to one notification; only its
hash is stored). GET only shows a confirmation form, because mail scanners and link previews
fetch links on their own; POST (form field or query parameter ``code``) records the confirmation.
"""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from resolvers.notifications import UnknownCode, acknowledge
from resolvers.session import RequestDb

MAX_CODE = 100

_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>
<body><h1>{title}</h1><p>{text}</p>{form}</body></html>"""


def _page(title: str, text: str, form: str = "", status: int = 200) -> Response:
    return HTMLResponse(_PAGE.format(title=title, text=text, form=form), status_code=status)


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
            return _page("Confirmation code needed", "The link is missing its confirmation code.", status=400)
        if request.method == "GET":
            escaped = html.escape(code, quote=True)
            form = (
                '<form method="post"><input type="hidden" name="code" value="' + escaped + '">'
                '<button type="submit">I received this notice</button></form>'
            )
            return _page("Confirm the notice", "Press the button to confirm you received the notice.", form)
        async with sessions() as session:
            try:
                done = await acknowledge(RequestDb(session), code, datetime.now(UTC))
            except UnknownCode:
                return _page(
                    "Code not recognised",
                    "This confirmation code is not valid. Please call the Office of Victim Services.",
                    status=404,
                )
            await session.commit()
        text = "You had already confirmed it. Thank you." if done.already else "Thank you: it is recorded."
        return _page("Notice confirmed", text)

    return endpoint
