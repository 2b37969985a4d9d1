"""Control characters in string inputs, and a failed statement inside a read (issue 14, item 7).

A NUL in any string is refused with BAD_USER_INPUT naming the argument or field (never a 503 that
asks the client to retry forever, never an internal error); a statement that fails inside a read is
a clean error with its ledger event, never a ledger outage; and no logged traceback carries a
statement's parameters.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db import create_engine
from hub.settings import Settings
from resolvers.models.inquiries import Inquiry
from resolvers.models.ledger import AuditEvent
from resolvers.models.partners import Audience
from resolvers.session import RequestDb
from schema.input_text import refused_variables, scrub
from tests.conftest import GraphQL
from tests.factories.faults import fail_read

LEG = Audience.LEGISLATIVE

SUBMIT = """mutation($input: SubmitInquiryInput!) { submitInquiry(input: $input) {
  errors { code field } inquiry { id } } }"""


def submission(**changes: str) -> dict[str, Any]:
    return {
        "input": {
            "source": "LEGISLATIVE",
            "category": "MEDICAL",
            "channel": "API",
            "requesterName": "Jane Doe",
            "summary": "No appointment for weeks.",
            "details": "Her son has asked twice.",
            **changes,
        }
    }


async def event_of(session: AsyncSession, response: httpx.Response) -> AuditEvent:
    request_id = response.json()["extensions"]["requestId"] if "extensions" in response.json() else None
    request_id = request_id or response.json()["errors"][0]["extensions"]["requestId"]
    found = await session.scalar(
        select(AuditEvent).where(AuditEvent.kind == "graphql", AuditEvent.request_id == request_id)
    )
    assert found is not None, f"no ledger event for {request_id}"
    return found


def refusal(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code < 500, response.text
    assert "retry-after" not in response.headers
    body = response.json()
    assert body.get("data") is None, body
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", body
    assert "control characters" in error["message"], body
    return dict(error)


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x1b", "\x1f", "\x7f"])
async def test_a_control_character_in_a_read_variable_is_bad_input_and_ledgered(
    gql: GraphQL, session: AsyncSession, char: str
) -> None:
    response = await gql(
        "query($name: String) { people(name: $name) { totalCount } }", {"name": f"Sm{char}ith"}
    )
    error = refusal(response)
    assert error["extensions"]["field"] == "name"
    event = await event_of(session, response)
    assert event.outcome == "invalid"
    assert char not in str(event.variables)


async def test_a_nul_in_a_mutation_input_field_is_bad_input_naming_the_field(
    gql: GraphQL, session: AsyncSession
) -> None:
    before = await session.scalar(select(func.count()).select_from(Inquiry))
    response = await gql(SUBMIT, submission(requesterName="Jane\x00Doe"), audience=LEG)
    error = refusal(response)
    assert error["extensions"]["field"] == "input.requesterName"
    assert "$input.requesterName" in error["message"]
    assert await session.scalar(select(func.count()).select_from(Inquiry)) == before
    assert (await event_of(session, response)).outcome == "invalid"


async def test_a_nul_in_an_inline_literal_is_bad_input_naming_the_argument(gql: GraphQL) -> None:
    response = await gql('{ people(name: "Sm\\u0000ith") { totalCount } }')
    assert response.status_code in (200, 400)  # a request error: the status is the transport's choice
    error = refusal(response)
    assert error["extensions"]["field"] == "name"
    inline = SUBMIT.replace("mutation($input: SubmitInquiryInput!)", "mutation").replace(
        "$input",
        '{source: LEGISLATIVE, category: MEDICAL, channel: API, requesterName: "J\\u0007", summary: "s", details: "d"}',
    )
    error = refusal(await gql(inline, audience=LEG))
    assert error["extensions"]["field"] == "input.requesterName"


async def test_control_characters_in_ids_lists_and_json_are_refused(gql: GraphQL) -> None:
    error = refusal(await gql("query($id: ID!) { person(id: $id) { docId } }", {"id": "UGVyc29uOjE\x00"}))
    assert error["extensions"]["field"] == "id"
    error = refusal(await gql(SUBMIT, submission(subjectPersonId="UGVyc29uOjE\x00"), audience=LEG))
    assert error["extensions"]["field"] == "input.subjectPersonId"


async def test_tab_newline_and_carriage_return_are_text(gql: GraphQL) -> None:
    body = (await gql(SUBMIT, submission(summary="Line one\r\n\tLine two\n"), audience=LEG)).json()
    assert "errors" not in body, body
    assert body["data"]["submitInquiry"]["errors"] == []


def test_every_forbidden_character_is_found_and_scrubbed() -> None:
    for char in ["\x00", "\x1f", "\x7f", "\ud800", "\udfff"]:
        [error] = refused_variables({"a": {"b": [f"x{char}"]}})
        assert error.original_error is not None
        assert getattr(error.original_error, "field", None) == "a.b"
        assert scrub({"k": [f"x{char}"]}) == {"k": ["x\ufffd"]}
    [error] = refused_variables({"json": {"ke\x00y": 1}})
    assert "key" in error.message
    assert refused_variables({"a": "tab\there\r\n", "b": 1, "c": None, "d": "é😀"}) == []


# --- a failed statement inside a read ---------------------------------------------------------------


SECRET = "Jane-Secret-Requester"


@pytest.fixture
def failing_people(monkeypatch: pytest.MonkeyPatch, is_postgres: bool) -> None:
    """``people`` runs a statement that the store refuses, with a personal value as a parameter."""

    async def list_people(db: RequestDb, *_args: Any, **_kwargs: Any) -> Any:
        if is_postgres:  # division by zero aborts the transaction, as a NUL did
            await db.execute(
                text("SELECT CAST(:secret AS text), 1 / (SELECT count(*) * 0 FROM people)"),
                {"secret": SECRET},
            )
        else:  # SQLite divides by zero quietly; a NOT NULL column refuses
            await db.execute(
                text("INSERT INTO facilities (code, name) VALUES (:secret, NULL)"), {"secret": SECRET}
            )
        raise AssertionError("the statement should have failed")

    fail_read(monkeypatch, "resolvers.people.list_people", list_people, root="people")


@pytest.mark.usefixtures("failing_people")
async def test_a_failed_statement_in_a_read_is_a_clean_error_with_its_ledger_event(
    gql: GraphQL, session: AsyncSession, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    response = await gql("{ facilities { totalCount } people { totalCount } }", audience=Audience.ADMIN)
    assert response.status_code == 200, response.text
    assert "retry-after" not in response.headers
    body = response.json()
    assert [e["extensions"]["code"] for e in body["errors"]] == ["INTERNAL_SERVER_ERROR"], body
    assert (await event_of(session, response)).outcome == "error"
    assert "resolver failed" in caplog.text
    assert SECRET not in caplog.text  # hide_parameters: a statement's parameters are never logged
    # The request after it is served as usual.
    ok = await gql("{ facilities { totalCount } }", audience=Audience.ADMIN)
    assert "errors" not in ok.json(), ok.text


#: Lists every ``create_async_engine(...)`` call under the given root with whether it passes
#: ``hide_parameters=True``. Run in a subprocess of its own: CPython 3.11.7's ``ast`` constructor can
#: raise "AST constructor recursion depth mismatch" in a long-lived process (gh-106905).
_FIND_ENGINES = """
import ast, json, sys
from pathlib import Path
root = Path(sys.argv[1])
calls = []
for folder in ("hub", "migrations", "bench", "auth", "resolvers", "schema"):
    for path in sorted((root / folder).rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if "create_async_engine" not in text:
            continue
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "create_async_engine":
                hidden = any(
                    k.arg == "hide_parameters" and isinstance(k.value, ast.Constant) and k.value.value is True
                    for k in node.keywords
                )
                calls.append([f"{path.relative_to(root)}:{node.lineno}", hidden])
print(json.dumps(calls))
"""


def test_every_engine_hides_statement_parameters(settings: Settings) -> None:
    assert create_engine(settings).sync_engine.hide_parameters
    root = Path(__file__).resolve().parents[2]
    found = subprocess.run(
        [sys.executable, "-c", _FIND_ENGINES, str(root)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    calls = [(where, hidden) for where, hidden in json.loads(found.stdout)]
    assert len(calls) >= 4
    assert [where for where, hidden in calls if not hidden] == []
