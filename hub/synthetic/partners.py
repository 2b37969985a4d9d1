"""Partners: legislative offices, reentry partners, research teams, and one front-end per
department unit. Within each audience the first partner (lowest key) is the one the demo uses, so
the generators make sure it has data."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from hub.synthetic.context import Seeding
from hub.synthetic.writer import Layout

PARTNERS = Layout(
    "partners",
    ("id", "name", "audience", "contact_email", "district", "service_types", "active", "created_at"),
)

LEGISLATIVE = (
    ("Office of Senator Marigold Quillfeather (District 7)", "Senate District 7"),
    ("Office of Representative Thaddeus Brindlecombe (District 112)", "House District 112"),
    ("Office of Senator Opal Nettlewick (District 19)", "Senate District 19"),
    ("Office of Representative Silas Yarrowdale (District 48)", "House District 48"),
    ("Office of Representative Hazel Kettleworth (District 71)", "House District 71"),
    ("Office of Senator Rufus Thistlemere (District 3)", "Senate District 3"),
    ("Office of Representative Cora Pebbleshaw (District 130)", "House District 130"),
    ("Office of Representative Lamar Wrenfield (District 22)", "House District 22"),
)

# name, counties served, service types (the first is the main one)
REENTRY = (
    ("Harbor Light Housing Collaborative", "Alderbrook County, Eastvale County", "housing,benefits"),
    ("Second Shift Employment Partners", "Statewide", "employment,transportation"),
    ("New Dawn Recovery Services", "Riverbend County, Northgate County", "treatment,mentoring"),
    ("Open Door Mentoring Network", "Statewide", "mentoring,benefits"),
    ("Keystone Transitional Homes", "Greystone County, Coldwater County", "housing"),
    ("Bridgeway Workforce Center", "Maplewood County, Juniper County", "employment"),
    ("Clear Path Treatment Alliance", "Statewide", "treatment"),
    ("Wheels to Work Cooperative", "Foxrun County, Harrow County", "transportation,employment"),
)

RESEARCH = (
    ("Midstate University Corrections Research Lab", "Midstate University"),
    ("Prairie Policy Institute Reentry Study Team", "Prairie Policy Institute"),
    ("Northfield College Criminology Group", "Northfield College"),
    ("Riverside School of Public Health Justice Unit", "Riverside School of Public Health"),
)

UNITS = (
    ("constituent_services", "Constituent Services front-end"),
    ("victim_services", "Victim Services front-end"),
    ("programs", "Programs front-end"),
    ("budget_grants", "Budget and Grants front-end"),
    ("research_unit", "Research Unit front-end"),
    ("admin", "Administration front-end"),
)


@dataclass(slots=True)
class PartnerKeys:
    legislative: list[int] = field(default_factory=list)
    reentry: list[tuple[int, str, tuple[str, ...]]] = field(default_factory=list)  # id, name, services
    research: list[tuple[int, str, str]] = field(default_factory=list)  # id, name, institution

    def reentry_for(self, service: str) -> list[tuple[int, str, tuple[str, ...]]]:
        return [p for p in self.reentry if service in p[2]]


def _slug(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())[:24]


def build_partners(ctx: Seeding) -> PartnerKeys:
    keys = PartnerKeys()
    created = datetime(ctx.as_of.year - 3, 1, 15, 15, 0, tzinfo=UTC)

    def add(name: str, audience: str, district: str | None, services: str | None, domain: str) -> int:
        partner_id = ctx.ids.take("partners")
        email = f"hub-contact@{_slug(name)}.{domain}"
        ctx.batch.add(PARTNERS, (partner_id, name, audience, email, district, services, True, created))
        return partner_id

    for name, district in LEGISLATIVE:
        keys.legislative.append(add(name, "legislative", district, None, "example.gov"))
    for name, counties, services in REENTRY:
        keys.reentry.append(
            (add(name, "reentry", counties, services, "example.org"), name, tuple(services.split(",")))
        )
    for name, institution in RESEARCH:
        keys.research.append((add(name, "researcher", None, None, "example.edu"), name, institution))
    for audience, name in UNITS:
        add(name, audience, None, None, "example.gov")
    return keys
