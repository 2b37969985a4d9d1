"""The README's configuration table names every ``HUB_`` variable the settings read, and no other."""

from __future__ import annotations

import re
from pathlib import Path

from hub.settings import Settings

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_setting_is_in_the_configuration_table() -> None:
    text = README.read_text(encoding="utf-8")
    section = text.split("<!-- section: configuration -->")[1].split("<!-- /section: configuration -->")[0]
    documented = set(re.findall(r"^\| `(HUB_[A-Z0-9_]+)` \|", section, flags=re.MULTILINE))
    expected = {f"HUB_{name.upper()}" for name in Settings.model_fields}
    assert documented == expected, {"undocumented": expected - documented, "stale": documented - expected}
