"""DataLoaders, built fresh for every request (a shared cache would leak rows between partners).

Each field has the name of the batch function it wraps: ``<things>_by_<key>``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from strawberry.dataloader import DataLoader

from auth.principal import Principal
from resolvers import inquiries, people
from resolvers.session import RequestDb

Batch = Callable[[RequestDb, Principal, Sequence[Any]], Awaitable[Sequence[Any]]]


def _loader(db: RequestDb, principal: Principal, batch: Batch) -> DataLoader[Any, Any]:
    async def load(keys: list[Any]) -> Sequence[Any]:
        return await batch(db, principal, keys)

    return DataLoader(load_fn=load)


@dataclass(slots=True)
class Loaders:
    people_by_id: DataLoader[int, Any]
    facilities_by_id: DataLoader[int, Any]
    identities_by_person_id: DataLoader[int, Any]
    inquiries_by_id: DataLoader[int, Any]

    @classmethod
    def build(cls, db: RequestDb, principal: Principal) -> Loaders:
        return cls(
            people_by_id=_loader(db, principal, people.people_by_id),
            facilities_by_id=_loader(db, principal, people.facilities_by_id),
            identities_by_person_id=_loader(db, principal, people.identities_by_person_id),
            inquiries_by_id=_loader(db, principal, inquiries.inquiries_by_id),
        )
