"""The five workloads, spelled for each server: the hub's GraphQL, PostGraphile's GraphQL over the same
tables, and the hand-written SQL server's JSON endpoints. Each is the same operation on every server."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: The person of workload 1: a stable key in every seeded department (the synthetic generator
#: numbers people from 1).
PERSON_PK = 4242


@dataclass(frozen=True)
class Workload:
    name: str
    title: str
    #: Which partner's token the hub request carries (see setup.CLIENT_PARTNERS).
    audience: str
    hub: dict[str, Any]
    #: None where the peer has no equivalent (the reentry partner's view needs the hub's authorization).
    peer: dict[str, Any] | None
    #: The SQL server's path (POST, same JSON body as the hub's variables).
    sql: str | None


def global_id(type_name: str, pk: int) -> str:
    import base64

    return base64.urlsafe_b64encode(f"{type_name}:{pk}".encode()).decode().rstrip("=")


PERSON_FIELDS = "id docId firstName lastName sex status facility { name }"

NESTED_HUB = """query People($first: Int) {
  people(first: $first) {
    nodes {
      id docId firstName lastName
      facility { name }
      sentences { sentencedOn termMonths charges { offense offenseClass } }
      enrollments { status program { name } }
    }
  }
}"""

# PostGraphile names relations after their foreign keys; the hub's `facility` is the current facility
# or, for people under supervision, their office, so the peer asks for both. PostGraphile v5 orders
# only by indexed columns, so children come in key order (the hub and SQL: by date, then key).
NESTED_PEER = """query People($first: Int) {
  allPeople(first: $first, orderBy: [LAST_NAME_ASC, FIRST_NAME_ASC, ROW_ID_ASC]) {
    nodes {
      rowId docId firstName lastName
      facilityByCurrentFacilityId { name }
      facilityBySupervisionOfficeId { name }
      sentencesByPersonId(orderBy: ROW_ID_ASC) {
        nodes { sentencedOn termMonths chargesBySentenceId(orderBy: ROW_ID_ASC) { nodes { offense offenseClass } } }
      }
      enrollmentsByPersonId(orderBy: ROW_ID_ASC) { nodes { status programByProgramId { name } } }
    }
  }
}"""

REFERRALS_HUB = """query Referrals($first: Int) {
  referrals(first: $first) {
    nodes {
      id serviceType referredOn status
      person { id docId firstName lastName projectedReleaseOn consents { categories expiresOn active } }
    }
  }
}"""

POPULATION_HUB = """query Population {
  populationStatistics { total bySex { sex count byFacility { count facility { name } } } }
}"""

POPULATION_PEER = """query Population {
  allBenchPeerPopulationBySexFacilities { nodes { sex facilityName people } }
}"""

INQUIRY_INPUT = {
    "category": "MEDICAL",
    "channel": "API",
    "requesterName": "Constituent of the district",
    "summary": "No medical appointment for three weeks",
    "details": "His mother reports he has asked to see a doctor since the start of the month.",
}

SUBMIT_HUB = """mutation Submit($input: SubmitInquiryInput!) {
  submitInquiry(input: $input) { inquiry { id reference status dueOn } errors { code field message } }
}"""

# PostGraphile names a function outside the first schema after its schema (bench_peer.submit_inquiry).
SUBMIT_PEER = """mutation Submit($input: BenchPeerSubmitInquiryInput!) {
  benchPeerSubmitInquiry(input: $input) { result { rowId reference status dueOn } }
}"""

WORKLOADS: tuple[Workload, ...] = (
    Workload(
        "person",
        "one person by id",
        "programs",
        {
            "query": f"query Person($id: ID!) {{ person(id: $id) {{ {PERSON_FIELDS} }} }}",
            "variables": {"id": global_id("Person", PERSON_PK)},
        },
        {
            "query": "query Person($id: Int!) { personByRowId(rowId: $id) { rowId docId firstName lastName sex "
            "status facilityByCurrentFacilityId { name } facilityBySupervisionOfficeId { name } } }",
            "variables": {"id": PERSON_PK},
        },
        "/person",
    ),
    Workload(
        "nested",
        "100 people, facility, sentences+charges, enrollments+programs",
        "programs",
        {"query": NESTED_HUB, "variables": {"first": 100}},
        {"query": NESTED_PEER, "variables": {"first": 100}},
        "/people",
    ),
    Workload(
        "referrals",
        "a reentry partner's referrals with consents (authorized)",
        "reentry",
        {"query": REFERRALS_HUB, "variables": {"first": 100}},
        None,
        None,
    ),
    Workload(
        "population",
        "population statistics by sex and facility",
        "programs",
        {"query": POPULATION_HUB},
        {"query": POPULATION_PEER},
        "/population",
    ),
    Workload(
        "submit",
        "mutation: submit an inquiry",
        "legislative",
        {"query": SUBMIT_HUB, "variables": {"input": {"source": "LEGISLATIVE", **INQUIRY_INPUT}}},
        {
            "query": SUBMIT_PEER,
            "variables": {
                "input": {
                    "category": "medical",
                    "channel": "api",
                    "requesterName": INQUIRY_INPUT["requesterName"],
                    "summary": INQUIRY_INPUT["summary"],
                    "details": INQUIRY_INPUT["details"],
                }
            },
        },
        "/inquiries",
    ),
)

BY_NAME = {w.name: w for w in WORKLOADS}
