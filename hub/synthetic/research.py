"""Research agreements in every status, and the extracts released under them.

The first research team holds an approved agreement that is in force on the as-of date (the demo
and the university scenario use it): 2018-2020 admissions, record tier with k = 11, and a pseudonym
key drawn from the seeded generator so that pseudonyms are stable between runs. The second team's
approved agreement is aggregate tier (statistics only).
"""

from __future__ import annotations

from random import Random

from hub.synthetic import names
from hub.synthetic.calendar import at, days
from hub.synthetic.context import Seeding
from hub.synthetic.writer import Layout

AGREEMENTS = Layout(
    "research_agreements",
    (
        "id", "reference", "partner_id", "title", "investigator", "institution", "irb_number", "irb_expires_on",
        "purpose", "requested_fields", "requested_cohort", "granted_fields", "granted_cohort", "starts_on",
        "ends_on", "small_cell_threshold", "tier", "status", "pseudonym_key", "decided_at", "decided_by",
        "decision_note", "created_at", "version",
    ),
)  # fmt: skip
EXTRACTS = Layout(
    "research_extracts", ("id", "agreement_id", "fields", "row_count", "requested_by", "created_at")
)

#: The research root's field vocabulary (``resolvers/research_terms.py``).
FIELDS = (
    "birth_year", "sex", "race", "offense_class", "admission_month", "release_month", "facility_type",
    "programs_completed", "returned_1y", "returned_3y",
)  # fmt: skip

#: The plan's agreements released as statistics only (the rest are record tier, k = 11).
AGGREGATE_ONLY = frozenset({5})

# (partner index, status, title, cohort years)
_PLAN = (
    (0, "approved", "Impact of Crime on Victims Classes and three-year return to custody", (2018, 2020)),
    (1, "submitted", "Employment after release: a cohort study", (2019, 2022)),
    (2, "rejected", "Visiting and conduct in custody", (2015, 2024)),
    (3, "revoked", "Substance-use treatment completion and reentry outcomes", (2017, 2021)),
    (0, "expired", "Education in custody and supervision outcomes", (2012, 2016)),
    (1, "approved", "Gender-responsive programs and outcomes for women", (2016, 2021)),
    (2, "submitted", "Parole hearing outcomes by offense category", (2014, 2023)),
    (3, "expired", "Reparative activities and conduct", (2013, 2017)),
)
APPROVER = "Research Unit review board (synthetic)"


def write_research(ctx: Seeding, rng: Random) -> None:
    as_of = ctx.as_of
    teams = ctx.partner.research
    for n, (team, status, title, (first_year, last_year)) in enumerate(_PLAN):
        partner_id, _, institution = teams[team]
        agreement_id = ctx.ids.take("research_agreements")
        requested = sorted(rng.sample(FIELDS, rng.randint(4, 8)))
        if n == 0:
            requested = sorted(
                {*requested, "sex", "programs_completed", "returned_1y", "returned_3y", "admission_month"}
            )
        cohort = {"admitted_from": f"{first_year}-01-01", "admitted_to": f"{last_year}-12-31"}
        submitted = as_of - days(rng.randint(400, 900) if status in ("expired",) else rng.randint(60, 300))
        if status == "submitted":
            submitted = as_of - days(rng.randint(5, 40))
        granted_fields = granted_cohort = starts = ends = key = decided_at = decided_by = note = None
        if status != "submitted":
            decided_day = submitted + days(rng.randint(14, 45))
            decided_at, decided_by = at(decided_day, rng), APPROVER
            if status == "rejected":
                note = "The request exceeds the minimum data needed for the stated purpose."
            else:
                granted_fields = [f for f in requested if f != "health_needs" or status == "approved"]
                granted_cohort = dict(cohort)
                starts = decided_day + days(7)
                ends = starts + days(730)
                if status == "expired":
                    ends = min(ends, as_of - days(rng.randint(30, 200)))
                    note = "Agreement ended; pseudonym key destroyed."
                elif status == "revoked":
                    note = "Revoked after a data-handling incident; pseudonym key destroyed."
                else:
                    key = rng.randbytes(32)
                    note = (
                        "Approved for statistics only, small cells suppressed at 11."
                        if n in AGGREGATE_ONLY
                        else "Approved for k-anonymous records with k = 11."
                    )
        investigator = f"Dr. {names.full_name(rng)}"
        ctx.batch.add(
            AGREEMENTS,
            (
                agreement_id, f"RA-{submitted.year}-{agreement_id:04d}", partner_id, title, investigator,
                institution, f"IRB-{rng.randrange(10**5):05d}", as_of + days(rng.randint(200, 900)),
                f"{title}. Findings are reported only as aggregates.", requested, cohort, granted_fields,
                granted_cohort, starts, ends, 11, "aggregate" if n in AGGREGATE_ONLY else "record", status, key, decided_at, decided_by, note,
                at(submitted, rng), 1,
            ),
        )  # fmt: skip
        if status in ("approved", "expired") and starts is not None and starts <= as_of:
            for _ in range(rng.randint(1, 3)):
                fields = sorted(
                    rng.sample(granted_fields or requested, min(5, len(granted_fields or requested)))
                )
                day = starts + days(rng.randint(0, max(0, (min(as_of, ends or as_of) - starts).days)))
                ctx.batch.add(
                    EXTRACTS,
                    (
                        ctx.ids.take("research_extracts"),
                        agreement_id,
                        fields,
                        rng.randint(200, 40_000),
                        investigator,
                        at(day, rng),
                    ),
                )
