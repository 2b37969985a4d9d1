"""Data access for custody: a person's sentences and charges, custody and supervision periods, parole
hearings, custody events, conduct reports and health needs (batch functions)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row

from auth.principal import Principal
from resolvers.batching import rows_by_id
from resolvers.models.custody import (
    Charge,
    ConductReport,
    CustodyEvent,
    CustodyPeriod,
    HealthNeed,
    ParoleHearing,
    Sentence,
    SupervisionPeriod,
)
from resolvers.people import _children
from resolvers.session import RequestDb


async def custody_events_by_id(
    db: RequestDb, principal: Principal, ids: Sequence[int]
) -> list[Row[Any] | None]:
    return await rows_by_id(db, principal, CustodyEvent, ids)


async def parole_hearings_by_id(
    db: RequestDb, principal: Principal, ids: Sequence[int]
) -> list[Row[Any] | None]:
    return await rows_by_id(db, principal, ParoleHearing, ids)


async def sentences_by_person_id(
    db: RequestDb, principal: Principal, ids: Sequence[int]
) -> list[list[Row[Any]]]:
    return await _children(db, principal, Sentence, "person_id", ids, ["sentenced_on", "id"])


async def charges_by_sentence_id(
    db: RequestDb, principal: Principal, ids: Sequence[int]
) -> list[list[Row[Any]]]:
    return await _children(db, principal, Charge, "sentence_id", ids, ["id"])


async def custody_periods_by_person_id(
    db: RequestDb, principal: Principal, ids: Sequence[int]
) -> list[list[Row[Any]]]:
    return await _children(db, principal, CustodyPeriod, "person_id", ids, ["admitted_on", "id"])


async def supervision_periods_by_person_id(
    db: RequestDb, principal: Principal, ids: Sequence[int]
) -> list[list[Row[Any]]]:
    return await _children(db, principal, SupervisionPeriod, "person_id", ids, ["started_on", "id"])


async def parole_hearings_by_person_id(
    db: RequestDb, principal: Principal, ids: Sequence[int]
) -> list[list[Row[Any]]]:
    return await _children(db, principal, ParoleHearing, "person_id", ids, ["scheduled_for", "id"])


async def custody_events_by_person_id(
    db: RequestDb, principal: Principal, ids: Sequence[int]
) -> list[list[Row[Any]]]:
    return await _children(db, principal, CustodyEvent, "person_id", ids, ["occurred_at", "id"])


async def conduct_reports_by_person_id(
    db: RequestDb, principal: Principal, ids: Sequence[int]
) -> list[list[Row[Any]]]:
    return await _children(db, principal, ConductReport, "person_id", ids, ["occurred_on", "id"])


async def health_needs_by_person_id(
    db: RequestDb, principal: Principal, ids: Sequence[int]
) -> list[list[Row[Any]]]:
    return await _children(db, principal, HealthNeed, "person_id", ids, ["assessed_on", "id"])
