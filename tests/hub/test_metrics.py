"""Metrics and the access log, as an operator reads them: scraped over HTTP and parsed."""

from __future__ import annotations

import json
import logging
import socket

import httpx
import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette

from hub.metrics import ANONYMOUS, OTHER, HubMetrics, OperationNames, serve_metrics
from resolvers.models.partners import Audience
from tests.conftest import GraphQL

PEOPLE = "query People($n: Int = 2) { people(first: $n) { totalCount nodes { docId } } }"


def _samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of an exposition, keyed by (sample name, labels)."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _value(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_requests_refusals_cost_and_ledger_appends_are_counted(
    app: Starlette, gql: GraphQL, client: httpx.AsyncClient
) -> None:
    metrics: HubMetrics = app.state.metrics
    for _ in range(2):
        assert (await gql(PEOPLE, audience=Audience.LEGISLATIVE)).status_code == 200
    refused = await client.post("/graphql", json={"query": "{ __typename }"})
    assert refused.status_code == 401
    assert (await client.get("/no/such/route")).status_code == 404

    samples = _samples(generate_latest(metrics.registry).decode())
    served = {"route": "/graphql", "audience": "legislative", "operation": "People", "outcome": "served"}
    assert _value(samples, "hub_requests_total", **served, status="200") == 2
    assert _value(samples, "hub_refusals_total", route="/graphql", code="UNAUTHENTICATED") == 1
    unknown_route = {"route": "other", "audience": "none", "operation": ANONYMOUS}
    assert _value(samples, "hub_requests_total", **unknown_route, outcome="refused", status="404") == 1
    # The default of $n is part of the cost (coerced variables), so every request costs the same.
    assert _value(samples, "hub_operation_cost_count", audience="legislative") == 2
    assert _value(samples, "hub_operation_cost_sum", audience="legislative") > 0
    assert (
        _value(samples, "hub_request_duration_seconds_count", route="/graphql", audience="legislative") == 2
    )
    # The appends timed are those in an operation's own transaction (the refusal's is not one).
    assert _value(samples, "hub_ledger_append_seconds_count") == 2
    assert _value(samples, "hub_ledger_append_failures_total") == 0


async def test_the_listener_serves_the_exposition_format_on_its_own_port(
    app: Starlette, gql: GraphQL, client: httpx.AsyncClient
) -> None:
    assert (await gql(PEOPLE, audience=Audience.CONSTITUENT_SERVICES)).status_code == 200
    port = _free_port()
    server = serve_metrics("127.0.0.1", port, app.state.metrics.registry)
    try:
        async with httpx.AsyncClient() as scraper:
            scraped = await scraper.get(f"http://127.0.0.1:{port}/metrics")
    finally:
        server.shutdown()
        server.server_close()
    assert scraped.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain")
    samples = _samples(scraped.text)
    labels = {"route": "/graphql", "audience": "constituent_services", "operation": "People"}
    assert _value(samples, "hub_requests_total", **labels, outcome="served", status="200") == 1
    # Not on the public port: partners cannot read each other's traffic.
    assert (await client.get("/metrics")).status_code == 404


def test_operation_names_are_a_bounded_label() -> None:
    names = OperationNames(limit=2)
    assert [names.label(n) for n in ("A", "B", "C", "A", None, "bad name!")] == [
        "A",
        "B",
        OTHER,
        "A",
        ANONYMOUS,
        OTHER,
    ]


async def test_the_access_log_line_names_the_caller_and_never_the_variables(
    gql: GraphQL, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "Quillfeather-variable-value"
    with caplog.at_level(logging.INFO, logger="hub.http"):
        response = await gql(
            "query Find($q: String) { people(name: $q, first: 1) { totalCount } }",
            {"q": secret},
            audience=Audience.LEGISLATIVE,
        )
    assert response.status_code == 200
    lines = [r for r in caplog.records if r.name == "hub.http" and r.getMessage() == "request"]
    assert len(lines) == 1
    line = lines[0].__dict__
    assert line["audience"] == "legislative"
    assert line["client_id"]
    assert line["operation"] == "Find"
    assert line["outcome"] == "served"
    assert line["status"] == 200
    assert isinstance(line["cost"], int)
    assert line["cost"] > 0
    assert secret not in json.dumps({k: str(v) for k, v in line.items()})
