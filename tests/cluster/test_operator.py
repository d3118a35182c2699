"""The operator on the real control plane, run as its own ServiceAccount: every line of the contract."""

from __future__ import annotations

import hashlib
import re

import pytest

from hack.harness import Cluster, wait_until
from tests.cluster.helpers import (
    adhoc,
    conditions,
    events_for,
    sim,
    status_of,
    stored_output,
    wait_phase,
)

pytestmark = pytest.mark.usefixtures("operator")


def test_success_mirrors_the_job_and_stores_the_output(simulated: Cluster, namespace: str, sim_output):
    sim_output(namespace, b"Beautiful is better than ugly.\n")
    simulated.apply(adhoc("zen", command='python3 -c "import this"'), namespace)
    status = wait_phase(simulated, namespace, "zen")
    assert status["phase"] == "Succeeded" and status["exitCode"] == 0 and status["reason"] == "Completed"
    assert status["jobName"] == "zen-1" and status["podName"].startswith("zen-1-")
    assert (status["active"], status["succeeded"], status["failed"]) == (0, 1, 0)
    assert status["startTime"] and status["completionTime"] and re.fullmatch(r"\d+s", status["duration"])
    assert status["observedGeneration"] == 1
    assert status["logs"] == {
        "configMap": "zen-logs",
        "bytes": 31,
        "storedBytes": 31,
        "truncated": False,
        "sha256": hashlib.sha256(b"Beautiful is better than ugly.\n").hexdigest(),
    }
    assert stored_output(simulated, namespace, "zen") == b"Beautiful is better than ugly.\n"
    c = conditions(status)
    assert c["Complete"]["status"] == c["Finished"]["status"] == "True"
    assert c["Reconciling"]["status"] == c["Stalled"]["status"] == "False"
    assert all(x["observedGeneration"] == 1 for x in c.values())

    job = simulated.must_get("job", "zen-1", namespace)
    [owner] = job["metadata"]["ownerReferences"]
    assert owner["kind"] == "AdhocCommand" and owner["controller"] is True
    assert job["metadata"]["labels"]["orchestrator.dev/adhoccommand"] == "zen"
    assert job["spec"]["template"]["spec"]["containers"][0]["command"] == ["/bin/sh", "-c", 'python3 -c "import this"']
    cm = simulated.must_get("configmap", "zen-logs", namespace)
    assert cm["metadata"]["labels"]["orchestrator.dev/adhoccommand"] == "zen"
    assert cm["metadata"]["ownerReferences"][0]["name"] == "zen"

    reasons = {e["reason"] for e in events_for(simulated, namespace, "zen")}
    # No event of ours for a success (the status and the Job's own Completed event say it),
    # and none for the Job's creation (its SuccessfulCreate says it).
    assert "Succeeded" not in reasons and "JobCreated" not in reasons


def test_a_finished_runs_status_outlives_its_pod(simulated: Cluster, namespace: str, sim_output):
    """Past 12,500 terminated pods the PodGC deletes the oldest, and users delete pods: the run's
    exit code, pod name and output stay in its status (a bench at 15,000 runs found them dropped)."""
    sim_output(namespace, b"kept\n")
    simulated.apply(adhoc("gc", command="echo kept"), namespace)
    before = wait_phase(simulated, namespace, "gc")
    assert before["phase"] == "Succeeded" and before["exitCode"] == 0 and before["logs"]
    simulated.kubectl("-n", namespace, "delete", "pods", "-l", "orchestrator.dev/adhoccommand=gc", "--wait=true")
    # Another run in the namespace, created after the deletion, finishing: the operator has
    # been through the pod's deletion by then (its watch of pods is one stream).
    simulated.apply(adhoc("after", command="echo kept"), namespace)
    wait_phase(simulated, namespace, "after")
    assert status_of(simulated, namespace, "gc") == before


@pytest.mark.parametrize("code, reason", [("3", "Error"), ("137", "OOMKilled")])
def test_failure_reports_exit_code_and_reason(simulated: Cluster, namespace: str, sim_output, code, reason):
    sim_output(namespace, b"something went wrong\n")
    annotations = {"exit_code": code} | ({"reason": reason} if reason != "Error" else {})
    simulated.apply(adhoc("fails", command="exit 3", podMetadata=sim(**annotations)), namespace)
    status = wait_phase(simulated, namespace, "fails")
    assert status["phase"] == "Failed" and status["exitCode"] == int(code) and status["reason"] == reason
    c = conditions(status)
    assert c["Failed"]["status"] == c["Finished"]["status"] == c["Stalled"]["status"] == "True"
    assert stored_output(simulated, namespace, "fails") == b"something went wrong\n"
    assert "Failed" in {e["reason"] for e in events_for(simulated, namespace, "fails") if e["type"] == "Warning"}


def test_timeout_ends_as_deadline_exceeded(simulated: Cluster, namespace: str, sim_output):
    sim_output(namespace, b"")
    simulated.apply(adhoc("slow", command="sleep 600", timeoutSeconds=2, podMetadata=sim(duration="600s")), namespace)
    status = wait_phase(simulated, namespace, "slow", timeout=90)
    assert status["phase"] == "Failed" and status["reason"] == "DeadlineExceeded"
    assert simulated.must_get("job", "slow-1", namespace)["spec"]["activeDeadlineSeconds"] == 2


def test_retries_keep_the_last_attempts_output(simulated: Cluster, namespace: str, sim_output):
    sim_output(namespace, b"attempt output\n")
    simulated.apply(adhoc("flaky", command="exit 1", retries=2, podMetadata=sim(exit_code="1")), namespace)
    status = wait_phase(simulated, namespace, "flaky", timeout=120)
    assert status["phase"] == "Failed" and status["failed"] == 3 and status["attempt"] == 3
    pods = simulated.list("pods", namespace, "job-name=flaky-1")
    latest = max(pods, key=lambda p: (p["metadata"]["creationTimestamp"], p["metadata"]["name"]))
    cm = simulated.must_get("configmap", "flaky-logs", namespace)
    assert cm["metadata"]["annotations"]["orchestrator.dev/attempt"] == "3"
    assert cm["metadata"]["annotations"]["orchestrator.dev/pod-name"] == latest["metadata"]["name"]
    assert status["podName"] == latest["metadata"]["name"]


def test_suspend_and_resume_toggle_the_same_run(simulated: Cluster, namespace: str, sim_output):
    sim_output(namespace, b"resumed\n")
    simulated.apply(adhoc("queued", command="echo resumed", suspend=True), namespace)
    status = wait_phase(simulated, namespace, "queued", ("Suspended",))
    assert conditions(status)["Finished"]["status"] == "False"
    assert simulated.must_get("job", "queued-1", namespace)["spec"]["suspend"] is True
    assert simulated.list("pods", namespace) == []

    simulated.kubectl("-n", namespace, "patch", "adhoc", "queued", "--type=merge", "-p", '{"spec":{"suspend":false}}')
    status = wait_phase(simulated, namespace, "queued", generation=2)
    assert status["phase"] == "Succeeded" and status["jobName"] == "queued-1"  # no new run
    assert [j["metadata"]["name"] for j in simulated.list("jobs", namespace)] == ["queued-1"]
    assert "Resumed" in {e["reason"] for e in events_for(simulated, namespace, "queued")}


def test_spec_change_starts_a_new_run(simulated: Cluster, namespace: str, sim_output):
    sim_output(namespace, b"v2\n")
    simulated.apply(adhoc("migrate", command="echo v1", podMetadata=sim(duration="600s")), namespace)
    wait_phase(simulated, namespace, "migrate", ("Running",))
    simulated.apply(adhoc("migrate", command="echo v2"), namespace)
    status = wait_phase(simulated, namespace, "migrate", generation=2)
    assert status["phase"] == "Succeeded" and status["jobName"] == "migrate-2" and status["observedGeneration"] == 2
    wait_until(lambda: simulated.get("job", "migrate-1", namespace) is None, 30, "the old run's Job to go")
    job = simulated.must_get("job", "migrate-2", namespace)
    assert job["spec"]["template"]["spec"]["containers"][0]["command"][-1] == "echo v2"
    assert "RunReplaced" in {e["reason"] for e in events_for(simulated, namespace, "migrate")}


def test_kubectl_get_shows_the_columns(simulated: Cluster, namespace: str, sim_output):
    sim_output(namespace, b"ok\n")
    simulated.apply(adhoc("cols", command="echo ok"), namespace)
    wait_phase(simulated, namespace, "cols")
    lines = simulated.kubectl("-n", namespace, "get", "adhoc").stdout.splitlines()
    assert lines[0].split() == ["NAME", "STATUS", "EXIT", "DURATION", "AGE"]
    row = lines[1].split()
    assert row[:3] == ["cols", "Succeeded", "0"] and re.fullmatch(r"\d+s", row[3])
    wide = simulated.kubectl("-n", namespace, "get", "ahc", "-o", "wide").stdout.splitlines()
    assert wide[0].split() == ["NAME", "STATUS", "EXIT", "DURATION", "AGE", "JOB", "COMMAND"]
    assert wide[1].split()[-3:] == ["cols-1", "echo", "ok"]


def test_kubectl_wait_on_complete_and_finished(simulated: Cluster, namespace: str, sim_output):
    sim_output(namespace, b"")
    simulated.apply(adhoc("ok", command="true", podMetadata=sim(duration="1s")), namespace)
    simulated.apply(adhoc("bad", command="false", podMetadata=sim(exit_code="1", duration="1s")), namespace)
    simulated.kubectl("-n", namespace, "wait", "--for=condition=Complete", "adhoc/ok", "--timeout=60s")
    simulated.kubectl("-n", namespace, "wait", "--for=condition=Finished", "adhoc/bad", "--timeout=60s")
    assert status_of(simulated, namespace, "bad")["phase"] == "Failed"


def test_several_mib_of_output_are_cut_with_the_marker(simulated: Cluster, namespace: str, sim_output):
    lines = b"".join(b"line %07d of the output\n" % i for i in range(200_000))  # ~5 MiB
    sim_output(namespace, lines)
    simulated.apply(adhoc("big", command="yes", logs={"maxBytes": 100_000}), namespace)
    status = wait_phase(simulated, namespace, "big")
    assert status["logs"]["truncated"] is True and status["logs"]["bytes"] == len(lines)
    stored = stored_output(simulated, namespace, "big")
    assert len(stored) == status["logs"]["storedBytes"] <= 100_000
    head, marker, tail = re.split(rb"\n\[orchestrator: (\d+) bytes of output left out\]\n", stored)
    assert lines.startswith(head) and lines.endswith(tail)
    assert int(marker) == len(lines) - len(head) - len(tail)


def test_output_that_is_not_utf8_is_stored_exactly(simulated: Cluster, namespace: str, sim_output):
    data = b"binary: \xff\xfe\x00\x01 \xc3\x28 end\n"
    sim_output(namespace, data)
    simulated.apply(adhoc("bin", command="cat /dev/urandom | head -c 16"), namespace)
    wait_phase(simulated, namespace, "bin")
    assert stored_output(simulated, namespace, "bin") == data


def test_deletion_cascades_to_job_pods_and_logs(simulated: Cluster, namespace: str, sim_output):
    sim_output(namespace, b"bye\n")
    simulated.apply(adhoc("gone", command="echo bye"), namespace)
    wait_phase(simulated, namespace, "gone")
    simulated.kubectl("-n", namespace, "delete", "adhoc", "gone")
    wait_until(
        lambda: (
            not simulated.list("jobs", namespace)
            and not simulated.list("pods", namespace)
            and simulated.get("configmap", "gone-logs", namespace) is None
        ),
        60,
        "the cascade",
    )


def test_ttl_after_finished_deletes_the_adhoccommand(simulated: Cluster, namespace: str, sim_output):
    sim_output(namespace, b"")
    simulated.apply(adhoc("brief", command="true", ttlSecondsAfterFinished=2), namespace)
    wait_phase(simulated, namespace, "brief")
    wait_until(lambda: simulated.get("adhoc", "brief", namespace) is None, 60, "the TTL to delete it")


def test_longest_name_runs(simulated: Cluster, namespace: str, sim_output):
    sim_output(namespace, b"long\n")
    name = ("a" * 62 + ".") * 4 + "z"  # 253 characters
    simulated.apply(adhoc(name, command="echo long"), namespace)
    status = wait_phase(simulated, namespace, name)
    assert status["phase"] == "Succeeded" and len(status["jobName"]) <= 63
    assert stored_output(simulated, namespace, name) == b"long\n"


def test_job_the_api_refuses_is_reported_not_retried_forever(simulated: Cluster, namespace: str):
    simulated.apply(adhoc("odd", command="true", serviceAccountName="Not_A_Valid_Name"), namespace)
    status = wait_phase(simulated, namespace, "odd")
    assert status["phase"] == "Failed" and status["reason"] == "JobRejected"
    assert "serviceAccountName" in status["message"]
    assert "JobRejected" in {e["reason"] for e in events_for(simulated, namespace, "odd")}


def test_operator_pods_meet_the_restricted_standard(simulated: Cluster, namespace: str, sim_output):
    # `namespace` enforces restricted: a pod that did not meet it would never be created.
    sim_output(namespace, b"")
    simulated.apply(adhoc("safe", command="id"), namespace)
    assert wait_phase(simulated, namespace, "safe")["phase"] == "Succeeded"
    [pod] = simulated.list("pods", namespace)
    assert pod["spec"]["automountServiceAccountToken"] is False


def test_a_pod_refused_by_pod_security_says_why(simulated: Cluster, namespace: str):
    """The namespace enforces the restricted standard; a command that asks to be privileged gets
    a Job whose pod is refused. The run says so, from the Job controller's FailedCreate event."""
    loosened = {"privileged": True, "allowPrivilegeEscalation": True, "runAsNonRoot": False, "runAsUser": 0}
    simulated.apply(adhoc("refused", command="id", securityContext=loosened), namespace)

    def refused() -> dict | None:
        status = status_of(simulated, namespace, "refused")
        return status if status.get("reason") == "FailedCreate" else None

    status = wait_until(refused, 60, "the run to say its pod was refused")
    assert status["phase"] == "Pending" and "PodSecurity" in status["message"], status
    assert conditions(status)["Reconciling"]["reason"] == "FailedCreate"
