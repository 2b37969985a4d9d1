"""The key condition of a batch statement: ``column = ANY(:keys)`` on PostgreSQL, ``IN`` elsewhere.

``IN (:k1, :k2, …)`` is a different statement text for every batch size, so PostgreSQL parses and
plans it again each time (and asyncpg prepares it again); ``= ANY(:keys)`` with one array parameter
is one statement for every batch, planned once per connection. SQLite has no arrays and keeps ``IN``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, any_, literal
from sqlalchemy.dialects.postgresql import ARRAY

from resolvers.session import RequestDb


def key_in(db: RequestDb, column: Any, keys: Sequence[Any]) -> ColumnElement[bool]:
    """``column`` is one of ``keys``, spelled for the request's database."""
    if db.session.get_bind().dialect.name == "postgresql":
        return column == any_(literal(list(keys), ARRAY(column.type)))  # type: ignore[no-any-return]
    return column.in_(keys)  # type: ignore[no-any-return]
