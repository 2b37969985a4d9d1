"""Opaque global ids: ``base64url("Type:pk")``; a caller never builds or parses them."""

from __future__ import annotations

import base64
import binascii


def to_global_id(type_name: str, pk: int) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{pk}".encode()).decode().rstrip("=")


#: The key of an id no row can have. Keys start at 1, so a lookup by it finds nothing.
NO_ROW = -1


def from_global_id(type_name: str, global_id: str, field: str = "id") -> int:
    """The primary key inside ``global_id``. A malformed id, or one of another type, is ``NO_ROW``:
    it answers exactly as a well-formed id that was never issued (null, an empty list, NOT_FOUND from
    a write), so the answer does not tell a caller which ids are well-formed."""
    try:
        raw = base64.urlsafe_b64decode((global_id + "=" * (-len(global_id) % 4)).encode()).decode()
        kind, _, pk = raw.partition(":")
        if kind != type_name or not pk.isdigit() or len(pk) > 18:
            raise ValueError
        return int(pk)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return NO_ROW
