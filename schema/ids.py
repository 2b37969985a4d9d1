"""Opaque global ids: ``base64url("Type:pk")``; a caller never builds or parses them."""

from __future__ import annotations

import base64
import binascii

from resolvers.errors import NotFound


def to_global_id(type_name: str, pk: int) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{pk}".encode()).decode().rstrip("=")


def from_global_id(type_name: str, global_id: str, field: str = "id") -> int:
    """The primary key inside ``global_id``; a malformed id or one of another type is not found."""
    try:
        raw = base64.urlsafe_b64decode((global_id + "=" * (-len(global_id) % 4)).encode()).decode()
        kind, _, pk = raw.partition(":")
        if kind != type_name or not pk.isdigit() or len(pk) > 18:
            raise ValueError
        return int(pk)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise NotFound(type_name, field) from None
