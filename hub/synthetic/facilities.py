"""The department's sites: 21 institutions, a probation and parole office in every county and a
few community release centers. Every name is invented."""

from __future__ import annotations

from dataclasses import dataclass, field
from random import Random

from hub.synthetic.names import COUNTIES, street_address
from hub.synthetic.writer import Batch, Ids, Layout

FACILITIES = Layout(
    "facilities", ("id", "code", "name", "kind", "county", "region", "capacity", "serves_women", "address")
)

REGIONS = ("Northwest", "Northeast", "Central", "Southwest", "Southeast", "Eastern", "Western")

# (code, name, county index, serves women, role): role "reception" takes every new admission.
_INSTITUTIONS = (
    ("HCRDC", "Harrow Creek Reception and Diagnostic Center", 13, False, "reception"),
    ("CRCC", "Cedar Ridge Correctional Center", 3, False, ""),
    ("BWCC", "Bramblewood Correctional Center", 2, False, ""),
    ("IWMS", "Ironwood Maximum Security Center", 15, False, ""),
    ("KPCC", "Kestrel Point Correctional Center", 17, False, ""),
    ("SVCC", "Stillwater Valley Correctional Center", 29, False, ""),
    ("TACC", "Thornapple Correctional Center", 30, False, ""),
    ("GSCC", "Greystone Correctional Center", 12, False, ""),
    ("FRCC", "Foxrun Correctional Center", 10, False, ""),
    ("LHCC", "Larkspur Hills Correctional Center", 18, False, ""),
    ("NGCC", "Northgate Correctional Center", 22, False, ""),
    ("SLTC", "Saltlick Treatment Center", 28, False, ""),
    ("OHCC", "Oakhurst Correctional Center", 23, False, ""),
    ("RFCC", "Redfern Correctional Center", 26, False, ""),
    ("PCCC", "Pinecrest Correctional Center", 24, False, ""),
    ("YBCC", "Yellowbank Correctional Center", 35, False, ""),
    ("WMCC", "Westmarch Correctional Center", 33, False, ""),
    ("UPCC", "Upland Correctional Center", 31, False, ""),
    ("WWRDC", "Willowmere Women's Reception and Diagnostic Center", 34, True, "reception"),
    ("JVCW", "Juniper Vale Correctional Center for Women", 16, True, ""),
    ("MWTC", "Maplewood Women's Treatment Center", 20, True, ""),
)

_RELEASE_CENTERS = (
    ("EVCRC", "Eastvale Community Release Center", 7, False),
    ("NGCRC", "Northgate Community Release Center", 22, False),
    ("TRTC", "Two Rivers Transition Center", 27, True),
)

#: Counties large enough for a second probation and parole office.
_SECOND_OFFICE = (0, 3, 7, 12, 20, 22, 26, 27, 33)


@dataclass(slots=True)
class Sites:
    """The facility keys the people generators choose from."""

    reception: dict[str, int] = field(default_factory=dict)  # sex -> reception center
    institutions: dict[str, list[int]] = field(default_factory=dict)  # sex -> institutions
    release_centers: dict[str, list[int]] = field(default_factory=dict)  # sex -> release centers
    offices_by_county: dict[str, list[int]] = field(default_factory=dict)
    county_of: dict[int, str] = field(default_factory=dict)
    serves_women: set[int] = field(default_factory=set)
    all_institutions: list[int] = field(default_factory=list)

    def office_for(self, county: str, rng: Random) -> int:
        return rng.choice(self.offices_by_county[county])


def _region(county_index: int) -> str:
    return REGIONS[county_index % len(REGIONS)]


def build_sites(rng: Random, ids: Ids, batch: Batch) -> Sites:
    sites = Sites(
        institutions={"M": [], "F": []},
        release_centers={"M": [], "F": []},
    )

    def add(code: str, name: str, kind: str, county_index: int, capacity: int | None, women: bool) -> int:
        county_name, seat, _ = COUNTIES[county_index]
        county = f"{county_name} County"
        fid = ids.take("facilities")
        address = f"{street_address(rng)}, {seat}"
        batch.add(
            FACILITIES, (fid, code, name, kind, county, _region(county_index), capacity, women, address)
        )
        sites.county_of[fid] = county
        if women:
            sites.serves_women.add(fid)
        return fid

    for code, name, county_index, women, role in _INSTITUTIONS:
        fid = add(code, name, "institution", county_index, rng.randrange(600, 3200, 50), women)
        sex = "F" if women else "M"
        sites.all_institutions.append(fid)
        if role == "reception":
            sites.reception[sex] = fid
        sites.institutions[sex].append(fid)

    district = 0
    for county_index, (county_name, seat, _) in enumerate(COUNTIES):
        for second in (False, True):
            if second and county_index not in _SECOND_OFFICE:
                continue
            district += 1
            suffix = " North" if second else ""
            name = f"Probation and Parole District {district} ({seat}{suffix})"
            # Offices supervise everyone in their district, women included.
            fid = add(f"PP{district:02d}", name, "probation_parole_office", county_index, None, True)
            sites.offices_by_county.setdefault(f"{county_name} County", []).append(fid)

    for code, name, county_index, women in _RELEASE_CENTERS:
        fid = add(code, name, "community_release_center", county_index, rng.randrange(150, 500, 10), women)
        sites.release_centers["M"].append(fid)
        if women:
            sites.release_centers["F"].append(fid)
    return sites
