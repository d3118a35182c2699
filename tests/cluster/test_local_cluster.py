"""The local cluster behaves as the README promises (simulated node, pod outcomes, logs, RBAC)."""

from __future__ import annotations

import json
from datetime import datetime

from hack.harness import Cluster, wait_until
from orchestrator.model.spec import restricted_security_context


def job(name: str, annotations: dict[str, str] | None = None, backoff: int = 0) -> dict:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {
            "backoffLimit": backoff,
            "template": {
                "metadata": {"annotations": annotations or {}},
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [
                        {
                            "name": "main",
                            "image": "busybox",
                            "command": ["sh", "-c", "echo hi"],
                            "securityContext": restricted_security_context(1000),
                        }
                    ],
                },
            },
        },
    }


def test_simulated_node_is_ready(simulated: Cluster):
    node = simulated.must_get("node", "kwok-node-0")
    ready = {c["type"]: c["status"] for c in node["status"]["conditions"]}["Ready"]
    assert ready == "True"
    assert node["metadata"]["labels"]["orchestrator.dev/node"] == "simulated"


def test_kubectl_create_job_completes(simulated: Cluster, namespace: str):
    # `kubectl create job` makes a pod the restricted standard refuses: allow it here.
    simulated.kubectl("label", "namespace", namespace, "--overwrite", "pod-security.kubernetes.io/enforce=privileged")
    simulated.kubectl("-n", namespace, "create", "job", "hello", "--image=busybox", "--", "echo", "hi")
    simulated.kubectl("-n", namespace, "wait", "--for=condition=Complete", "job/hello", "--timeout=60s")
    [pod] = simulated.list("pods", namespace, "job-name=hello")
    assert pod["status"]["phase"] == "Succeeded"
    assert pod["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 0


def test_marked_pod_fails_with_the_chosen_exit_code_and_reason(simulated: Cluster, namespace: str):
    simulated.apply(
        job(
            "boom",
            {
                "sim.orchestrator.dev/exit-code": "42",
                "sim.orchestrator.dev/reason": "OOMKilled",
                "sim.orchestrator.dev/message": "out of memory",
            },
        ),
        namespace,
    )
    simulated.kubectl("-n", namespace, "wait", "--for=condition=Failed", "job/boom", "--timeout=60s")
    [pod] = simulated.list("pods", namespace, "job-name=boom")
    terminated = pod["status"]["containerStatuses"][0]["state"]["terminated"]
    assert pod["status"]["phase"] == "Failed"
    assert (terminated["exitCode"], terminated["reason"], terminated["message"]) == (42, "OOMKilled", "out of memory")


def test_marked_pod_runs_for_the_chosen_time(simulated: Cluster, namespace: str):
    simulated.apply(job("slow", {"sim.orchestrator.dev/duration": "3s"}), namespace)
    pod = wait_until(
        lambda: [
            p for p in simulated.list("pods", namespace, "job-name=slow") if p["status"].get("phase") == "Running"
        ],
        30,
        "a running pod",
    )[0]
    simulated.kubectl("-n", namespace, "wait", "--for=condition=Complete", "job/slow", "--timeout=60s")
    done = simulated.must_get("pod", pod["metadata"]["name"], namespace)
    state = done["status"]["containerStatuses"][0]["state"]["terminated"]
    started = datetime.fromisoformat(state["startedAt"].replace("Z", "+00:00"))
    finished = datetime.fromisoformat(state["finishedAt"].replace("Z", "+00:00"))
    assert (finished - started).total_seconds() >= 2


def test_pod_log_text_can_be_set(simulated: Cluster, namespace: str, sim_output):
    sim_output(namespace, b"first line\nsecond line\n")
    simulated.apply(job("talk"), namespace)
    simulated.kubectl("-n", namespace, "wait", "--for=condition=Complete", "job/talk", "--timeout=60s")
    logs = simulated.kubectl("-n", namespace, "logs", "job/talk").stdout
    assert logs == "first line\nsecond line\n"


def test_default_service_account_cannot_create_pods(cluster: Cluster, namespace: str):
    result = cluster.kubectl(
        "auth",
        "can-i",
        "create",
        "pods",
        "-n",
        namespace,
        f"--as=system:serviceaccount:{namespace}:default",
        check=False,
    )
    assert result.stdout.strip() == "no"


def test_apiserver_reports_the_pinned_version(cluster: Cluster):
    version = json.loads(cluster.kubectl("version", "-o", "json").stdout)
    if cluster.local:
        assert version["serverVersion"]["gitVersion"] == "v1.35.4"
        assert version["clientVersion"]["gitVersion"] == "v1.35.4"
