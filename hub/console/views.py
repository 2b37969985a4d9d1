"""The console's request handlers, one per page or form."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from hub.console import queries as q
from hub.console.api import caller_address
from hub.console.pages import (
    SECTION_BY_PATH,
    STAFF_UNITS,
    Console,
    Refused,
    first_link,
    new_idempotency_key,
    next_link,
    page_args,
    safe_next,
    unit_label,
)
from hub.console.sessions import ConsoleSession, csrf_matches
from resolvers.models.partners import Audience

AUDIT_OUTCOMES = ("SERVED", "DENIED", "INVALID", "ERROR")
INQUIRY_STATUSES = ("RECEIVED", "ASSIGNED", "RESPONDED", "CLOSED")
INQUIRY_CHANNELS = ("PHONE", "EMAIL", "LETTER", "WEB", "IN_PERSON")
NOTIFICATION_STATUSES = ("PENDING", "SENDING", "DELIVERED", "ACKNOWLEDGED", "FAILED", "CANCELLED")
AGREEMENT_STATUSES = ("SUBMITTED", "APPROVED", "REJECTED", "REVOKED", "EXPIRED")


def _choice(value: str | None, allowed: tuple[str, ...]) -> str | None:
    return value if value in allowed else None


def _day(value: str | None) -> date | None:
    """A date field's YYYY-MM-DD, or None when empty or not a date."""
    try:
        return date.fromisoformat((value or "").strip()[:10]) if value else None
    except ValueError:
        return None


def routes(console: Console) -> list[BaseRoute]:
    def section(path: str) -> Any:
        return SECTION_BY_PATH[path]

    # --- sign-in and sign-out ---------------------------------------------------------------------

    async def home(request: Request) -> Response:
        session = console.session(request)
        if not session.signed_in:
            return console.redirect(request, "/signin")
        return console.render(request, "home.html", title="Home")

    async def signin(request: Request) -> Response:
        return console.render(
            request,
            "signin.html",
            title="Sign in",
            units=STAFF_UNITS,
            next=safe_next(request.query_params.get("next")),
            providers=console.oidc.labels() if console.oidc else [],
        )

    async def oidc_start(request: Request) -> Response:
        _session, form = await console.form(request)
        if console.oidc is None:
            raise Refused(404, "No identity provider is configured for the console (HUB_CONSOLE_OIDC).")
        pending_id, url = await console.oidc.start(form.get("issuer", ""), safe_next(form.get("next")))
        response = RedirectResponse(url, status_code=303)
        return console.finish(request, console.set_oidc_cookie(request, response, pending_id))

    async def oidc_callback(request: Request) -> Response:
        if console.oidc is None:
            raise Refused(404, "No identity provider is configured for the console (HUB_CONSOLE_OIDC).")
        pending = await console.oidc.take(
            console.store.unsign(request.cookies.get(console.oidc_cookie_name(request))),
            dict(request.query_params),
        )
        staff = await console.oidc.finish(pending, dict(request.query_params))
        # The provider's redirect is a cross-site navigation: the Strict session cookie did not come
        # with it, so the signed-in session starts from a fresh one, not from whatever the cookie named.
        signed_in = await console.store.sign_in(
            console.store.new(),
            audience=staff.audience,
            who=staff.who,
            token=staff.token,
            expires_in=staff.expires_in,
            demo=False,
        )
        request.scope["console_session"] = signed_in
        request.scope["console_session_new"] = True
        # A page of our own that moves on (meta refresh, no script): a same-site navigation, so the
        # Strict cookie set here goes with it.
        response = console.render(request, "signed_in.html", title="Signed in", next=pending.next_path)
        signed_in.flash.append(f"Signed in as {staff.who} ({unit_label(staff.audience)}).")
        return console.set_oidc_cookie(request, response, None)

    async def demo_signin(request: Request) -> Response:
        session, form = await console.form(request)
        if not console.demo:
            raise Refused(404, "The demo sign-in exists only in `hub demo`.")
        try:
            unit = Audience(form.get("unit", ""))
        except ValueError:
            raise Refused(400, "Choose one of the department's units to sign in as.") from None
        if unit not in STAFF_UNITS:
            raise Refused(400, f"{unit_label(unit)} is a partner audience, not a department unit.")
        token, expires_in = await console.demo_token(unit, getattr(request.state, "request_id", None))
        signed_in = await console.store.sign_in(
            session,
            audience=unit,
            who=f"demo {unit_label(unit)} staff",
            token=token,
            expires_in=expires_in,
            demo=True,
        )
        signed_in.flash.append(f"Signed in as the demo {unit_label(unit)} account (demo only).")
        request.scope["console_session"] = signed_in
        request.scope["console_session_new"] = True
        return console.redirect(request, safe_next(form.get("next")).removeprefix("/console"))

    async def signout(request: Request) -> Response:
        session, _form = await console.form(request)
        await console.store.end(session)
        fresh = console.store.new()
        fresh.flash.append("You are signed out.")
        request.scope["console_session"] = fresh
        request.scope["console_session_new"] = True
        return console.redirect(request, "/signin")

    # --- admin ------------------------------------------------------------------------------------

    async def partners(request: Request) -> Response:
        session = console.staff(request, section("/partners"))
        audience = _choice(request.query_params.get("audience"), tuple(a.value for a in Audience))
        result = await console.call(
            request, session, q.PARTNERS, {**page_args(request), "audience": audience}
        )
        page = (result.data or {}).get("partners") or {}
        return console.render(
            request,
            "partners.html",
            title="Partners",
            page=page,
            errors=result.messages,
            audiences=[a.value for a in Audience],
            audience=audience,
            idempotency_key=new_idempotency_key(),
            next_link=next_link(request, page.get("pageInfo")),
            first_link=first_link(request),
        )

    async def clients(request: Request) -> Response:
        session = console.staff(request, section("/clients"))
        partner = request.query_params.get("partner") or None
        result = await console.call(request, session, q.CLIENTS, {**page_args(request), "partnerId": partner})
        context = await console.call(request, session, q.CLIENTS_CONTEXT, {})
        page = (result.data or {}).get("clients") or {}
        listed = (context.data or {}).get("partners") or {}
        throttles: dict[str, list[dict[str, Any]]] = {}
        for t in (context.data or {}).get("clientThrottles") or []:
            throttles.setdefault(t["clientId"], []).append(t)
        return console.render(
            request,
            "clients.html",
            title="Clients",
            page=page,
            errors=result.messages + context.messages,
            throttles=throttles,
            partner=partner,
            partners=listed.get("nodes") or [],
            more_partners=(listed.get("totalCount") or 0) > len(listed.get("nodes") or []),
            partner_names={p["id"]: p["name"] for p in listed.get("nodes") or []},
            idempotency_key=new_idempotency_key(),
            next_link=next_link(request, page.get("pageInfo")),
            first_link=first_link(request),
        )

    async def mutate(
        request: Request,
        session: ConsoleSession,
        document: str,
        field: str,
        variables: dict[str, Any],
        done: str,
    ) -> dict[str, Any]:
        """Run a mutation and put its outcome (``done``, a replay, or the refusals) in the session's
        flash; returns the payload, or {} when refused."""
        result = await console.call(request, session, document, variables)
        payload: dict[str, Any] = (result.data or {}).get(field) or {}
        problems = result.messages + [e["message"] for e in payload.get("errors") or []]
        if not problems and not payload:
            problems = ["The hub gave no answer; reload the page to see whether it was done."]
        if payload.get("replayed"):
            done = "Already done: this form was sent before, and nothing more was written."
        session.flash.extend(problems or [done])
        return payload if not problems else {}

    def key_of(form: dict[str, str]) -> str | None:
        return (form.get("idempotency_key") or "")[:128] or None

    async def partner_add(request: Request) -> Response:
        session = console.staff(request, section("/partners"))
        _session, form = await console.form(request)
        name = " ".join(form.get("name", "").split())
        variables = {
            "input": {
                "name": name,
                "audience": form.get("audience", ""),
                "contactEmail": (form.get("contact_email") or "").strip() or None,
                "district": (form.get("district") or "").strip() or None,
            },
            "key": key_of(form),
        }
        done = f"Partner {name} added. Add its first client below."
        payload = await mutate(request, session, q.ADD_PARTNER, "addPartner", variables, done)
        added = (payload.get("partner") or {}).get("id")
        if added is None or payload.get("replayed"):
            return console.redirect(request, "/partners")
        # Onboarding goes on with the partner's first client: its page, with the form for it.
        return console.redirect(request, f"/clients?{urlencode({'partner': added})}#add-client-heading")

    async def partner_action(request: Request) -> Response:
        session = console.staff(request, section("/partners"))
        _session, form = await console.form(request)
        partner_id = request.path_params["partner_id"]
        action = request.path_params["action"]
        variables: dict[str, Any] = {"input": {"id": partner_id}, "key": key_of(form)}
        if action == "rename":
            variables["input"]["name"] = " ".join(form.get("name", "").split())
            document, field, done = q.RENAME_PARTNER, "renamePartner", "Partner renamed."
        elif action == "disable":
            document, field, done = (
                q.DISABLE_PARTNER,
                "disablePartner",
                "Partner suspended: its clients get no token, and their tokens stop working.",
            )
        elif action == "enable":
            document, field, done = q.ENABLE_PARTNER, "enablePartner", "Partner's access restored."
        else:
            raise Refused(404, "There is no such action on a partner.")
        await mutate(request, session, document, field, variables, done)
        return console.redirect(request, "/partners")

    def clients_path(form: dict[str, str]) -> str:
        partner = (form.get("partner") or "").strip()[:200]
        return f"/clients?{urlencode({'partner': partner})}" if partner else "/clients"

    def show_secret(request: Request, payload: dict[str, Any], form: dict[str, str], done: str) -> Response:
        """The POST's own answer shows the secret: never a redirect (it would have to travel in a URL
        or be kept in the session) and never cached (``Cache-Control: no-store`` on every page)."""
        session = console.session(request)
        client = payload.get("client") or {}
        if not payload.get("secret"):
            if payload.get("replayed"):
                session.flash[-1:] = [
                    "Already done: this form was sent before. A secret is shown only once; "
                    "rotate the client's secret to get a new one."
                ]
            return console.redirect(request, clients_path(form))
        session.flash.clear()
        return console.render(
            request,
            "client_secret.html",
            title="The client's secret",
            done=done,
            client_id=client.get("clientId", ""),
            secret=payload["secret"],
            back=f"/console{clients_path(form)}",
        )

    async def client_add(request: Request) -> Response:
        session = console.staff(request, section("/clients"))
        _session, form = await console.form(request)
        variables = {
            "input": {
                "partnerId": form.get("partner_id", ""),
                "name": (form.get("name") or "").strip() or None,
                "persistedOnly": form.get("persisted_only") == "1",
            },
            "key": key_of(form),
        }
        payload = await mutate(request, session, q.ADD_CLIENT, "addClient", variables, "Client added.")
        return show_secret(request, payload, form, "Client added.")

    async def client_confirm(request: Request) -> Response:
        """Rotating a secret and removing a client cannot be undone: a page asks first."""
        console.staff(request, section("/clients"))
        action = request.path_params["action"]
        if action not in ("rotate", "remove"):
            raise Refused(404, "There is no such action on a client.")
        return console.render(
            request,
            "client_confirm.html",
            title="Rotate the client's secret" if action == "rotate" else "Remove the client",
            action=action,
            client_id=request.path_params["client_id"],
            partner=request.query_params.get("partner") or "",
            idempotency_key=new_idempotency_key(),
        )

    async def client_action(request: Request) -> Response:
        session = console.staff(request, section("/clients"))
        _session, form = await console.form(request)
        client_id = request.path_params["client_id"]
        action = request.path_params["action"]
        variables: dict[str, Any] = {"input": {"clientId": client_id}, "key": key_of(form)}
        if action == "rotate":
            done = "Secret rotated: the old one no longer authenticates."
            payload = await mutate(
                request, session, q.ROTATE_CLIENT_SECRET, "rotateClientSecret", variables, done
            )
            return show_secret(request, payload, form, done)
        if action == "disable":
            document, field, done = (
                q.DISABLE_CLIENT,
                "disableClient",
                f"Client {client_id} disabled: its token requests and tokens are refused.",
            )
        elif action == "enable":
            document, field, done = q.ENABLE_CLIENT, "enableClient", f"Client {client_id} enabled."
        elif action in ("persisted-only", "any-operation"):
            on = action == "persisted-only"
            variables["input"]["persistedOnly"] = on
            document, field = q.SET_CLIENT_PERSISTED_ONLY, "setClientPersistedOnly"
            done = (
                f"Client {client_id} now runs only its registered operations."
                if on
                else f"Client {client_id} may run any operation."
            )
        elif action == "unthrottle":
            document, field = q.UNTHROTTLE_CLIENT, "unthrottleClient"
            done = f"Failed authentications of {client_id} forgotten: it may try again at once."
        elif action == "remove":
            if form.get("confirm") != "yes":
                raise Refused(400, "Removing a client needs its confirmation; use the Remove link again.")
            document, field, done = q.REMOVE_CLIENT, "removeClient", f"Client {client_id} removed."
        else:
            raise Refused(404, "There is no such action on a client.")
        await mutate(request, session, document, field, variables, done)
        return console.redirect(request, clients_path(form))

    # --- a client's persisted operations ----------------------------------------------------------

    def operations_path(client_id: str, form: dict[str, str]) -> str:
        path = f"/clients/{quote(client_id, safe='')}/operations"
        partner = (form.get("partner") or "").strip()[:200]
        return f"{path}?{urlencode({'partner': partner})}" if partner else path

    async def client_operations(request: Request) -> Response:
        session = console.staff(request, section("/clients"))
        client_id = request.path_params["client_id"]
        result = await console.call(request, session, q.PERSISTED_OPERATIONS, {"clientId": client_id})
        partner = request.query_params.get("partner") or ""
        return console.render(
            request,
            "client_operations.html",
            title=f"Persisted operations of {client_id}",
            client_id=client_id,
            operations=(result.data or {}).get("persistedOperations") or [],
            errors=result.messages,
            partner=partner,
            back=f"/console{clients_path({'partner': partner})}",
            idempotency_key=new_idempotency_key(),
        )

    async def client_operation_register(request: Request) -> Response:
        session = console.staff(request, section("/clients"))
        _session, form = await console.form(request)
        client_id = request.path_params["client_id"]
        # Registered by its exact text's sha256, so not trimmed; a textarea sends CRLF line ends, and
        # a client's tooling hashes its document with LF ones.
        document = form.get("document", "").replace("\r\n", "\n")
        variables = {
            "input": {"clientId": client_id, "document": document},
            "key": key_of(form),
        }
        done = f"Operation registered for {client_id}."
        payload = await mutate(
            request, session, q.REGISTER_PERSISTED_OPERATION, "registerPersistedOperation", variables, done
        )
        if payload.get("id") and not payload.get("replayed"):
            session.flash[-1:] = [f"Operation {payload['id']} registered for {client_id}."]
        return console.redirect(request, operations_path(client_id, form))

    async def client_operation_remove(request: Request) -> Response:
        session = console.staff(request, section("/clients"))
        _session, form = await console.form(request)
        client_id = request.path_params["client_id"]
        sha = request.path_params["sha256"]
        variables = {"input": {"clientId": client_id, "id": sha}, "key": key_of(form)}
        done = f"Operation {sha} removed from {client_id}."
        await mutate(
            request, session, q.REMOVE_PERSISTED_OPERATION, "removePersistedOperation", variables, done
        )
        return console.redirect(request, operations_path(client_id, form))

    async def who_saw(request: Request) -> Response:
        session = console.staff(request, section("/ledger/who-saw"))
        doc_id = (request.query_params.get("doc_id") or "").strip()[:40]
        context: dict[str, Any] = {"doc_id": doc_id, "person": None, "page": {}, "errors": []}
        if doc_id:
            found = await console.call(request, session, q.PERSON_BY_DOC_ID, {"docId": doc_id})
            nodes = ((found.data or {}).get("people") or {}).get("nodes") or []
            context["errors"] = found.messages
            if nodes:
                person = context["person"] = nodes[0]
                result = await console.call(
                    request, session, q.WHO_SAW, {**page_args(request), "personId": person["id"]}
                )
                context["page"] = (result.data or {}).get("whoSaw") or {}
                context["errors"] += result.messages
                context["next_link"] = next_link(request, context["page"].get("pageInfo"))
                context["first_link"] = first_link(request)
            elif not found.errors:
                context["errors"] = [f"No person with DOC number {doc_id}."]
        return console.render(request, "who_saw.html", title="Who saw a person", **context)

    async def events(request: Request) -> Response:
        session = console.staff(request, section("/ledger/events"))
        outcome = _choice(request.query_params.get("outcome"), AUDIT_OUTCOMES)
        client_id = (request.query_params.get("client_id") or "").strip()[:64] or None
        partner = (request.query_params.get("partner") or "").strip()[:200] or None
        since, until = _day(request.query_params.get("since")), _day(request.query_params.get("until"))
        problems = []
        if since and until and until < since:
            problems.append("The period ends before it starts: the last day must be on or after the first.")
        result = await console.call(
            request,
            session,
            q.AUDIT_EVENTS,
            {
                **page_args(request),
                "outcome": outcome,
                "clientId": client_id,
                "partnerId": partner,
                # Whole UTC days: from the first day's start to the end of the last.
                "since": f"{since.isoformat()}T00:00:00+00:00" if since else None,
                "until": f"{(until + timedelta(days=1)).isoformat()}T00:00:00+00:00" if until else None,
            },
        )
        context = await console.call(request, session, q.EVENTS_CONTEXT, {})
        listed = (context.data or {}).get("partners") or {}
        page = (result.data or {}).get("auditEvents") or {}
        return console.render(
            request,
            "events.html",
            title="Ledger events",
            page=page,
            errors=problems + result.messages + context.messages,
            outcomes=AUDIT_OUTCOMES,
            outcome=outcome,
            client_id=client_id or "",
            partner=partner or "",
            partners=listed.get("nodes") or [],
            chain=(context.data or {}).get("ledgerChain") or {},
            since=since.isoformat() if since else "",
            until=until.isoformat() if until else "",
            next_link=next_link(request, page.get("pageInfo")),
            first_link=first_link(request),
        )

    # --- constituent services -----------------------------------------------------------------------

    async def inquiries(request: Request) -> Response:
        session = console.staff(request, section("/inquiries"))
        status = _choice(request.query_params.get("status"), INQUIRY_STATUSES)
        result = await console.call(
            request, session, q.INQUIRY_QUEUE, {**page_args(request), "status": status}
        )
        data = result.data or {}
        page = data.get("all") or {}
        return console.render(
            request,
            "inquiries.html",
            title="Inquiry queue",
            overdue=data.get("overdue") or {},
            page=page,
            errors=result.messages,
            statuses=INQUIRY_STATUSES,
            status=status,
            next_link=next_link(request, page.get("pageInfo")),
            first_link=first_link(request),
        )

    async def inquiry(request: Request) -> Response:
        session = console.staff(request, section("/inquiries"))
        inquiry_id = request.path_params["inquiry_id"]
        result = await console.call(request, session, q.INQUIRY, {"id": inquiry_id})
        found = (result.data or {}).get("inquiry")
        if found is None and not result.errors:
            raise Refused(404, "There is no such inquiry, or it is not one you may see.")
        return console.render(
            request,
            "inquiry.html",
            title=f"Inquiry {found['reference']}" if found else "Inquiry",
            inquiry=found,
            errors=result.messages,
            channels=INQUIRY_CHANNELS,
            idempotency_key=new_idempotency_key(),
        )

    async def inquiry_action(request: Request) -> Response:
        session = console.staff(request, section("/inquiries"))
        _session, form = await console.form(request)
        inquiry_id = request.path_params["inquiry_id"]
        action = request.path_params["action"]
        try:
            version = int(form.get("version", ""))
        except ValueError:
            raise Refused(
                400, "The form lacks the inquiry's version; reload the inquiry and try again."
            ) from None
        key = (form.get("idempotency_key") or "")[:128] or None
        variables: dict[str, Any] = {"input": {"id": inquiry_id, "version": version}, "key": key}
        if action == "respond":
            variables["input"] |= {
                "responder": (form.get("responder") or session.who or "")[:120],
                "channel": _choice(form.get("channel"), INQUIRY_CHANNELS) or "EMAIL",
                "body": form.get("body", ""),
            }
            document, field, done = q.RESPOND, "respondToInquiry", "Response recorded."
        elif action == "assign":
            variables["input"]["assignedTo"] = (form.get("assigned_to") or "").strip()[:120]
            document, field, done = q.ASSIGN, "assignInquiry", "Inquiry assigned."
        elif action == "close":
            document, field, done = q.CLOSE, "closeInquiry", "Inquiry closed."
        elif action == "reopen":
            document, field, done = q.REOPEN, "reopenInquiry", "Inquiry reopened."
        else:
            raise Refused(404, "There is no such action on an inquiry.")
        result = await console.call(request, session, document, variables)
        payload = (result.data or {}).get(field) or {}
        problems = result.messages + [e["message"] for e in payload.get("errors") or []]
        session.flash.extend(problems or [done])
        return console.redirect(request, f"/inquiries/{inquiry_id}")

    # --- victim services and the research unit ------------------------------------------------------

    async def notifications(request: Request) -> Response:
        session = console.staff(request, section("/notifications"))
        status = _choice(request.query_params.get("status"), NOTIFICATION_STATUSES)
        unacknowledged = request.query_params.get("unacknowledged") == "1"
        result = await console.call(
            request,
            session,
            q.NOTIFICATIONS,
            {**page_args(request), "status": [status] if status else None, "unacknowledged": unacknowledged},
        )
        page = (result.data or {}).get("notifications") or {}
        return console.render(
            request,
            "notifications.html",
            title="Victim notifications",
            page=page,
            errors=result.messages,
            statuses=NOTIFICATION_STATUSES,
            status=status,
            unacknowledged=unacknowledged,
            idempotency_key=new_idempotency_key(),
            next_link=next_link(request, page.get("pageInfo")),
            first_link=first_link(request),
        )

    async def notification_action(request: Request) -> Response:
        session = console.staff(request, section("/notifications"))
        _session, form = await console.form(request)
        notification_id = request.path_params["notification_id"]
        action = request.path_params["action"]
        variables: dict[str, Any] = {"input": {"id": notification_id}, "key": key_of(form)}
        if action == "retry":
            document, field, done = (
                q.RETRY_NOTIFICATION,
                "retryNotification",
                "Notification sent back to the queue: it goes out again at the worker's next round.",
            )
        elif action == "acknowledge":
            variables["input"] |= {
                "takenBy": (form.get("taken_by") or session.who or "").strip()[:120],
                "note": (form.get("note") or "").strip()[:500] or None,
            }
            document, field, done = (
                q.RECORD_NOTIFICATION_ACKNOWLEDGEMENT,
                "recordNotificationAcknowledgement",
                "Acknowledgement recorded: the notice is not repeated.",
            )
        else:
            raise Refused(404, "There is no such action on a notification.")
        await mutate(request, session, document, field, variables, done)
        back = {
            "status": _choice(form.get("status"), NOTIFICATION_STATUSES) or "",
            "unacknowledged": "1" if form.get("unacknowledged") == "1" else "",
        }
        query = urlencode({k: v for k, v in back.items() if v})
        return console.redirect(request, f"/notifications?{query}" if query else "/notifications")

    async def registrations(request: Request) -> Response:
        """A person's victim registrations, found by DOC number or by name (several people by that
        name are listed to choose from): who registered, and how each is reached."""
        session = console.staff(request, section("/registrations"))
        doc_id = (request.query_params.get("doc_id") or "").strip()[:40]
        name = (request.query_params.get("name") or "").strip()[:80]
        context: dict[str, Any] = {
            "doc_id": doc_id,
            "name": name,
            "person": None,
            "candidates": [],
            "more_candidates": False,
            "page": {},
            "errors": [],
        }
        nodes: list[dict[str, Any]] = []
        if doc_id:
            found = await console.call(request, session, q.PERSON_BY_DOC_ID, {"docId": doc_id})
            nodes = ((found.data or {}).get("people") or {}).get("nodes") or []
            context["errors"] = found.messages
            if not nodes and not found.errors:
                context["errors"] = [f"No person with DOC number {doc_id}."]
        elif name:
            found = await console.call(request, session, q.PEOPLE_BY_NAME, {"name": name})
            people = (found.data or {}).get("people") or {}
            nodes = people.get("nodes") or []
            context["errors"] = found.messages
            if not nodes and not found.errors:
                context["errors"] = [f"Nobody whose name contains {name}."]
            elif len(nodes) > 1:
                context["candidates"] = nodes
                context["more_candidates"] = (people.get("totalCount") or 0) > len(nodes)
                nodes = []
        if len(nodes) == 1:
            person = context["person"] = nodes[0]
            result = await console.call(
                request, session, q.REGISTRATIONS_BY_PERSON, {**page_args(request), "personId": person["id"]}
            )
            context["page"] = (result.data or {}).get("victimRegistrations") or {}
            context["errors"] += result.messages
            context["next_link"] = next_link(request, context["page"].get("pageInfo"))
            context["first_link"] = first_link(request)
        return console.render(request, "registrations.html", title="Registrations by person", **context)

    async def agreements(request: Request) -> Response:
        session = console.staff(request, section("/research/agreements"))
        status = _choice(request.query_params.get("status"), AGREEMENT_STATUSES)
        result = await console.call(
            request, session, q.RESEARCH_AGREEMENTS, {**page_args(request), "status": status}
        )
        page = (result.data or {}).get("researchAgreements") or {}
        return console.render(
            request,
            "agreements.html",
            title="Research agreements",
            page=page,
            errors=result.messages,
            statuses=AGREEMENT_STATUSES,
            status=status,
            next_link=next_link(request, page.get("pageInfo")),
            first_link=first_link(request),
        )

    async def agreement(request: Request) -> Response:
        session = console.staff(request, section("/research/agreements"))
        agreement_id = request.path_params["agreement_id"]
        result = await console.call(request, session, q.RESEARCH_AGREEMENT, {"id": agreement_id})
        found = (result.data or {}).get("researchAgreement")
        if found is None and not result.errors:
            raise Refused(404, "There is no such research agreement, or it is not one you may see.")
        today = datetime.now(UTC).date()
        ends = (
            min(today.replace(year=today.year + 1), date.fromisoformat(found["irbExpiresOn"]))
            if found
            else today
        )
        return console.render(
            request,
            "agreement.html",
            title=f"Research agreement {found['reference']}" if found else "Research agreement",
            agreement=found,
            errors=result.messages,
            cohort=json.dumps(found["requestedCohort"], sort_keys=True) if found else "",
            starts_on=today.isoformat(),
            ends_on=ends.isoformat(),
            idempotency_key=new_idempotency_key(),
        )

    async def agreement_action(request: Request) -> Response:
        session = console.staff(request, section("/research/agreements"))
        _session, form = await console.form(request)
        raw = await request.form()
        agreement_id = request.path_params["agreement_id"]
        action = request.path_params["action"]
        try:
            version = int(form.get("version", ""))
        except ValueError:
            raise Refused(400, "The form lacks the agreement's version; reload it and try again.") from None
        key = (form.get("idempotency_key") or "")[:128] or None
        note = (form.get("note") or "").strip()[:500]
        variables: dict[str, Any] = {"input": {"id": agreement_id, "version": version}, "key": key}
        if action == "approve":
            try:
                cohort = json.loads(form.get("cohort", ""))
                threshold = int(form["k"]) if form.get("k") else None
            except ValueError:
                raise Refused(
                    400, "The cohort or the threshold k is not valid; reload the agreement."
                ) from None
            variables["input"] |= {
                "grantedFields": [f for f in raw.getlist("fields") if isinstance(f, str)],
                "grantedCohort": cohort,
                "startsOn": form.get("starts_on", ""),
                "endsOn": form.get("ends_on", ""),
                "tier": _choice(form.get("tier"), ("AGGREGATE", "RECORD")) or "AGGREGATE",
                "smallCellThreshold": threshold,
                "note": note or None,
            }
            document, field, done = q.APPROVE_AGREEMENT, "approveResearchAgreement", "Agreement approved."
        elif action in ("reject", "revoke"):
            if not note:
                session.flash.append("Give the reasons for the decision (the note).")
                return console.redirect(request, f"/research/agreements/{agreement_id}")
            variables["input"]["note"] = note
            document, field, done = (
                (q.REJECT_AGREEMENT, "rejectResearchAgreement", "Agreement rejected.")
                if action == "reject"
                else (q.REVOKE_AGREEMENT, "revokeResearchAgreement", "Agreement revoked.")
            )
        else:
            raise Refused(404, "There is no such action on a research agreement.")
        result = await console.call(request, session, document, variables)
        payload = (result.data or {}).get(field) or {}
        problems = result.messages + [e["message"] for e in payload.get("errors") or []]
        session.flash.extend(problems or [done])
        return console.redirect(request, f"/research/agreements/{agreement_id}")

    # --- signing keys -------------------------------------------------------------------------------

    async def signing_keys(request: Request) -> Response:
        session = console.staff(request, section("/keys"))
        result = await console.call(request, session, q.SIGNING_KEYS, {})
        ring = (result.data or {}).get("signingKeys") or {}
        due = ring.get("nextRotationDue")
        return console.render(
            request,
            "keys.html",
            title="Signing keys",
            ring=ring,
            overdue=due is not None and datetime.fromisoformat(due) <= datetime.now(UTC),
            errors=result.messages,
            idempotency_key=new_idempotency_key(),
        )

    async def signing_key_rotate(request: Request) -> Response:
        session = console.staff(request, section("/keys"))
        _session, form = await console.form(request)
        done = (
            "Signing keys rotated: the new key signs every token from now on (in every process within "
            "the key cache interval); the old one verifies until its tokens have expired."
        )
        variables = {"key": key_of(form)}
        await mutate(request, session, q.ROTATE_SIGNING_KEY, "rotateSigningKey", variables, done)
        return console.redirect(request, "/keys")

    async def signing_key_retire(request: Request) -> Response:
        session = console.staff(request, section("/keys"))
        _session, form = await console.form(request)
        kid = request.path_params["kid"]
        variables = {"input": {"kid": kid}, "key": key_of(form)}
        done = f"Key {kid} retired: it signs no more and verifies until its tokens have expired."
        payload = await mutate(request, session, q.RETIRE_SIGNING_KEY, "retireSigningKey", variables, done)
        if payload and payload.get("changed") is False and not payload.get("replayed"):
            session.flash[-1:] = [f"Key {kid} was retired already; nothing changed."]
        return console.redirect(request, "/keys")

    async def health(request: Request) -> Response:
        session = console.staff(request, section("/health"))
        result = await console.call(request, session, q.HUB_HEALTH, {})
        return console.render(
            request,
            "health.html",
            title="Health",
            health=(result.data or {}).get("hubHealth") or {},
            errors=result.messages,
        )

    # --- GraphiQL -----------------------------------------------------------------------------------

    async def graphiql(request: Request) -> Response:
        if not console.graphiql:
            raise Refused(404, "GraphiQL is off on this hub (HUB_GRAPHIQL).")
        demo_clients = [a.value for a in Audience] if console.demo else []
        return console.render(request, "graphiql.html", title="GraphiQL", demo_clients=demo_clients)

    async def graphiql_token(request: Request) -> Response:
        """Demo only: a fresh token of the chosen demo client, for GraphiQL's Authorization header."""
        session = console.session(request)
        if not console.graphiql or not console.demo:
            raise Refused(404, "Demo client tokens exist only in `hub demo`.")
        if not csrf_matches(session, request.headers.get("x-csrf-token")):
            raise Refused(403, "The request's CSRF token is missing or out of date; reload the page.")
        form = await request.form(max_files=0, max_fields=5)
        try:
            audience = Audience(str(form.get("audience", "")))
        except ValueError:
            raise Refused(400, "Choose one of the demo clients.") from None
        token, expires_in = await console.demo_token(audience, getattr(request.state, "request_id", None))
        return console.finish(
            request,
            JSONResponse(
                {"access_token": token, "expires_in": expires_in, "audience": audience.value},
                headers={"Cache-Control": "no-store"},
            ),
        )

    async def api_proxy(request: Request) -> Response:
        """GraphiQL's requests under the console sign-in: the token is added here, never in the page."""
        session = console.session(request)
        if not csrf_matches(session, request.headers.get("x-csrf-token")):
            raise Refused(403, "The request's CSRF token is missing or out of date; reload the page.")
        if not session.signed_in or session.token is None:
            raise Refused(401, "Sign in to the console first.")
        body = await request.body()
        if len(body) > console.settings.max_body_bytes:
            raise Refused(413, f"The request body is over {console.settings.max_body_bytes} bytes.")
        caller_address.set(getattr(request.state, "source_address", None) or "127.0.0.1")
        status, content, media = await console.api.forward(
            session.token, body, correlation_id=getattr(request.state, "request_id", None)
        )
        return Response(content, status, media_type=media, headers={"Cache-Control": "no-store"})

    return [
        Route("/", home, methods=["GET"]),
        Route("/signin", signin, methods=["GET"]),
        Route("/signin/demo", demo_signin, methods=["POST"]),
        Route("/signin/oidc", oidc_start, methods=["POST"]),
        Route("/signin/oidc/callback", oidc_callback, methods=["GET"]),
        Route("/signout", signout, methods=["POST"]),
        Route("/partners", partners, methods=["GET"]),
        Route("/partners/add", partner_add, methods=["POST"]),
        Route("/partners/{partner_id}/{action}", partner_action, methods=["POST"]),
        Route("/clients", clients, methods=["GET"]),
        Route("/clients/add", client_add, methods=["POST"]),
        Route("/clients/{client_id}/confirm/{action}", client_confirm, methods=["GET"]),
        Route("/clients/{client_id}/operations", client_operations, methods=["GET"]),
        Route("/clients/{client_id}/operations/register", client_operation_register, methods=["POST"]),
        Route("/clients/{client_id}/operations/{sha256}/remove", client_operation_remove, methods=["POST"]),
        Route("/clients/{client_id}/{action}", client_action, methods=["POST"]),
        Route("/ledger/who-saw", who_saw, methods=["GET"]),
        Route("/ledger/events", events, methods=["GET"]),
        Route("/keys", signing_keys, methods=["GET"]),
        Route("/keys/rotate", signing_key_rotate, methods=["POST"]),
        Route("/keys/{kid}/retire", signing_key_retire, methods=["POST"]),
        Route("/health", health, methods=["GET"]),
        Route("/inquiries", inquiries, methods=["GET"]),
        Route("/inquiries/{inquiry_id}", inquiry, methods=["GET"]),
        Route("/inquiries/{inquiry_id}/{action}", inquiry_action, methods=["POST"]),
        Route("/notifications", notifications, methods=["GET"]),
        Route("/notifications/{notification_id}/{action}", notification_action, methods=["POST"]),
        Route("/registrations", registrations, methods=["GET"]),
        Route("/research/agreements", agreements, methods=["GET"]),
        Route("/research/agreements/{agreement_id}", agreement, methods=["GET"]),
        Route("/research/agreements/{agreement_id}/{action}", agreement_action, methods=["POST"]),
        Route("/graphiql", graphiql, methods=["GET"]),
        Route("/graphiql/token", graphiql_token, methods=["POST"]),
        Route("/api/graphql", api_proxy, methods=["POST"]),
    ]
