"""The deployment files: compose.yaml, the Prometheus alert rules and the Grafana dashboard.

No Docker engine runs here, so compose.yaml is checked for structure and for agreement with the
README and the runbook; the alert rules go through ``promtool check rules`` where Prometheus's tool
is installed (Debian's ``prometheus`` package; ``.ci/run`` installs it) and through a structural
check everywhere. Every metric an alert or a panel names must be one the hub or its worker exports,
so a renamed metric cannot leave an alert that never fires.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry

from hub.metrics import HubMetrics, WorkerMetrics

ROOT = Path(__file__).resolve().parent.parent
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "hub.json"
COMPOSE = ROOT / "compose.yaml"
RUNBOOK = ROOT / "docs" / "operations.md"

_METRIC = re.compile(r"\b(hub_[a-z_]+)")
_SUFFIXES = ("_total", "_bucket", "_count", "_sum", "_created")


def _exported() -> set[str]:
    """Every sample name the hub's and the worker's registries can expose."""
    names: set[str] = set()
    for metrics in (HubMetrics(CollectorRegistry()), WorkerMetrics(CollectorRegistry())):
        for family in metrics.registry.collect():
            names.add(family.name)
            names.update(family.name + suffix for suffix in _SUFFIXES)
    return names


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def _rules() -> list[dict[str, Any]]:
    return [rule for group in _load(ALERTS)["groups"] for rule in group["rules"]]


def test_every_alert_has_an_expression_a_severity_and_a_runbook_entry() -> None:
    runbook = RUNBOOK.read_text().lower()
    rules = _rules()
    assert len(rules) >= 8
    for rule in rules:
        assert set(rule) >= {"alert", "expr", "labels", "annotations"}, rule
        assert rule["labels"]["severity"] in {"page", "ticket"}
        anchor = rule["annotations"]["runbook"].split("#", 1)[1]
        assert anchor == rule["alert"].lower()
        assert f"### {rule['alert']}".lower() in runbook, (
            f"docs/operations.md has no entry for {rule['alert']}"
        )


def test_alerts_and_panels_name_only_metrics_that_exist() -> None:
    exported = _exported()
    expressions = [rule["expr"] for rule in _rules()]
    dashboard = json.loads(DASHBOARD.read_text())
    expressions += [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    unknown = {name for expr in expressions for name in _METRIC.findall(expr)} - exported
    assert not unknown, f"metrics no registry exports: {sorted(unknown)}"


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool (Debian's prometheus) not installed")
def test_promtool_accepts_the_rules_and_the_scrape_config() -> None:
    checked = subprocess.run(
        ["promtool", "check", "rules", str(ALERTS)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(_rules())} rules found" in checked.stdout


def test_compose_runs_migrate_once_then_the_hub_and_the_worker() -> None:
    compose = _load(COMPOSE)
    services = compose["services"]
    assert set(services) >= {"postgres", "migrate", "hub", "worker", "smtp", "prometheus", "grafana"}
    assert services["migrate"]["command"] == ["hub", "migrate"]
    assert services["migrate"]["restart"] == "no"
    assert services["hub"]["command"] == ["hub", "serve"]
    assert services["worker"]["command"] == ["hub", "worker"]
    for name in ("hub", "worker"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    # Every mounted file exists, and the scrape targets are the listeners the services open.
    for service in services.values():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), source
    scrape = _load(ROOT / "deploy" / "prometheus" / "prometheus.yml")
    targets = {t for job in scrape["scrape_configs"] for c in job["static_configs"] for t in c["targets"]}
    assert targets == {
        f"hub:{services['hub']['environment']['HUB_METRICS_PORT']}",
        f"worker:{services['worker']['environment']['HUB_WORKER_METRICS_PORT']}",
    }


def test_the_compose_settings_are_settings_the_hub_reads() -> None:
    from hub.settings import Settings

    known = {f"HUB_{name.upper()}" for name in Settings.model_fields}
    compose = _load(COMPOSE)
    used = {
        key
        for service in compose["services"].values()
        for key in (service.get("environment") or {})
        if key.startswith("HUB_")
    }
    assert used
    assert used <= known, f"compose.yaml sets settings the hub does not have: {sorted(used - known)}"


def test_the_runbook_shows_the_compose_commands_the_services_run() -> None:
    runbook = RUNBOOK.read_text()
    for command in ("docker compose up", "hub migrate", "hub serve", "hub worker"):
        assert command in runbook
