"""Data access for custody: a person's sentences and charges, custody and supervision periods, parole
hearings, custody events, conduct reports and health needs (batch functions)."""

from __future__ import annotations

from collections.abc import Sequence

from auth.principal import Principal
from resolvers.batching import rows_by_id, rows_by_key
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
from resolvers.rows import (
    ChargeRow,
    ConductReportRow,
    CustodyEventRow,
    CustodyPeriodRow,
    HealthNeedRow,
    ParoleHearingRow,
    SentenceRow,
    SupervisionPeriodRow,
)
from resolvers.session import RequestDb


async def custody_events_by_id(
    db: RequestDb, principal: Principal, ids: Sequence[int]
) -> list[CustodyEventRow | None]:
    return await rows_by_id(db, principal, CustodyEvent, CustodyEventRow, ids)


async def parole_hearings_by_id(
    db: RequestDb, principal: Principal, ids: Sequence[int]
) -> list[ParoleHearingRow | None]:
    return await rows_by_id(db, principal, ParoleHearing, ParoleHearingRow, ids)


async def sentences_by_person_id(
    db: RequestDb, principal: Principal, ids: Sequence[int]
) -> list[list[SentenceRow]]:
    return await rows_by_key(db, principal, Sentence, SentenceRow, "person_id", ids, ("sentenced_on", "id"))


async def charges_by_sentence_id(
    db: RequestDb, principal: Principal, ids: Sequence[int]
) -> list[list[ChargeRow]]:
    return await rows_by_key(db, principal, Charge, ChargeRow, "sentence_id", ids, ("id",))


async def custody_periods_by_person_id(
    db: RequestDb, principal: Principal, ids: Sequence[int]
) -> list[list[CustodyPeriodRow]]:
    return await rows_by_key(
        db,
        principal,
        CustodyPeriod,
        CustodyPeriodRow,
        "person_id",
        ids,
        ("admitted_on", "id"),
    )


async def supervision_periods_by_person_id(
    db: RequestDb, principal: Principal, ids: Sequence[int]
) -> list[list[SupervisionPeriodRow]]:
    return await rows_by_key(
        db,
        principal,
        SupervisionPeriod,
        SupervisionPeriodRow,
        "person_id",
        ids,
        ("started_on", "id"),
    )


async def parole_hearings_by_person_id(
    db: RequestDb, principal: Principal, ids: Sequence[int]
) -> list[list[ParoleHearingRow]]:
    return await rows_by_key(
        db,
        principal,
        ParoleHearing,
        ParoleHearingRow,
        "person_id",
        ids,
        ("scheduled_for", "id"),
    )


async def custody_events_by_person_id(
    db: RequestDb, principal: Principal, ids: Sequence[int]
) -> list[list[CustodyEventRow]]:
    return await rows_by_key(
        db, principal, CustodyEvent, CustodyEventRow, "person_id", ids, ("occurred_at", "id")
    )


async def conduct_reports_by_person_id(
    db: RequestDb, principal: Principal, ids: Sequence[int]
) -> list[list[ConductReportRow]]:
    return await rows_by_key(
        db,
        principal,
        ConductReport,
        ConductReportRow,
        "person_id",
        ids,
        ("occurred_on", "id"),
    )


async def health_needs_by_person_id(
    db: RequestDb, principal: Principal, ids: Sequence[int]
) -> list[list[HealthNeedRow]]:
    return await rows_by_key(
        db, principal, HealthNeed, HealthNeedRow, "person_id", ids, ("assessed_on", "id")
    )
