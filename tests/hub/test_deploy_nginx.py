"""deploy/nginx.conf, the scale-out example of docs/operations.md: its limits agree with the hub's
settings, so the proxy neither cuts off what the hub accepts nor gives up before the hub answers."""

from __future__ import annotations

import re
from pathlib import Path

from hub.settings import Settings
from tests.docs import section

CONF = Path(__file__).resolve().parents[2] / "deploy" / "nginx.conf"


def _directive(name: str) -> str:
    found = re.findall(rf"^\s*{name}\s+([^;]+);", CONF.read_text(), re.M)
    assert len(found) == 1, f"deploy/nginx.conf sets {name} {len(found)} times"
    return str(found[0]).strip()


def _seconds(value: str) -> float:
    match = re.fullmatch(r"(\d+)s", value)
    assert match, value
    return float(match.group(1))


def test_the_proxy_limits_agree_with_the_hub_defaults() -> None:
    settings = Settings()
    size = _directive("client_max_body_size")
    assert size.endswith("m")
    # At least the hub's own limit, so an oversized body gets the hub's JSON 413, not nginx's page.
    assert settings.max_body_bytes <= int(size[:-1]) * 1024 * 1024 < 2 * settings.max_body_bytes
    assert _seconds(_directive("client_header_timeout")) == settings.header_timeout_s
    assert _seconds(_directive("client_body_timeout")) == settings.body_timeout_s
    # The hub answers its own 504 before the proxy would give up on it.
    assert _seconds(_directive("proxy_read_timeout")) > settings.request_timeout_s


def test_a_posted_request_is_never_sent_to_a_second_node() -> None:
    # `non_idempotent` would resend a mutation that reached a node which then failed.
    assert "non_idempotent" not in _directive("proxy_next_upstream")


def test_the_runbook_ships_the_same_upstream() -> None:
    scaling = section("scaling-out")
    assert "deploy/nginx.conf" in scaling
    assert "hash $http_authorization consistent;" in scaling
    assert "hash $http_authorization consistent;" in CONF.read_text()
