"""Small helpers for tests that drive AdhocCommands through kubectl."""

from __future__ import annotations

from typing import Any

import yaml

from hack.harness import REPO, Cluster, ExecCredential, Operator, wait_until
from orchestrator.model.output import output_of
from orchestrator.model.spec import FINISHED_PHASES

FINAL = FINISHED_PHASES
OPERATOR_DEFAULT_TIMEOUT = 3600  # the tests' operator's defaultTimeoutSeconds: longer than any test's run
# The local cluster's real node is tainted: commands that must really run ask for it.
ON_REAL_NODE: dict[str, Any] = {
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


def wait_reason(cluster: Cluster, namespace: str, name: str, reason: str, timeout: float = 60) -> dict[str, Any]:
    """The status once its reason is `reason` (for the current generation)."""

    def reached() -> dict[str, Any] | None:
        obj = cluster.get("adhoc", name, namespace) or {}
        status = obj.get("status") or {}
        current = status.get("observedGeneration") == obj.get("metadata", {}).get("generation")
        return status if current and status.get("reason") == reason else None

    return wait_until(reached, timeout, f"adhoc/{name} to say {reason}")


def stored_output(cluster: Cluster, namespace: str, name: str) -> bytes:
    status = status_of(cluster, namespace, name)
    cm = cluster.get("configmap", status["logs"]["configMap"], namespace)
    assert cm is not None
    return output_of(cm)


def conditions(status: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in status.get("conditions") or []}


def events_for(cluster: Cluster, namespace: str, name: str) -> list[dict[str, Any]]:
    items = cluster.list("events", namespace)
    return [
        e
        for e in items
        if e["involvedObject"].get("name") == name and e["involvedObject"].get("kind") == "AdhocCommand"
    ]


def apply_batch(cluster: Cluster, namespace: str, items: list[dict[str, Any]]) -> None:
    """Creates many objects in one kubectl call (one List)."""
    batch = {"apiVersion": "v1", "kind": "List", "items": items}
    cluster.kubectl("-n", namespace, "apply", "-f", "-", input=yaml.safe_dump(batch))


def assert_each_ran_once(cluster: Cluster, namespace: str, count: int, timeout: float = 180) -> None:
    """All `count` runs succeed with their output stored, each with exactly one Job and one pod:
    nothing lost, nothing run twice."""

    def all_done() -> list[dict[str, Any]] | None:
        found = cluster.list("adhoc", namespace)
        finished = [a for a in found if (a.get("status") or {}).get("phase") == "Succeeded" and a["status"].get("logs")]
        return found if len(finished) == count else None

    adhocs = wait_until(all_done, timeout, f"all {count} runs to succeed with their output stored")
    jobs = cluster.list("jobs", namespace)
    configmaps = [c for c in cluster.list("configmaps", namespace) if c["metadata"]["name"].endswith("-logs")]
    assert len(jobs) == count and len(configmaps) == count
    by_uid: dict[str, list[str]] = {}
    for job in jobs:
        by_uid.setdefault(job["metadata"]["labels"]["orchestrator.dev/adhoccommand-uid"], []).append(
            job["metadata"]["name"]
        )
    for a in adhocs:
        assert by_uid[a["metadata"]["uid"]] == [a["status"]["jobName"]], a["metadata"]["name"]
        assert a["status"]["exitCode"] == 0 and a["status"]["observedGeneration"] == 1
    assert len(cluster.list("pods", namespace)) == count  # one pod per Job: nothing ran twice


def replica(cluster: Cluster, credential: ExecCredential, name: str, port: int) -> Operator:
    """An operator of a test's own (the suite's steps aside), logging to .cluster/logs/operator-NAME.log."""
    log = REPO / ".cluster" / "logs" / f"operator-{name}.log"
    log.unlink(missing_ok=True)
    return Operator(cluster, credential.kubeconfig, log, {"ORCHESTRATOR_METRICS_PORT": "0"}, port)
