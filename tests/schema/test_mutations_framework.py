"""The rules every mutation follows, shown on submitInquiry: typed errors as data, nothing written
on refusal, idempotency keys honoured."""

from __future__ import annotations

from datetime import UTC, date, datetime
from types import SimpleNamespace
from typing import cast

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.principal import Principal
from resolvers import reentry_writes
from resolvers.models.inquiries import Inquiry
from resolvers.models.partners import Audience, IdempotencyRecord, Partner
from resolvers.models.reentry import Referral
from resolvers.session import RequestDb
from schema.context import Info
from schema.ids import from_global_id
from schema.loaders import Loaders
from schema.mutations import MutationError, MutationErrorCode, run_mutation
from tests.conftest import GraphQL, Mint
from tests.factories.partners import make_client, make_partner
from tests.factories.people import make_person
from tests.factories.reentry import make_reentry_partner, make_referral

SUBMIT = """
mutation($input: SubmitInquiryInput!, $key: String) {
  submitInquiry(input: $input, idempotencyKey: $key) {
    inquiry { id reference status source dueOn version }
    errors { code field message }
    replayed
  }
}
"""


def _input(**overrides: object) -> dict[str, object]:
    values: dict[str, object] = {
        "source": "FAMILY",
        "category": "MEDICAL",
        "channel": "PHONE",
        "requesterName": "A. Mother",
        "summary": "No medical appointment for weeks",
        "details": "Her son has asked for a doctor three times.",
    }
    values.update(overrides)
    return values


async def _count(session: AsyncSession) -> int:
    return (await session.scalar(select(func.count()).select_from(Inquiry))) or 0


async def test_submit_writes_one_inquiry(gql: GraphQL, session: AsyncSession) -> None:
    before = await _count(session)
    response = await gql(SUBMIT, {"input": _input()}, audience=Audience.CONSTITUENT_SERVICES)
    payload = response.json()["data"]["submitInquiry"]
    assert payload["errors"] == []
    assert payload["inquiry"]["status"] == "RECEIVED"
    assert payload["inquiry"]["reference"].startswith("INQ-")
    assert payload["inquiry"]["version"] == 1
    assert await _count(session) == before + 1


async def test_each_caller_files_and_reads_back_its_own_inquiry(
    gql: GraphQL, session: AsyncSession, mint: Mint, partners: dict[Audience, Partner]
) -> None:
    """The submission statement is built once per caller (resolvers/inquiries.py): two offices and
    constituent services, in turn and twice each, each get their own row, scope and reference."""
    second = await make_partner(session, Audience.LEGISLATIVE)
    second_token = await mint(client=await make_client(session, second), partner=second)
    callers = [
        (Audience.LEGISLATIVE, None, partners[Audience.LEGISLATIVE].id, "LEGISLATIVE"),
        (Audience.LEGISLATIVE, second_token, second.id, "LEGISLATIVE"),
        (Audience.CONSTITUENT_SERVICES, None, None, "FAMILY"),
    ]
    seen: list[int] = []
    for _round in range(2):
        for audience, token, partner_id, source in callers:
            response = await gql(SUBMIT, {"input": _input()}, audience=audience, token=token)
            payload = response.json()["data"]["submitInquiry"]
            assert payload["errors"] == []
            assert payload["inquiry"]["source"] == source
            pk = from_global_id("Inquiry", payload["inquiry"]["id"])
            row = (await session.execute(select(Inquiry).where(Inquiry.id == pk))).scalar_one()
            assert row.partner_id == partner_id
            assert payload["inquiry"]["reference"] == row.reference
            assert row.reference.endswith(f"{pk:06d}")
            seen.append(pk)
    assert len(set(seen)) == 6
    # An office reads back its own inquiries only; the other office's stay out of its list.
    listed = await gql("{ inquiries(first: 50) { nodes { id } } }", audience=Audience.LEGISLATIVE)
    ids = {from_global_id("Inquiry", n["id"]) for n in listed.json()["data"]["inquiries"]["nodes"]}
    assert set(seen[0::3]) <= ids
    assert not ids & set(seen[1::3] + seen[2::3])


async def test_retry_with_the_same_key_returns_the_first_result_and_writes_nothing(
    gql: GraphQL, session: AsyncSession
) -> None:
    before = await _count(session)
    variables = {"input": _input(), "key": "retry-1"}
    first = (await gql(SUBMIT, variables, audience=Audience.CONSTITUENT_SERVICES)).json()["data"][
        "submitInquiry"
    ]
    second = (await gql(SUBMIT, variables, audience=Audience.CONSTITUENT_SERVICES)).json()["data"][
        "submitInquiry"
    ]
    assert first["replayed"] is False
    assert second["replayed"] is True
    assert second["inquiry"]["id"] == first["inquiry"]["id"]
    assert await _count(session) == before + 1


async def test_same_key_with_other_input_is_refused(gql: GraphQL, session: AsyncSession) -> None:
    await gql(SUBMIT, {"input": _input(), "key": "retry-2"}, audience=Audience.CONSTITUENT_SERVICES)
    before = await _count(session)
    response = await gql(
        SUBMIT,
        {"input": _input(summary="Something else"), "key": "retry-2"},
        audience=Audience.CONSTITUENT_SERVICES,
    )
    payload = response.json()["data"]["submitInquiry"]
    assert payload["inquiry"] is None
    assert payload["errors"][0]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert await _count(session) == before


async def test_the_idempotency_record_names_the_field_not_its_alias(
    gql: GraphQL, session: AsyncSession
) -> None:
    """The name a key is stored under is the schema field's, whatever alias the caller used."""
    aliased = SUBMIT.replace("submitInquiry(", "filed: submitInquiry(")
    response = await gql(
        aliased, {"input": _input(), "key": "named-1"}, audience=Audience.CONSTITUENT_SERVICES
    )
    assert response.json()["data"]["filed"]["errors"] == []
    names = await session.scalars(
        select(IdempotencyRecord.mutation).where(IdempotencyRecord.key == "named-1")
    )
    assert list(names) == ["submitInquiry"]


async def test_over_long_string_is_refused_with_the_field_named(gql: GraphQL, session: AsyncSession) -> None:
    before = await _count(session)
    response = await gql(SUBMIT, {"input": _input(summary="x" * 201)}, audience=Audience.CONSTITUENT_SERVICES)
    payload = response.json()["data"]["submitInquiry"]
    assert payload["inquiry"] is None
    assert payload["errors"] == [
        {"code": "INVALID", "field": "summary", "message": "summary must be at most 200 characters (got 201)"}
    ]
    assert await _count(session) == before


async def test_unknown_subject_person_is_not_found(gql: GraphQL) -> None:
    response = await gql(
        SUBMIT,
        {"input": _input(subjectPersonId="UGVyc29uOjk5OTk5OTk5")},
        audience=Audience.CONSTITUENT_SERVICES,
    )
    payload = response.json()["data"]["submitInquiry"]
    assert payload["errors"][0]["code"] == "NOT_FOUND"
    assert payload["errors"][0]["field"] == "subjectPersonId"


async def test_an_unknown_enum_value_fails_as_bad_input(gql: GraphQL) -> None:
    response = await gql(SUBMIT, {"input": _input(category="GOSSIP")}, audience=Audience.CONSTITUENT_SERVICES)
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "Did you mean" not in error["message"]


async def test_a_row_the_store_refuses_answers_the_rules_typed_error(
    db: RequestDb, session: AsyncSession
) -> None:
    """The race a count check loses: another request's referral is committed between this one's
    count and its insert. The unique index refuses the row; the write runs again and answers as a
    request that came second does (the rule's own error), not a bare conflict or an internal error."""
    person = await make_person(session)
    partner = await make_reentry_partner(session)
    await make_referral(session, person, partner, service_type="housing", status="accepted")
    principal = Principal(audience=Audience.ADMIN, client_id="tests")
    context = SimpleNamespace(db=db, principal=principal, loaders=Loaders.build(db, principal))
    info = cast(Info, SimpleNamespace(context=context, field_name="referPerson"))
    runs = 0
    new = reentry_writes.NewReferral(person.id, partner.id, "housing", date(2026, 1, 5), None)

    async def write() -> dict[str, int]:
        nonlocal runs
        runs += 1
        if runs == 1:  # the count saw nothing: the other request had not committed yet
            db.add(Referral(person_id=person.id, partner_id=partner.id, service_type="housing",
                            referred_on=date(2026, 1, 5), status="open"))  # fmt: skip
            await db.flush()
            return {"referral": 0}
        return {"referral": await reentry_writes.refer_person(db, principal, new, datetime.now(UTC))}

    for key in (None, "race-1"):
        runs = 0
        outcome = await run_mutation(info, {"k": key}, key, write)
        assert runs == 2
        assert outcome.refs is None
        assert outcome.errors == [
            MutationError(
                code=MutationErrorCode.CONFLICT,
                field="partnerId",
                message="partnerId the person already has an open referral to this partner for this service",
            )
        ]
    open_referrals = await session.scalar(
        select(func.count()).select_from(Referral).where(Referral.person_id == person.id)
    )
    assert open_referrals == 1
