"""A node lost mid-run: the real node's kubelet killed while a command runs there. Kubernetes
marks the node NotReady, taints it, and deletes the pod (DisruptionTarget: DeletionByTaintManager).
A disruption does not count against retries (the Job's default podFailurePolicy): with retries 0
the run goes on in a new pod once the old one is gone, when the kubelet answers again. The run's
status says each of these as it happens."""

from __future__ import annotations

import subprocess

import pytest

from hack.harness import REPO, Cluster, Operator, wait_until
from tests.cluster.helpers import ON_REAL_NODE, adhoc, conditions, status_of

CLUSTER_SH = str(REPO / "hack/cluster.sh")
# No grace on the lost node (the default tolerations wait 300 s before the pod is deleted).
NO_GRACE = [
    {"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 0}
    for key in ("node.kubernetes.io/unreachable", "node.kubernetes.io/not-ready")
]


def test_the_kubelet_lost_while_a_command_runs(real_node: Cluster, operator: Operator, namespace: str):
    if not real_node.local:
        pytest.fail("stops the local cluster's kubelet: unset ORCH_TEST_KUBECONFIG")
    spec = {**ON_REAL_NODE, "tolerations": ON_REAL_NODE["tolerations"] + NO_GRACE}
    command = "python3 -c \"import time; print('started', flush=True); time.sleep(600)\""
    real_node.apply(adhoc("long", command=command, **spec), namespace)
    wait_until(lambda: status_of(real_node, namespace, "long").get("phase") == "Running", 60, "the run to start")
    wait_until(  # the command really runs before its node goes
        lambda: real_node.kubectl("-n", namespace, "logs", "job/long-1", check=False).stdout.strip() == "started",
        60,
        "the command's first line",
    )
    first = status_of(real_node, namespace, "long")["podName"]
    subprocess.run([CLUSTER_SH, "kill", "kubelet"], check=True)
    try:
        # The node controller notices after its grace period (about 40-50 s).
        lost = wait_until(
            lambda: (s := status_of(real_node, namespace, "long")).get("reason") == "DeletionByTaintManager" and s,
            150,
            "the status to say the pod is being deleted from the lost node",
        )
        assert lost["phase"] == "Running" and "NoExecute taint" in lost["message"], lost
        assert "does not count against retries" in lost["message"]
        assert "FailureTarget" not in conditions(lost)  # retries 0, and yet not failing
        assert conditions(lost)["Finished"]["status"] == "False"
    finally:
        subprocess.run([CLUSTER_SH, "start", "kubelet"], check=True)
    # The kubelet back, the old pod goes and a second one runs the command again.
    again = wait_until(
        lambda: (
            (s := status_of(real_node, namespace, "long")).get("podName") not in (None, first)
            and s.get("phase") == "Running"
            and s
        ),
        150,
        "a second pod running the command",
    )
    assert "Failed" not in conditions(again), again
    assert operator.healthy()
