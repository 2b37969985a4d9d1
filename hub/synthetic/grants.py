"""Federal awards with subawards, disbursements (never more than the award) and financial and
progress reports (some overdue), and fiscal notes on bills in every status."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from random import Random

from hub.synthetic.calendar import at, between, days
from hub.synthetic.context import Seeding
from hub.synthetic.partners import REENTRY, RESEARCH
from hub.synthetic.writer import Layout
from resolvers.fiscal_notes import note_reference

AWARDS = Layout(
    "federal_awards",
    (
        "id", "award_number", "agency", "assistance_listing", "title", "period_start", "period_end", "amount",
        "status", "created_at", "version",
    ),
)  # fmt: skip
SUBAWARDS = Layout(
    "subawards", ("id", "award_id", "recipient", "amount", "period_start", "period_end", "created_at")
)
DISBURSEMENTS = Layout(
    "disbursements",
    ("id", "award_id", "subaward_id", "kind", "paid_on", "amount", "payee", "purpose", "created_at"),
)
REPORTS = Layout(
    "award_reports",
    (
        "id",
        "award_id",
        "kind",
        "period_start",
        "period_end",
        "due_on",
        "submitted_on",
        "created_at",
        "version",
    ),
)
FISCAL_NOTES = Layout(
    "fiscal_notes",
    (
        "id", "reference", "bill_number", "title", "requested_by_partner_id", "requested_on", "due_on", "status",
        "cost_year1", "cost_year2", "cost_year3", "summary", "submitted_at", "created_at", "version",
    ),
)  # fmt: skip

# agency code, agency, assistance listing, title
_PROGRAMS = (
    ("BJA", "Bureau of Justice Assistance", "16.812", "Second Chance Act Reentry Program for Adults"),
    ("BJA", "Bureau of Justice Assistance", "16.593", "Residential Substance Abuse Treatment for State Prisoners"),
    ("OVC", "Office for Victims of Crime", "16.575", "Crime Victim Assistance"),
    ("SAMHSA", "Substance Abuse and Mental Health Services Administration", "93.243",
     "Substance Abuse and Mental Health Services Projects"),
    ("ETA", "Employment and Training Administration", "17.270", "Reentry Employment Opportunities"),
    ("OCTAE", "Office of Career, Technical, and Adult Education", "84.002", "Adult Education Basic Grants"),
    ("BJA", "Bureau of Justice Assistance", "16.735", "Prison Rape Elimination Act Program"),
    ("BJS", "Bureau of Justice Statistics", "16.550", "State Justice Statistics Program"),
)  # fmt: skip
DEPARTMENT = "Department of Corrections (synthetic)"
CENT = Decimal("0.01")

_BILLS = (
    "Modifies provisions relating to earned compliance credits",
    "Establishes a pilot program of reentry housing vouchers",
    "Requires body-worn cameras in correctional facilities",
    "Modifies provisions relating to medical parole",
    "Creates a fund for correctional officer retention pay",
    "Modifies provisions relating to victim notification",
    "Expands educational programs in correctional centers",
    "Modifies provisions relating to restitution collection",
)


def _money(value: float) -> Decimal:
    return Decimal(str(round(value, 2))).quantize(CENT)


def write_grants(ctx: Seeding, rng: Random) -> None:
    as_of = ctx.as_of
    recipients = [name for name, *_ in REENTRY] + [institution for _, institution in RESEARCH]
    count = 0
    forced = False
    for fiscal_year in range(as_of.year - 5, as_of.year + 1):
        for code, agency, listing, title in rng.sample(_PROGRAMS, 2):
            count += 1
            start = date(fiscal_year - 1, 10, 1)
            end = date(fiscal_year + 2, 9, 30)
            amount = Decimal(rng.randrange(300, 3000) * 1000)
            award_id = ctx.ids.take("federal_awards")
            status = "closed" if end < as_of else "active"
            number = f"SYN-{fiscal_year}-{code}-{count:04d}"
            ctx.batch.add(
                AWARDS,
                (award_id, number, agency, listing, title, start, end, amount, status, at(start, rng), 1),
            )
            subs = []
            for recipient in rng.sample(recipients, rng.randint(0, 3)):
                sub_id = ctx.ids.take("subawards")
                sub_amount = _money(float(amount) * rng.uniform(0.05, 0.2))
                ctx.batch.add(
                    SUBAWARDS, (sub_id, award_id, recipient, sub_amount, start, end, at(start, rng))
                )
                subs.append((sub_id, recipient, sub_amount))
            _disburse(ctx, rng, award_id, amount, start, end, subs)
            # The first active award always has an overdue report of each kind, for the grants unit's demo.
            force = status == "active" and not forced
            forced = forced or force
            _reports(ctx, rng, award_id, start, end, force_overdue=force)


def _disburse(
    ctx: Seeding,
    rng: Random,
    award_id: int,
    amount: Decimal,
    start: date,
    end: date,
    subs: list[tuple[int, str, Decimal]],
) -> None:
    """Monthly drawdowns and quarterly payments to subrecipients; the total never passes ``amount``."""
    as_of = ctx.as_of
    last = min(end, as_of)
    months = max(1, (end.year - start.year) * 12 + end.month - start.month + 1)
    # Drawdowns pace the award's own share (what the subawards do not take) to about 80% spent.
    monthly = float(amount - sum((sub for _, _, sub in subs), Decimal(0))) * 0.8 / months
    spent = Decimal("0.00")
    sub_paid = {sub_id: Decimal("0.00") for sub_id, _, _ in subs}
    month = 0
    day = start + days(rng.randint(10, 25))
    while day <= last:
        room = amount - spent
        part = min(room, _money(monthly * rng.uniform(0.5, 1.3)))
        if part > 0:
            spent += part
            ctx.batch.add(
                DISBURSEMENTS,
                (
                    ctx.ids.take("disbursements"), award_id, None, "drawdown", day, part, DEPARTMENT,
                    "Personnel and program costs", at(day, rng),
                ),
            )  # fmt: skip
        if month % 3 == 2:
            for sub_id, recipient, sub_amount in subs:
                share = min(sub_amount - sub_paid[sub_id], amount - spent, _money(float(sub_amount) / 12))
                if share > 0:
                    spent += share
                    sub_paid[sub_id] += share
                    ctx.batch.add(
                        DISBURSEMENTS,
                        (
                            ctx.ids.take("disbursements"), award_id, sub_id, "payment", day, share, recipient,
                            "Subaward reimbursement", at(day, rng),
                        ),
                    )  # fmt: skip
        month += 1
        day = date(day.year + (day.month // 12), day.month % 12 + 1, min(day.day, 28))


def _reports(
    ctx: Seeding, rng: Random, award_id: int, start: date, end: date, *, force_overdue: bool
) -> None:
    """Quarterly financial and semiannual progress reports, each due 30 days after its period."""
    as_of = ctx.as_of
    periods: list[tuple[str, date, date]] = []
    for kind, step in (("financial", 3), ("progress", 6)):
        first = start
        while first <= min(end, as_of):
            month = first.month - 1 + step
            following = date(first.year + month // 12, month % 12 + 1, 1)
            periods.append((kind, first, following - days(1)))
            first = following
    latest_past_due = {
        kind: max(
            (p for p in periods if p[0] == kind and p[2] + days(30) < as_of), default=None, key=lambda p: p[2]
        )
        for kind in ("financial", "progress")
    }
    for period in periods:
        kind, first, last = period
        due = last + days(30)
        submitted: date | None = None
        if due < as_of:
            overdue = (force_overdue and period == latest_past_due[kind]) or rng.random() < 0.06
            if not overdue:
                submitted = min(as_of, due - days(rng.randint(0, 12)))
                submitted = max(submitted, last + days(1))
        elif last < as_of and rng.random() < 0.3:
            submitted = between(rng, last + days(1), as_of)
        ctx.batch.add(
            REPORTS,
            (ctx.ids.take("award_reports"), award_id, kind, first, last, due, submitted, at(first, rng), 1),
        )


def write_fiscal_notes(ctx: Seeding, rng: Random) -> None:
    as_of = ctx.as_of
    statuses = ("requested", "in_progress", "submitted")
    legislative = ctx.partner.legislative
    for n in range(24):
        status = statuses[n] if n < 3 else rng.choices(statuses, weights=(25, 25, 50))[0]
        if n < 3:
            partner: int | None = legislative[0]
        else:
            partner = rng.choice(legislative) if rng.random() < 0.6 else None
        requested = as_of - days(rng.randint(1, 300) if status == "submitted" else rng.randint(0, 20))
        due = requested + days(rng.randint(5, 10))
        costs: list[Decimal | None] = [None, None, None]
        summary = None
        submitted_at = None
        if status == "submitted":
            base = rng.randrange(-2_000_000, 6_000_000, 1000)
            costs = [Decimal(base), Decimal(int(base * 1.03)), Decimal(int(base * 1.06))]
            summary = "Costs reflect staffing, contracted services and changes in the population held."
            submitted_at = at(between(rng, requested + days(1), min(as_of, due + days(3))), rng)
        elif status == "in_progress":
            summary = "Draft: population impact under review by the research unit."
        chamber = rng.choice(("HB", "SB"))
        # The reference follows the id, as a fiscal note requested through the hub gets it.
        note_id = ctx.ids.take("fiscal_notes")
        ctx.batch.add(
            FISCAL_NOTES,
            (
                note_id, note_reference(requested.year, note_id),
                f"{chamber} {rng.randrange(1, 2200)}", rng.choice(_BILLS), partner, requested, due, status,
                *costs, summary, submitted_at, at(requested, rng), 1,
            ),
        )  # fmt: skip
