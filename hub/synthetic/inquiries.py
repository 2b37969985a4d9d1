"""Constituent inquiries from families, legislative offices and the public, in every state of the
workflow, with responses; open ones received more than fifteen days ago are overdue."""

from __future__ import annotations

from datetime import date, timedelta
from random import Random

from hub.synthetic import names
from hub.synthetic.calendar import at, between, days
from hub.synthetic.context import Seeding
from hub.synthetic.writer import Layout

INQUIRIES = Layout(
    "inquiries",
    (
        "id", "reference", "source", "category", "channel", "status", "partner_id", "requester_name",
        "requester_email", "requester_phone", "subject_person_id", "summary", "details", "received_at",
        "due_on", "assigned_to", "closed_at", "reopened_count", "created_at", "version",
    ),
)  # fmt: skip
RESPONSES = Layout(
    "inquiry_responses", ("id", "inquiry_id", "responded_at", "responder", "channel", "body", "created_at")
)

SOURCES = ("family", "legislative", "public")
STATUSES = ("received", "assigned", "responded", "closed")
_STATUS_WEIGHTS = (15, 15, 15, 55)
_CATEGORIES = (
    "medical",
    "conduct",
    "transfer",
    "release",
    "visiting",
    "property",
    "classification",
    "programs",
    "other",
)
_CATEGORY_WEIGHTS = (20, 10, 12, 15, 12, 8, 8, 7, 8)
_CHANNELS = {
    "family": (("phone", "email", "letter", "web", "in_person"), (40, 30, 10, 15, 5)),
    "legislative": (("email", "api", "phone"), (50, 30, 20)),
    "public": (("web", "email", "phone"), (50, 30, 20)),
}
_SUMMARIES = {
    "medical": "No medical appointment in several weeks",
    "conduct": "Question about a conduct violation and its sanction",
    "transfer": "Request to transfer closer to family",
    "release": "When is the projected release date?",
    "visiting": "Visiting application pending for a long time",
    "property": "Personal property lost during a transfer",
    "classification": "Question about custody level after review",
    "programs": "Waiting list for a treatment program",
    "other": "General question about department policy",
}
STAFF = (
    "Avery Lindqvist-Marrow",
    "Jordan Pebblecombe",
    "Casey Thornfield",
    "Morgan Wickstead",
    "Riley Ashdown",
)
DUE_DAYS = 15


def inquiry_count(scale: int) -> int:
    return max(60, scale // 20)


def write_inquiries(ctx: Seeding, rng: Random, start: int, stop: int) -> None:
    """Inquiries number ``start`` to ``stop - 1``; the first twelve cover every source in every state."""
    legislative = ctx.partner.legislative
    for n in range(start, stop):
        if n < len(SOURCES) * len(STATUSES):
            source, status = SOURCES[n % 3], STATUSES[n // 3]
        else:
            source = rng.choices(SOURCES, weights=(45, 30, 25))[0]
            status = rng.choices(STATUSES, weights=_STATUS_WEIGHTS)[0]
        partner_id = None
        if source == "legislative":
            # The first office files the most, so the demo's office always has its own inquiries.
            partner_id = legislative[0] if n < 12 or rng.random() < 0.3 else rng.choice(legislative)
        _inquiry(ctx, rng, source, status, partner_id)


def _received(rng: Random, as_of: date, status: str) -> date:
    if status in ("received", "assigned"):
        return as_of - days(rng.randint(0, 25))
    if status == "responded":
        return as_of - days(rng.randint(5, 90))
    return as_of - days(rng.randint(5, 730))


def _inquiry(ctx: Seeding, rng: Random, source: str, status: str, partner_id: int | None) -> None:
    as_of = ctx.as_of
    inquiry_id = ctx.ids.take("inquiries")
    category = rng.choices(_CATEGORIES, weights=_CATEGORY_WEIGHTS)[0]
    channels, weights = _CHANNELS[source]
    channel = rng.choices(channels, weights=weights)[0]
    received = _received(rng, as_of, status)
    received_at = at(received, rng)
    subject = None
    if ctx.current_people and (source != "public" or rng.random() < 0.5):
        subject = rng.choice(ctx.current_people)
    first, last = names.first_name(rng, rng.choice("FM")), names.surname(rng)
    if source == "legislative":
        requester = f"{first} {last}, constituent caseworker"
        email: str | None = f"{first.lower()}.{last.lower()}@example.gov"
    else:
        requester = f"{first} {last}"
        email = names.fake_email(first, last, rng) if channel in ("email", "web") else None
    phone = names.fake_phone(rng) if channel == "phone" or rng.random() < 0.3 else None
    summary = _SUMMARIES[category]
    relation = {"family": "their relative", "legislative": "a constituent's relative", "public": "a person"}[
        source
    ]
    details = (
        f"{requester} writes about {relation}: {summary.lower()}. Received by {channel.replace('_', ' ')}."
    )
    assigned = rng.choice(STAFF) if status != "received" else None
    closed_at = None
    if status == "closed":
        closed_at = at(min(as_of, received + days(rng.randint(3, 30))), rng)
        if closed_at < received_at:
            closed_at = received_at + timedelta(hours=2)
    reopened = 1 if status == "closed" and rng.random() < 0.04 else 0
    ctx.batch.add(
        INQUIRIES,
        (
            inquiry_id, f"INQ-{received.year}-{inquiry_id:06d}", source, category, channel, status, partner_id,
            requester, email, phone, subject, summary, details, received_at, received + days(DUE_DAYS),
            assigned, closed_at, reopened, received_at, 1,
        ),
    )  # fmt: skip
    if status in ("responded", "closed"):
        last_day = closed_at.date() if closed_at else min(as_of, received + days(20))
        for _ in range(1 if status == "responded" or rng.random() < 0.6 else 2):
            day = between(rng, received, last_day)
            when = max(received_at + timedelta(hours=1), at(day, rng))
            if closed_at is not None:
                when = min(when, closed_at)
            body = f"We reviewed the {category} concern with the facility and shared the outcome with {requester}."
            reply = channel if channel != "api" else "email"
            ctx.batch.add(
                RESPONSES,
                (
                    ctx.ids.take("inquiry_responses"),
                    inquiry_id,
                    when,
                    assigned or STAFF[0],
                    reply,
                    body,
                    when,
                ),
            )
