"""``hub schema`` and ``hub policy``: each audience's SDL, and the disclosure matrix, from the table."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from hub.errors import ConfigError
from hub.settings import Settings
from resolvers.models.partners import Audience

#: Where the reviewed SDL of every audience is committed (a test fails on an unreviewed difference).
SDL_DIR = Path(__file__).resolve().parents[2] / "schema" / "sdl"


def sdl(audience: Audience | None) -> str:
    from graphql import print_schema

    from schema.audiences import audience_schema
    from schema.root import build_schema

    full = build_schema()
    if audience is None:
        return print_schema(full._schema) + "\n"
    return print_schema(audience_schema(full, audience)) + "\n"


def _audience(text: str) -> Audience:
    try:
        return Audience(text)
    except ValueError:
        names = ", ".join(a.value for a in Audience)
        raise argparse.ArgumentTypeError(f"unknown audience {text!r}; one of: {names}") from None


def cmd_schema(args: argparse.Namespace, settings: Settings) -> int:
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
    p.add_argument("--write", metavar="PATH", help="write to PATH instead of printing")
    p.set_defaults(handler=cmd_schema)

    p = sub.add_parser(
        "policy",
        help="print the disclosure matrix and who may call each mutation (markdown), from the policy table",
    )
    p.set_defaults(handler=cmd_policy)
