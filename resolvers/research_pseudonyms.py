"""Per-agreement pseudonyms: a keyed hash of the person, under a key that belongs to one agreement.

``pseudonym = HMAC-SHA256(agreement key, "person:" + id)``, cut to 128 bits: the same person has
the same pseudonym in every record of one agreement, and unrelated ones under two agreements (their
keys are drawn independently). When the agreement ends its key is destroyed (set to NULL) and the
pseudonyms can no longer be computed by anyone, the department included.

Records are listed in an order keyed by the agreement too (an affine permutation of the person id
modulo a prime, computable in SQL on both stores), so that two agreements over one cohort do not
list it in the same order, and page cursors are encrypted with a key derived from the agreement's:
neither the id nor the order value can be read out of a cursor.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import BigInteger, ColumnElement, cast, literal

from resolvers.errors import InvalidInput

KEY_BYTES = 32
#: A Mersenne prime above every person id the store can hold (ids are 32-bit integers).
ORDER_MODULUS = 2**31 - 1


def new_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


def _derive(key: bytes, purpose: bytes) -> bytes:
    return hmac.new(key, b"hub.research." + purpose, hashlib.sha256).digest()


def pseudonym(key: bytes, person_id: int) -> str:
    return hmac.new(key, f"person:{person_id}".encode(), hashlib.sha256).hexdigest()[:32]


def order_key(key: bytes, person_id: Any) -> ColumnElement[int]:
    """The SQL expression ordering an agreement's records: ``(a * id + b) mod p``, a and b keyed."""
    derived = _derive(key, b"order")
    a = 1 + int.from_bytes(derived[:8], "big") % (ORDER_MODULUS - 1)
    b = int.from_bytes(derived[8:16], "big") % ORDER_MODULUS
    # 64-bit arithmetic: a * id reaches 2**62 (PostgreSQL would overflow a 32-bit integer).
    expression: ColumnElement[int] = (
        cast(person_id, BigInteger) * literal(a, BigInteger) + literal(b, BigInteger)
    ) % literal(ORDER_MODULUS, BigInteger)
    return expression


def _cursor_cipher(key: bytes) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(_derive(key, b"cursor")))


def encode_cursor(key: bytes, position: int) -> str:
    return _cursor_cipher(key).encrypt(str(position).encode()).decode()


def decode_cursor(key: bytes, cursor: str) -> int:
    try:
        return int(_cursor_cipher(key).decrypt(cursor.encode()))
    except (InvalidToken, ValueError):
        raise InvalidInput("after", "is not a cursor returned by this list") from None
