"""What a registrant reads or hears: one short notice per custody event kind."""

from __future__ import annotations

from datetime import datetime

from resolvers.delivery_queue import EventFacts

OFFICE = "Office of Victim Services"


def _when(moment: datetime | None) -> str:
    return "an unrecorded time" if moment is None else moment.strftime("%B %d, %Y at %H:%M UTC")


def _what(facts: EventFacts) -> str:
    who = f"{facts.person_name} (DOC {facts.doc_id})"
    at = f" from {facts.facility}" if facts.facility else ""
    match facts.kind:
        case "release":
            return f"{who} was released{at} on {_when(facts.occurred_at)}."
        case "escape":
            return f"{who} escaped{at} on {_when(facts.occurred_at)}. Call 911 if you are in danger."
        case "return":
            return f"{who} was returned to custody on {_when(facts.occurred_at)}."
        case "transfer":
            to = f" to {facts.to_facility}" if facts.to_facility else ""
            return f"{who} was transferred{at}{to} on {_when(facts.occurred_at)}."
        case "death":
            return f"{who} died on {_when(facts.occurred_at)}."
        case "hearing_scheduled":
            return f"A parole hearing for {who} is scheduled for {_when(facts.hearing_at)}."
        case "hearing_decided":
            decision = f": {facts.decision}" if facts.decision else ""
            return f"The parole hearing of {who} has been decided{decision}."
        case _:
            return f"There is news in the case of {who} ({facts.kind.replace('_', ' ')})."


def subject(facts: EventFacts) -> str:
    return f"{OFFICE}: notice about {facts.person_name}"


def body(facts: EventFacts, ack_code: str | None, ack_url: str | None) -> str:
    lines = [f"This is the {OFFICE}.", _what(facts)]
    if ack_code is not None:
        lines.append(
            f"Please confirm you received this notice with code {ack_code}"
            + (f" or at {ack_url}" if ack_url else "")
            + ". We will contact you again until you do."
        )
    lines.append(f"Reference: notification {facts.notification_id}.")
    return "\n\n".join(lines)
