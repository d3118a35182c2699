"""The operator's /metrics, read over HTTP as Prometheus does, after runs that succeed and fail."""

from __future__ import annotations

import re

import httpx
import yaml
from prometheus_client.parser import text_string_to_metric_families

from hack.harness import METRICS_PORT, REPO, Cluster, Operator
from tests.cluster.helpers import adhoc, sim, wait_phase


def scrape() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = httpx.get(f"http://127.0.0.1:{METRICS_PORT}/metrics", timeout=10).text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_count_runs_by_outcome(operator: Operator, simulated: Cluster, namespace: str, sim_output):
    sim_output(namespace, b"measured\n")
    before = scrape()
    simulated.apply(adhoc("passes", command="true"), namespace)
    simulated.apply(adhoc("fails", command="exit 2", podMetadata=sim(exit_code="2")), namespace)
    simulated.apply(adhoc("cut", command="true", logs={"maxBytes": 4}), namespace)  # 9 bytes printed
    for name in ("passes", "fails", "cut"):
        wait_phase(simulated, namespace, name)
    after = scrape()

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("orchestrator_runs_started_total") >= 2
    assert grew("orchestrator_runs_finished_total", phase="Succeeded") >= 1
    assert grew("orchestrator_runs_finished_total", phase="Failed") >= 1
    assert grew("orchestrator_run_duration_seconds_count") >= 2
    assert value(after, "orchestrator_runs", phase="Succeeded") >= 1
    assert value(after, "orchestrator_runs", phase="Failed") >= 1
    assert grew("orchestrator_kube_requests_total", verb="create", code="201") >= 4  # 2 Jobs, 2 ConfigMaps
    assert value(after, "orchestrator_kube_requests_total", verb="watch", code="200") >= 1
    # What alerts are written on (kubernetes/monitoring/alerts.yaml).
    assert grew("orchestrator_reconcile_total", result="done") >= 3
    assert grew("orchestrator_reconcile_duration_seconds_count") >= 3
    assert grew("orchestrator_output_truncated_total") >= 1
    assert value(after, "orchestrator_leader") == 1  # the tests' one operator holds the Lease
    assert ("orchestrator_workqueue_depth", ()) in after
    # No label names a run: the series do not grow with the number of AdhocCommands.
    assert not any("passes" in str(labels) or namespace in str(labels) for _, labels in after)


def test_the_alerts_ask_for_metrics_the_operator_serves(operator: Operator):
    """kubernetes/monitoring/alerts.yaml (the chart's metrics.prometheusRule): every series an
    alert reads is one the operator exposes, so no alert waits on a name that never comes."""
    rule = yaml.safe_load((REPO / "kubernetes/monitoring/alerts.yaml").read_text())
    exprs = [r["expr"] for group in rule["spec"]["groups"] for r in group["rules"]]
    wanted = {name for expr in exprs for name in re.findall(r"\borchestrator_[a-z_]+", expr)}
    served = {name for name, _ in scrape()}
    assert wanted and wanted <= served, wanted - served
