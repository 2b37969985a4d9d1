"""Typed rows: every row a statement declares beside it (a table's columns plus a joined or computed
one, or a subset) names the statement's columns in order, and types each column of a table as that
table's generated row does (``resolvers/rows.py``); a row class given with the wrong model is refused."""

from __future__ import annotations

import typing
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Select, select

from auth.principal import Principal
from resolvers import (
    fiscal_notes,
    grants,
    inquiries_writes,
    ledger,
    partners,
    people,
    reentry,
    research,
    victims,
    victims_writes,
)
from resolvers.batching import table_select
from resolvers.models.base import Base
from resolvers.models.partners import Audience
from resolvers.models.people import Facility, Person
from resolvers.models.victims import Notification
from resolvers.rows import FacilityRow, InquiryRow, PersonRow

ADMIN = Principal(Audience.ADMIN)


def _select(*columns: Any) -> Select[Any]:
    return select(*columns)


#: What acknowledging a notification reads (``victims_writes._notification``).
ACK_STATE = _select(
    Notification.id,
    Notification.status,
    Notification.requires_ack,
    Notification.acknowledged_at,
    Notification.claimed_until,
)


def _generated(table: str) -> dict[str, Any]:
    """The column types of ``table``'s generated row."""
    from hub.commands.rows_table import tables

    (row,) = [name for name, t, _ in tables() if t.name == table]
    import resolvers.rows

    return typing.get_type_hints(getattr(resolvers.rows, row))


#: (a statement, the row its rows are built into, the extra columns' types)
DECLARED: list[tuple[str, Select[Any], type[tuple[Any, ...]], dict[str, Any]]] = [
    ("identity", _select(*people._IDENTITY_COLUMNS), people.IdentityRow, {}),
    (
        "identifiers",
        _select(
            *(
                Base.metadata.tables["person_identities"].c[k]
                for k in ("person_id", "ssn", "fbi_number", "state_id")
            )
        ),
        people.IdentifiersRow,
        {},
    ),
    ("referrals", reentry._referrals(), reentry.ReferralView, {"partner_name": str}),
    (
        "awards",
        grants.awards_statement(ADMIN),
        grants.AwardView,
        {"spent_amount": Decimal, "subawarded_amount": Decimal},
    ),
    (
        "notifications",
        victims._notifications(),
        victims.NotificationView,
        {"event_kind": str, "event_occurred_at": datetime},
    ),
    (
        "impact statements",
        victims._impact_statements(),
        victims.ImpactStatementView,
        {"hearing_scheduled_for": datetime | None},
    ),
    (
        "participations",
        victims._participations(),
        victims.ParticipationView,
        {"hearing_scheduled_for": datetime, "hearing_type": str, "hearing_status": str},
    ),
    (
        "restitution orders",
        victims.restitution_orders_statement(),
        victims.RestitutionOrderView,
        {"paid_amount": Decimal},
    ),
    ("fiscal notes", fiscal_notes._notes(), fiscal_notes.FiscalNoteView, {"requested_by_name": str | None}),
    ("agreements", research.agreements_statement(ADMIN), research.AgreementView, {"partner_name": str}),
    ("partners", _select(*partners.PARTNER_COLUMNS), partners.PartnerView, {}),
    ("clients", _select(*partners.CLIENT_COLUMNS), partners.ClientView, {}),
    ("operations", _select(*partners.OPERATION_COLUMNS), partners.OperationView, {}),
    (
        "ack state",
        ACK_STATE,
        victims_writes._AckState,
        {},
    ),
]


@pytest.mark.parametrize(("name", "statement", "row", "extra"), DECLARED, ids=[d[0] for d in DECLARED])
def test_a_declared_row_is_its_statement(
    name: str, statement: Select[Any], row: type[tuple[Any, ...]], extra: dict[str, Any]
) -> None:
    fields: tuple[str, ...] = getattr(row, "_fields")  # noqa: B009 - a NamedTuple's fields
    assert fields == tuple(statement.selected_columns.keys()), name
    declared = typing.get_type_hints(row)
    for key, column in statement.selected_columns.items():
        table = getattr(column, "table", None)
        if key in extra:
            assert declared[key] == extra[key], (name, key)
        else:
            assert table is not None, (name, key)
            assert key == column.key, (name, key)
            assert declared[key] == _generated(table.name)[key], (name, key)


def test_the_ledger_rows_are_the_events_columns() -> None:
    event = _generated("audit_events")
    sighting = typing.get_type_hints(ledger.SightingView)
    assert {k: v for k, v in sighting.items() if k not in ("id", "field_classes", "event_id")} == {
        k: v for k, v in event.items() if k != "id"
    }
    assert list(ledger.SightingView._fields[3:]) == [c.key for c in ledger.EVENT_COLUMNS[1:]]
    assert [c.key for c in ledger.EVENT_COLUMNS] == list(_generated("audit_events"))
    disclosure = _generated("audit_disclosures")
    assert typing.get_type_hints(ledger.DisclosureView) == {
        k: disclosure[k] for k in ledger.DisclosureView._fields
    }


def test_an_inquiry_as_submitted_is_its_row_and_its_visibility() -> None:
    assert typing.get_type_hints(inquiries_writes.Submitted) == {"inquiry": InquiryRow, "visible": bool}


def test_a_row_class_of_another_table_is_refused() -> None:
    assert table_select(Person, PersonRow) is not None
    with pytest.raises(TypeError, match="is not a row of people"):
        table_select(Person, FacilityRow)
    assert table_select(Facility, FacilityRow) is not None
