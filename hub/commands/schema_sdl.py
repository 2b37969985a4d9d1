"""``hub schema``: print (or write) the GraphQL SDL."""

from __future__ import annotations

import argparse
from typing import Any

from hub.settings import Settings


def sdl() -> str:
    from schema.root import build_schema

    return build_schema().as_str() + "\n"


def cmd_schema(args: argparse.Namespace, settings: Settings) -> int:
    text = sdl()
    if args.write:
        with open(args.write, "w", encoding="utf-8") as fh:
            fh.write(text)
        print(f"wrote {args.write}")
    else:
        print(text, end="")
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("schema", help="print the GraphQL schema (SDL)")
    p.add_argument("--write", metavar="FILE", help="write the SDL to FILE instead of printing it")
    p.set_defaults(handler=cmd_schema)
