"""Consent is stated once, in the matrix: the row scopes of ``auth/scopes.py`` read the category a "C"
grant names from ``MATRIX``, so changing a cell changes the SQL condition and nothing else has to."""

from __future__ import annotations

import pytest
from sqlalchemy import ColumnElement

from auth.classes import FieldClass
from auth.policy import MATRIX, C, N, R
from auth.principal import Principal
from auth.scopes import row_scope
from resolvers.models.base import Base
from resolvers.models.custody import HealthNeed
from resolvers.models.partners import Audience
from resolvers.models.people import PersonAlias
from resolvers.models.programs import Enrollment
from resolvers.models.reentry import ConsentCategory

REENTRY = Principal(audience=Audience.REENTRY, partner_id=7)


def categories(condition: ColumnElement[bool]) -> set[str]:
    """The consent categories a condition checks (its bound parameters that name one)."""
    params = condition.compile().params.values()
    return {str(v) for v in params if isinstance(v, str) and v in set(ConsentCategory)}


def sql(principal: Principal, model: type[Base]) -> str:
    return str(row_scope(principal, model).compile())


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        (PersonAlias, {"identity"}),
        (Enrollment, {"programs"}),
        (HealthNeed, {"health", "substance_use"}),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_the_reentry_scopes_check_the_categories_the_matrix_names(
    model: type[Base], expected: set[str]
) -> None:
    assert categories(row_scope(REENTRY, model)) == expected


def test_changing_a_cell_of_the_matrix_changes_the_scope(monkeypatch: pytest.MonkeyPatch) -> None:
    row = MATRIX[FieldClass.PROGRAMS]
    monkeypatch.setitem(row, Audience.REENTRY, C(ConsentCategory.HEALTH))
    assert categories(row_scope(REENTRY, Enrollment)) == {"health"}
    # Readable without consent: still the partner's referred people, no consent condition.
    monkeypatch.setitem(row, Audience.REENTRY, R)
    assert categories(row_scope(REENTRY, Enrollment)) == set()
    assert "referrals" in sql(REENTRY, Enrollment)
    assert "consent" not in sql(REENTRY, Enrollment)
    monkeypatch.setitem(row, Audience.REENTRY, N)
    assert "consent" not in sql(REENTRY, Enrollment)
    assert "false" in sql(REENTRY, Enrollment).lower()
