"""``GET /research/extracts/{agreement_id}.csv``: every record of an agreement in force, as CSV.

The researcher's bearer token authenticates the request exactly as for ``/graphql``. The release is
recorded first (a ``research_extracts`` row and a ledger event naming the agreement, committed
before the first byte), then the cohort streams from one server-side cursor in batches: the hub
holds one batch at a time however large the cohort.

Only a record-tier agreement has extracts (an aggregate-tier one is refused, 403
``RECORDS_NOT_RELEASED``), and what streams is its k-anonymous release: one counting pass over the
cohort's quasi-identifiers chooses the generalization (``resolvers/research_release.py``), then the
records stream generalized, the records of classes still smaller than k left out. The release's
metadata (k, quasi-identifiers, levels, counts) is in the response headers, the ledger event and the
``research_extracts`` row. Enum values are written with their GraphQL names (``MALE``, ``FELONY_A``).
"""

from __future__ import annotations

import csv
import enum
import io
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from auth.audit import record_event
from auth.refusals import Refusal
from hub.endpoint import Authenticator
from resolvers.errors import Conflict, NotFound
from resolvers.models.custody import OffenseClass
from resolvers.models.partners import Audience
from resolvers.models.people import FacilityKind, Race, Sex
from resolvers.models.research import ResearchExtract
from resolvers.research_records import (
    Agreement,
    Record,
    agreement_in_force_by_id,
    release_plan,
    stream_records,
)
from resolvers.research_release import Release
from resolvers.research_terms import FIELD_NAMES, RecordsNotReleased, enum_name
from resolvers.session import RequestDb

CSV = "text/csv; charset=utf-8"


def _columns(agreement: Agreement) -> list[str]:
    return ["pseudonym", *(f for f in FIELD_NAMES if f in agreement.fields)]


#: Columns whose values are enums: written with their GraphQL names (MALE, BLACK, FELONY_A, INSTITUTION),
#: the one vocabulary researchers see in GraphQL and in extracts alike.
ENUM_COLUMNS: dict[str, type[enum.Enum]] = {
    "sex": Sex,
    "race": Race,
    "offense_class": OffenseClass,
    "facility_type": FacilityKind,
}


def release_headers(release: Release) -> dict[str, str]:
    """The release's metadata as response headers (the same is in the ledger and the extract's row)."""
    generalized = release.generalized
    return {
        "X-Record-Count": str(release.released),
        "X-Release-K": str(release.k),
        "X-Release-Quasi-Identifiers": ",".join(f.value for f in release.fields),
        "X-Release-Generalized": ",".join(f"{f}={level}" for f, level in sorted(generalized.items())),
        "X-Release-Cohort": str(release.cohort),
        "X-Release-Suppressed": str(release.suppressed),
    }


def _row(record: Record, columns: list[str]) -> list[object]:
    out: list[object] = []
    for column in columns:
        value = getattr(record, column)
        kind = ENUM_COLUMNS.get(column)
        if kind is not None and isinstance(value, str):
            value = enum_name(kind, value)
        elif isinstance(value, list):
            value = ";".join(value)
        elif isinstance(value, bool):
            value = "true" if value else "false"
        out.append("" if value is None else value)
    return out


def extracts(
    sessions: async_sessionmaker[AsyncSession], authenticate: Authenticator
) -> Callable[[Request], Awaitable[Response]]:
    async def handle(request: Request) -> Response:
        """Refusals (``Unauthenticated`` and those below) and store outages are answered by the app's
        exception handlers (hub/http_errors.py), in the same shape and codes as ``/graphql``'s."""
        request_id: str = request.state.request_id
        principal = await authenticate(request)
        if principal.audience is not Audience.RESEARCHER:
            raise Refusal(403, "FORBIDDEN", "extracts are released to the agreement's research team")
        raw = request.path_params["agreement_id"]
        if not raw.isdigit() or len(raw) > 18:
            raise Refusal(404, "NOT_FOUND", "ResearchAgreement not found")
        now = datetime.now(UTC)
        async with sessions() as session:
            try:
                agreement = await agreement_in_force_by_id(
                    RequestDb(session), principal, int(raw), now.date()
                )
                agreement.require_records("extract")
            except NotFound as exc:
                raise Refusal(404, "NOT_FOUND", str(exc)) from None
            except Conflict as exc:
                raise Refusal(409, "CONFLICT", exc.rule) from None
            except RecordsNotReleased as exc:
                raise Refusal(403, exc.code, f"the {exc.field} {exc.rule}") from None
            columns = _columns(agreement)
            release = await release_plan(session, agreement)
            rows = release.released
            metadata = release.metadata()
            extract = ResearchExtract(
                agreement_id=agreement.id,
                fields=columns[1:],
                row_count=rows,
                requested_by=principal.client_id or principal.subject or "unknown",
                release=metadata,
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
                    "release": metadata,
                },
            )
            await session.commit()

        async def body() -> AsyncIterator[bytes]:
            buffer = io.StringIO()
            writer = csv.writer(buffer, lineterminator="\n")
            writer.writerow(columns)
            async with sessions() as session:
                async for batch in stream_records(session, agreement, now.date(), release=release):
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
                "Cache-Control": "no-store",
                **release_headers(release),
            },
        )

    return handle
