"""``hub schema`` and ``hub policy``: each audience's SDL, the data dictionary, the generated policy
table (``--policy``, ``hub/commands/policy_table.py``), the typed rows (``--rows``,
``hub/commands/rows_table.py``), and the disclosure matrix, from the table."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from hub.errors import ConfigError
from hub.settings import Settings
from resolvers.models.partners import Audience

#: Where the reviewed SDL of every audience is committed (a test fails on an unreviewed difference).
SDL_DIR = Path(__file__).resolve().parents[2] / "schema" / "sdl"
#: Where the data dictionary is committed (``hub schema --dictionary``; a test fails when it is stale).
DICTIONARY = Path(__file__).resolve().parents[2] / "docs" / "data-dictionary.md"


def sdl(audience: Audience | None) -> str:
    from graphql import print_schema

    from schema.audiences import audience_schema
    from schema.root import build_schema

    full = build_schema()
    if audience is None:
        return print_schema(full._schema) + "\n"
    return print_schema(audience_schema(full, audience)) + "\n"


def _cell(text: str | None) -> str:
    return " ".join((text or "").split()).replace("|", "\\|")


def _research_vocabulary() -> list[str]:
    """The research vocabulary: agreement field, record field, CSV column, quasi-identifier ladder."""
    from hub.research_extracts import ENUM_COLUMNS
    from resolvers.research_release import LADDERS
    from schema.research_root import RECORD_FIELDS

    lines = [
        "## Research vocabulary",
        "",
        "One vocabulary for researchers: the agreement's field names (`fields`, `grantedFields`, the",
        "release's `quasiIdentifiers`) are the CSV extract's column names; a record's GraphQL field carries",
        "the same value; enum values are their GraphQL names in both (`MALE`, `BLACK`, `FELONY_A`,",
        "`INSTITUTION`); a cohort reads back with the cohort input's field names (`admissionYearFrom`,",
        "`admissionYearTo`, `facilities`, `offenseClasses`, `sexes`). A quasi-identifier climbs its",
        "generalization ladder in a record-tier release (docs/research.md).",
        "",
        "| agreement field / CSV column | record field | values | quasi-identifier ladder |",
        "|---|---|---|---|",
    ]
    for graphql_name, field in RECORD_FIELDS.items():
        kind = ENUM_COLUMNS.get(field.value)
        values = ", ".join(m.name for m in kind) if kind else ""
        ladder = LADDERS.get(field)
        rungs = " → ".join(name for name, _ in ladder.rungs) if ladder else "not a quasi-identifier"
        lines.append(f"| `{field.value}` | `{graphql_name}` | {values} | {rungs} |")
    return [*lines, ""]


def dictionary() -> str:
    """The data dictionary: every type and field of the schema with its sensitivity class, its
    description and the audiences that read it (from the policy table), and the research vocabulary."""
    from graphql import (
        GraphQLEnumType,
        GraphQLInputObjectType,
        GraphQLObjectType,
        GraphQLScalarType,
        is_introspection_type,
    )

    from auth.policy import MATRIX, grant
    from auth.policy_fields import FIELDS, MUTATIONS
    from schema.audiences import audience_schemas
    from schema.root import build_schema

    full = build_schema()
    schema = full._schema
    audiences = list(Audience)
    views = audience_schemas(full, record=False)

    def reads(audience: Audience, type_name: str, field: str) -> bool:
        t = views[audience].type_map.get(type_name)
        return isinstance(t, GraphQLObjectType) and field in t.fields

    lines = [
        "# Data dictionary",
        "",
        "Generated from the schema and the policy table by `hub schema --dictionary`; do not edit by",
        "hand (`tests/hub/test_data_dictionary.py` fails when it is stale). For each type, every field",
        "with its GraphQL type, its sensitivity class, the audiences whose schema has it, and its",
        "description. What each audience reads of a class (all rows, its own, consented, totals) is the",
        "disclosure matrix below; row scopes are in docs/disclosure.md.",
        "",
        "## Sensitivity classes",
        "",
        "| class | " + " | ".join(a.value for a in audiences) + " |",
        "|---|" + "---|" * len(audiences),
    ]
    for cls in MATRIX:
        lines.append(f"| `{cls.value}` | " + " | ".join(str(grant(a, cls)) for a in audiences) + " |")
    lines += ["", "## Types per audience", ""]
    types = [
        t
        for name, t in sorted(schema.type_map.items())
        if not is_introspection_type(t) and not name.startswith("__")
    ]
    for audience in audiences:
        seen = sorted(
            name
            for name, t in views[audience].type_map.items()
            if isinstance(t, GraphQLObjectType) and not is_introspection_type(t)
        )
        lines.append(f"- **{audience.value}**: " + ", ".join(f"`{n}`" for n in seen))
    lines += ["", *_research_vocabulary(), "## Object types", ""]
    for t in types:
        if not isinstance(t, GraphQLObjectType):
            continue
        lines += [f"### {t.name}", "", _cell(t.description) or "(no description)", ""]
        lines += ["| field | type | class | audiences | description |", "|---|---|---|---|---|"]
        for name, f in t.fields.items():
            if t.name == "Mutation":
                entry = MUTATIONS.get(name)
                klass = entry[0].value if entry else "(denied)"
            else:
                known = FIELDS.get(t.name, {}).get(name)
                klass = known.value if known else "(denied)"
            who = ", ".join(a.value for a in audiences if reads(a, t.name, name)) or "nobody"
            lines.append(f"| `{name}` | `{f.type}` | `{klass}` | {who} | {_cell(f.description)} |")
        lines.append("")
    lines += ["## Input types", ""]
    for t in types:
        if not isinstance(t, GraphQLInputObjectType):
            continue
        lines += [f"### {t.name}", "", _cell(t.description) or "(no description)", ""]
        lines += ["| field | type | description |", "|---|---|---|"]
        for name, f in t.fields.items():
            lines.append(f"| `{name}` | `{f.type}` | {_cell(f.description)} |")
        lines.append("")
    lines += ["## Enums", "", "| enum | values | description |", "|---|---|---|"]
    for t in types:
        if isinstance(t, GraphQLEnumType):
            lines.append(f"| `{t.name}` | {', '.join(f'`{v}`' for v in t.values)} | {_cell(t.description)} |")
    lines += ["", "## Scalars", "", "| scalar | description |", "|---|---|"]
    for t in types:
        if isinstance(t, GraphQLScalarType):
            lines.append(f"| `{t.name}` | {_cell(t.description)} |")
    return "\n".join(lines) + "\n"


def _audience(text: str) -> Audience:
    try:
        return Audience(text)
    except ValueError:
        names = ", ".join(a.value for a in Audience)
        raise argparse.ArgumentTypeError(f"unknown audience {text!r}; one of: {names}") from None


def cmd_schema(args: argparse.Namespace, settings: Settings) -> int:
    if args.policy:
        from hub.commands.policy_table import POLICY_FIELDS, write_policy_fields

        target = Path(args.write or POLICY_FIELDS)
        write_policy_fields(target)
        print(f"wrote the policy table to {target}")
        return 0
    if args.rows:
        from hub.commands.rows_table import ROWS_MODULE, write_rows

        target = Path(args.write or ROWS_MODULE)
        write_rows(target)
        print(f"wrote the typed rows to {target}")
        return 0
    if args.dictionary:
        target = Path(args.write or DICTIONARY)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(dictionary(), encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot write {target}: {exc.strerror}") from None
        print(f"wrote the data dictionary to {target}")
        return 0
    if args.all:
        target = Path(args.write or SDL_DIR)
        target.mkdir(parents=True, exist_ok=True)
        for audience in Audience:
            (target / f"{audience.value}.graphql").write_text(sdl(audience), encoding="utf-8")
        (target / "full.graphql").write_text(sdl(None), encoding="utf-8")
        print(f"wrote the SDL of {len(Audience)} audiences and the full schema to {target}")
        return 0
    text = sdl(args.audience)
    if args.write:
        try:
            Path(args.write).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot write {args.write}: {exc.strerror}") from None
        print(f"wrote {args.write}")
    else:
        print(text, end="")
    return 0


def policy_markdown() -> str:
    from auth.policy import MATRIX, grant

    audiences = list(Audience)
    lines = [
        "| field class | " + " | ".join(a.value for a in audiences) + " |",
        "|---|" + "---|" * len(audiences),
    ]
    for cls in MATRIX:
        lines.append(f"| {cls.value} | " + " | ".join(str(grant(a, cls)) for a in audiences) + " |")
    return "\n".join(lines) + "\n"


def mutations_markdown() -> str:
    """Who may call each mutation, from the mutation rules of ``auth/policy_fields.py``."""
    from auth.policy_fields import MUTATIONS

    audiences = list(Audience)
    lines = [
        "| mutation | writes | " + " | ".join(a.value for a in audiences) + " |",
        "|---|---|" + "---|" * len(audiences),
    ]
    for name in sorted(MUTATIONS):
        cls, callers = MUTATIONS[name]
        marks = " | ".join("Y" if a in callers else "N" for a in audiences)
        lines.append(f"| {name} | {cls.value} | {marks} |")
    return "\n".join(lines) + "\n"


def cmd_policy(args: argparse.Namespace, settings: Settings) -> int:
    print(policy_markdown(), end="")
    print()
    print("Who may call each mutation (Y: may call it; row scopes then limit it to the caller's rows):")
    print()
    print(mutations_markdown(), end="")
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("schema", help="print the GraphQL schema (SDL) an audience sees")
    p.add_argument(
        "--audience",
        type=_audience,
        metavar="{" + ",".join(a.value for a in Audience) + "}",
        help="the audience (default: the full, unfiltered schema)",
    )
    p.add_argument(
        "--all", action="store_true", help=f"write every audience's SDL to --write (default {SDL_DIR})"
    )
    p.add_argument(
        "--dictionary",
        action="store_true",
        help=f"write the data dictionary (every type and field, its sensitivity class and audiences) "
        f"to --write (default {DICTIONARY})",
    )
    p.add_argument(
        "--policy",
        action="store_true",
        help="generate the policy table (every field's sensitivity class, every mutation's callers) "
        "from the schema's declarations, to --write (default auth/policy_fields.py)",
    )
    p.add_argument(
        "--rows",
        action="store_true",
        help="generate the typed rows (one NamedTuple per table) from the models, to --write "
        "(default resolvers/rows.py)",
    )
    p.add_argument("--write", metavar="PATH", help="write to PATH instead of printing")
    p.set_defaults(handler=cmd_schema)

    p = sub.add_parser(
        "policy",
        help="print the disclosure matrix and who may call each mutation (markdown), from the policy table",
    )
    p.set_defaults(handler=cmd_policy)
