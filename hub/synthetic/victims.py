"""Victims and families registered to some cases: their notification preferences, impact
statements, hearing participation, protection conditions, and restitution orders and payments."""

from __future__ import annotations

from decimal import Decimal
from random import Random
from typing import TYPE_CHECKING

from hub.synthetic import names
from hub.synthetic.calendar import at, between, days
from hub.synthetic.context import Seeding
from hub.synthetic.notifications import write_notifications
from hub.synthetic.writer import Layout

if TYPE_CHECKING:
    from hub.synthetic.people import Case, Life

VICTIMS = Layout(
    "victims",
    (
        "id", "kind", "first_name", "last_name", "email", "phone", "address_line", "city", "state",
        "postal_code", "created_at", "version",
    ),
)  # fmt: skip
REGISTRATIONS = Layout(
    "victim_registrations",
    (
        "id", "victim_id", "person_id", "sentence_id", "relationship", "status", "registered_on", "ended_on",
        "created_at", "version",
    ),
)  # fmt: skip
PREFERENCES = Layout(
    "notification_preferences", ("id", "registration_id", "channel", "destination", "active")
)
STATEMENTS = Layout(
    "impact_statements",
    ("id", "registration_id", "hearing_id", "submitted_on", "format", "summary", "created_at"),
)
PARTICIPATIONS = Layout("hearing_participations", ("id", "registration_id", "hearing_id", "mode"))
PROTECTIONS = Layout("protection_conditions", ("id", "registration_id", "condition", "starts_on", "ends_on"))
ORDERS = Layout(
    "restitution_orders",
    (
        "id",
        "person_id",
        "sentence_id",
        "payee_victim_id",
        "ordered_on",
        "amount",
        "status",
        "created_at",
        "version",
    ),
)
PAYMENTS = Layout("restitution_payments", ("id", "order_id", "paid_on", "amount", "reference", "created_at"))

_REGISTER_CHANCE = {"violent": 0.35, "sex": 0.45, "property": 0.06}
_FAMILY = ("parent", "spouse", "sibling", "child", "grandparent", "partner")
_CONDITIONS = (
    "No contact with the registrant, directly or through others",
    "Stay at least 500 feet from the registrant's home and workplace",
    "No contact with the registrant's children",
    "No presence in the registrant's county of residence without approval",
)
_STATEMENTS = (
    "Describes the lasting effect of the offense on the family and asks that parole be denied.",
    "Asks for notice of any release and for a no-contact condition.",
    "Describes medical costs and lost work since the offense.",
    "Supports release with conditions and continued treatment.",
)


def write_victims(ctx: Seeding, rng: Random, life: Life) -> None:
    for case in life.cases:
        chance = _REGISTER_CHANCE.get(case.category, 0.01)
        if rng.random() < chance:
            for order in range(1 if rng.random() < 0.7 else 2):
                _register(ctx, rng, life, case, first=order == 0)
        elif case.category == "property" and rng.random() < 0.08:
            _restitution(ctx, rng, life, case, payee=None)


def _victim(ctx: Seeding, rng: Random, kind: str) -> tuple[int, str | None, str | None, bool]:
    victim_id = ctx.ids.take("victims")
    county_index = rng.randrange(len(names.COUNTIES))
    first, last = names.first_name(rng, rng.choice("FM")), names.surname(rng)
    email = names.fake_email(first, last, rng) if rng.random() < 0.6 else None
    phone = names.fake_phone(rng) if rng.random() < 0.75 else None
    has_address = rng.random() < 0.8
    ctx.batch.add(
        VICTIMS,
        (
            victim_id, kind, first, last, email, phone,
            names.street_address(rng) if has_address else None,
            names.COUNTIES[county_index][1] if has_address else None,
            "MO" if has_address else None,
            names.postal_code(county_index, rng) if has_address else None,
            at(ctx.as_of - days(rng.randint(30, 4000)), rng), 1,
        ),
    )  # fmt: skip
    return victim_id, email, phone, has_address


def _register(ctx: Seeding, rng: Random, life: Life, case: Case, *, first: bool) -> None:
    as_of = ctx.as_of
    kind = (
        ("victim" if rng.random() < 0.7 else "family")
        if first
        else rng.choice(("family", "family", "guardian"))
    )
    victim_id, email, phone, has_address = _victim(ctx, rng, kind)
    relationship = (
        "self" if kind == "victim" else "legal guardian" if kind == "guardian" else rng.choice(_FAMILY)
    )
    registered = between(rng, case.sentenced_on, min(as_of, case.sentenced_on + days(400)))
    still_serving = life.status in ("incarcerated", "supervised", "escaped")
    if still_serving and rng.random() < 0.92:
        status, ended = "active", None
    else:
        status, ended = "inactive", between(rng, registered, as_of)
    registration_id = ctx.ids.take("victim_registrations")
    ctx.batch.add(
        REGISTRATIONS,
        (
            registration_id, victim_id, life.person_id, case.sentence_id, relationship, status, registered,
            ended, at(registered, rng), 1,
        ),
    )  # fmt: skip

    channels: list[tuple[str, str | None]] = []
    if email:
        channels.append(("email", email))
    if phone:
        channels.append((rng.choice(("sms", "phone")), phone))
    if has_address or not channels:
        channels.append(("letter", None))
    rng.shuffle(channels)
    chosen = channels[: rng.randint(1, len(channels))]
    for i, (channel, destination) in enumerate(chosen):
        active = i == 0 or rng.random() < 0.8
        ctx.batch.add(
            PREFERENCES,
            (ctx.ids.take("notification_preferences"), registration_id, channel, destination, active),
        )
    channel, destination = chosen[0]
    write_notifications(
        ctx, rng, registration_id, life.events, registered, ended or as_of, channel, destination
    )

    for hearing in life.hearings:
        if hearing.scheduled_day < registered:
            continue
        if rng.random() < 0.35:
            submitted = between(
                rng, max(registered, hearing.scheduled_day - days(60)), min(as_of, hearing.scheduled_day)
            )
            statement = (
                ctx.ids.take("impact_statements"), registration_id, hearing.hearing_id, submitted,
                rng.choice(("written", "written", "audio", "video", "in_person")), rng.choice(_STATEMENTS),
                at(submitted, rng),
            )  # fmt: skip
            ctx.batch.add(STATEMENTS, statement)
        if hearing.status == "held" and rng.random() < 0.3:
            mode = rng.choice(("in_person", "video", "phone", "written"))
            ctx.batch.add(
                PARTICIPATIONS,
                (ctx.ids.take("hearing_participations"), registration_id, hearing.hearing_id, mode),
            )
    if rng.random() < 0.1:
        ctx.batch.add(
            STATEMENTS,
            (
                ctx.ids.take("impact_statements"), registration_id, None, registered, "written",
                rng.choice(_STATEMENTS), at(registered, rng),
            ),
        )  # fmt: skip
    if rng.random() < 0.3:
        condition = rng.choice(_CONDITIONS)
        ctx.batch.add(
            PROTECTIONS,
            (ctx.ids.take("protection_conditions"), registration_id, condition, registered, ended),
        )
    if kind == "victim" and case.category in ("violent", "property") and rng.random() < 0.35:
        _restitution(ctx, rng, life, case, payee=victim_id)


def _restitution(ctx: Seeding, rng: Random, life: Life, case: Case, payee: int | None) -> None:
    amount = Decimal(rng.randrange(20_000, 2_500_000)) / 100
    order_id = ctx.ids.take("restitution_orders")
    paid = Decimal("0.00")
    day = case.sentenced_on + days(rng.randint(20, 60))
    pays_in_full = rng.random() < 0.3
    for n in range(rng.randint(0, 12)):
        if day > ctx.as_of or paid >= amount:
            break
        part = min(amount - paid, (amount * Decimal(rng.randint(3, 20)) / 100).quantize(Decimal("0.01")))
        if part <= 0:
            break
        paid += part
        # One receipt reference per payment of an order (uq_restitution_payments_order_reference).
        reference = f"RP-{order_id:06d}-{n + 1:02d}{rng.randrange(1000):03d}"
        ctx.batch.add(
            PAYMENTS, (ctx.ids.take("restitution_payments"), order_id, day, part, reference, at(day, rng))
        )
        day += days(rng.randint(25, 70))
    if pays_in_full and paid < amount and day <= ctx.as_of:
        ctx.batch.add(
            PAYMENTS,
            (ctx.ids.take("restitution_payments"), order_id, day, amount - paid, "RP-FINAL", at(day, rng)),
        )
        paid = amount
    status = "paid" if paid >= amount else "suspended" if rng.random() < 0.05 else "open"
    ctx.batch.add(
        ORDERS,
        (
            order_id,
            life.person_id,
            case.sentence_id,
            payee,
            case.sentenced_on,
            amount,
            status,
            at(case.sentenced_on, rng),
            1,
        ),
    )
