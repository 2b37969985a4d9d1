"""The relational model of every domain. Importing this package registers all tables on ``Base.metadata``."""

from resolvers.models import grants, inquiries, ledger, partners, people, programs, research, victims
from resolvers.models.base import Base

__all__ = ["Base", "grants", "inquiries", "ledger", "partners", "people", "programs", "research", "victims"]
