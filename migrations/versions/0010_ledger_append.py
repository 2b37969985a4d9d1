"""The ledger's append in one call: ``hub_ledger_append`` (PostgreSQL only).

Revision ID: 0010_ledger_append
Revises: 0009_lang

An append used to send its statements one by one while holding the ledger's lock: the lock, the
read of the previous hash, the INSERT of the events and their disclosures (then the COMMIT). This
function does all of it in one round trip (auth/audit.py ``append_chain``):

1. takes the same transaction-scoped advisory lock as every other append (``LEDGER_LOCK``);
2. reads the previous hash (its own statement, so its own snapshot in READ COMMITTED: it sees every
   append committed before the lock was granted);
3. takes the batch's time (``clock_timestamp()``, under the lock, so times never run backwards along
   the chain);
4. chains the events: ``hash = sha256(prev_hash || canonical JSON)``. The hub sends each event's
   canonical JSON, built by the same Python code as ever (``auth.audit.canonical_parts``), split
   where the time goes, and the function puts the time in as Python writes it
   (``"YYYY-MM-DDTHH:MM:SS.ffffff+00:00"``); an event whose time the caller set comes whole. So the
   hash's definition stays the one ``hub audit verify`` checks, byte for byte, for events written
   by either path;
5. inserts the events in chain order and their disclosures, and returns each event's id, time,
   previous hash and hash in chain order.

``SECURITY INVOKER`` (the default): the caller needs INSERT on the ledger tables, as before, and
``hub migrate`` grants EXECUTE to the runtime role (hub/db.py ``grant_runtime_role``). SQLite has no
such function: the hub appends there statement by statement, as before.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0010_ledger_append"
down_revision: str | None = "0009_lang"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The key of the ledger's advisory lock, as auth/audit.py ``LEDGER_LOCK`` ("LEDGER" in ASCII).
LEDGER_LOCK = 0x4C4544474552

#: The function's signature (for DROP and GRANT); the event columns in ``_WRITTEN``'s order, then
#: each event's canonical JSON (``head``, and ``tail`` after the time, NULL when ``head`` is whole),
#: then the disclosures (``d_event``: the 1-based position of their event in the batch).
SIGNATURE = (
    "hub_ledger_append(timestamptz[], text[], text[], integer[], text[], text[], text[], text[], "
    "text[], text[], text[], text[], text[], text[], text[], bytea[], bytea[], "
    "integer[], text[], integer[], text[], boolean[])"
)

_CREATE = r"""
CREATE FUNCTION hub_ledger_append(
    p_occurred_at timestamptz[],
    p_kind text[],
    p_request_id text[],
    p_partner_id integer[],
    p_client_id text[],
    p_staff_subject text[],
    p_audience text[],
    p_operation_name text[],
    p_document_hash text[],
    p_variables text[],
    p_outcome text[],
    p_authority text[],
    p_detail text[],
    p_correlation_id text[],
    p_source_address text[],
    p_head bytea[],
    p_tail bytea[],
    d_event integer[],
    d_kind text[],
    d_pk integer[],
    d_classes text[],
    d_sealed boolean[]
) RETURNS TABLE (event_id bigint, event_at timestamptz, event_prev text, event_hash text)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    n integer := coalesce(array_length(p_kind, 1), 0);
    prev text;
    stamped timestamptz;
    stamp bytea;
    ats timestamptz[] := '{}';
    prevs text[] := '{}';
    hashes text[] := '{}';
BEGIN
    IF n = 0 THEN
        RETURN;
    END IF;
    PERFORM pg_advisory_xact_lock({lock});  -- auth.audit.LEDGER_LOCK
    SELECT e.hash INTO prev FROM audit_events AS e ORDER BY e.id DESC LIMIT 1;
    prev := coalesce(prev, repeat('0', 64));
    stamped := clock_timestamp();
    -- datetime.isoformat(timespec="microseconds") of the time in UTC, as a JSON string.
    stamp := convert_to(
        '"' || to_char(stamped AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') || '+00:00"', 'UTF8'
    );
    FOR i IN 1 .. n LOOP
        prevs[i] := prev;
        IF p_tail[i] IS NULL THEN
            ats[i] := p_occurred_at[i];
            prev := encode(sha256(convert_to(prev, 'UTF8') || p_head[i]), 'hex');
        ELSE
            ats[i] := stamped;
            prev := encode(sha256(convert_to(prev, 'UTF8') || p_head[i] || stamp || p_tail[i]), 'hex');
        END IF;
        hashes[i] := prev;
    END LOOP;
    RETURN QUERY
    WITH ev AS (
        INSERT INTO audit_events (
            occurred_at, kind, request_id, partner_id, client_id, staff_subject, audience,
            operation_name, document_hash, variables, outcome, authority, detail, correlation_id,
            source_address, prev_hash, hash
        )
        SELECT e.occurred_at, e.kind, e.request_id, e.partner_id, e.client_id, e.staff_subject,
               e.audience, e.operation_name, e.document_hash, e.variables::json, e.outcome,
               e.authority::json, e.detail::json, e.correlation_id, e.source_address, e.prev_hash,
               e.hash
        FROM unnest(
            ats, p_kind, p_request_id, p_partner_id, p_client_id, p_staff_subject, p_audience,
            p_operation_name, p_document_hash, p_variables, p_outcome, p_authority, p_detail,
            p_correlation_id, p_source_address, prevs, hashes
        ) WITH ORDINALITY AS e(
            occurred_at, kind, request_id, partner_id, client_id, staff_subject, audience,
            operation_name, document_hash, variables, outcome, authority, detail, correlation_id,
            source_address, prev_hash, hash, ord
        )
        ORDER BY e.ord
        RETURNING audit_events.id, audit_events.occurred_at, audit_events.prev_hash, audit_events.hash
    ), dis AS (
        INSERT INTO audit_disclosures (event_id, subject_kind, subject_id, field_classes, sealed)
        SELECT ev.id, d.kind, d.pk, d.classes::json, d.sealed
        FROM unnest(d_event, d_kind, d_pk, d_classes, d_sealed) WITH ORDINALITY
            AS d(ord, kind, pk, classes, sealed, n)
        JOIN ev ON ev.hash = hashes[d.ord]
        ORDER BY d.n
    )
    SELECT ev.id, ev.occurred_at, ev.prev_hash::text, ev.hash::text FROM ev ORDER BY ev.id;
END
$$
""".replace("{lock}", str(LEDGER_LOCK))


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(_CREATE)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP FUNCTION {SIGNATURE}")
