"""The hub with one layer or one gain taken out, to measure what each costs or saves.

``uvicorn hub_variants:app_from_environment --factory --app-dir bench`` with ``BENCH_VARIANT`` a comma
list of:

- ``no-auth``: the bearer token's claims are read without checking the signature, expiry or the
  client's status (the token check's cost is the difference to the real hub);
- ``no-doc-cache``: every request parses and validates its document again;
- ``stdlib-json``: responses are encoded with the standard library's json instead of orjson;
- ``keep-loaders``: the request's loaders are not released when the operation ends;
- ``in-lists``: batch statements use growing ``IN (...)`` lists instead of ``= ANY(:keys)``;
- ``gc-default``: Python's collector settings (the same as ``HUB_GC_TUNING=false``);
- ``ledger-off``: the disclosure ledger off (``HUB_LEDGER=off-for-benchmark``);
- ``no-rate-limit``: no per-client rate limit, so no counting upsert per request;
- ``resolvers``: every query on the resolver path (``HUB_EXECUTION=resolvers``), the hub before
  compiled reads and the oracle they are tested against.

The real hub (``hub serve``) is what the table measures; these exist for the README's gains.
"""

from __future__ import annotations

import base64
import json
import os
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request

from auth.principal import Audience, Principal

VARIANTS = {
    "no-auth",
    "no-doc-cache",
    "stdlib-json",
    "keep-loaders",
    "in-lists",
    "gc-default",
    "ledger-off",
    "no-rate-limit",
    "resolvers",
}


async def _unverified(request: Request) -> Principal:
    token = request.headers["authorization"].split(" ", 1)[1]
    payload = token.split(".")[1]
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return Principal(
        audience=Audience(claims["hub_audience"]),
        partner_id=claims.get("partner_id"),
        client_id=claims.get("client_id"),
        scopes=frozenset(str(claims.get("scope", "")).split()),
        token_id=claims.get("jti"),
    )


def app_from_environment() -> Starlette:
    variants = {v for v in os.environ.get("BENCH_VARIANT", "").split(",") if v}
    unknown = variants - VARIANTS
    if unknown:
        raise SystemExit(f"unknown BENCH_VARIANT {sorted(unknown)}")
    if "in-lists" in variants:
        # Before any resolver module binds the name.
        import resolvers.keys

        def in_list(db: Any, column: Any, keys: Any) -> Any:
            return column.in_(keys)

        resolvers.keys.key_in = in_list
    if "gc-default" in variants:
        os.environ["HUB_GC_TUNING"] = "false"
    if "ledger-off" in variants:
        os.environ["HUB_LEDGER"] = "off-for-benchmark"
    if "resolvers" in variants:
        os.environ["HUB_EXECUTION"] = "resolvers"
    if "no-rate-limit" in variants:
        os.environ["HUB_RATE_REQUESTS_PER_MINUTE"] = "0"
        os.environ["HUB_RATE_COST_PER_MINUTE"] = "0"

    import hub.endpoint
    from hub import app as hub_app
    from hub.settings import Settings
    from schema.execution import Executor, Prepared

    if "no-doc-cache" in variants:

        def prepare(self: Executor, text: str) -> Prepared:
            import hashlib

            return self._prepare(text, hashlib.sha256(text.encode()).hexdigest())

        Executor.prepare = prepare  # type: ignore[method-assign]
    if "stdlib-json" in variants:

        class _Json:
            JSONDecodeError = orjson.JSONDecodeError
            loads = staticmethod(orjson.loads)

            @staticmethod
            def dumps(value: Any) -> bytes:
                return json.dumps(value, default=str, separators=(",", ":")).encode()

        hub.endpoint.orjson = _Json  # type: ignore[assignment]
    if "keep-loaders" in variants and hasattr(hub.endpoint, "release_request"):
        hub.endpoint.release_request = lambda context: None
    if "no-auth" not in variants:
        return hub_app.app_from_environment()
    from hub.logs import configure_logging

    settings = Settings()
    configure_logging(settings.log_level)
    app = hub_app.create_app(settings, authenticate=_unverified)
    hub_app.tune_collector(settings)
    return app
