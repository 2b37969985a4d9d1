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
    AGGREGATES = "aggregates"
    LEDGER = "ledger"
