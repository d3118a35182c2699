"""Leader election: two operators against one cluster, exactly one acts; the leader killed -9
in the middle of a batch, the other takes over within the lease's 15 s and every run ends right,
with exactly one Job each."""

from __future__ import annotations

import json
import time

from hack.harness import Cluster, ExecCredential, Operator, wait_until
from tests.cluster.helpers import adhoc, replica, sim, wait_phase

LEASE = ("lease", "orchestrator", "orchestrator")


def holder(cluster: Cluster) -> str:
    lease = cluster.get(*LEASE)
    return ((lease or {}).get("spec") or {}).get("holderIdentity") or ""


def test_one_acts_and_the_other_takes_over(
    operator: Operator, operator_credential: ExecCredential, simulated: Cluster, namespace: str, sim_output
):
    sim_output(namespace, b"done\n")
    operator.stop()  # the suite's operator steps aside for two of our own
    first = replica(simulated, operator_credential, "replica-a", 18091)
    second = replica(simulated, operator_credential, "replica-b", 18092)
    try:
        first.start()
        wait_until(lambda: "leading" in first.log_path.read_text(), 30, "replica-a to lead")
        leader = holder(simulated)
        second.start()  # waits: the lease is held
        for i in range(10):
            simulated.apply(adhoc(f"before-{i}", command="true", podMetadata=sim(duration="2s")), namespace)
        for i in range(10):
            wait_phase(simulated, namespace, f"before-{i}", ("Running", "Succeeded"), timeout=60)
        assert holder(simulated) == leader
        assert "leading" not in second.log_path.read_text()  # replica-b never acted

        first.kill()  # mid-batch: runs under way, more to come
        killed = time.monotonic()
        for i in range(10):
            simulated.apply(adhoc(f"after-{i}", command="true"), namespace)
        wait_until(lambda: "leading" in second.log_path.read_text(), 30, "replica-b to take over")
        assert holder(simulated) not in ("", leader)
        took = time.monotonic() - killed
        assert took <= 15 + 2 + 3, took  # the lease's duration, a retry period, and polling
        for name in [f"before-{i}" for i in range(10)] + [f"after-{i}" for i in range(10)]:
            status = wait_phase(simulated, namespace, name, timeout=90)
            assert status["phase"] == "Succeeded", (name, status)
        jobs = simulated.list("jobs", namespace)
        owners = [j["metadata"]["labels"]["orchestrator.dev/adhoccommand"] for j in jobs]
        assert sorted(owners) == sorted(set(owners)) and len(owners) == 20  # exactly one Job per run
        lease = simulated.must_get(*LEASE)
        assert lease["spec"]["leaseTransitions"] >= 1, json.dumps(lease["spec"])
    finally:
        first.kill()
        second.stop()
        operator.start()
