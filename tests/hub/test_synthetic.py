"""The synthetic department: deterministic, complete, consistent, and refused twice.

Seeding commits (and COPYs on PostgreSQL), so these tests use stores of their own
(``tests.factories.stores.fresh_store``) rather than the shared per-test transaction.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, insert, text
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.cli import main
from hub.synthetic import DepartmentExists, seed_department
from hub.synthetic.calendar import AS_OF
from hub.synthetic.writer import SEEDED_TABLES
from resolvers.models import Base
from resolvers.models.partners import Partner
from tests.factories.stores import fresh_store

SCALE = 200
SEED = 7


@dataclass
class Seeded:
    engine: AsyncEngine
    summary: str
    steps: list[tuple[str, int, int]]
    directory: Path


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def seeded(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Seeded]:
    directory = tmp_path_factory.mktemp("synthetic")
    async with fresh_store(directory, "seeded") as (_, engine):
        steps: list[tuple[str, int, int]] = []
        summary = await seed_department(
            engine, scale=SCALE, random_seed=SEED, progress=lambda s, d, t: steps.append((s, d, t))
        )
        yield Seeded(engine, summary, steps, directory)


async def rows(engine: AsyncEngine, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    async with engine.connect() as conn:
        return [tuple(r) for r in await conn.execute(text(sql), params)]


async def one(engine: AsyncEngine, sql: str, **params: Any) -> Any:
    async with engine.connect() as conn:
        return await conn.scalar(text(sql), params)


async def checksum(engine: AsyncEngine, table: str) -> str:
    digest = hashlib.sha256()
    for row in await rows(engine, f"SELECT * FROM {table} ORDER BY 1, 2"):
        digest.update(repr(row).encode())
    return digest.hexdigest()


# --- the run -------------------------------------------------------------------------------------------


async def test_summary_names_the_counts_and_every_step_finishes(seeded: Seeded) -> None:
    assert f"{SCALE:,} people" in seeded.summary
    assert "69 facilities" in seeded.summary
    assert "\n" not in seeded.summary
    finished = {step for step, done, total in seeded.steps if done == total}
    started = {step for step, _, _ in seeded.steps}
    assert started == finished
    assert ("people and their records", SCALE, SCALE) in seeded.steps


async def test_every_seeded_table_has_rows(seeded: Seeded) -> None:
    empty = [t for t in sorted(SEEDED_TABLES) if not await one(seeded.engine, f"SELECT count(*) FROM {t}")]
    assert empty == []
    # Tables the hub fills at run time stay empty.
    for table in ("clients", "audit_events", "idempotency_records"):
        assert await one(seeded.engine, f"SELECT count(*) FROM {table}") == 0


async def test_sites_of_the_department(seeded: Seeded) -> None:
    kinds = dict(await rows(seeded.engine, "SELECT kind, count(*) FROM facilities GROUP BY kind"))
    assert kinds == {"institution": 21, "probation_parole_office": 45, "community_release_center": 3}
    women = await one(
        seeded.engine, "SELECT count(*) FROM facilities WHERE kind = 'institution' AND serves_women"
    )
    assert 2 <= women <= 4


# --- determinism ---------------------------------------------------------------------------------------

COMPARED = ("people", "person_identities", "custody_events", "enrollments", "consents", "inquiries",
            "disbursements", "research_agreements", "notifications")  # fmt: skip


async def test_same_seed_and_scale_give_the_same_department(seeded: Seeded) -> None:
    async with fresh_store(seeded.directory, "again") as (_, engine):
        await seed_department(engine, scale=SCALE, random_seed=SEED, progress=None)
        for table in COMPARED:
            assert await checksum(engine, table) == await checksum(seeded.engine, table), table


async def test_another_seed_gives_another_department(seeded: Seeded) -> None:
    async with fresh_store(seeded.directory, "other") as (_, engine):
        await seed_department(engine, scale=20, random_seed=SEED + 1, progress=None)
        first = await rows(engine, "SELECT first_name, last_name, birth_year FROM people ORDER BY id LIMIT 5")
    ours = await rows(
        seeded.engine, "SELECT first_name, last_name, birth_year FROM people ORDER BY id LIMIT 5"
    )
    assert first != ours


# --- invariants ----------------------------------------------------------------------------------------


async def test_disbursements_never_exceed_the_award(seeded: Seeded) -> None:
    awards = await rows(seeded.engine, "SELECT id, amount FROM federal_awards")
    paid = await rows(seeded.engine, "SELECT award_id, amount FROM disbursements")
    spent: dict[int, Decimal] = {}
    for award_id, amount in paid:
        spent[award_id] = spent.get(award_id, Decimal(0)) + Decimal(str(amount))
    assert spent
    for award_id, amount in awards:
        assert spent.get(award_id, Decimal(0)) <= Decimal(str(amount)), award_id


async def test_women_are_held_only_where_women_are_served(seeded: Seeded) -> None:
    engine = seeded.engine
    assert await one(engine, "SELECT count(*) FROM people WHERE sex = 'F'") > 0
    current = """SELECT count(*) FROM people p JOIN facilities f ON f.id = p.current_facility_id
                 WHERE p.sex = 'F' AND NOT f.serves_women"""
    periods = """SELECT count(*) FROM custody_periods c JOIN people p ON p.id = c.person_id
                 JOIN facilities f ON f.id = c.facility_id WHERE p.sex = 'F' AND NOT f.serves_women"""
    moves = """SELECT count(*) FROM custody_events e JOIN people p ON p.id = e.person_id
               JOIN facilities f ON f.id = coalesce(e.to_facility_id, e.facility_id)
               WHERE p.sex = 'F' AND NOT f.serves_women"""
    assert (await one(engine, current), await one(engine, periods), await one(engine, moves)) == (0, 0, 0)


async def test_every_active_consent_covers_a_category(seeded: Seeded) -> None:
    bare = """SELECT count(*) FROM consents c WHERE c.revoked_on IS NULL AND c.expires_on >= :today
              AND NOT EXISTS (SELECT 1 FROM consent_grants g WHERE g.consent_id = c.id)"""
    assert await one(seeded.engine, bare, today=AS_OF) == 0
    categories = {r[0] for r in await rows(seeded.engine, "SELECT DISTINCT category FROM consent_grants")}
    assert "substance_use" in categories
    assert await one(seeded.engine, "SELECT count(*) FROM consents WHERE revoked_on IS NOT NULL") > 0
    assert await one(seeded.engine, "SELECT count(*) FROM consents WHERE expires_on < :t", t=AS_OF) > 0


async def test_every_workflow_state_is_present(seeded: Seeded) -> None:
    engine = seeded.engine
    pairs = set(await rows(engine, "SELECT source, status FROM inquiries"))
    assert pairs == {
        (s, t)
        for s in ("family", "legislative", "public")
        for t in ("received", "assigned", "responded", "closed")
    }
    agreements = {r[0] for r in await rows(engine, "SELECT status FROM research_agreements")}
    assert agreements == {"submitted", "approved", "rejected", "revoked", "expired"}
    notes = {r[0] for r in await rows(engine, "SELECT status FROM fiscal_notes")}
    assert notes == {"requested", "in_progress", "submitted"}
    assert (
        await one(engine, "SELECT count(*) FROM fiscal_notes WHERE requested_by_partner_id IS NOT NULL") > 0
    )
    overdue_inquiries = (
        """SELECT count(*) FROM inquiries WHERE status IN ('received', 'assigned') AND due_on < :t"""
    )
    assert await one(engine, overdue_inquiries, t=AS_OF) > 0
    overdue_reports = "SELECT count(*) FROM award_reports WHERE submitted_on IS NULL AND due_on < :t"
    assert await one(engine, overdue_reports, t=AS_OF) > 0
    assert await one(engine, "SELECT count(*) FROM award_reports WHERE submitted_on IS NOT NULL") > 0
    responded = "SELECT count(*) FROM inquiries i WHERE status IN ('responded', 'closed') AND NOT EXISTS (SELECT 1 FROM inquiry_responses r WHERE r.inquiry_id = i.id)"
    assert await one(engine, responded) == 0


async def test_the_first_partner_of_each_audience_has_its_data(seeded: Seeded) -> None:
    engine = seeded.engine
    firsts = dict(await rows(engine, "SELECT audience, min(id) FROM partners GROUP BY audience"))
    assert set(firsts) == {
        "legislative", "reentry", "researcher", "constituent_services", "victim_services", "programs",
        "budget_grants", "research_unit", "admin",
    }  # fmt: skip
    units = await rows(engine, "SELECT name FROM partners WHERE audience = 'constituent_services'")
    assert units == [("Constituent Services front-end",)]

    reentry = firsts["reentry"]
    assert await one(engine, "SELECT count(*) FROM referrals WHERE partner_id = :p", p=reentry) > 0
    active = """SELECT count(*) FROM consents c WHERE partner_id = :p AND revoked_on IS NULL AND expires_on >= :t
                AND EXISTS (SELECT 1 FROM referrals r WHERE r.person_id = c.person_id AND r.partner_id = c.partner_id)"""
    assert await one(engine, active, p=reentry, t=AS_OF) > 0

    legislative = firsts["legislative"]
    assert await one(engine, "SELECT count(*) FROM inquiries WHERE partner_id = :p", p=legislative) > 0

    [(status, starts, ends, threshold, key, granted)] = await rows(
        engine,
        """SELECT status, starts_on, ends_on, small_cell_threshold, pseudonym_key, granted_fields
           FROM research_agreements WHERE partner_id = :p ORDER BY id LIMIT 1""",
        p=firsts["researcher"],
    )
    assert status == "approved"
    assert date.fromisoformat(str(starts)) <= AS_OF <= date.fromisoformat(str(ends))
    assert threshold == 11
    assert isinstance(key, bytes)
    assert len(key) == 32
    assert granted


async def test_identities_are_obviously_fictitious(seeded: Seeded) -> None:
    ssns = [
        r[0] for r in await rows(seeded.engine, "SELECT ssn FROM person_identities WHERE ssn IS NOT NULL")
    ]
    assert ssns
    assert all(s.startswith("9") and len(s) == 11 for s in ssns)
    phones = [
        r[0] for r in await rows(seeded.engine, "SELECT phone FROM person_identities WHERE phone IS NOT NULL")
    ]
    assert phones
    assert all("555-01" in p for p in phones)
    aliases = await one(seeded.engine, "SELECT count(*) FROM person_aliases")
    assert 0 < aliases < SCALE


async def test_statuses_and_sexes_in_realistic_proportions(seeded: Seeded) -> None:
    counts = dict(await rows(seeded.engine, "SELECT status, count(*) FROM people GROUP BY status"))
    assert 0.15 * SCALE <= counts["incarcerated"] <= 0.45 * SCALE
    assert 0.25 * SCALE <= counts["supervised"] <= 0.6 * SCALE
    assert 0.1 * SCALE <= counts["discharged"] <= 0.45 * SCALE
    women = await one(seeded.engine, "SELECT count(*) FROM people WHERE sex = 'F'")
    assert 0.04 * SCALE <= women <= 0.18 * SCALE
    # The current facility and office follow from the status.
    assert (
        await one(
            seeded.engine,
            "SELECT count(*) FROM people WHERE status = 'incarcerated' AND current_facility_id IS NULL",
        )
        == 0
    )
    assert (
        await one(
            seeded.engine,
            "SELECT count(*) FROM people WHERE status = 'supervised' AND supervision_office_id IS NULL",
        )
        == 0
    )
    assert (
        await one(
            seeded.engine, "SELECT count(*) FROM people WHERE status = 'discharged' AND discharged_on IS NULL"
        )
        == 0
    )


async def test_periods_never_overlap_and_events_fall_inside_them(seeded: Seeded) -> None:
    engine = seeded.engine
    overlap = """SELECT count(*) FROM custody_periods c JOIN supervision_periods s ON s.person_id = c.person_id
                 WHERE s.started_on < coalesce(c.released_on, :far) AND c.admitted_on < coalesce(s.ended_on, :far)"""
    assert await one(engine, overlap, far=date(9999, 12, 31)) == 0
    outside = """SELECT count(*) FROM enrollments e WHERE NOT EXISTS (
                   SELECT 1 FROM custody_periods c WHERE c.person_id = e.person_id
                   AND e.enrolled_on >= c.admitted_on AND e.enrolled_on <= coalesce(c.released_on, :far))"""
    assert await one(engine, outside, far=date(9999, 12, 31)) == 0
    hours = """SELECT count(*) FROM enrollments e WHERE e.reparative_hours <> (
                 SELECT coalesce(sum(a.hours), 0) FROM reparative_activities a WHERE a.enrollment_id = e.id)"""
    assert await one(engine, hours) == 0


# --- refusal and the store afterwards ------------------------------------------------------------------


async def test_the_schema_is_whole_again_after_seeding(seeded: Seeded) -> None:
    """PostgreSQL seeding drops foreign keys and plain indexes while it loads; all must be back."""

    def differences(conn: Connection) -> list[Any]:
        return list(compare_metadata(MigrationContext.configure(conn), Base.metadata))

    async with seeded.engine.connect() as conn:
        assert await conn.run_sync(differences) == []


async def test_seeded_fiscal_notes_have_the_references_the_hub_issues(seeded: Seeded) -> None:
    """``FN-<year requested>-<id, six digits>``, as ``requestFiscalNote`` gives (it was a loop count)."""
    notes = await rows(seeded.engine, "SELECT id, requested_on, reference FROM fiscal_notes")
    assert notes
    for note_id, requested_on, reference in notes:
        year = requested_on.year if isinstance(requested_on, date) else int(str(requested_on)[:4])
        assert reference == f"FN-{year}-{note_id:06d}"


async def test_seeded_rows_keep_the_rules_the_store_enforces(seeded: Seeded) -> None:
    """The partial unique indexes of migration 0003 hold on seeded data (on PostgreSQL they are
    rebuilt after the load, on SQLite they refuse rows as they come; this says which rule broke)."""
    assert not await rows(
        seeded.engine,
        "SELECT person_id, program_id FROM enrollments WHERE status = 'enrolled' "
        "GROUP BY person_id, program_id HAVING count(*) > 1",
    )
    assert not await rows(
        seeded.engine,
        "SELECT order_id, reference FROM restitution_payments WHERE reference IS NOT NULL "
        "GROUP BY order_id, reference HAVING count(*) > 1",
    )
    assert await one(seeded.engine, "SELECT count(*) FROM enrollments WHERE status = 'enrolled'") > 0


async def test_a_second_seed_is_refused(seeded: Seeded) -> None:
    with pytest.raises(DepartmentExists) as refused:
        await seed_department(seeded.engine, scale=10, random_seed=SEED, progress=None)
    message = str(refused.value)
    assert f"already holds a department ({SCALE} people)" in message
    assert "seed an empty database" in message
    assert "\n" not in message
    assert await one(seeded.engine, "SELECT count(*) FROM people") == SCALE


async def test_new_rows_get_keys_after_the_seeded_ones(seeded: Seeded) -> None:
    top = await one(seeded.engine, "SELECT max(id) FROM partners")
    async with seeded.engine.begin() as conn:
        new_id = (
            await conn.execute(
                insert(Partner).values(name="A later partner", audience="reentry").returning(Partner.id)
            )
        ).scalar_one()
        assert new_id > top
        await conn.rollback()


# --- the command ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("scale", ["-5", "99999999"])
def test_the_command_rejects_an_absurd_scale(scale: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["seed", "--scale", scale])
    assert exited.value.code != 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert "--scale" in err
    assert "Traceback" not in err


def test_the_command_seeds_once_and_then_refuses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HUB_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    assert main(["migrate"]) == 0
    assert main(["seed", "--scale", "30", "--seed", "3"]) == 0
    out, err = capsys.readouterr()
    assert "Seeded a synthetic department of 30 people" in out
    assert "people and their records" in err  # the progress lines
    assert main(["seed", "--scale", "30", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err == "hub: the store already holds a department (30 people); seed an empty database\n"
