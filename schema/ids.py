"""Opaque global ids: ``base64url("Type:pk")``; a caller never builds or parses them."""

from __future__ import annotations

import base64
import binascii

#: Every primary key the hub hands out fits a 32-bit signed integer column (PostgreSQL ``integer``).
MAX_KEY = 2**31 - 1
#: The key of a well-formed id that no row can have (zero, or past ``MAX_KEY``). Keys start at 1, so
#: no row has it: every read finds nothing and every write answers NOT_FOUND, exactly as for an id that was never
#: issued, and no statement ever carries a key the column cannot hold (PostgreSQL refused those with
#: an internal error where SQLite found nothing).
NO_ROW = -1  # truthy, unlike 0: callers test optional keys with ``if key``


def to_global_id(type_name: str, pk: int) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{pk}".encode()).decode().rstrip("=")


def key_of(type_name: str, global_id: str) -> int | None:
    """The primary key inside ``global_id`` (``NO_ROW`` when no row can have it), or None when it is
    not a well-formed id of ``type_name``."""
    try:
        raw = base64.urlsafe_b64decode((global_id + "=" * (-len(global_id) % 4)).encode()).decode()
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    kind, _, pk = raw.partition(":")
    # ASCII digits only: str.isdigit() also accepts "١٢٣" and "²", which int() reads or refuses.
    if kind != type_name or not pk.isascii() or not pk.isdigit():
        return None
    if len(pk) > len(str(MAX_KEY)):
        return NO_ROW
    key = int(pk)
    return key if 1 <= key <= MAX_KEY else NO_ROW


def from_global_id(type_name: str, global_id: str, field: str = "id") -> int:
    """The primary key inside ``global_id``. A malformed id, one of another type, or one whose key no
    row can have is ``NO_ROW``: it answers exactly as a well-formed id that was never issued (null, an
    empty list, NOT_FOUND from a write), so the answer does not tell a caller which ids are
    well-formed."""
    key = key_of(type_name, global_id)
    return NO_ROW if key is None else key
