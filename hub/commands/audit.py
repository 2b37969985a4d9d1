"""``hub audit``: check the ledger's chain, export it for auditors, purge what retention allows.

- ``hub audit verify [--checkpoints FILE]``: walks the chain; exit 0 and the head hash when it holds,
  exit 1 naming the first broken link (event id and what is wrong). With ``--checkpoints``, also
  exit 1 naming the first signed checkpoint in FILE (its line) that the chain no longer extends: a
  rewrite that recomputed the hashes passes the walk but not this.
  ``--stored-checkpoints`` does the same with the checkpoints kept in the store.
- ``hub audit checkpoint [--out FILE]``: the signed head of the chain as one JSON line, to standard
  output or appended to FILE (``auth/ledger_checkpoints.py``), and recorded in the store.
- ``hub audit export --format csv|jsonl [--since DATE] [--until DATE]``: every event with its
  disclosures, oldest first, streamed to standard output in batches.
- ``hub audit purge --before DATE``: removes events older than DATE; refused unless DATE is at least
  365 days ago. The purge is itself an event carrying the hash of the last event removed, from which
  ``verify`` then starts. It deletes, which the runtime role may not: it connects as the tables'
  owner (``HUB_MIGRATE_DATABASE_URL``, else ``HUB_DATABASE_URL``).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TextIO, cast

import orjson

from hub.errors import ConfigError
from hub.settings import Settings

EXPORT_COLUMNS = (
    "id",
    "occurred_at",
    "kind",
    "outcome",
    "request_id",
    "correlation_id",
    "source_address",
    "partner_id",
    "client_id",
    "staff_subject",
    "audience",
    "operation_name",
    "document_hash",
    "variables",
    "authority",
    "detail",
    "disclosures",
    "prev_hash",
    "hash",
)


def _day(text: str) -> datetime:
    """A date (or an ISO 8601 time) as an aware UTC datetime; a date means its midnight UTC."""
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"takes a date like 2025-01-31, not {text!r}") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _record(event: Any, disclosures: list[Any]) -> dict[str, Any]:
    return {
        "id": event.id,
        "occurred_at": event.occurred_at.astimezone(UTC).isoformat(timespec="microseconds"),
        "kind": event.kind,
        "outcome": event.outcome,
        "request_id": event.request_id,
        "correlation_id": event.correlation_id,
        "source_address": event.source_address,
        "partner_id": event.partner_id,
        "client_id": event.client_id,
        "staff_subject": event.staff_subject,
        "audience": event.audience,
        "operation_name": event.operation_name,
        "document_hash": event.document_hash,
        "variables": event.variables,
        "authority": event.authority,
        "detail": event.detail,
        "disclosures": [
            {"subject_kind": kind, "subject_id": pk, "field_classes": list(classes)}
            for kind, pk, classes in disclosures
        ],
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }


async def _with_session(settings: Settings, work: Any) -> int:
    from hub.db import check_store, create_engine, session_factory

    engine = create_engine(settings)
    try:
        await check_store(engine, settings)
        async with session_factory(engine)() as session:
            result: int = await work(session)
            return result
    finally:
        await engine.dispose()


async def _verify(
    session: Any, checkpoints: tuple[Path, list[str]] | None = None, stored: bool = False
) -> int:
    from auth.ledger import verify
    from auth.ledger_checkpoints import recorded_lines

    outcome = await verify(session)
    if outcome.broken is not None:
        event_id, what = outcome.broken
        print(f"broken at event {event_id}: {what} ({outcome.events} events before it hold)", file=sys.stderr)
        return 1
    print(f"the chain holds: {outcome.events} events, head {outcome.head}")
    if checkpoints is not None and await _verify_checkpoints(session, *checkpoints):
        return 1
    if stored:
        return await _verify_checkpoints(
            session, Path("<the store's ledger_checkpoints>"), await recorded_lines(session)
        )
    return 0


def _read_checkpoints(path: Path) -> tuple[Path, list[str]]:
    try:
        return path, path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(f"--checkpoints {path}: cannot be read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"--checkpoints {path}: is not a text file of checkpoints") from None


async def _verify_checkpoints(session: Any, path: Path, lines: list[str]) -> int:
    from auth.ledger import purge_anchors
    from auth.ledger_checkpoints import check_checkpoints

    anchors = await purge_anchors(session)
    report = await check_checkpoints(session, lines, max(anchors.values(), default=None))
    if report.broken is not None:
        line, what = report.broken
        print(f"checkpoint at {path}:{line} does not hold: {what}", file=sys.stderr)
        return 1
    if report.checked == 0:
        print(f"{path} holds no checkpoint of this hub's ledger", file=sys.stderr)
        return 1
    print(f"the chain extends all {report.checked} checkpoints in {path}")
    return 0


async def _checkpoint(session: Any, settings: Settings) -> str:
    from auth.keys import KeyStore
    from auth.ledger_checkpoints import checkpoint, checkpoint_line, record
    from hub.commands.clients import key_policy

    keys = KeyStore(cast(Any, lambda: _Borrowed(session)), key_policy(settings))
    value = await checkpoint(session, await keys.signer())
    await record(session, value)  # also kept in the store, for the console's Ledger page
    await session.commit()
    return checkpoint_line(value)


def _write_checkpoint(line: str, out: Path | None) -> int:
    if out is None:
        print(line)
        return 0
    try:
        with out.open("a", encoding="utf-8") as sink:
            sink.write(line + "\n")
    except OSError as exc:
        raise ConfigError(f"--out {out}: cannot be appended to ({exc.strerror or exc})") from None
    print(f"checkpoint appended to {out}")
    return 0


class _Borrowed:
    """The command's one session, lent to the key store as if from a session factory."""

    def __init__(self, session: Any) -> None:
        self.session = session

    async def __aenter__(self) -> Any:
        return self.session

    async def __aexit__(self, *exc: object) -> None:
        return None


async def export(session: Any, out: TextIO, fmt: str, since: datetime | None, until: datetime | None) -> int:
    from auth.ledger import events_in_order

    writer = csv.writer(out) if fmt == "csv" else None
    if writer is not None:
        writer.writerow(EXPORT_COLUMNS)
    count = 0
    async for event, disclosures in events_in_order(session, since=since, until=until):
        record = _record(event, disclosures)
        if writer is not None:
            writer.writerow(
                [
                    orjson.dumps(v).decode() if isinstance(v, dict | list) else ("" if v is None else v)
                    for v in (record[c] for c in EXPORT_COLUMNS)
                ]
            )
        else:
            out.write(orjson.dumps(record).decode() + "\n")
        count += 1
    out.flush()
    return count


async def _purge(session: Any, before: datetime) -> int:
    from auth.ledger import RetentionRefused, purge

    try:
        done = await purge(session, before)
    except RetentionRefused as exc:
        await session.rollback()
        raise ConfigError(str(exc)) from None
    await session.commit()
    if done.events == 0:
        print(f"no event is older than {before.date().isoformat()}; nothing purged")
    else:
        print(
            f"purged {done.events} events (through event {done.through_event_id}); "
            f"the chain now starts from anchor {done.anchor_hash}"
        )
    return 0


def cmd_audit(args: argparse.Namespace, settings: Settings) -> int:
    if args.audit_command == "verify":
        checkpoints = _read_checkpoints(args.checkpoints) if args.checkpoints else None
        return asyncio.run(
            _with_session(settings, lambda session: _verify(session, checkpoints, args.stored_checkpoints))
        )
    if args.audit_command == "checkpoint":
        lines: list[str] = []

        async def sign(session: Any) -> int:
            lines.append(await _checkpoint(session, settings))
            return 0

        asyncio.run(_with_session(settings, sign))
        return _write_checkpoint(lines[0], args.out)
    if args.audit_command == "export":

        async def run(session: Any) -> int:
            await export(session, sys.stdout, args.format, args.since, args.until)
            return 0

        return asyncio.run(_with_session(settings, run))
    from hub.db import migration_settings

    # Deleting needs the tables' owner: the runtime role holds no DELETE on the ledger.
    return asyncio.run(
        _with_session(migration_settings(settings), lambda session: _purge(session, args.before))
    )


def register(sub: Any) -> None:
    p = sub.add_parser("audit", help="the disclosure ledger: verify its chain, export it, purge old events")
    commands = p.add_subparsers(dest="audit_command", required=True)
    v = commands.add_parser("verify", help="check the hash chain; name the first broken link (exit 1)")
    v.add_argument(
        "--checkpoints",
        type=Path,
        default=None,
        help="a file of signed checkpoints (or the server's log): fail if the chain no longer extends one",
    )
    v.add_argument(
        "--stored-checkpoints",
        action="store_true",
        help="the same with the checkpoints recorded in the store (a convenience: the copies outside the "
        "database are the evidence)",
    )
    v.set_defaults(handler=cmd_audit)
    c = commands.add_parser("checkpoint", help="sign the chain's head; one JSON line to stdout or --out FILE")
    c.add_argument("--out", type=Path, default=None, help="append the line to this file instead of stdout")
    c.set_defaults(handler=cmd_audit)
    e = commands.add_parser("export", help="every event with its disclosures, for auditors, to stdout")
    e.add_argument("--format", choices=("csv", "jsonl"), default="jsonl", help="csv or JSON lines")
    e.add_argument("--since", type=_day, default=None, help="only events at or after this date (UTC)")
    e.add_argument("--until", type=_day, default=None, help="only events before this date (UTC)")
    e.set_defaults(handler=cmd_audit)
    u = commands.add_parser("purge", help="remove events older than a date at least 365 days ago")
    u.add_argument("--before", type=_day, required=True, help="remove events before this date (UTC)")
    u.set_defaults(handler=cmd_audit)
