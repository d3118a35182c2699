"""The control plane crashes mid-batch: kube-apiserver, then etcd, killed -9 and started again
after a few seconds down (hack/cluster.sh restart). The operator's watches resume or list again,
kopf's too; every run ends right, none lost, none run twice, and the operator never restarts."""

from __future__ import annotations

import subprocess

import pytest

from tests.cluster.helpers import adhoc, apply_batch, assert_each_ran_once, sim
from tests.harness import REPO, Cluster, Operator, wait_until

BATCH = 30
DOWN_SECONDS = "5"


@pytest.mark.parametrize("component", ["kube-apiserver", "etcd"])
def test_a_control_plane_component_killed_mid_batch(
    simulated: Cluster, operator: Operator, namespace: str, sim_output, component: str
):
    if not simulated.local:
        pytest.fail("restarts a component of the local cluster: unset ORCH_TEST_KUBECONFIG")
    sim_output(namespace, b"done\n")
    assert operator.process is not None
    pid = operator.process.pid
    apply_batch(
        simulated,
        namespace,
        [adhoc(f"run-{i:02d}", command=f"echo {i}", podMetadata=sim(duration="4s")) for i in range(BATCH)],
    )
    # Down while some runs have their Job and others not yet.
    wait_until(lambda: simulated.list("jobs", namespace), 60, "the first Jobs")
    subprocess.run([str(REPO / "hack/cluster.sh"), "restart", component, DOWN_SECONDS], check=True)
    assert_each_ran_once(simulated, namespace, BATCH, timeout=240)
    assert operator.process.pid == pid and operator.healthy()  # it rode it out, no restart
