"""How many API requests the operator makes for one run, counted from the apiserver's audit log."""

from __future__ import annotations

from collections import Counter

from hack.harness import WRITE_VERBS, Cluster, audit_entries, request_kind, wait_until
from tests.cluster.helpers import adhoc, wait_phase

# By design: 1 Job, 1 ConfigMap, 1 event (its end), and one status patch for each state the run
# is seen in (pending, running, finished): 4 when the pod ends before the operator looks (usual
# on the simulated node), 6 at most.
STATUS_PATCHES_LIMIT = 3


def test_writes_per_successful_run(simulated: Cluster, operator, namespace: str, sim_output):
    sim_output(namespace, b"counted\n")
    simulated.apply(adhoc("counted", command="echo counted"), namespace)
    wait_phase(simulated, namespace, "counted")

    def settled() -> list[dict] | None:  # events are posted just after the writes they tell of
        entries = audit_entries(namespaces={namespace})
        events = [e for e in entries if e["objectRef"]["resource"] == "events" and e["verb"] == "create"]
        return entries if events else None

    entries = wait_until(settled, 30, "the Succeeded event in the audit log")

    writes = Counter(request_kind(e) for e in entries if e["verb"] in WRITE_VERBS)
    reads = Counter(request_kind(e) for e in entries if e["verb"] not in WRITE_VERBS)
    total = sum(writes.values())
    print(f"\nAPI writes for one successful run: {total} {dict(writes)}; reads: {dict(reads)}")
    assert writes["create jobs"] == 1 and writes["create configmaps"] == 1 and writes["create events"] == 1
    assert 1 <= writes["patch adhoccommands/status"] <= STATUS_PATCHES_LIMIT
    assert total == 3 + writes["patch adhoccommands/status"]  # nothing else is written
    assert reads == Counter({"get pods/log": 1})
