"""The hub's own scalar definitions, where Strawberry's built-in ones accept too much.

Strawberry's ``Decimal`` parses with ``decimal.Decimal(value)``, which takes ``"NaN"``, ``"sNaN"``,
``"Infinity"``, ``"1e9"``, ``"1_000"``, ``" 12 "`` and ``"١٢٣"``: none of them is an amount a caller
means, and the first three reached the store as internal errors. The hub's ``Decimal`` is a plain,
finite decimal in ASCII digits; each field's own rule (more than zero, two decimal places, at most
so much) then names the field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal

from strawberry.exceptions import StrawberryInputCoercionError
from strawberry.types.scalar import ScalarDefinition

#: Up to 15 integer digits and 10 decimals: wider than any column (money is ``Numeric(14, 2)``) so a
#: near miss gets the field's own message, yet a bound on what ``Decimal`` is asked to parse.
PLAIN_DECIMAL = re.compile(r"-?[0-9]{1,15}(?:\.[0-9]{1,10})?")

DECIMAL_RULE = 'a plain decimal number such as "1250.00": digits, an optional "-" and "." and nothing else'


def parse_decimal(value: object) -> Decimal:
    """A finite ``Decimal`` from a string (or a JSON number) written as a plain decimal."""
    # A JSON number is read as it prints (12.5 -> "12.5"); bool is an int in Python, never a number here.
    text = str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value
    if not isinstance(text, str) or PLAIN_DECIMAL.fullmatch(text) is None:
        shown = value if isinstance(value, int | float | str) else type(value).__name__
        raise StrawberryInputCoercionError(f"Decimal cannot represent {shown!r}: expected {DECIMAL_RULE}")
    return Decimal(text)


DecimalDefinition = ScalarDefinition(
    name="Decimal",
    description="Decimal (fixed-point)",
    specified_by_url=None,
    serialize=str,
    parse_value=parse_decimal,
    parse_literal=None,
    origin=Decimal,
)

#: Passed to ``strawberry.Schema(scalar_overrides=...)``.
SCALAR_OVERRIDES: Mapping[object, ScalarDefinition] = {Decimal: DecimalDefinition}
