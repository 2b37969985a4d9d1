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


def upgrade() -> None:
    with op.batch_alter_table("victims", schema=None) as batch:
        batch.add_column(sa.Column("language", sa.String(length=2), server_default="en", nullable=False))
        batch.create_check_constraint(op.f("ck_victims_language_valid"), "language IN ('en', 'es')")


def downgrade() -> None:
    with op.batch_alter_table("victims", schema=None) as batch:
        batch.drop_constraint(op.f("ck_victims_language_valid"), type_="check")
        batch.drop_column("language")
