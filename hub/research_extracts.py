"""``GET /research/extracts/{agreement_id}.csv``: every record of an agreement in force, as CSV.

The researcher's bearer token authenticates the request exactly as for ``/graphql``. The release is
recorded first (a ``research_extracts`` row and a ledger event naming the agreement, committed
before the first byte), then the cohort streams from one server-side cursor in batches: the hub
holds one batch at a time however large the cohort.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from auth.audit import record_event
from auth.principal import Unauthenticated
from hub.endpoint import Authenticator, error_payload, json_response
from resolvers.errors import Conflict, NotFound
from resolvers.models.partners import Audience
from resolvers.models.research import ResearchExtract
from resolvers.research_records import (
    Agreement,
    Record,
    agreement_in_force_by_id,
    cohort_size,
    stream_records,
)
from resolvers.research_terms import FIELD_NAMES
from resolvers.session import RequestDb

CSV = "text/csv; charset=utf-8"


def _columns(agreement: Agreement) -> list[str]:
    return ["pseudonym", *(f for f in FIELD_NAMES if f in agreement.fields)]


def _row(record: Record, columns: list[str]) -> list[object]:
    out: list[object] = []
    for column in columns:
        value = getattr(record, column)
        if isinstance(value, list):
            value = ";".join(value)
        elif isinstance(value, bool):
            value = "true" if value else "false"
        out.append("" if value is None else value)
    return out


def extracts(
    sessions: async_sessionmaker[AsyncSession], authenticate: Authenticator
) -> Callable[[Request], Awaitable[Response]]:
    async def handle(request: Request) -> Response:
        request_id: str = request.state.request_id
        try:
            principal = await authenticate(request)
        except Unauthenticated as exc:
            return json_response(
                error_payload(
                    "UNAUTHENTICATED" if exc.status == 401 else "BAD_REQUEST", exc.description, request_id
                ),
                exc.status,
                {"WWW-Authenticate": exc.www_authenticate},
            )
        if principal.audience is not Audience.RESEARCHER:
            return json_response(
                error_payload(
                    "FORBIDDEN", "extracts are released to the agreement's research team", request_id
                ),
                403,
            )
        raw = request.path_params["agreement_id"]
        if not raw.isdigit() or len(raw) > 18:
            return json_response(error_payload("NOT_FOUND", "ResearchAgreement not found", request_id), 404)
        now = datetime.now(UTC)
        async with sessions() as session:
            try:
                agreement = await agreement_in_force_by_id(
                    RequestDb(session), principal, int(raw), now.date()
                )
            except NotFound as exc:
                return json_response(error_payload("NOT_FOUND", str(exc), request_id), 404)
            except Conflict as exc:
                return json_response(error_payload("CONFLICT", exc.rule, request_id), 409)
            columns = _columns(agreement)
            rows = await cohort_size(session, agreement)
            extract = ResearchExtract(
                agreement_id=agreement.id,
                fields=columns[1:],
                row_count=rows,
                requested_by=principal.client_id or principal.subject or "unknown",
            )
            session.add(extract)
            await session.flush()
            await record_event(
                session,
                kind="research_extract.released",
                request_id=request_id,
                partner_id=principal.partner_id,
                client_id=principal.client_id,
                audience=principal.audience.value,
                authority={"research_agreement": agreement.id},
                detail={
                    "extract": extract.id,
                    "rows": rows,
                    "fields": columns[1:],
                },
            )
            await session.commit()

        async def body() -> AsyncIterator[bytes]:
            buffer = io.StringIO()
            writer = csv.writer(buffer, lineterminator="\n")
            writer.writerow(columns)
            async with sessions() as session:
                async for batch in stream_records(session, agreement, now.date()):
                    for record in batch:
                        writer.writerow(_row(record, columns))
                    yield buffer.getvalue().encode()
                    buffer.seek(0)
                    buffer.truncate()
            if buffer.tell():
                yield buffer.getvalue().encode()

        filename = f"{agreement.reference}-extract-{extract.id}.csv"
        return StreamingResponse(
            body(),
            media_type=CSV,
            headers={
                "Content-Disposition": f'attachment; filename="{filename}"',
                "X-Record-Count": str(rows),
                "Cache-Control": "no-store",
            },
        )

    return handle
