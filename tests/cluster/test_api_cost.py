"""How many API requests the operator makes for one run, counted from the apiserver's audit log."""

from __future__ import annotations

from collections import Counter

from hack.harness import WRITE_VERBS, Cluster, audit_entries, request_kind, wait_until
from tests.cluster.helpers import adhoc, wait_phase

# By design, a run: 1 Job, 1 ConfigMap, and one status patch for each state the run is seen in
# (pending, running, finished): 3 writes when the pod ends before the operator looks (usual on
# the simulated node), 5 at most. No Event for a success (ORCHESTRATOR_SUCCESS_EVENTS is off by
# default; a failure gets its Warning).
STATUS_PATCHES_LIMIT = 3


def test_writes_per_successful_run(simulated: Cluster, operator, namespace: str, sim_output):
    sim_output(namespace, b"counted\n")
    # Two runs, one after the other: by the time the second one's output is in the audit log,
    # anything the operator wrote after the first one's end (events are posted in the
    # background) is there too.
    for name in ("counted", "later"):
        simulated.apply(adhoc(name, command="echo counted"), namespace)
        wait_phase(simulated, namespace, name)

    def settled() -> list[dict] | None:
        entries = audit_entries(namespaces={namespace})
        return entries if sum(request_kind(e) == "create configmaps" for e in entries) == 2 else None

    entries = wait_until(settled, 30, "both runs' output in the audit log")
    writes = Counter(request_kind(e) for e in entries if e["verb"] in WRITE_VERBS)
    reads = Counter(request_kind(e) for e in entries if e["verb"] not in WRITE_VERBS)
    total = sum(writes.values())
    print(f"\nAPI writes for two successful runs: {total} {dict(writes)}; reads: {dict(reads)}")
    assert writes["create jobs"] == 2 and writes["create configmaps"] == 2 and writes["create events"] == 0
    assert 2 <= writes["patch adhoccommands/status"] <= 2 * STATUS_PATCHES_LIMIT
    assert total == 4 + writes["patch adhoccommands/status"]  # nothing else is written
    assert reads == Counter({"get pods/log": 2})
