"""What every resolver receives as ``info.context``: built by the hub once per request."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from strawberry.types import Info as _Info

from auth.keys import KeyPolicy
from auth.principal import Principal
from resolvers.models.partners import Audience
from resolvers.session import RequestDb

if TYPE_CHECKING:
    from schema.loaders import Loaders


@dataclass(slots=True)
class Context:
    db: RequestDb
    principal: Principal
    request_id: str
    now: datetime
    loaders: Loaders
    #: This app's ``HUB_SECRET_PEPPER`` (None: the store's own), for a client secret a mutation makes.
    pepper: bytes | None = None
    #: This app's signing-key policy (``HUB_SIGNING_ALG``, ``HUB_KEY_ROTATE_DAYS``, ...), for the key
    #: queries and mutations.
    key_policy: KeyPolicy = field(default_factory=KeyPolicy)
    #: The newest migration of this code (``hubHealth`` compares the store's with it); None: unknown.
    migration_head: str | None = None
    #: Why an audience's schema would refuse a document (None: it would run it), for registering a
    #: client's persisted operation; None: no document can be checked, so none is registered.
    document_problem: Callable[[Audience, str], str | None] | None = None
    #: Person and victim records the response disclosed, by id, with the field classes shown.
    disclosed: dict[tuple[str, int], set[str]] = field(default_factory=dict)
    #: The authority a disclosure rests on, where one applies beyond the audience itself
    #: (e.g. {"consent": [ids]} or {"research_agreement": id}); the ledger records it.
    authority: dict[str, object] = field(default_factory=dict)


Info = _Info[Context, None]
