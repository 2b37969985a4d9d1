"""The compiled path against its oracle, the resolver path: same data, same errors, same ledger.

One synthetic department (the demo's generator), two hubs over it that differ only in
``HUB_EXECUTION``. Every operation below — hand-written ones that reach every declared field with
aliases, fragments, directives and pages; the bench workloads; every README and docs query; and
queries hypothesis-graphql writes from each audience's own schema — is sent to both as the same
partner, and the answers must agree: identical response bytes (but for the request id), identical error codes and paths, and the
same disclosures in the ledger (subject, kind and field classes) for the two requests.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import pytest_asyncio
from graphql import GraphQLSchema
from hypothesis import HealthCheck, given, seed, settings
from hypothesis_graphql import queries
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.workloads import WORKLOADS
from hub.app import create_app
from hub.demo import prepare_demo
from resolvers.models.ledger import AuditDisclosure, AuditEvent
from resolvers.models.partners import Audience
from schema.audiences import audience_schemas
from schema.compiled.roots import ROOTS
from schema.ids import to_global_id
from schema.root import build_schema
from tests.factories.stores import fresh_store
from tests.schema.test_fuzz import CUSTOM_SCALARS
from tests.test_readme_operations import EXAMPLES as DOC_EXAMPLES

REQUEST_ID = re.compile(r'"requestId":"[^"]*"')
FUZZ_SEED = os.environ.get("HUB_TEST_FUZZ_SEED", "20261202")
FUZZ_EXAMPLES = int(os.environ.get("HUB_TEST_DIFFERENTIAL_EXAMPLES", "25"))


@dataclass
class Pair:
    engine: AsyncEngine
    compiled: httpx.AsyncClient
    resolvers: httpx.AsyncClient
    credentials: dict[Audience, tuple[str, str]]
    #: The compiled hub's executors, to see that plans were made (the test of the test).
    executors: dict[Audience, Any]
    tokens: dict[Audience, str] = field(default_factory=dict)

    async def token(self, audience: Audience) -> str:
        if audience not in self.tokens:
            client_id, secret = self.credentials[audience]
            response = await self.compiled.post(
                "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
            )
            assert response.status_code == 200, response.text
            self.tokens[audience] = response.json()["access_token"]
        return self.tokens[audience]

    async def disclosures(self, request_id: str) -> set[tuple[str, int, tuple[str, ...]]]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(
                    AuditDisclosure.subject_kind, AuditDisclosure.subject_id, AuditDisclosure.field_classes
                )
                .join(AuditEvent, AuditEvent.id == AuditDisclosure.event_id)
                .where(AuditEvent.request_id == request_id)
            )
            return {(kind, pk, tuple(sorted(classes))) for kind, pk, classes in rows}

    async def compare(
        self, query: str, variables: dict[str, Any] | None, audience: Audience
    ) -> dict[str, Any]:
        token = await self.token(audience)
        answers = []
        texts: list[str] = []
        for client in (self.compiled, self.resolvers):
            response = await client.post(
                "/graphql",
                json={"query": query, "variables": variables or {}},
                headers={"Authorization": f"Bearer {token}"},
            )
            body = response.json()
            request_id = (body.get("extensions") or {}).get("requestId")
            disclosed = await self.disclosures(request_id) if request_id else set()
            errors = sorted(
                (e["extensions"]["code"], json.dumps(e.get("path"))) for e in body.get("errors") or []
            )
            answers.append((response.status_code, _sealed(body.get("data")), errors, disclosed))
            texts.append(REQUEST_ID.sub("<request id>", response.text))
        compiled, oracle = answers
        assert compiled[0] == oracle[0], (query, compiled, oracle)
        assert compiled[1] == oracle[1], (
            query,
            variables,
            audience,
            _first_difference(compiled[1], oracle[1]),
        )
        assert compiled[2] == oracle[2], (query, compiled[2], oracle[2])
        assert compiled[3] == oracle[3], (query, audience, compiled[3] ^ oracle[3])
        if "gAAAAA" not in texts[1]:  # byte for byte, where no sealed cursor differs
            assert texts[0] == texts[1], (query, texts[0][:300], texts[1][:300])
        data: dict[str, Any] = compiled[1] or {}
        return data


def _sealed(value: Any) -> Any:
    """The answer with sealed cursors masked: the research root's cursors are Fernet tokens, which
    carry their time of issue, so no two requests share one (whichever path answers)."""
    if isinstance(value, dict):
        return {k: _sealed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_sealed(v) for v in value]
    if isinstance(value, str) and value.startswith("gAAAAA"):
        return "<sealed cursor>"
    return value


def _first_difference(a: Any, b: Any, path: str = "") -> str | None:
    """Where two answers first differ, for the failure message."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in [*a, *(k for k in b if k not in a)]:
            found = _first_difference(a.get(key), b.get(key), f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} items != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            found = _first_difference(x, y, f"{path}[{i}]")
            if found:
                return found
        return None
    return None if a == b else f"{path}: {a!r} != {b!r}"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def pair(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Pair]:
    directory = tmp_path_factory.mktemp("differential")
    async with fresh_store(directory, "differential") as (base, engine):
        base = base.model_copy(update={"demo_dir": str(directory / ".hub-demo"), "rate_flush_ms": 0})
        await prepare_demo(base, scale=300)
        entries = json.loads((directory / ".hub-demo" / "clients.json").read_text())
        credentials = {Audience(e["audience"]): (e["client_id"], e["client_secret"]) for e in entries}
        apps = [
            create_app(
                base.model_copy(update={"issuer": "http://hub.test", "execution": mode}), engine=engine
            )
            for mode in ("compiled", "resolvers")
        ]
        transports = [httpx.ASGITransport(app=app) for app in apps]
        async with (
            httpx.AsyncClient(transport=transports[0], base_url="http://hub.test") as compiled,
            httpx.AsyncClient(transport=transports[1], base_url="http://hub.test") as resolvers,
        ):
            yield Pair(engine, compiled, resolvers, credentials, apps[0].state.executors)


async def _ids(pair: Pair, sql: str) -> list[int]:
    async with pair.engine.connect() as conn:
        return [row[0] for row in await conn.execute(text(sql))]


async def _rows(pair: Pair, sql: str) -> list[tuple[Any, ...]]:
    async with pair.engine.connect() as conn:
        return [tuple(row) for row in await conn.execute(text(sql))]


#: A selection as (field, sub-selection) pairs; ``select`` keeps what an audience's schema has.
Spec = list[tuple[str, "Spec | None"]]


def leaves(names: str) -> Spec:
    """Fields without a selection of their own, by name."""
    return [(name, None) for name in names.split()]


FACILITY = leaves("id code name kind county region capacity servesWomen address __typename")
PROGRAM = leaves("id code name category description reparative genderResponsive")
HEARING: Spec = [
    *leaves("id hearingType scheduledFor status decision decidedOn"),
    ("facility", leaves("name")),
]
PERSON_SPEC: Spec = [
    *leaves("docId firstName middleName lastName sex race status version age"),
    ("facility", FACILITY),
    ("identity", leaves("birthDate addressLine city county state postalCode phone")),
    ("identifiers", leaves("ssn fbiNumber stateId")),
    (
        "sentences",
        [
            *leaves("id causeNumber county sentencedOn sentenceType termMonths status"),
            ("charges", leaves("statute offense offenseClass category")),
        ],
    ),
    (
        "enrollments",
        [
            *leaves("id enrolledOn status endedOn version"),
            ("program", PROGRAM),
            (
                "offering",
                [
                    *leaves("id startsOn endsOn capacity status"),
                    ("program", leaves("name")),
                    ("facility", leaves("name")),
                ],
            ),
            ("person", leaves("id docId")),
        ],
    ),
    ("aliases", None),
    ("projectedReleaseOn", None),
    (
        "custodyPeriods",
        [
            *leaves(
                "admissionType admittedOn releasedOn releaseType projectedReleaseOn releasePlan releaseCounty "
                "housingUnit custodyLevel version"
            ),
            ("facility", leaves("name")),
            ("supervisionOffice", leaves("name id")),
        ],
    ),
    ("supervisionPeriods", [*leaves("kind startedOn endedOn endReason"), ("office", leaves("code"))]),
    ("conductReports", [*leaves("occurredOn violation outcome"), ("facility", FACILITY)]),
    ("healthNeeds", leaves("kind level assessedOn")),
    ("substanceUseNeeds", leaves("kind level assessedOn")),
    ("paroleHearings", HEARING),
    (
        "custodyEvents",
        [
            *leaves("id kind occurredAt notes"),
            ("facility", leaves("name")),
            ("toFacility", leaves("name")),
            ("hearing", HEARING),
        ],
    ),
    (
        "referrals",
        [
            *leaves(
                "id partnerId partnerName serviceType referredOn status notes closedOn closureReason version"
            ),
            (
                "services",
                [
                    *leaves("id serviceType deliveredOn description outcome recordedAt"),
                    ("referral", leaves("id status")),
                ],
            ),
        ],
    ),
    (
        "consents",
        leaves(
            "id partnerId purpose signedOn expiresOn revokedOn revocationReason version categories active"
        ),
    ),
]


def select_for(schema: GraphQLSchema, type_name: str, spec: Spec) -> str:
    """The selection of ``spec`` that ``schema`` (an audience's) can ask of ``type_name``."""
    t = schema.type_map[type_name]
    parts = []
    for name, inner in spec:
        if name == "__typename":
            parts.append(name)
            continue
        fields = getattr(t, "fields", {})
        if name not in fields:
            continue
        if inner is None:
            parts.append(name)
        else:
            named = fields[name].type
            while hasattr(named, "of_type"):
                named = named.of_type
            parts.append(f"{name} {{ {select_for(schema, named.name, inner) or '__typename'} }}")
    return " ".join(parts)


def person_query(schema: GraphQLSchema) -> str:
    """One person with every field of the audience's schema, through a fragment, an inline fragment,
    aliases and both directives (each variable is used whatever the audience reads)."""
    return f"""
fragment Who on Person {{ {select_for(schema, "Person", PERSON_SPEC)} }}
query One($id: ID!, $withSentences: Boolean!, $skipPrograms: Boolean = false) {{
  person(id: $id) {{
    id ...Who
    who: lastName @include(if: $withSentences)
    ... on Person {{ again: id @skip(if: $skipPrograms) __typename }}
  }}
}}
"""


PEOPLE = """
query List($first: Int, $after: String, $status: PersonStatus, $name: String) {
  __typename
  people(first: $first, after: $after, status: $status, name: $name) {
    __typename
    totalCount
    pageInfo { hasNextPage endCursor startCursor __typename }
    nodes { id docId lastName firstName facility { name } enrollments { status program { name } } }
    again: nodes { docId }
  }
  facilities(first: 3) { totalCount pageInfo { hasNextPage endCursor } nodes { id name kind } }
}
"""

REFERRALS = """
query Refs($first: Int, $after: String) {
  referrals(first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes {
      id partnerId partnerName serviceType referredOn status
      person { id docId firstName lastName projectedReleaseOn age
               consents { categories expiresOn active person { docId } } enrollments { status } }
    }
  }
}
"""

#: Root fields the resolver path answers next to compiled ones (mixing both in one operation).
MIXED = """
query Mixed($id: ID!) {
  person(id: $id) { docId facility { name population(first: 2) { totalCount } } }
  other: person(id: $id) { docId lastName }
  programs(first: 2) { nodes { name } }
}
"""

#: The other compiled lists, with their filters.
LISTS = """
query Lists($first: Int, $after: String, $active: Boolean = false, $from: Date, $to: Date,
            $program: ID, $person: ID) {
  programs(first: $first, after: $after, reparative: true) {
    totalCount pageInfo { hasNextPage endCursor } nodes { id name category }
  }
  allPrograms: programs(first: $first, after: $after) { nodes { code genderResponsive } }
  programOfferings(first: $first, after: $after, programId: $program, status: OPEN) {
    totalCount pageInfo { hasNextPage endCursor } nodes { id startsOn capacity program { name } facility { name } }
  }
  enrollments(first: $first, after: $after, personId: $person) {
    totalCount pageInfo { hasNextPage endCursor startCursor }
    nodes { id status enrolledOn person { docId lastName } program { code } }
  }
  consents(first: $first, after: $after, active: $active) {
    totalCount pageInfo { hasNextPage endCursor } nodes { id purpose signedOn categories active person { docId } }
  }
  servicesDelivered(first: $first, after: $after, deliveredFrom: $from, deliveredTo: $to) {
    totalCount pageInfo { hasNextPage endCursor } nodes { id serviceType deliveredOn referral { id status } }
  }
}
"""

#: Nested connections: a page per parent, with its own cursors and count.
POPULATION = """
query Population($first: Int, $after: String, $status: PersonStatus) {
  facilities(first: 6) {
    nodes {
      name
      population(first: $first, after: $after, status: $status) {
        __typename totalCount
        pageInfo { hasNextPage endCursor startCursor __typename }
        nodes { id docId lastName firstName status }
        again: nodes { docId }
      }
      everyone: population(first: 100) { totalCount nodes { docId } }
    }
  }
}
"""

PROGRAM_PAGES = """
query ProgramPages($first: Int, $after: String, $status: EnrollmentStatus) {
  programs(first: 4) {
    nodes {
      code
      offerings(first: $first) { totalCount pageInfo { hasNextPage endCursor } nodes { id startsOn facility { name } } }
      enrollments(first: $first, after: $after, status: $status) {
        totalCount pageInfo { hasNextPage endCursor startCursor }
        nodes { id enrolledOn status person { docId } }
      }
    }
  }
}
"""

#: Deeper than SQLite's parser takes in one statement (found by hypothesis-graphql): the root runs
#: on the resolver path there, compiled on PostgreSQL, with the same answer.
DEEP = """
query Deep($enrollment: ID!) {
  enrollment(id: $enrollment) {
    person { id facility { id } referrals { referredOn person { firstName sex custodyEvents { id } consents { categories } } } }
  }
}
"""

AUDIENCES = (
    Audience.ADMIN,
    Audience.PROGRAMS,
    Audience.LEGISLATIVE,
    Audience.REENTRY,
    Audience.CONSTITUENT_SERVICES,
)


async def test_one_person_with_every_declared_field(
    pair: Pair, schemas: dict[Audience, GraphQLSchema]
) -> None:
    people = await _ids(pair, "SELECT id FROM people ORDER BY id LIMIT 40")
    referred = await _ids(pair, "SELECT DISTINCT person_id FROM referrals ORDER BY person_id LIMIT 10")
    ran = 0
    for audience in AUDIENCES:
        for pk in [*people[::8], *referred[:4]]:
            for flags in ({"withSentences": True}, {"withSentences": False, "skipPrograms": True}):
                query = person_query(schemas[audience])
                data = await pair.compare(query, {"id": to_global_id("Person", pk), **flags}, audience)
                ran += data.get("person") is not None
    assert ran > 40  # the comparisons were not all of nulls


async def test_lists_pages_and_filters(pair: Pair) -> None:
    for audience in AUDIENCES:
        after = None
        for _ in range(3):  # three pages, following the cursors
            data = await pair.compare(PEOPLE, {"first": 7, "after": after}, audience)
            after = ((data.get("people") or {}).get("pageInfo") or {}).get("endCursor")
        await pair.compare(PEOPLE, {"first": 5, "status": "SUPERVISED"}, audience)
        await pair.compare(PEOPLE, {"first": 5, "name": "a"}, audience)
        # Refused arguments: the same error, code and path from both paths.
        await pair.compare(PEOPLE, {"first": 500}, audience)
        await pair.compare(PEOPLE, {"first": 0}, audience)
        await pair.compare(PEOPLE, {"first": 3, "after": "not-a-cursor"}, audience)
        await pair.compare(PEOPLE, {"first": 3, "name": "   "}, audience)


async def test_the_other_lists_pages_and_filters(pair: Pair) -> None:
    program, person = (
        await _rows(pair, "SELECT program_id, person_id FROM enrollments ORDER BY id LIMIT 1")
    )[0]
    ids = {"program": to_global_id("Program", program), "person": to_global_id("Person", person)}
    for audience in (*AUDIENCES, Audience.RESEARCH_UNIT):
        after = None
        for page in range(2):
            data = await pair.compare(LISTS, {"first": 4, "after": after, **ids}, audience)
            if audience is Audience.ADMIN and page == 0:  # rows were compared, not empty lists
                for name in ("programs", "programOfferings", "enrollments", "consents", "servicesDelivered"):
                    assert data[name]["nodes"], name
            after = ((data.get("enrollments") or {}).get("pageInfo") or {}).get("endCursor")
        await pair.compare(LISTS, {"first": 3, "active": True, "from": "2020-01-01"}, audience)
        # A range that ends before it starts, and a bad cursor: the same refusal from both paths.
        await pair.compare(LISTS, {"first": 3, "from": "2026-01-01", "to": "2025-01-01"}, audience)
        await pair.compare(LISTS, {"first": 3, "after": "not-a-cursor"}, audience)


async def test_nested_connections_page_by_parent(pair: Pair) -> None:
    reads = pair.executors[Audience.ADMIN].compiled
    for audience in AUDIENCES:
        ran = reads.roots_run
        after = None
        for _ in range(3):  # three pages of the first facility's population, its cursor for every one
            data = await pair.compare(POPULATION, {"first": 3, "after": after}, audience)
            facilities = (data.get("facilities") or {}).get("nodes") or [{}]
            after = ((facilities[0].get("population") or {}).get("pageInfo") or {}).get("endCursor")
        await pair.compare(POPULATION, {"first": 2, "status": "DISCHARGED"}, audience)
        await pair.compare(POPULATION, {"first": 0}, audience)
        await pair.compare(POPULATION, {"first": 500}, audience)  # refused: the resolvers refuse it
        await pair.compare(POPULATION, {"first": 2, "after": "not-a-cursor"}, audience)
        after = None
        for _ in range(3):
            data = await pair.compare(PROGRAM_PAGES, {"first": 2, "after": after}, audience)
            programs = (data.get("programs") or {}).get("nodes") or [{}]
            after = ((programs[0].get("enrollments") or {}).get("pageInfo") or {}).get("endCursor")
        await pair.compare(PROGRAM_PAGES, {"first": 3, "status": "COMPLETED"}, audience)
        if audience is Audience.ADMIN:  # the pages were compiled, not answered by the resolvers
            assert reads.roots_run >= ran + 8


async def test_a_selection_deeper_than_sqlites_parser(pair: Pair) -> None:
    enrollments = await _ids(
        pair,
        "SELECT e.id FROM enrollments e JOIN referrals r ON r.person_id = e.person_id ORDER BY e.id LIMIT 3",
    )
    for audience in (Audience.ADMIN, Audience.PROGRAMS, Audience.REENTRY):
        for pk in enrollments:
            for _ in range(2):  # the second time from the cached plan
                await pair.compare(DEEP, {"enrollment": to_global_id("Enrollment", pk)}, audience)


async def test_a_reentry_partners_referrals_within_consent(pair: Pair) -> None:
    for audience in (Audience.REENTRY, Audience.PROGRAMS, Audience.ADMIN, Audience.LEGISLATIVE):
        after = None
        for _ in range(2):
            data = await pair.compare(REFERRALS, {"first": 10, "after": after}, audience)
            after = (data.get("referrals") or {}).get("pageInfo", {}).get("endCursor")


async def test_compiled_and_resolver_roots_mix_in_one_operation(pair: Pair) -> None:
    pk = (await _ids(pair, "SELECT id FROM people WHERE current_facility_id IS NOT NULL LIMIT 1"))[0]
    for audience in AUDIENCES:
        await pair.compare(MIXED, {"id": to_global_id("Person", pk)}, audience)


async def test_the_bench_workloads(pair: Pair) -> None:
    pk = (await _ids(pair, "SELECT id FROM people ORDER BY id LIMIT 1 OFFSET 100"))[0]
    for workload in WORKLOADS:
        query = workload.hub["query"]
        if query.lstrip().startswith("mutation"):
            continue
        variables = dict(workload.hub.get("variables") or {})
        if "id" in variables:
            variables["id"] = to_global_id("Person", pk)
        await pair.compare(query, variables, Audience(workload.audience))


@pytest.mark.parametrize("example", [e for e in DOC_EXAMPLES if "mutation" not in e.text], ids=str)
async def test_every_docs_query(pair: Pair, example: Any) -> None:
    # Variables the block needs come from the seeded rows: a person, a facility.
    person = (await _ids(pair, "SELECT person_id FROM referrals ORDER BY id LIMIT 1"))[0]
    facility = (await _ids(pair, "SELECT id FROM facilities ORDER BY id LIMIT 1"))[0]
    variables = {
        "id": to_global_id("Person", person),
        "person": to_global_id("Person", person),
        "personId": to_global_id("Person", person),
        "facility": to_global_id("Facility", facility),
    }
    await pair.compare(example.text, variables, example.audience)


@pytest.fixture(scope="module")
def schemas() -> dict[Audience, GraphQLSchema]:
    return audience_schemas(build_schema(), record=False)


def _roots(schema: GraphQLSchema) -> list[str]:
    assert schema.query_type is not None
    return [name for name in ROOTS if name in schema.query_type.fields]


def _generated(schema: GraphQLSchema, count: int) -> list[str]:
    """``count`` queries hypothesis-graphql writes from ``schema`` on the compiled roots (drawn first,
    sent afterwards: the drawing is synchronous, the hubs are not)."""
    found: list[str] = []

    @settings(
        max_examples=count,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        derandomize=FUZZ_SEED != "random",
    )
    @given(query=queries(schema, fields=_roots(schema), custom_scalars=CUSTOM_SCALARS))
    def draw(query: str) -> None:
        found.append(query)

    if FUZZ_SEED != "random":
        draw = seed(int(FUZZ_SEED))(draw)
    draw()
    return found


@pytest.mark.parametrize("audience", AUDIENCES, ids=str)
async def test_generated_queries(
    pair: Pair, schemas: dict[Audience, GraphQLSchema], audience: Audience
) -> None:
    """Selections hypothesis-graphql writes from the audience's own schema, on the compiled roots."""
    for query in _generated(schemas[audience], FUZZ_EXAMPLES):
        await pair.compare(query, None, audience)


async def test_the_compiled_path_ran(pair: Pair) -> None:
    """The comparisons above compared something: each audience's compiled path made plans, and the
    resolver hub made none."""
    for audience in AUDIENCES:
        reads = pair.executors[audience].compiled
        assert reads is not None
        assert reads.compiled_count >= 3, audience
        assert reads.roots_run >= 20, (audience, reads.roots_run)
