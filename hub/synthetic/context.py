"""What every generator of one seeding run shares: the clock, the key allocator, the pending rows
and the reference data (sites, programs, partners) written before the people."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from hub.synthetic.writer import Batch, Ids

if TYPE_CHECKING:
    from hub.synthetic.facilities import Sites
    from hub.synthetic.partners import PartnerKeys
    from hub.synthetic.programs import Catalog


@dataclass(slots=True)
class Seeding:
    as_of: date
    ids: Ids
    batch: Batch = field(default_factory=Batch)
    sites: Sites | None = None
    catalog: Catalog | None = None
    partners: PartnerKeys | None = None
    # Compact per-run state the later steps draw on (inquiries need people who are still here).
    current_people: list[int] = field(default_factory=list)
    # The first people still in the department's care are referred to the first reentry partner
    # under active consents, so that partner (the demo's) has data at any scale.
    forced_referrals: int = 3

    def take_batch(self) -> Batch:
        """The rows generated so far; generation goes on into a fresh batch."""
        batch, self.batch = self.batch, Batch()
        return batch

    @property
    def site(self) -> Sites:
        assert self.sites is not None, "facilities are generated first"
        return self.sites

    @property
    def programs(self) -> Catalog:
        assert self.catalog is not None, "the program catalog is generated before people"
        return self.catalog

    @property
    def partner(self) -> PartnerKeys:
        assert self.partners is not None, "partners are generated before people"
        return self.partners
