"""An operator killed in the middle of a batch of runs loses nothing and duplicates nothing."""

from __future__ import annotations

import yaml

from tests.cluster.helpers import adhoc, sim
from tests.harness import Cluster, Operator, wait_until

BATCH = 30


def test_operator_killed_twice_mid_batch(simulated: Cluster, operator: Operator, namespace: str, sim_output):
    sim_output(namespace, b"done\n")
    items = [adhoc(f"run-{i:02d}", command=f"echo {i}", podMetadata=sim(duration="3s")) for i in range(BATCH)]
    simulated.kubectl(
        "-n", namespace, "apply", "-f", "-", input=yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": items})
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

    def all_done() -> list[dict] | None:
        found = simulated.list("adhoc", namespace)
        finished = [
            a
            for a in found
            if (a.get("status") or {}).get("phase") == "Succeeded" and (a.get("status") or {}).get("logs")
        ]
        return found if len(finished) == BATCH else None

    adhocs = wait_until(all_done, 180, f"all {BATCH} runs to succeed with their output stored")
    jobs = simulated.list("jobs", namespace)
    configmaps = [c for c in simulated.list("configmaps", namespace) if c["metadata"]["name"].endswith("-logs")]
    assert len(jobs) == BATCH and len(configmaps) == BATCH
    by_uid: dict[str, list[str]] = {}
    for job in jobs:
        by_uid.setdefault(job["metadata"]["labels"]["orchestrator.dev/adhoccommand-uid"], []).append(
            job["metadata"]["name"]
        )
    for a in adhocs:
        assert by_uid[a["metadata"]["uid"]] == [a["status"]["jobName"]], a["metadata"]["name"]
        assert a["status"]["exitCode"] == 0 and a["status"]["observedGeneration"] == 1
    pods = simulated.list("pods", namespace)
    assert len(pods) == BATCH  # one pod per Job: nothing ran twice
