"""The README's configuration table names every ``HUB_`` variable the settings read, and no other."""

from __future__ import annotations

import re

from hub.settings import Settings
from tests import docs


def test_every_setting_is_in_the_configuration_table() -> None:
    section = docs.section("configuration")
    documented = set(re.findall(r"^\| `(HUB_[A-Z0-9_]+)` \|", section, flags=re.MULTILINE))
    expected = {f"HUB_{name.upper()}" for name in Settings.model_fields}
    assert documented == expected, {"undocumented": expected - documented, "stale": documented - expected}
