"""Small helpers for tests that drive AdhocCommands through kubectl."""

from __future__ import annotations

from typing import Any

from orchestrator.output import configmap_output
from orchestrator.spec import FINISHED_PHASES
from tests.harness import Cluster, wait_until

FINAL = FINISHED_PHASES
# The local cluster's real node is tainted: commands that must really run ask for it.
ON_REAL_NODE = {
    "nodeSelector": {"orchestrator.dev/node": "real"},
    "tolerations": [{"key": "orchestrator.dev/node", "operator": "Equal", "value": "real", "effect": "NoSchedule"}],
}


def adhoc(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "orchestrator.dev/v1alpha1", "kind": "AdhocCommand", "metadata": {"name": name}, "spec": spec}


def sim(**annotations: str) -> dict[str, Any]:
    """spec.podMetadata steering a simulated pod (see hack/kwok/stages.yaml)."""
    return {"annotations": {f"sim.orchestrator.dev/{k.replace('_', '-')}": v for k, v in annotations.items()}}


def status_of(cluster: Cluster, namespace: str, name: str) -> dict[str, Any]:
    obj = cluster.get("adhoc", name, namespace)
    return (obj or {}).get("status") or {}


def wait_phase(
    cluster: Cluster,
    namespace: str,
    name: str,
    phases: tuple[str, ...] = FINAL,
    timeout: float = 60,
    generation: int | None = None,
) -> dict[str, Any]:
    def reached() -> dict[str, Any] | None:
        obj = cluster.get("adhoc", name, namespace) or {}
        status = obj.get("status") or {}
        want = generation or obj.get("metadata", {}).get("generation")
        if status.get("phase") in phases and status.get("observedGeneration") == want:
            return status
        return None

    return wait_until(reached, timeout, f"adhoc/{name} to reach {phases}")


def stored_output(cluster: Cluster, namespace: str, name: str) -> bytes:
    status = status_of(cluster, namespace, name)
    cm = cluster.get("configmap", status["logs"]["configMap"], namespace)
    assert cm is not None
    return configmap_output(cm)


def conditions(status: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in status.get("conditions") or []}


def events_for(cluster: Cluster, namespace: str, name: str) -> list[dict[str, Any]]:
    items = cluster.list("events", namespace)
    return [
        e
        for e in items
        if e["involvedObject"].get("name") == name and e["involvedObject"].get("kind") == "AdhocCommand"
    ]
