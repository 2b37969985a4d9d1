"""Migration 0003_integrity on a store that already holds rows against its new rules: it resolves
them as its docstring says (the earliest row of each group stays) and then adds the indexes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker

from hub.db import alembic_config, downgrade, upgrade
from resolvers.models.fiscal_notes import FiscalNote
from resolvers.models.programs import Enrollment
from resolvers.models.reentry import Referral
from resolvers.models.victims import RestitutionPayment, Victim, VictimRegistration
from tests.factories.grants import make_fiscal_note
from tests.factories.people import make_person
from tests.factories.programs import make_enrollment, make_program
from tests.factories.reentry import make_reentry_partner, make_referral
from tests.factories.stores import fresh_store
from tests.factories.victims import make_payment, make_registration, make_restitution_order


def _before_integrity() -> str:
    revision = ScriptDirectory.from_config(alembic_config()).get_revision("0003_integrity")
    assert revision is not None
    assert isinstance(revision.down_revision, str)
    return revision.down_revision


async def test_rows_against_the_new_rules_are_resolved_then_indexed(tmp_path: Path) -> None:
    async with fresh_store(tmp_path, "integrity_migration") as (_settings, engine):
        # fresh_store migrated to head: go back to the revision before this one.
        await downgrade(engine, _before_integrity())
        sessions = async_sessionmaker(engine, expire_on_commit=False)
        async with sessions() as s:
            person = await make_person(s)
            partner = await make_reentry_partner(s)
            referrals = [
                await make_referral(s, person, partner, status=status)
                for status in ("open", "accepted", "closed")
            ]
            program = await make_program(s)
            enrollments = [await make_enrollment(s, person, program) for _ in range(2)]
            # The registrant as the store before 0003 holds it (the model maps later columns, such
            # as 0009's language).
            victim_id = (
                await s.execute(
                    text(
                        "INSERT INTO victims (kind, first_name, last_name) "
                        "VALUES ('victim', 'Vera', 'Seeded') RETURNING id"
                    )
                )
            ).scalar_one()
            registrations = [await make_registration(s, victim_id=victim_id, person=person) for _ in range(2)]
            order = await make_restitution_order(s, person)
            payments = [
                await make_payment(s, order, reference=ref, amount=Decimal("10.00"))
                for ref in ("RCPT-1", "RCPT-1", "RCPT-2", None, None)
            ]
            seeded_note = await make_fiscal_note(s, reference="FN-2026-0005")
            new_note = await make_fiscal_note(s, reference="FN-2026-000025")
            await s.commit()

        await upgrade(engine)

        async with sessions() as s:
            # 0009: a registrant on file (referenced by registrations) is English, and stays on file.
            assert (await s.get(Victim, victim_id)) is not None
            assert (await s.scalar(select(Victim.language).where(Victim.id == victim_id))) == "en"
            referral_rows = {r.id: r for r in await s.scalars(select(Referral))}
            assert referral_rows[referrals[0].id].status == "open"
            duplicate = referral_rows[referrals[1].id]
            assert (duplicate.status, duplicate.closed_on) == ("closed", date.today())
            assert duplicate.closure_reason is not None
            assert "migration 0003" in duplicate.closure_reason
            assert referral_rows[referrals[2].id].closure_reason is None

            statuses = {e.id: (e.status, e.ended_on) for e in await s.scalars(select(Enrollment))}
            assert statuses == {
                enrollments[0].id: ("enrolled", None),
                enrollments[1].id: ("withdrawn", date.today()),
            }

            active = {r.id: (r.status, r.ended_on) for r in await s.scalars(select(VictimRegistration))}
            assert active == {
                registrations[0].id: ("active", None),
                registrations[1].id: ("inactive", date.today()),
            }

            references = {p.id: p.reference for p in await s.scalars(select(RestitutionPayment))}
            assert references == {
                payments[0].id: "RCPT-1",
                payments[1].id: f"RCPT-1#{payments[1].id}",
                payments[2].id: "RCPT-2",
                payments[3].id: None,
                payments[4].id: None,
            }

            notes = {n.id: n.reference for n in await s.scalars(select(FiscalNote))}
            assert notes == {
                seeded_note.id: f"FN-2026-{seeded_note.id:06d}",
                new_note.id: "FN-2026-000025",
            }

        # And the rules hold from now on: a second open referral is refused by the store.
        async with sessions() as s:
            s.add(
                Referral(
                    person_id=person.id,
                    partner_id=partner.id,
                    service_type="housing",
                    referred_on=date(2025, 2, 1),
                    status="open",
                )
            )
            with pytest.raises(IntegrityError, match="referrals"):
                await s.flush()
