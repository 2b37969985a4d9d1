"""Sensitivity classes: the rows of the disclosure matrix. Every schema field carries one."""

from __future__ import annotations

import enum


class FieldClass(enum.StrEnum):
    PUBLIC_PERSON = "public_person"
    IDENTITY = "identity"
    IDENTIFIERS = "identifiers"
    CUSTODY_DETAIL = "custody_detail"
    RELEASE = "release"
    PROGRAMS = "programs"
    HEALTH = "health"
    SUBSTANCE_USE = "substance_use"
    VICTIMS = "victims"
    INQUIRIES = "inquiries"
    GRANTS = "grants"
    GRANT_TOTALS = "grant_totals"
    FISCAL_NOTES = "fiscal_notes"
    RESEARCH_AGREEMENTS = "research_agreements"
    RESEARCH_RECORDS = "research_records"
    REFERRALS = "referrals"
    REFERENCE = "reference"
    #: Counts and rates, by the class they count (the matrix opens aggregates to every audience that
    #: sees the underlying class, and to legislative offices for every class but victims).
    AGGREGATES_PEOPLE = "aggregates_people"
    AGGREGATES_PROGRAMS = "aggregates_programs"
    AGGREGATES_INQUIRIES = "aggregates_inquiries"
    AGGREGATES_GRANTS = "aggregates_grants"
    LEDGER = "ledger"
    #: Connections, page info, payload envelopes and mutation errors: no data of their own.
    STRUCTURE = "structure"
