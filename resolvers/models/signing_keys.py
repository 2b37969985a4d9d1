"""The hub's token signing keys: each signs until it is retired and verifies until it expires."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from resolvers.models.base import Base, TimestampMixin


class SigningKey(TimestampMixin, Base):
    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    alg: Mapped[str] = mapped_column(String(16))
    private_pem: Mapped[bytes] = mapped_column(LargeBinary)
    public_jwk: Mapped[str] = mapped_column(Text)
    # Signing stops at retired_at; verification stops at expires_at.
    retired_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
