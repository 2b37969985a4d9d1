"""The one exception a request is refused with, whatever refuses it and on whatever route.

A ``Refusal`` carries what the answer needs: the status, a code, a message fit for the caller, the
headers (``WWW-Authenticate``, ``Retry-After``, ``Allow``) and the body's form. A route, or the auth
code it calls, raises it (or a subclass that names the case: ``Unauthenticated``, ``RateLimited``,
``OAuthError``, ...); ``hub/http_errors.py`` turns it into the response, in one place, for every
route: Starlette's exception handler for most, and ``POST /graphql``, which ledgers its refusals,
through the same function. This module imports nothing of the project, so ``auth`` and every layer
above it may import it.
"""

from __future__ import annotations

import enum
from typing import Any

#: An answer no cache may keep: every OAuth answer, refusals included (RFC 6749 section 5.1).
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class Form(enum.Enum):
    """How a refusal's body is written."""

    #: The hub's own shape, GraphQL's: ``{"errors": [{"message", "extensions": {"code", "requestId"}}]}``.
    ERRORS = "errors"
    #: RFC 6749 section 5.2 at the OAuth endpoints: ``{"error": code, "error_description": message}``.
    OAUTH = "oauth"
    #: An HTML page for a person (the confirmation page): ``title`` over the message.
    PAGE = "page"


class Refusal(Exception):
    """A request the hub will not serve, and how to say so.

    ``request_error``: a GraphQL request error (the document or its variables, found before
    execution), whose status follows the media type (400 under ``application/graphql-response+json``,
    200 under JSON); ``status`` is then 400. ``errors``: GraphQL errors already formatted, when a
    request error has several; the body is then these instead of the one made of code and message.
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: dict[str, str] | None = None,
        *,
        extensions: dict[str, Any] | None = None,
        request_error: bool = False,
        errors: list[dict[str, Any]] | None = None,
        form: Form = Form.ERRORS,
        title: str = "",
    ) -> None:
        super().__init__(message)
        #: The HTTP status (a request error's is decided by the media type; see above).
        self.status = status
        #: The error code: ``extensions.code``, OAuth's ``error``, the ledger's and the access log's code.
        self.code = code
        #: What the caller is told: never a driver's text, a query or a traceback.
        self.message = message
        self.headers = dict(headers or {})
        #: More of ``extensions`` beside the code and request id (``cost`` and ``maxCost``).
        self.extensions = dict(extensions or {})
        self.request_error = request_error
        self.errors = errors
        self.form = form
        #: The heading of a ``Form.PAGE`` refusal.
        self.title = title

    def as_page(self, title: str, text: str) -> Refusal:
        """The same refusal (status, code, headers) as a page for a person: ``title`` over ``text``."""
        return Refusal(self.status, self.code, text, self.headers, form=Form.PAGE, title=title)
