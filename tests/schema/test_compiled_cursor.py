"""The compiled reads' cursors, written in SQL, are the resolvers' cursors byte for byte (and so
decode to the same keyset values), on the store the suite runs on."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import Date, Integer, String, literal, select
from sqlalchemy.ext.asyncio import AsyncConnection

from resolvers.pagination import decode_cursor, encode_cursor
from schema.compiled.compiler import Dialect

VALUES: list[list[Any]] = [
    [date(2026, 1, 31), 7],
    ["Smith", "Ann", 12],
    ["Núñez", 'O"Brien \\ back', 3],  # beyond ASCII, a quote and a backslash
    ["Ünal-Østergård 王", "", 2_000_000_000],
    ["x" * 120, date(1999, 12, 1), 1],  # long enough for PostgreSQL's base64 line breaks
]


def _literal(value: Any) -> Any:
    kind = Date if isinstance(value, date) else Integer if isinstance(value, int) else String
    return literal(value, kind)


@pytest.mark.parametrize("values", VALUES, ids=range(len(VALUES)))
async def test_sql_cursors_are_the_resolvers_cursors(connection: AsyncConnection, values: list[Any]) -> None:
    dialect = Dialect(connection.dialect.name == "postgresql")
    cursor = await connection.scalar(select(dialect.cursor([_literal(v) for v in values])))
    assert cursor == encode_cursor(values)
    assert decode_cursor(cursor, len(values)) == values
