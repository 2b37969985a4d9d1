"""A registrant's language: notices are written from templates in that language.

Revision ID: 0009_lang
Revises: 0008_http

- ``victims.language``: an ISO 639-1 code, one of the languages with a template file
  (``hub/delivery/templates/<code>.toml``): ``en`` or ``es``. Registrants on file before this
  migration are English (the only wording there was).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_lang"
down_revision: str | None = "0008_http"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


CHECK = "language IN ('en', 'es')"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # A plain ADD COLUMN (SQLite accepts a column CHECK there): a batch copy of the table would
        # drop ``victims``, which registrations and restitution orders reference.
        op.execute(
            "ALTER TABLE victims ADD COLUMN language VARCHAR(2) DEFAULT 'en' NOT NULL "
            f"CONSTRAINT ck_victims_language_valid CHECK ({CHECK})"
        )
        return
    op.add_column("victims", sa.Column("language", sa.String(length=2), server_default="en", nullable=False))
    op.create_check_constraint(op.f("ck_victims_language_valid"), "victims", CHECK)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # The column's own CHECK goes with it.
        op.execute("ALTER TABLE victims DROP COLUMN language")
        return
    op.drop_constraint(op.f("ck_victims_language_valid"), "victims", type_="check")
    op.drop_column("victims", "language")
