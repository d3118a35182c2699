"""An operator killed in the middle of a batch of runs loses nothing and duplicates nothing."""

from __future__ import annotations

from hack.harness import Cluster, Operator, wait_until
from tests.cluster.helpers import adhoc, apply_batch, assert_each_ran_once, sim

BATCH = 30


def test_operator_killed_twice_mid_batch(simulated: Cluster, operator: Operator, namespace: str, sim_output):
    sim_output(namespace, b"done\n")
    apply_batch(
        simulated,
        namespace,
        [adhoc(f"run-{i:02d}", command=f"echo {i}", podMetadata=sim(duration="3s")) for i in range(BATCH)],
    )
    try:
        # First kill: as soon as some (not all) runs have their Job.
        wait_until(lambda: simulated.list("jobs", namespace), 60, "the first Jobs")
        operator.kill()
        operator.start()
        # Second kill: while pods are running and outputs are being stored.
        wait_until(
            lambda: any(p["status"].get("phase") == "Succeeded" for p in simulated.list("pods", namespace)),
            60,
            "the first finished pod",
        )
        operator.kill()
        operator.start()
    finally:
        if not operator.healthy():
            operator.start()

    assert_each_ran_once(simulated, namespace, BATCH)
