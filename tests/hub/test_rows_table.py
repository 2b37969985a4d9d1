"""The typed rows are the models' own declarations: ``resolvers/rows.py`` is generated from them
(``hub schema --rows``), current, and has one row per table with its columns in table order."""

from __future__ import annotations

import typing
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from hub.cli import main
from hub.commands.rows_table import ROWS_MODULE, python_type, render, tables
from hub.errors import ConfigError
from resolvers import rows
from resolvers.models.base import Base


def test_the_rows_module_is_generated_from_the_models() -> None:
    assert ROWS_MODULE.read_text(encoding="utf-8") == render(), (
        "resolvers/rows.py differs from the models; run `hub schema --rows`, review the difference and "
        "commit it"
    )


def test_every_table_has_a_row_with_its_columns_in_table_order() -> None:
    assert {table.name for _, table, _ in tables()} == set(Base.metadata.tables)
    for name, table, _ in tables():
        row = getattr(rows, name)
        assert row._fields == tuple(table.c.keys()), name


def test_a_nullable_column_is_optional_and_a_required_one_is_not() -> None:
    hints = typing.get_type_hints(rows.PersonRow)
    assert hints["id"] is int
    assert hints["discharged_on"] == date | None
    assert hints["middle_name"] == str | None
    assert hints["first_name"] is str


class _Odd(Base):
    __tablename__ = "_rows_table_odd"
    __abstract__ = True  # never registered: only its annotations are read

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    label: Mapped[str | None] = mapped_column(String(10))
    untyped = mapped_column(String(10), nullable=False)


def test_the_type_is_the_annotation_else_the_column_type() -> None:
    hints = {"id": Mapped[int], "label": Mapped[str | None]}
    assert python_type(_Odd, "label", hints, nullable=True) == "str | None"
    # A column's nullability decides, whatever the annotation says.
    assert python_type(_Odd, "label", hints, nullable=False) == "str"
    assert python_type(_Odd, "id", hints, nullable=False) == "int"


def test_an_unknown_type_stops_the_generation() -> None:
    with pytest.raises(ConfigError, match="no name for the column type"):
        python_type(_Odd, "x", {"x": Mapped[complex]}, nullable=False)


def test_hub_schema_rows_writes_the_module(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "rows.py"
    assert main(["schema", "--rows", "--write", str(target)]) == 0
    assert target.read_text(encoding="utf-8") == render()
    assert "wrote the typed rows" in capsys.readouterr().out
