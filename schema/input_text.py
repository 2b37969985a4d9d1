"""Control characters in string inputs are refused before anything runs.

A NUL cannot be stored in a PostgreSQL text column: the statement failed, the request's transaction
was aborted with it, and the traceback carried the statement's parameters. Other C0 controls, DEL and
unpaired surrogates (which cannot even be encoded as UTF-8) are never part of a name, a note or an
id either. Tab, line feed and carriage return are text. Every string of the operation is checked,
inline in the document or in the variables, at any depth, keys of JSON objects included, and the
first bad one is named: the argument or input field for an inline value, the variable path otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from graphql import (
    ArgumentNode,
    DocumentNode,
    GraphQLError,
    ListValueNode,
    ObjectFieldNode,
    ObjectValueNode,
    StringValueNode,
    ValueNode,
)
from graphql.language import Node

from resolvers.errors import InvalidInput

#: C0 controls but tab, LF and CR; DEL; UTF-16 surrogates (only ever unpaired in a Python str).
FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")

RULE = "must not contain control characters (found U+{:04X}); only tab, line feed and carriage return are allowed"


def _first_bad(text: str) -> str | None:
    found = FORBIDDEN.search(text)
    return None if found is None else RULE.format(ord(found.group()))


def _in_value(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """(path, rule) for each string inside a JSON value that holds a forbidden character."""
    if isinstance(value, str):
        rule = _first_bad(value)
        if rule is not None:
            yield path, rule
    elif isinstance(value, Mapping):
        for key, item in value.items():
            key_text = str(key)
            rule = _first_bad(key_text)
            if rule is not None:
                yield path, f"has a key that {rule}"
            yield from _in_value(item, f"{path}.{key_text}" if rule is None else path)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _in_value(item, path)


def _in_literal(node: ValueNode, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(node, StringValueNode):
        rule = _first_bad(node.value)
        if rule is not None:
            yield path, rule
    elif isinstance(node, ListValueNode):
        for item in node.values:
            yield from _in_literal(item, path)
    elif isinstance(node, ObjectValueNode):
        for field in node.fields:
            yield from _in_field(field, path)


def _in_field(field: ObjectFieldNode, path: str) -> Iterator[tuple[str, str]]:
    yield from _in_literal(field.value, f"{path}.{field.name.value}")


def _arguments(node: Node) -> Iterator[ArgumentNode]:
    """Every argument in ``node``'s tree (fields and directives, at any depth)."""
    if isinstance(node, ArgumentNode):
        yield node
        return
    for key in node.keys:
        child = getattr(node, key, None)
        children = child if isinstance(child, tuple | list) else (child,)
        for item in children:
            if isinstance(item, Node):
                yield from _arguments(item)


def refused_variables(variables: Mapping[str, Any] | None) -> list[GraphQLError]:
    """BAD_USER_INPUT for the first string among the variables that holds a control character."""
    for name, value in (variables or {}).items():
        for path, rule in _in_value(value, name):
            return [GraphQLError(f"variable ${path} {rule}", original_error=InvalidInput(path, rule))]
    return []


def refused_literals(document: DocumentNode) -> list[GraphQLError]:
    """BAD_USER_INPUT for the first inline string that holds a control character (any operation or
    fragment of the document: a fragment may be spread anywhere)."""
    for argument in _arguments(document):
        for path, rule in _in_literal(argument.value, argument.name.value):
            return [GraphQLError(f"{path} {rule}", original_error=InvalidInput(path, rule))]
    return []


def scrub(value: Any) -> Any:
    """``value`` with each forbidden character replaced by U+FFFD, for what the hub records itself."""
    if isinstance(value, str):
        return FORBIDDEN.sub("\ufffd", value)
    if isinstance(value, Mapping):
        return {scrub(str(k)): scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(v) for v in value]
    return value
