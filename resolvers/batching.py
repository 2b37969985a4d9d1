"""Shaping one batch statement's rows into the list a DataLoader expects, aligned with its keys."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Sequence
from typing import Any

from sqlalchemy import Row


def one_per_key(rows: Sequence[Row[Any]], key: str, keys: Sequence[Hashable]) -> list[Row[Any] | None]:
    """The row whose ``key`` column equals each key, or None when there is none you may see."""
    found = {getattr(row, key): row for row in rows}
    return [found.get(k) for k in keys]


def many_per_key(rows: Sequence[Row[Any]], key: str, keys: Sequence[Hashable]) -> list[list[Row[Any]]]:
    """The rows (in statement order) whose ``key`` column equals each key; an empty list for none."""
    groups: dict[Hashable, list[Row[Any]]] = defaultdict(list)
    for row in rows:
        groups[getattr(row, key)].append(row)
    return [groups.get(k, []) for k in keys]
