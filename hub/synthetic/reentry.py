"""Referrals of people near release (or newly released) to reentry partners, the release-of-
information consents that go with them, and the services the partners delivered."""

from __future__ import annotations

from datetime import date
from random import Random
from typing import TYPE_CHECKING

from hub.synthetic.calendar import at, between, days
from hub.synthetic.context import Seeding
from hub.synthetic.writer import Layout

if TYPE_CHECKING:
    from hub.synthetic.people import Life

REFERRALS = Layout(
    "referrals",
    (
        "id", "person_id", "partner_id", "service_type", "referred_on", "status", "notes", "closed_on",
        "closure_reason", "created_at", "version",
    ),
)  # fmt: skip
CONSENTS = Layout(
    "consents",
    (
        "id", "person_id", "partner_id", "purpose", "signed_on", "expires_on", "revoked_on",
        "revocation_reason", "created_at", "version",
    ),
)  # fmt: skip
CONSENT_GRANTS = Layout("consent_grants", ("consent_id", "category"))
DELIVERIES = Layout(
    "service_deliveries",
    (
        "id", "referral_id", "partner_id", "person_id", "service_type", "delivered_on", "description",
        "outcome", "recorded_at", "created_at",
    ),
)  # fmt: skip

SERVICES = ("housing", "employment", "treatment", "mentoring", "transportation", "benefits")
_SERVICE_WEIGHTS = (30, 30, 15, 10, 8, 7)

DELIVERED = {
    "housing": ("Transitional housing bed reserved", "Rental deposit assistance", "Housing search appointment",
                "Placement in a sober living residence"),
    "employment": ("Job readiness workshop", "Interview with an employer partner", "Hired as a warehouse associate",
                   "Resume preparation session"),
    "treatment": ("Intake assessment", "Outpatient counselling session", "Peer recovery support meeting"),
    "mentoring": ("Mentor matched", "Weekly mentoring meeting", "Goal-setting session"),
    "transportation": ("Bus pass issued", "Ride to a supervision appointment", "Ride to a job interview"),
    "benefits": ("Health coverage application filed", "Food assistance application", "Birth certificate requested"),
}  # fmt: skip
OUTCOMES = ("completed", "attended", "scheduled follow-up", "did not attend")
CLOSURES = ("Services completed", "Person moved out of the service area", "Person declined further services",
            "Returned to custody", "Goals met")  # fmt: skip
REVOCATIONS = ("Person withdrew consent in writing", "Person asked to end the referral")


def write_referrals(ctx: Seeding, rng: Random, life: Life) -> None:
    last = life.path.stays[-1]
    as_of = ctx.as_of
    forced = ctx.forced_referrals > 0 and life.status in ("incarcerated", "supervised") and last.end is None
    kind = ""
    if last.custody and last.end is None and life.status == "incarcerated":
        near = last.projected is not None and as_of <= last.projected <= as_of + days(180)
        if near and rng.random() < 0.45:
            kind = "near_release"
    elif not last.custody and last.end is None and (as_of - last.start).days <= 365 and rng.random() < 0.25:
        kind = "released"
    if not kind and not forced:
        earlier = [s for s in life.path.stays if not s.custody and 365 < (as_of - s.start).days < 1500]
        if earlier and rng.random() < 0.05:
            _refer(ctx, rng, life, "history", earlier[-1].start, forced=False)
        return
    start = max(last.start, as_of - days(120)) if last.custody else last.start
    if forced:
        ctx.forced_referrals -= 1
        kind = kind or ("near_release" if last.custody else "released")
    _refer(ctx, rng, life, kind, start, forced=forced)


def _refer(ctx: Seeding, rng: Random, life: Life, kind: str, start: date, *, forced: bool) -> None:
    as_of = ctx.as_of
    partners = ctx.partner
    if forced:
        partner_id, _, services = partners.reentry[0]
        service = services[0]
    else:
        weights = list(_SERVICE_WEIGHTS)
        if life.substance_need:
            weights[2] *= 2
        service = rng.choices(SERVICES, weights=weights)[0]
        partner_id, _, _ = rng.choice(partners.reentry_for(service))

    if kind == "near_release":
        referred = between(rng, start, as_of)
        status = "open" if rng.random() < 0.45 else "accepted"
    elif kind == "released":
        referred = between(rng, start, min(as_of, start + days(60)))
        roll = rng.random()
        status = "accepted" if roll < 0.55 else "closed" if roll < 0.85 else "open"
    else:
        referred = between(rng, start, start + days(60))
        status = "closed"
    if forced and status == "closed":
        status = "accepted"
    closed_on: date | None = None
    reason: str | None = None
    if status == "closed":
        closed_on = between(rng, referred + days(14), min(as_of, referred + days(365)))
        reason = rng.choice(CLOSURES)

    referral_id = ctx.ids.take("referrals")
    note = (
        f"Referred for {service} support before release"
        if kind == "near_release"
        else f"{service.title()} referral"
    )
    ctx.batch.add(
        REFERRALS,
        (
            referral_id, life.person_id, partner_id, service, referred, status, note, closed_on, reason,
            at(referred, rng), 1,
        ),
    )  # fmt: skip
    _consent(ctx, rng, life, partner_id, service, referred, forced=forced)
    if status in ("accepted", "closed"):
        _deliveries(ctx, rng, life, referral_id, partner_id, service, referred, closed_on or as_of)


def _consent(
    ctx: Seeding, rng: Random, life: Life, partner_id: int, service: str, referred: date, *, forced: bool
) -> None:
    as_of = ctx.as_of
    signed = referred - days(rng.randint(0, 7))
    expires = signed + days(rng.choice((180, 365, 365, 730)))
    revoked: date | None = None
    why: str | None = None
    if forced:
        expires = max(expires, as_of + days(90))
    elif rng.random() < 0.05:
        revoked = between(rng, signed + days(1), min(as_of, expires))
        why = rng.choice(REVOCATIONS)
    consent_id = ctx.ids.take("consents")
    purpose = f"Release planning and {service} services with a reentry partner"
    ctx.batch.add(
        CONSENTS,
        (consent_id, life.person_id, partner_id, purpose, signed, expires, revoked, why, at(signed, rng), 1),
    )
    categories = ["release"]
    if forced or rng.random() < 0.85:
        categories.append("identity")
    if rng.random() < 0.45:
        categories.append("programs")
    if rng.random() < 0.25:
        categories.append("health")
    # Substance-use records need their own consent category (42 CFR Part 2).
    if rng.random() < (0.6 if service == "treatment" else 0.12):
        categories.append("substance_use")
    for category in categories:
        ctx.batch.add(CONSENT_GRANTS, (consent_id, category))


def _deliveries(
    ctx: Seeding,
    rng: Random,
    life: Life,
    referral_id: int,
    partner_id: int,
    service: str,
    referred: date,
    last: date,
) -> None:
    first = referred + days(3)
    if first > last:
        return
    seen: set[tuple[date, str]] = set()
    for _ in range(rng.randint(1, 3)):
        day = between(rng, first, last)
        description = rng.choice(DELIVERED[service])
        if (day, description) in seen:
            continue
        seen.add((day, description))
        when = at(day, rng)
        ctx.batch.add(
            DELIVERIES,
            (
                ctx.ids.take("service_deliveries"), referral_id, partner_id, life.person_id, service, day,
                description, rng.choice(OUTCOMES), when, when,
            ),
        )  # fmt: skip
