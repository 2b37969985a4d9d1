"""Fiscal notes through HTTP: requested (by a legislative office, recorded as its own), completed
once; a legislative office reads its own requests and every submitted note."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from resolvers.models.fiscal_notes import FiscalNote
from resolvers.models.partners import Audience, Partner
from tests.conftest import GraphQL
from tests.factories.grants import make_fiscal_note, make_partner
from tests.schema.test_victims import gid

BG = Audience.BUDGET_GRANTS
NOTE = "fiscalNote { reference billNumber title requestedBy status costYear1 costYear2 costYear3 summary submittedAt version }"
REQUEST = f"mutation($input: RequestFiscalNoteInput!) {{ requestFiscalNote(input: $input) {{ {NOTE} errors {{ code field message }} }} }}"
COMPLETE = f"mutation($input: CompleteFiscalNoteInput!) {{ completeFiscalNote(input: $input) {{ {NOTE} errors {{ code field message }} }} }}"


def _due(days: int = 14) -> str:
    return (datetime.now(UTC).date() + timedelta(days=days)).isoformat()


async def count(session: AsyncSession) -> int:
    return (await session.scalar(select(func.count()).select_from(FiscalNote))) or 0


async def post(
    gql: GraphQL, mutation: str, values: dict[str, object], audience: Audience = BG
) -> dict[str, Any]:
    body = (await gql(mutation, {"input": values}, audience=audience)).json()
    assert "errors" not in body, body
    payload: dict[str, Any] = next(iter(body["data"].values()))
    return payload


async def test_a_legislative_office_requests_a_note_and_reads_it_back(
    gql: GraphQL, session: AsyncSession, partners: dict[Audience, Partner]
) -> None:
    payload = await post(
        gql,
        REQUEST,
        {"billNumber": "hb 1234", "title": "Earned time credits", "dueOn": _due()},
        Audience.LEGISLATIVE,
    )
    assert payload["errors"] == []
    note = payload["fiscalNote"]
    assert note["billNumber"] == "HB 1234"
    # One format with the seeded notes: FN-<year>-<id, six digits> (tests/hub/test_synthetic.py).
    note_id = await session.scalar(select(FiscalNote.id).where(FiscalNote.reference == note["reference"]))
    assert note_id is not None
    assert note["reference"] == f"FN-{date.today().year}-{note_id:06d}"
    assert note["status"] == "REQUESTED"
    assert note["requestedBy"] == partners[Audience.LEGISLATIVE].name
    staff = await post(gql, REQUEST, {"billNumber": "SB 7", "title": "Staff request", "dueOn": _due()})
    assert staff["fiscalNote"]["requestedBy"] is None


async def test_request_refusals_write_nothing(gql: GraphQL, session: AsyncSession) -> None:
    before = await count(session)
    cases: list[tuple[dict[str, object], str]] = [
        ({"dueOn": _due(-1)}, "dueOn"),
        ({"billNumber": "Bill one"}, "billNumber"),
        ({"billNumber": "H" * 21}, "billNumber"),
        ({"title": "t" * 201}, "title"),
        ({"title": " "}, "title"),
    ]
    for overrides, field in cases:
        values: dict[str, object] = {"billNumber": "HB 1", "title": "T", "dueOn": _due(), **overrides}
        payload = await post(gql, REQUEST, values)
        assert payload["fiscalNote"] is None
        assert (payload["errors"][0]["code"], payload["errors"][0]["field"]) == ("INVALID", field), overrides
    assert await count(session) == before


async def test_complete_a_note_once(gql: GraphQL, session: AsyncSession) -> None:
    note = await make_fiscal_note(session, status="in_progress")
    values: dict[str, object] = {
        "id": gid("FiscalNote", note.id),
        "version": 1,
        "costYear1": "125000.00",
        "costYear2": "-40000.50",
        "costYear3": "0",
        "summary": "Costs in year one, savings after.",
    }
    done = await post(gql, COMPLETE, values)
    assert done["errors"] == []
    assert done["fiscalNote"]["status"] == "SUBMITTED"
    assert done["fiscalNote"]["costYear2"] == "-40000.50"
    assert done["fiscalNote"]["submittedAt"] is not None
    assert done["fiscalNote"]["version"] == 2
    again = await post(gql, COMPLETE, {**values, "version": 2})
    assert again["errors"] == [
        {
            "code": "CONFLICT",
            "field": "id",
            "message": "id is already submitted; a submitted fiscal note is final",
        }
    ]


async def test_complete_refusals_write_nothing(gql: GraphQL, session: AsyncSession) -> None:
    note = await make_fiscal_note(session)
    base: dict[str, object] = {
        "id": gid("FiscalNote", note.id),
        "version": 1,
        "costYear1": "1",
        "costYear2": "2",
        "costYear3": "3",
        "summary": "s",
    }
    cases: list[tuple[dict[str, object], str, str]] = [
        ({"version": 3}, "STALE_VERSION", "version"),
        ({"costYear1": "1.001"}, "INVALID", "costYear1"),
        ({"costYear3": "100000000000000"}, "INVALID", "costYear3"),  # past Numeric(14, 2)
        ({"summary": "x" * 10_001}, "INVALID", "summary"),
        ({"id": gid("FiscalNote", 99_999_999)}, "NOT_FOUND", "id"),
    ]
    for overrides, code, field in cases:
        payload = await post(gql, COMPLETE, {**base, **overrides})
        assert (payload["errors"][0]["code"], payload["errors"][0]["field"]) == (code, field), overrides
    status = await session.scalar(select(FiscalNote.status).where(FiscalNote.id == note.id))
    assert status == "requested"


async def test_who_sees_which_notes(
    gql: GraphQL, session: AsyncSession, partners: dict[Audience, Partner]
) -> None:
    office = partners[Audience.LEGISLATIVE]
    other = await make_partner(session)
    await make_fiscal_note(session, bill_number="HB 1", requested_by_partner_id=office.id)
    await make_fiscal_note(session, bill_number="HB 2", requested_by_partner_id=other.id)
    await make_fiscal_note(session, bill_number="HB 3", requested_by_partner_id=other.id, status="submitted")
    await make_fiscal_note(session, bill_number="HB 4")
    query = "query($status: FiscalNoteStatus) { fiscalNotes(status: $status, first: 100) { nodes { billNumber } } }"

    async def bills(audience: Audience, status: str | None = None) -> set[str]:
        body = (await gql(query, {"status": status}, audience=audience)).json()
        assert "errors" not in body, body
        return {n["billNumber"] for n in body["data"]["fiscalNotes"]["nodes"]} & {
            "HB 1",
            "HB 2",
            "HB 3",
            "HB 4",
        }

    assert await bills(BG) == {"HB 1", "HB 2", "HB 3", "HB 4"}
    assert await bills(Audience.ADMIN) == {"HB 1", "HB 2", "HB 3", "HB 4"}
    assert await bills(BG, "SUBMITTED") == {"HB 3"}
    assert await bills(Audience.LEGISLATIVE) == {"HB 1", "HB 3"}
    for audience in (Audience.REENTRY, Audience.CONSTITUENT_SERVICES):
        body = (await gql(query, {}, audience=audience)).json()
        if "errors" in body:
            assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
        else:
            assert body["data"]["fiscalNotes"]["nodes"] == []


async def test_a_legislative_office_cannot_complete_another_offices_request(
    gql: GraphQL, session: AsyncSession
) -> None:
    note = await make_fiscal_note(session, requested_by_partner_id=(await make_partner(session)).id)
    values = {
        "id": gid("FiscalNote", note.id),
        "version": 1,
        "costYear1": "1",
        "costYear2": "1",
        "costYear3": "1",
        "summary": "s",
    }
    body = (await gql(COMPLETE, {"input": values}, audience=Audience.LEGISLATIVE)).json()
    if "errors" in body:
        assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    else:
        assert body["data"]["completeFiscalNote"]["errors"][0]["code"] == "NOT_FOUND"
