"""The relational model of every domain. Importing this package registers all tables on ``Base.metadata``."""

from resolvers.models import (
    custody,
    fiscal_notes,
    grants,
    inquiries,
    ledger,
    partners,
    people,
    programs,
    reentry,
    research,
    signing_keys,
    victims,
)
from resolvers.models.base import Base

__all__ = [
    "Base",
    "custody",
    "fiscal_notes",
    "grants",
    "inquiries",
    "ledger",
    "partners",
    "people",
    "programs",
    "reentry",
    "research",
    "signing_keys",
    "victims",
]
