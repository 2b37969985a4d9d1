"""The console's vendored assets: each file is the one its manifest names, and no page needs the
internet (no template refers to another origin)."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import httpx

STATIC = Path(__file__).resolve().parents[2] / "hub" / "console" / "static"
TEMPLATES = STATIC.parent / "templates"


def test_every_vendored_file_matches_its_manifest_entry() -> None:
    manifest = json.loads((STATIC / "MANIFEST.json").read_text())["files"]
    assert {"htmx.min.js", "graphiql/graphiql.min.js", "graphiql/react.production.min.js"} <= set(manifest)
    for path, entry in manifest.items():
        assert hashlib.sha256((STATIC / path).read_bytes()).hexdigest() == entry["sha256"], path
        assert entry["version"]
        assert entry["package"]


def test_no_template_loads_anything_from_another_origin() -> None:
    for template in TEMPLATES.glob("*.html"):
        text = template.read_text()
        assert not re.search(r'(src|href)="(https?:)?//', text), template.name
        assert "<script>" not in text, f"{template.name}: inline script (the CSP forbids it)"
        assert "style=" not in text, f"{template.name}: inline style (the CSP forbids it)"


async def test_static_files_are_served_under_the_policy(client: httpx.AsyncClient) -> None:
    htmx = await client.get("/console/static/htmx.min.js")
    assert htmx.status_code == 200
    assert "javascript" in htmx.headers["content-type"]
    assert "script-src 'self'" in htmx.headers["content-security-policy"]
    assert (await client.get("/console/static/../templates/base.html")).status_code == 404
