"""``from_row`` by rule (schema/rows.py): the constructor arguments read off the declarations."""

from __future__ import annotations

from collections import namedtuple
from typing import Any

import pytest

from resolvers.models.custody import HearingDecision, SupervisionEnd
from resolvers.rows import FacilityRow
from schema.compiled.sources import TABLES
from schema.custody import ParoleHearing, SupervisionPeriod
from schema.people import Facility, Person
from schema.root import build_schema
from schema.rows import FromRow, plan_of
from schema.victims import Notification


@pytest.fixture(scope="module", autouse=True)
def _schema() -> None:
    build_schema()  # every type resolved, as in a running hub


def test_keys_columns_and_enums_follow_the_rules() -> None:
    plan = {name: column for name, column, _ in plan_of(Notification)}
    assert plan["pk"] == "id"
    assert plan["registration_pk"] == "registration_id"
    assert plan["requires_acknowledgement"] == "requires_ack"  # declared with source=Column(...)
    assert plan["event_kind"] == "event_kind"

    row = FacilityRow(
        id=7,
        code="NORTH",
        name="North",
        kind="institution",
        county="Ada",
        region="1",
        capacity=None,
        serves_women=True,
        address="1 Main St",
    )
    facility = Facility.from_row(row)
    assert (facility.pk, facility.kind.value, facility.capacity, facility.serves_women) == (
        7,
        "institution",
        None,
        True,
    )
    assert type(facility.kind).__name__ == "FacilityKind"


def _row(cls: type[FromRow], **values: object) -> tuple[Any, ...]:
    """A row with every column ``cls`` reads: None but for ``values``."""
    columns = {column: None for _, column, _ in plan_of(cls)} | values
    row: tuple[Any, ...] = namedtuple("Row", columns)(**columns)
    return row


def test_an_optional_enum_stays_none() -> None:
    period = SupervisionPeriod.from_row(_row(SupervisionPeriod, office_id=3, kind="parole", end_reason=None))
    assert (period.office_pk, period.kind.value, period.end_reason) == (3, "parole", None)
    ended = SupervisionPeriod.from_row(_row(SupervisionPeriod, kind="parole", end_reason="revoked"))
    assert ended.end_reason is SupervisionEnd.REVOKED


def test_a_type_with_its_own_from_row_keeps_it() -> None:
    assert "from_row" in vars(Person)
    assert not issubclass(Person, FromRow)


def test_every_table_type_reads_columns_its_table_has() -> None:
    """A declaration naming a column the table lacks fails here, not in a request."""
    # Columns the types' statements add to their table's (a referral's partner by name).
    extras = {"Referral": {"partner_name"}}
    checked = 0
    for type_name, model in TABLES.items():
        cls = _strawberry_type(type_name)
        if cls is None or not issubclass(cls, FromRow):
            continue
        columns = {c.name for c in model.__table__.columns} | extras.get(type_name, set())
        missing = {column for _, column, _ in plan_of(cls)} - columns
        assert not missing, (type_name, missing)
        checked += 1
    assert checked >= 15


def test_a_hearing_decision_becomes_its_enum() -> None:
    row = _row(ParoleHearing, id=4, hearing_type="initial", status="held", decision="granted")
    hearing = ParoleHearing.from_row(row)
    assert (hearing.pk, hearing.decision) == (4, HearingDecision.GRANTED)


def _strawberry_type(name: str) -> type[FromRow] | None:
    for cls in FromRow.__subclasses__():
        if cls.__strawberry_definition__.name == name:  # type: ignore[attr-defined]
            return cls
    return None
