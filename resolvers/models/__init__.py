"""The relational model of every domain. Importing this package registers all tables on ``Base.metadata``."""

from resolvers.models import audit, grants, inquiries, partners, people, programs, research, victims
from resolvers.models.base import Base

__all__ = ["Base", "audit", "grants", "inquiries", "partners", "people", "programs", "research", "victims"]
