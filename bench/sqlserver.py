"""The hand-written baseline: each workload as SQL written for it, through asyncpg, answered with the
same JSON ``data`` the hub returns. No GraphQL, no ORM, no authorization: the limit for a Python
service on this machine. Run by bench/run.py as ``uvicorn sqlserver:app --app-dir bench``.

Queries follow what a careful person would write by hand: the page, then the children of the page's
rows with ``= ANY($1)`` joined to what they name, assembled in Python and encoded with orjson.
"""

from __future__ import annotations

import base64
import os
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from typing import Any

import asyncpg
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

SEX = {"F": "FEMALE", "M": "MALE", "U": "UNKNOWN"}
CURRENT = ["incarcerated", "supervised", "escaped"]
RESPONSE_DAYS = 14


def gid(type_name: str, pk: int) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{pk}".encode()).decode().rstrip("=")


def pk_of(global_id: str) -> int:
    padded = global_id + "=" * (-len(global_id) % 4)
    type_name, _, pk = base64.urlsafe_b64decode(padded).decode().partition(":")
    if type_name != "Person" or not pk.isdigit():
        raise ValueError("id")
    return int(pk)


def respond(data: Any, status: int = 200) -> Response:
    return Response(orjson.dumps({"data": data}), status_code=status, media_type="application/json")


POOL: asyncpg.Pool | None = None


def pool() -> asyncpg.Pool:
    assert POOL is not None
    return POOL


PERSON = """
select p.id, p.doc_id, p.first_name, p.last_name, p.sex, p.status, f.name as facility
  from people p left join facilities f on f.id = coalesce(p.current_facility_id, p.supervision_office_id)
 where p.id = $1"""


async def person(request: Request) -> Response:
    body = orjson.loads(await request.body())
    try:
        pk = pk_of(body["variables"]["id"])
    except (KeyError, ValueError, TypeError):
        return respond(None, 400)
    row = await pool().fetchrow(PERSON, pk)
    if row is None:
        return respond({"person": None})
    return respond(
        {
            "person": {
                "id": gid("Person", row["id"]),
                "docId": row["doc_id"],
                "firstName": row["first_name"],
                "lastName": row["last_name"],
                "sex": SEX[row["sex"]],
                "status": row["status"].upper(),
                "facility": None if row["facility"] is None else {"name": row["facility"]},
            }
        }
    )


PAGE = """
select p.id, p.doc_id, p.first_name, p.last_name, f.name as facility
  from people p left join facilities f on f.id = coalesce(p.current_facility_id, p.supervision_office_id)
 order by p.last_name, p.first_name, p.id
 limit $1"""

SENTENCES = """
select s.person_id, s.id, s.sentenced_on, s.term_months, c.offense, c.offense_class
  from sentences s left join charges c on c.sentence_id = s.id
 where s.person_id = any($1::int[])
 order by s.person_id, s.sentenced_on, s.id, c.id"""

ENROLLMENTS = """
select e.person_id, e.status, g.name as program
  from enrollments e join programs g on g.id = e.program_id
 where e.person_id = any($1::int[])
 order by e.person_id, e.enrolled_on, e.id"""


def _iso(d: date) -> str:
    return d.isoformat()


async def people(request: Request) -> Response:
    body = orjson.loads(await request.body())
    first = int((body.get("variables") or {}).get("first") or 100)
    if not 0 < first <= 100:
        return respond(None, 400)
    async with pool().acquire() as conn:
        page = await conn.fetch(PAGE, first)
        ids = [r["id"] for r in page]
        sentence_rows = await conn.fetch(SENTENCES, ids)
        enrollment_rows = await conn.fetch(ENROLLMENTS, ids)
    sentences: dict[int, list[dict[str, Any]]] = defaultdict(list)
    last: dict[str, Any] | None = None
    last_id = None
    for r in sentence_rows:
        if r["id"] != last_id:
            last = {"sentencedOn": _iso(r["sentenced_on"]), "termMonths": r["term_months"], "charges": []}
            sentences[r["person_id"]].append(last)
            last_id = r["id"]
        if r["offense"] is not None:
            assert last is not None
            last["charges"].append({"offense": r["offense"], "offenseClass": r["offense_class"].upper()})
    enrollments: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for r in enrollment_rows:
        enrollments[r["person_id"]].append({"status": r["status"].upper(), "program": {"name": r["program"]}})
    nodes = [
        {
            "id": gid("Person", r["id"]),
            "docId": r["doc_id"],
            "firstName": r["first_name"],
            "lastName": r["last_name"],
            "facility": None if r["facility"] is None else {"name": r["facility"]},
            "sentences": sentences.get(r["id"], []),
            "enrollments": enrollments.get(r["id"], []),
        }
        for r in page
    ]
    return respond({"people": {"nodes": nodes}})


POPULATION = """
select p.sex, coalesce(p.current_facility_id, p.supervision_office_id) as facility_id, f.name, count(*) as people
  from people p left join facilities f on f.id = coalesce(p.current_facility_id, p.supervision_office_id)
 where p.status = any($1::text[])
 group by 1, 2, 3
 order by 1, 2"""


async def population(request: Request) -> Response:
    rows = await pool().fetch(POPULATION, CURRENT)
    by_sex: dict[str, dict[str, Any]] = {}
    total = 0
    for r in rows:
        entry = by_sex.setdefault(r["sex"], {"sex": SEX[r["sex"]], "count": 0, "byFacility": []})
        entry["count"] += r["people"]
        total += r["people"]
        facility = None if r["name"] is None else {"name": r["name"]}
        entry["byFacility"].append({"count": r["people"], "facility": facility})
    return respond({"populationStatistics": {"total": total, "bySex": list(by_sex.values())}})


SUBMIT = f"""
with n as (select nextval('inquiries_id_seq') as id)
insert into inquiries (id, reference, source, category, channel, status, partner_id, requester_name,
                       summary, details, received_at, due_on, reopened_count)
select n.id, 'INQ-' || extract(year from now())::int || '-' || lpad(n.id::text, 6, '0'), 'legislative',
       $1, 'api', 'received', $2, $3, $4, $5, now(), (now() + interval '{RESPONSE_DAYS} days')::date, 0
  from n
returning id, reference, status, due_on"""


async def submit(request: Request) -> Response:
    body = orjson.loads(await request.body())
    data = body["variables"]["input"]
    fields = (data.get("requesterName"), data.get("summary"), data.get("details"))
    if not all(isinstance(v, str) and v.strip() for v in fields):
        return respond(None, 400)
    row = await pool().fetchrow(SUBMIT, data["category"].lower(), PARTNER_ID, *fields)
    inquiry = {
        "id": gid("Inquiry", row["id"]),
        "reference": row["reference"],
        "status": row["status"].upper(),
        "dueOn": _iso(row["due_on"]),
    }
    return respond({"submitInquiry": {"inquiry": inquiry, "errors": []}})


PARTNER_ID = int(os.environ.get("BENCH_SQL_PARTNER_ID", "0")) or None


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    global POOL
    # The hub's pool per process: HUB_DB_POOL_SIZE (10) plus as many overflow connections.
    POOL = await asyncpg.create_pool(os.environ["BENCH_SQL_DSN"], min_size=10, max_size=20)
    yield
    await POOL.close()


app = Starlette(
    routes=[
        Route("/person", person, methods=["POST"]),
        Route("/people", people, methods=["POST"]),
        Route("/population", population, methods=["POST"]),
        Route("/inquiries", submit, methods=["POST"]),
    ],
    lifespan=lifespan,
)
