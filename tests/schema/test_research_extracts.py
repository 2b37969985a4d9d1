"""CSV extracts: ``GET /research/extracts/{id}.csv`` with the researcher's bearer token, streamed in
batches from one cursor, recorded as a released extract and in the ledger; closed with the agreement."""

from __future__ import annotations

import contextlib
import csv
import io
import tracemalloc
from datetime import UTC, date, datetime

import httpx
from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from resolvers.models.custody import CustodyPeriod
from resolvers.models.ledger import AuditEvent
from resolvers.models.partners import Audience, Partner
from resolvers.models.people import Person
from resolvers.models.research import ResearchAgreement, ResearchExtract
from resolvers.research_records import agreement_in_force_by_id, stream_records
from resolvers.session import RequestDb
from tests.conftest import Mint
from tests.factories.people import make_facility
from tests.factories.research_cohort import make_cohort, make_cohort_agreement


async def test_an_extract_streams_the_granted_fields_and_is_recorded(
    client: httpx.AsyncClient, mint: Mint, session: AsyncSession, partners: dict[Audience, Partner]
) -> None:
    cohort = await make_cohort(session, size=5)
    agreement = await make_cohort_agreement(
        session,
        partners[Audience.RESEARCHER],
        cohort,
        granted_fields=["sex", "programs_completed", "returned_1y"],
    )
    token = await mint(Audience.RESEARCHER)
    response = await client.get(
        f"/research/extracts/{agreement.id}.csv", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["x-record-count"] == "5"
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert list(rows[0]) == ["pseudonym", "sex", "programs_completed", "returned_1y"]
    assert len(rows) == 5
    assert len({r["pseudonym"] for r in rows}) == 5
    assert {r["programs_completed"] for r in rows} == {cohort.program_code, ""}
    for person in cohort.people:
        assert person.doc_id not in response.text
        assert person.last_name not in response.text
    extract = (
        await session.scalars(select(ResearchExtract).where(ResearchExtract.agreement_id == agreement.id))
    ).one()
    assert (extract.row_count, extract.fields) == (5, ["sex", "programs_completed", "returned_1y"])
    event = (
        await session.scalars(select(AuditEvent).where(AuditEvent.kind == "research_extract.released"))
    ).all()[-1]
    assert event.detail is not None
    assert event.authority == {"research_agreement": agreement.id}
    assert event.detail["rows"] == 5


async def test_extracts_are_refused_without_an_agreement_in_force(
    client: httpx.AsyncClient, mint: Mint, session: AsyncSession, partners: dict[Audience, Partner]
) -> None:
    cohort = await make_cohort(session, size=2)
    agreement = await make_cohort_agreement(session, partners[Audience.RESEARCHER], cohort)
    url = f"/research/extracts/{agreement.id}.csv"
    assert (await client.get(url)).status_code == 401
    unit = await mint(Audience.RESEARCH_UNIT)
    assert (await client.get(url, headers={"Authorization": f"Bearer {unit}"})).status_code == 403
    token = {"Authorization": f"Bearer {await mint(Audience.RESEARCHER)}"}
    assert (await client.get("/research/extracts/999999.csv", headers=token)).status_code == 404
    await session.execute(
        update(ResearchAgreement)
        .where(ResearchAgreement.id == agreement.id)
        .values(status="revoked", pseudonym_key=None)
    )
    await session.flush()
    response = await client.get(url, headers=token)
    assert response.status_code == 409
    assert "revoked" in response.json()["errors"][0]["message"]


async def test_an_extract_streams_in_batches_without_holding_the_cohort(
    session: AsyncSession, partners: dict[Audience, Partner]
) -> None:
    """Peak memory while streaming 4,000 records in batches of 200 stays a fraction of holding them.

    (The 100,000-record measurement is ``bench/research_extract.py``; see README, Research.)
    """
    facility = await make_facility(session)
    size = 4000
    first_id = int(await session.scalar(select(func.coalesce(func.max(Person.id), 0))) or 0) + 1
    await session.execute(
        insert(Person),
        [
            {"id": first_id + n, "doc_id": f"X{first_id + n:09d}", "first_name": "A", "last_name": "B",
             "sex": "MF"[n % 2], "race": "white", "birth_year": 1970 + n % 30, "status": "incarcerated"}
            for n in range(size)
        ],
    )  # fmt: skip
    await session.execute(
        insert(CustodyPeriod),
        [
            {"person_id": first_id + n, "facility_id": facility.id, "admission_type": "new_commitment",
             "admitted_on": date(2019, 1 + n % 12, 1 + n % 28), "version": 1}
            for n in range(size)
        ],
    )  # fmt: skip
    await session.flush()
    cohort_json = {"admitted_from": "2019-01-01", "admitted_to": "2019-12-31", "facilities": [facility.code]}
    row = await make_cohort_agreement(
        session, partners[Audience.RESEARCHER], None,
        requested_cohort=cohort_json, granted_cohort=cohort_json,
    )  # fmt: skip
    from auth.principal import Principal

    principal = Principal(audience=Audience.RESEARCHER, partner_id=partners[Audience.RESEARCHER].id)
    today = datetime.now(UTC).date()
    agreement = await agreement_in_force_by_id(RequestDb(session), principal, row.id, today)

    async def peak(hold: bool, limit: int = size) -> tuple[int, int]:
        held: list[object] = []
        count = 0
        tracemalloc.start()
        try:
            async with contextlib.aclosing(stream_records(session, agreement, today, batch=200)) as batches:
                async for batch in batches:
                    count += len(batch)
                    if hold:
                        held.extend(batch)
                    if count >= limit:
                        break
            return count, tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    _, quarter_peak = await peak(hold=False, limit=size // 4)
    streamed, streaming_peak = await peak(hold=False)
    held, holding_peak = await peak(hold=True)
    assert streamed == held == size
    # Four times the records, about the same peak: memory does not grow with the cohort ...
    assert streaming_peak < 1.5 * quarter_peak, (quarter_peak, streaming_peak)
    # ... and is well under what holding the records would take.
    assert streaming_peak * 2 < holding_peak, (streaming_peak, holding_peak)
