"""Every GraphQL operation of the README runs, as written, against the demo's synthetic department.

The store is what `make demo` builds (`hub.demo.prepare_demo`: the same seed and scale, the same demo
clients), in a store of this module's own; each operation is sent over HTTP with a token from
`/oauth/token` for the demo client of the audience the block names (a `# as: AUDIENCE` line inside
the block), with variables taken from the seeded rows. An operation answers without errors: no
top-level `errors`, no root field `null`, and every mutation payload's `errors` empty. A mutation
that needs particular state (an inquiry at version 1, a closed one to reopen) gets it set up first,
through the API where the README shows how.

Blocks outside the sections this file's author keeps (research, ledger) carry no `# as:` line; their
audience is named in ``AUDIENCE_OF`` below.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.app import create_app
from hub.demo import prepare_demo
from resolvers.models.partners import Audience
from schema.ids import to_global_id
from tests import docs
from tests.factories.stores import fresh_store

#: The audience of blocks in sections whose blocks carry no `# as:` line, by operation (or first field).
AUDIENCE_OF = {
    "whoSaw": Audience.ADMIN,
    "auditEvents": Audience.ADMIN,
    "submitResearchRequest": Audience.RESEARCHER,
    "approveResearchAgreement": Audience.RESEARCH_UNIT,
    "research": Audience.RESEARCHER,
}


@dataclass(frozen=True)
class Example:
    section: str
    name: str
    text: str
    audience: Audience

    def __str__(self) -> str:
        return f"{self.section}:{self.name}"


def _name(block: str) -> str:
    body = "\n".join(line.split("#", 1)[0] for line in block.splitlines())
    named = re.match(r"\s*(?:query|mutation)\s+(\w+)", body)
    if named:
        return named.group(1)
    first = re.search(r"\{\s*(?:\w+\s*:\s*)?(\w+)", body)
    assert first, block
    return first.group(1)


def readme_examples() -> list[Example]:
    found: list[Example] = []
    for section, body in docs.sections():
        for block in re.findall(r"```graphql\n(.*?)```", body, re.S):
            name = _name(block)
            marked = re.search(r"^\s*# as: (\w+)\s*$", block, re.M)
            if marked:
                audience = Audience(marked.group(1))
            else:
                assert section not in ("cookbook", "demo", "partner-guide"), f"{name}: no `# as:` line"
                audience = AUDIENCE_OF[name]
            seen = sum(1 for e in found if e.name == name or e.name.startswith(f"{name}#"))
            found.append(Example(section, f"{name}#{seen + 1}" if seen else name, block, audience))
    return found


EXAMPLES = readme_examples()


# --- the demo store ---------------------------------------------------------------------------------


@dataclass
class Demo:
    engine: AsyncEngine
    client: httpx.AsyncClient
    credentials: dict[Audience, tuple[str, str]]
    tokens: dict[Audience, str] = field(default_factory=dict)

    async def token(self, audience: Audience) -> str:
        if audience not in self.tokens:
            client_id, secret = self.credentials[audience]
            response = await self.client.post(
                "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
            )
            assert response.status_code == 200, response.text
            self.tokens[audience] = response.json()["access_token"]
        return self.tokens[audience]

    async def post(self, query: str, variables: dict[str, Any] | None, audience: Audience) -> dict[str, Any]:
        response = await self.client.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {await self.token(audience)}"},
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def ok(self, query: str, variables: dict[str, Any] | None, audience: Audience) -> dict[str, Any]:
        """Post and insist on a clean answer; the data."""
        body = await self.post(query, variables, audience)
        assert_clean(body)
        data: dict[str, Any] = body["data"]
        return data

    async def scalar(self, sql: str, **params: Any) -> Any:
        async with self.engine.connect() as conn:
            value = await conn.scalar(text(sql), params)
        assert value is not None, sql
        return value


def assert_clean(body: dict[str, Any]) -> None:
    assert "errors" not in body, body["errors"]
    data = body.get("data")
    assert isinstance(data, dict), body
    assert all(value is not None for value in data.values()), data

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            errors = node.get("errors")
            assert errors in (None, []), errors
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(data)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def demo(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Demo]:
    directory = tmp_path_factory.mktemp("readme")
    async with fresh_store(directory, "readme") as (settings, engine):
        settings = settings.model_copy(update={"demo_dir": str(directory / ".hub-demo")})
        await prepare_demo(settings, scale=2000)
        entries = json.loads((directory / ".hub-demo" / "clients.json").read_text())
        credentials = {Audience(e["audience"]): (e["client_id"], e["client_secret"]) for e in entries}
        app = create_app(settings.model_copy(update={"issuer": "http://hub.test"}), engine=engine)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
            yield Demo(engine, client, credentials)


def gid(type_name: str, pk: int) -> str:
    return to_global_id(type_name, int(pk))


# --- the state each operation needs ------------------------------------------------------------------

Setup = Callable[[Demo], Awaitable[dict[str, Any]]]
SETUPS: dict[str, Setup] = {}


def setup(name: str) -> Callable[[Setup], Setup]:
    def register(function: Setup) -> Setup:
        SETUPS[name] = function
        return function

    return register


def example(name: str) -> Example:
    return next(e for e in EXAMPLES if e.name == name)


SUBMIT_INQUIRY = """
mutation($person: ID) {
  submitInquiry(input: { source: FAMILY, channel: PHONE, requesterName: "A. Relative", category: MEDICAL,
                         summary: "Asking about a medical appointment", details: "When is it?",
                         subjectPersonId: $person }) {
    inquiry { id version } errors { code field message }
  }
}
"""


async def new_inquiry(demo: Demo) -> str:
    data = await demo.ok(SUBMIT_INQUIRY, {"person": None}, Audience.CONSTITUENT_SERVICES)
    inquiry_id: str = data["submitInquiry"]["inquiry"]["id"]
    return inquiry_id


async def registration_at_version_1(demo: Demo) -> str:
    person = await demo.scalar(
        "SELECT person_id FROM victim_registrations WHERE status = 'active' ORDER BY id"
    )
    registered = await demo.ok(
        example("Register").text.replace('"vs-2026-11-27-001"', '"readme-contact-setup"'),
        {"person": gid("Person", person)},
        Audience.VICTIM_SERVICES,
    )
    registration: str = registered["registerVictim"]["registration"]["id"]
    return registration


@setup("CaseVictims")
async def _case_victims(demo: Demo) -> dict[str, Any]:
    # A case with a notice still awaiting its acknowledgement.
    person = await demo.scalar(
        "SELECT r.person_id FROM victim_registrations r JOIN notifications n ON n.registration_id = r.id "
        "WHERE r.status = 'active' AND n.requires_ack AND n.acknowledged_at IS NULL AND n.status = 'delivered' "
        "ORDER BY r.person_id LIMIT 1"
    )
    return {"person": gid("Person", person)}


@setup("Register")
async def _register(demo: Demo) -> dict[str, Any]:
    person = await demo.scalar("SELECT person_id FROM victim_registrations ORDER BY id LIMIT 1")
    return {"person": gid("Person", person)}


@setup("Contact")
async def _contact(demo: Demo) -> dict[str, Any]:
    registration = await registration_at_version_1(demo)
    order = await demo.scalar(
        "SELECT o.id FROM restitution_orders o WHERE o.status = 'open' AND o.amount - "
        "(SELECT coalesce(sum(amount), 0) FROM restitution_payments p WHERE p.order_id = o.id) >= 125 "
        "AND NOT EXISTS (SELECT 1 FROM restitution_payments p WHERE p.order_id = o.id AND p.reference = 'RCPT-88') "
        "ORDER BY o.id LIMIT 1"
    )
    return {"registration": registration, "hearing": None, "order": gid("RestitutionOrder", order)}


@setup("Work")
async def _work(demo: Demo) -> dict[str, Any]:
    return {"id": await new_inquiry(demo)}


@setup("Reopen")
async def _reopen(demo: Demo) -> dict[str, Any]:
    inquiry = await new_inquiry(demo)
    await demo.ok(example("Work").text, {"id": inquiry}, Audience.CONSTITUENT_SERVICES)
    return {"id": inquiry}


@setup("Money")
async def _money(demo: Demo) -> dict[str, Any]:
    award = await demo.scalar(
        "SELECT id FROM federal_awards WHERE status = 'active' AND period_start <= '2026-10-01' "
        "AND period_end >= '2027-09-30' ORDER BY amount DESC LIMIT 1"
    )
    report = await demo.scalar(
        "SELECT id FROM award_reports WHERE award_id = :award AND submitted_on IS NULL AND version = 1 "
        "AND due_on <= '2026-12-31' ORDER BY due_on DESC LIMIT 1",
        award=award,
    )
    return {"award": gid("FederalAward", award), "report": gid("AwardReport", report)}


@setup("Answer")
async def _answer(demo: Demo) -> dict[str, Any]:
    asked = await demo.ok(example("Ask").text, None, Audience.LEGISLATIVE)
    return {"note": asked["requestFiscalNote"]["fiscalNote"]["id"]}


@setup("Releasing")
async def _releasing(demo: Demo) -> dict[str, Any]:
    office = await demo.scalar(
        "SELECT supervision_office_id FROM people WHERE status = 'incarcerated' AND supervision_office_id IS NOT NULL "
        "GROUP BY supervision_office_id ORDER BY count(*) DESC LIMIT 1"
    )
    return {"office": gid("Facility", office), "after": None}


@setup("Population")
async def _population(demo: Demo) -> dict[str, Any]:
    facility = await demo.scalar("SELECT id FROM facilities WHERE serves_women ORDER BY id LIMIT 1")
    return {"facility": gid("Facility", facility)}


@setup("ReleaseToParole")
async def _release(demo: Demo) -> dict[str, Any]:
    async with demo.engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT p.id, p.version, p.supervision_office_id FROM people p WHERE p.status = 'incarcerated' "
                    "AND p.supervision_office_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM custody_events e "
                    "WHERE e.person_id = p.id AND e.occurred_at >= '2026-11-27') ORDER BY p.id LIMIT 1"
                )
            )
        ).one()
    return {"person": gid("Person", row[0]), "office": gid("Facility", row[2]), "version": row[1]}


@setup("Hearing")
async def _hearing(demo: Demo) -> dict[str, Any]:
    """A hearing held on 2026-11-26 and not yet decided, for the README to decide."""
    person = await demo.scalar(
        "SELECT p.id FROM people p WHERE p.status = 'incarcerated' AND NOT EXISTS (SELECT 1 FROM parole_hearings h "
        "WHERE h.person_id = p.id AND h.status = 'scheduled') ORDER BY p.id LIMIT 1"
    )
    scheduled = await demo.ok(
        """mutation($person: ID!) { recordCustodyEvent(input: { personId: $person, kind: HEARING_SCHEDULED,
             occurredAt: "2026-11-02T10:00:00Z", hearingType: INITIAL, scheduledFor: "2026-11-26T14:00:00Z" }) {
             event { hearing { id } } errors { code field message } } }""",
        {"person": gid("Person", person)},
        Audience.ADMIN,
    )
    return {
        "person": gid("Person", person),
        "hearing": scheduled["recordCustodyEvent"]["event"]["hearing"]["id"],
    }


@setup("Program")
async def _program(demo: Demo) -> dict[str, Any]:
    program = await demo.scalar(
        "SELECT e.program_id FROM enrollments e JOIN programs g ON g.id = e.program_id "
        "WHERE e.status = 'enrolled' AND g.reparative AND g.category = 'restorative_justice' "
        "GROUP BY e.program_id ORDER BY count(*) DESC LIMIT 1"
    )
    return {"program": gid("Program", program)}


@setup("Enrol")
async def _enrol(demo: Demo) -> dict[str, Any]:
    async with demo.engine.connect() as conn:
        offering = (
            await conn.execute(
                text(
                    "SELECT o.id, o.facility_id FROM program_offerings o WHERE o.status = 'open' "
                    "AND o.starts_on <= '2026-11-02' AND (o.ends_on IS NULL OR o.ends_on >= '2026-11-02') "
                    "AND o.capacity > (SELECT count(*) FROM enrollments e WHERE e.offering_id = o.id "
                    "AND e.status = 'enrolled') AND EXISTS (SELECT 1 FROM people p WHERE p.status = 'incarcerated' "
                    "AND p.current_facility_id = o.facility_id) ORDER BY o.id LIMIT 1"
                )
            )
        ).one()
        person = await conn.scalar(
            text(
                "SELECT p.id FROM people p WHERE p.status = 'incarcerated' AND p.current_facility_id = :facility "
                "AND NOT EXISTS (SELECT 1 FROM enrollments e JOIN program_offerings o ON o.id = e.offering_id "
                "WHERE e.person_id = p.id AND o.program_id = (SELECT program_id FROM program_offerings "
                "WHERE id = :offering)) ORDER BY p.id LIMIT 1"
            ),
            {"facility": offering[1], "offering": offering[0]},
        )
        enrollment = await conn.scalar(
            text(
                "SELECT e.id FROM enrollments e JOIN programs g ON g.id = e.program_id WHERE e.status = 'enrolled' "
                "AND e.version = 1 AND g.reparative AND e.enrolled_on <= '2026-11-20' ORDER BY e.id LIMIT 1"
            )
        )
    return {
        "person": gid("Person", person),
        "offering": gid("ProgramOffering", offering[0]),
        "enrollment": gid("Enrollment", enrollment),
    }


@setup("Refer")
async def _refer(demo: Demo) -> dict[str, Any]:
    partner = await demo.scalar("SELECT id FROM partners WHERE audience = 'reentry' ORDER BY id LIMIT 1")
    person = await demo.scalar(
        "SELECT p.id FROM people p WHERE p.status = 'incarcerated' AND NOT EXISTS (SELECT 1 FROM referrals r "
        "WHERE r.person_id = p.id) ORDER BY p.id LIMIT 1"
    )
    return {"person": gid("Person", person), "partner": gid("Partner", partner)}


@setup("Serve")
async def _serve(demo: Demo) -> dict[str, Any]:
    variables = await _refer(demo)
    variables["person"] = gid(
        "Person",
        await demo.scalar(
            "SELECT p.id FROM people p WHERE p.status = 'incarcerated' AND NOT EXISTS (SELECT 1 FROM referrals r "
            "WHERE r.person_id = p.id) ORDER BY p.id DESC LIMIT 1"
        ),
    )
    referred = await demo.ok(example("Refer").text, variables, Audience.PROGRAMS)
    return {"referral": referred["referPerson"]["referral"]["id"]}


@setup("RevokeConsent")
async def _revoke(demo: Demo) -> dict[str, Any]:
    variables = await _refer(demo)
    variables["person"] = gid(
        "Person",
        await demo.scalar(
            "SELECT p.id FROM people p WHERE p.status = 'incarcerated' AND NOT EXISTS (SELECT 1 FROM referrals r "
            "WHERE r.person_id = p.id) ORDER BY p.id DESC LIMIT 1 OFFSET 1"
        ),
    )
    referred = await demo.ok(example("Refer").text, variables, Audience.PROGRAMS)
    return {"consent": referred["recordConsent"]["consent"]["id"]}


@setup("whoSaw")
async def _who_saw(demo: Demo) -> dict[str, Any]:
    variables = await _case_victims(demo)
    await demo.ok(
        "query($id: ID!) { person(id: $id) { docId lastName } }",
        {"id": variables["person"]},
        Audience.LEGISLATIVE,
    )
    return {"id": variables["person"]}


# --- what some operations must show besides answering ------------------------------------------------

Check = Callable[[Demo, dict[str, Any], dict[str, Any]], Awaitable[None]]
CHECKS: dict[str, Check] = {}


def check(name: str) -> Callable[[Check], Check]:
    def register(function: Check) -> Check:
        CHECKS[name] = function
        return function

    return register


@check("Lookup")
async def _found_the_person(demo: Demo, variables: dict[str, Any], data: dict[str, Any]) -> None:
    [person] = data["people"]["nodes"]
    assert person["sentences"]
    assert person["paroleHearings"]
    assert person["enrollments"]
    assert person["referrals"]


INQUIRY_STATE = "query($id: ID!) { inquiry(id: $id) { status version reopenedCount } }"


@check("Work")
async def _worked(demo: Demo, variables: dict[str, Any], data: dict[str, Any]) -> None:
    # The first payload is right today; the payloads of the later two read a stale cache (issue 14
    # item 2, fixed elsewhere), so what the store holds afterwards is checked instead of them.
    assert data["assignInquiry"]["inquiry"] == {"status": "ASSIGNED", "version": 2}
    after = await demo.ok(INQUIRY_STATE, {"id": variables["id"]}, Audience.CONSTITUENT_SERVICES)
    assert after["inquiry"] == {"status": "CLOSED", "version": 4, "reopenedCount": 0}


@check("Reopen")
async def _reopened(demo: Demo, variables: dict[str, Any], data: dict[str, Any]) -> None:
    assert data["reopenInquiry"]["inquiry"]["status"] == "ASSIGNED"  # back to whoever had it
    assert data["reopenInquiry"]["inquiry"]["reopenedCount"] == 1


@check("ReleaseToParole")
async def _released(demo: Demo, variables: dict[str, Any], data: dict[str, Any]) -> None:
    person = data["recordCustodyEvent"]["person"]
    assert person["status"] == "SUPERVISED"
    assert person["version"] > variables["version"]


@check("Enrol")
async def _enrolled(demo: Demo, variables: dict[str, Any], data: dict[str, Any]) -> None:
    # The enrolment's payload is right; the later two read a stale cache (issue 14 item 2, fixed
    # elsewhere): the store is checked instead.
    assert data["enrolPerson"]["enrollment"]["status"] == "ENROLLED"
    after = await demo.ok(
        "query($id: ID!) { node: enrollment(id: $id) { status version reparativeHours endedOn } }",
        {"id": variables["enrollment"]},
        Audience.PROGRAMS,
    )
    assert after["node"]["status"] == "COMPLETED"
    assert after["node"]["version"] == 3
    assert after["node"]["endedOn"] == "2026-11-26"


@check("Serve")
async def _served(demo: Demo, variables: dict[str, Any], data: dict[str, Any]) -> None:
    assert data["closeReferral"]["referral"]["status"] == "CLOSED"


@check("RevokeConsent")
async def _revoked(demo: Demo, variables: dict[str, Any], data: dict[str, Any]) -> None:
    assert data["revokeConsent"]["consent"] == {"active": False, "revokedOn": "2026-11-27"}


# --- the tests ---------------------------------------------------------------------------------------


# The samples first: the operations below write (a release they record is then embargoed from
# partners for HUB_VICTIM_EMBARGO_MINUTES, a person fewer in the legislative count), and the samples
# are what a newcomer sees right after `make demo`. Tests run in file order.


def _section(name: str) -> str:
    return docs.section(name)


def test_the_shell_examples_query_something() -> None:
    for name in ("demo", "partner-guide"):
        assert re.findall(r"-d '(\{\"query\".*?\})'", _section(name)), name


@pytest.mark.parametrize("name", ["demo", "partner-guide"])
async def test_the_curl_queries_answer_the_samples_shown(name: str, demo: Demo) -> None:
    section = _section(name)
    for payload in re.findall(r"-d '(\{\"query\".*?\})'", section):
        request = json.loads(payload)
        response = await demo.client.post(
            "/graphql",
            json=request,
            headers={"Authorization": f"Bearer {await demo.token(Audience.LEGISLATIVE)}"},
        )
        assert response.status_code == 200
        assert_clean(response.json())
        # A sample answer follows as a `# {...…` comment: the text before the ellipsis is what the
        # demo department answers, byte for byte.
        sample = re.search(re.escape(payload) + r"'\n(?:.*\n)*?# (\{\"data\".*)", section)
        if sample:
            shown = sample.group(1).split("…", 1)[0]
            assert response.text.startswith(shown), (shown, response.text[:200])


async def test_the_token_response_is_the_sample_shown(demo: Demo) -> None:
    [sample] = re.findall(r"# (\{\"access_token\".*\})", _section("partner-guide"))
    client_id, secret = demo.credentials[Audience.LEGISLATIVE]
    response = await demo.client.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    )
    assert response.status_code == 200
    before, after = sample.split("…", 1)
    assert response.text.startswith(before)
    assert response.text.endswith(after)


def test_the_readme_has_its_operations() -> None:
    cookbook = [e.name for e in EXAMPLES if e.section == "cookbook"]
    assert len(cookbook) >= 23
    assert all("#" not in name for name in cookbook), "two cookbook operations share a name"
    assert {e.section for e in EXAMPLES} >= {"cookbook", "research", "ledger"}


#: Root fields of README queries that may answer empty on the demo data, and why.
MAY_BE_EMPTY = {
    ("auditEvents", "auditEvents"): "a fresh demo has refused nothing yet",
}


def empty_root_fields(name: str, data: dict[str, Any]) -> list[str]:
    """Root fields of a query that show nothing: an example that demonstrates nothing is broken too."""
    empty = []
    for key, value in data.items():
        if (name.split("#")[0], key) in MAY_BE_EMPTY:
            continue
        if (isinstance(value, list) and not value) or (
            isinstance(value, dict) and (value.get("totalCount") == 0 or value.get("nodes") == [])
        ):
            empty.append(key)
    return empty


@pytest.mark.parametrize("case", EXAMPLES, ids=str)
async def test_the_readme_operation_answers(case: Example, demo: Demo) -> None:
    prepare = SETUPS.get(case.name)
    variables = await prepare(demo) if prepare else {}
    body = await demo.post(case.text, variables, case.audience)
    assert_clean(body)
    if not re.match(r"\s*(#.*\n\s*)*mutation\b", case.text):
        assert empty_root_fields(case.name, body["data"]) == []
    check = CHECKS.get(case.name)
    if check is not None:
        await check(demo, variables, body["data"])


# --- the queries and sample answers of the shell examples ----------------------------------------------


# --- the error table -----------------------------------------------------------------------------------


def test_the_error_table_names_every_code_a_caller_can_get() -> None:
    import hub.endpoint
    import schema.execution
    from schema.mutations import MutationErrorCode

    hardening = _section("hardening")
    table = hardening.split("| code | status | meaning |", 1)[1].split("\n\n", 1)[0]
    named = set(re.findall(r"`([A-Z_]+)`", table))
    codes = {member.name for member in MutationErrorCode}
    for module in (schema.execution, hub.endpoint):
        codes |= {
            value
            for key, value in vars(module).items()
            if key.isupper() and isinstance(value, str) and re.fullmatch(r"[A-Z][A-Z_]+", value)
        }
    assert codes - named == set()
