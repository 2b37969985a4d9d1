"""The optimistic-locking helper: a conditional UPDATE that bumps the version, and its two refusals."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from resolvers.errors import Conflict, NotFound
from resolvers.models.inquiries import Inquiry
from resolvers.session import RequestDb
from resolvers.versioned import at_version, update_versioned
from tests.factories.inquiries import make_inquiry


async def _stored(db: RequestDb, pk: int) -> tuple[int, str | None]:
    row = (await db.rows(select(Inquiry.version, Inquiry.assigned_to).where(Inquiry.id == pk)))[0]
    return int(row.version), row.assigned_to


async def test_success_sets_the_values_and_bumps_the_version(session: AsyncSession, db: RequestDb) -> None:
    inquiry = await make_inquiry(session)
    assert inquiry.version == 1

    new = await update_versioned(db, Inquiry, inquiry.id, 1, {"assigned_to": "R. Clerk"}, entity="inquiry")

    assert new == 2
    assert await _stored(db, inquiry.id) == (2, "R. Clerk")
    # No values: the version alone moves (a parent whose children changed).
    assert await update_versioned(db, Inquiry, inquiry.id, 2, entity="inquiry") == 3
    assert await _stored(db, inquiry.id) == (3, "R. Clerk")


async def test_a_stale_version_is_refused_and_writes_nothing(session: AsyncSession, db: RequestDb) -> None:
    inquiry = await make_inquiry(session)
    # A concurrent write committed in between: the row is at 2, the caller read 1.
    await db.execute(update(Inquiry).where(Inquiry.id == inquiry.id).values(version=2))

    with pytest.raises(Conflict) as stale:
        await update_versioned(db, Inquiry, inquiry.id, 1, {"assigned_to": "R. Clerk"}, entity="inquiry")

    # field "version" is what run_mutation answers as STALE_VERSION.
    assert stale.value.field == "version"
    assert stale.value.rule == "stale: the inquiry changed since you read it; read it again and retry"
    assert await _stored(db, inquiry.id) == (2, None)


async def test_at_version_names_the_current_version(session: AsyncSession, db: RequestDb) -> None:
    inquiry = await make_inquiry(session)
    await db.execute(update(Inquiry).where(Inquiry.id == inquiry.id).values(version=4))

    with pytest.raises(Conflict) as stale:
        await update_versioned(db, Inquiry, inquiry.id, 3, entity="inquiry", stale=at_version)

    assert stale.value.field == "version"
    assert stale.value.rule == "stale: the inquiry is at version 4, you sent 3; read it again and retry"


async def test_a_missing_row_is_not_found_not_stale(session: AsyncSession, db: RequestDb) -> None:
    inquiry = await make_inquiry(session)
    missing = inquiry.id + 1_000_000

    with pytest.raises(NotFound) as gone:
        await update_versioned(
            db, Inquiry, missing, 1, {"assigned_to": "R. Clerk"}, entity="inquiry", field="inquiryId"
        )

    assert (gone.value.what, gone.value.field) == ("Inquiry", "inquiryId")
    assert await _stored(db, inquiry.id) == (1, None)
