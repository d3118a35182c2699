"""Who ran it and who approved it, as real users (ServiceAccounts bound to edit, to admin, and
to nothing) meet it: requested-by cannot be forged, a run that needs approval waits for someone
else who holds the verb approve, an approval counts for its generation only, a rejection ends
the run. The policies are the installed ones (kubernetes/admission.yaml, and the local cluster's
MutatingAdmissionPolicy from kubernetes/requested-by/v1beta1)."""

from __future__ import annotations

import json
import subprocess
import threading
from pathlib import Path

import httpx
import pytest

from hack.harness import Cluster, RestApi, WebhookReceiver, kubeconfig_for, token_for, wait_until
from tests.cluster.helpers import adhoc, status_of, wait_phase, wait_reason
from tests.cluster.test_kubectl_adhoc import adhoc_cli, adhoc_command, plugin_env

pytestmark = pytest.mark.usefixtures("operator")
REQUESTED_BY = "orchestrator.dev/requested-by"


class User:
    def __init__(self, cluster: Cluster, namespace: str, name: str, role: str | None, directory: Path) -> None:
        self.cluster, self.namespace, self.name = cluster, namespace, f"system:serviceaccount:{namespace}:{name}"
        self.token = token_for(cluster, namespace, name, role)
        self.kubeconfig = kubeconfig_for(cluster, directory / f"{name}.kubeconfig", {"token": self.token})

    def kubectl(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        command = [self.cluster.kubectl_path, "--kubeconfig", str(self.kubeconfig), "-n", self.namespace, *args]
        return subprocess.run(command, capture_output=True, text=True, input=input, timeout=60)

    def apply(self, obj: dict) -> subprocess.CompletedProcess[str]:
        return self.kubectl("apply", "-f", "-", input=json.dumps(obj))

    def adhoc(self, *args: str) -> subprocess.CompletedProcess[str]:
        return adhoc_cli(self.cluster, self.namespace, *args, kubeconfig=self.kubeconfig)


def refused(result: subprocess.CompletedProcess[str], *words: str) -> None:
    """Refused with one clear line naming why."""
    assert result.returncode != 0, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and all(w in lines[0] for w in words), result.stderr


def jobs_of(cluster: Cluster, namespace: str, name: str) -> list[str]:
    jobs = cluster.list("jobs", namespace, f"orchestrator.dev/adhoccommand={name}")
    return sorted(j["metadata"]["name"] for j in jobs)


def awaiting(cluster: Cluster, namespace: str, name: str, generation: int) -> dict:
    status = wait_reason(cluster, namespace, name, "AwaitingApproval")
    assert status["phase"] == "Pending" and status["observedGeneration"] == generation, status
    return status


def test_a_run_in_an_approval_namespace_starts_once_someone_else_approves_its_generation(
    simulated: Cluster, namespace: str, tmp_path: Path, notifications: WebhookReceiver
):
    simulated.kubectl("label", "namespace", namespace, "orchestrator.dev/approval=required")
    alice = User(simulated, namespace, "alice", "edit", tmp_path)  # asks
    bob = User(simulated, namespace, "bob", "admin", tmp_path)  # may approve
    carol = User(simulated, namespace, "carol", "admin", tmp_path)  # may approve, and asks too
    nobody = User(simulated, namespace, "nobody", None, tmp_path)

    # A forged requester is replaced by the caller's name; the namespace makes approval required.
    forged = adhoc("migrate", command="./migrate")
    forged["metadata"]["annotations"] = {REQUESTED_BY: bob.name}
    assert alice.apply(forged).returncode == 0
    created = simulated.must_get("adhoc", "migrate", namespace)
    assert created["metadata"]["annotations"][REQUESTED_BY] == alice.name
    assert created["spec"]["approval"] == {"required": True}
    status = awaiting(simulated, namespace, "migrate", 1)
    assert status["requestedBy"] == alice.name and jobs_of(simulated, namespace, "migrate") == []
    # ... and cannot be changed to anyone else afterwards.
    refused(alice.kubectl("annotate", "adhoc", "migrate", f"{REQUESTED_BY}={bob.name}", "--overwrite"), "requested-by")

    refused(alice.adhoc("approve", "migrate"), "may not approve", "verb approve")  # edit: no
    refused(nobody.adhoc("approve", "migrate"), "forbidden")
    assert bob.adhoc("approve", "migrate").returncode == 0
    status = wait_phase(simulated, namespace, "migrate", generation=1)
    assert (status["phase"], status["requestedBy"], status["approvedBy"]) == ("Succeeded", alice.name, bob.name)

    # Generation 2, asked for by carol (who names alice: replaced): bob's approval of generation
    # 1 does not start it, and carol may not approve her own run although she holds the verb.
    patch = {"metadata": {"annotations": {REQUESTED_BY: alice.name}}, "spec": {"command": "./migrate --again"}}
    assert carol.kubectl("patch", "adhoc", "migrate", "--type=merge", "-p", json.dumps(patch)).returncode == 0
    status = awaiting(simulated, namespace, "migrate", 2)
    assert status["requestedBy"] == carol.name and "migrate-2" not in jobs_of(simulated, namespace, "migrate")
    refused(carol.adhoc("approve", "migrate"), "requested this run")
    assert bob.adhoc("approve", "migrate").returncode == 0
    wait_phase(simulated, namespace, "migrate", generation=2)

    history = alice.adhoc("history", "migrate")
    assert history.returncode == 0, history.stderr
    rows = [line.split() for line in history.stdout.splitlines()[1:]]
    assert [(r[0], r[1]) for r in rows] == [("2", "Succeeded"), ("1", "Succeeded")]
    assert [(carol.name in " ".join(r), alice.name in " ".join(r), r.count(bob.name)) for r in rows] == [
        (True, False, 1),
        (False, True, 1),
    ]
    told = [e for e in notifications.of(namespace) if e["type"] == "dev.orchestrator.run.awaiting-approval"]
    assert [(e["data"]["generation"], e["data"]["requestedBy"]) for e in told] == [(1, alice.name), (2, carol.name)]


def test_a_rejected_run_ends_without_a_job_and_says_who_and_why(simulated: Cluster, namespace: str, tmp_path: Path):
    alice = User(simulated, namespace, "alice", "edit", tmp_path)
    bob = User(simulated, namespace, "bob", "admin", tmp_path)
    # alice runs it from her terminal: the plugin says it waits, and for what.
    overrides = json.dumps({"spec": {"approval": {"required": True}}})
    running = subprocess.Popen(
        adhoc_command(
            simulated,
            namespace,
            "run",
            "drop-table",
            "--overrides",
            overrides,
            "--",
            "./drop",
            kubeconfig=alice.kubeconfig,
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=plugin_env(),
    )
    lines: list[str] = []

    def read() -> None:
        assert running.stderr is not None
        for line in running.stderr:
            lines.append(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    awaiting(simulated, namespace, "drop-table", 1)
    refused(alice.adhoc("reject", "drop-table"), "may not approve")
    # Her terminal has said so (the plugin looks about once a second) before bob decides.
    wait_until(lambda: any("drop-table waits for approval" in line for line in lines), 30, "the plugin to say so")
    assert bob.adhoc("reject", "drop-table", "--reason", "not on a Friday").returncode == 0
    assert running.wait(timeout=60) == 1
    reader.join(timeout=10)
    said = "".join(lines)
    assert "Rejected: rejected by" in said, said
    status = wait_phase(simulated, namespace, "drop-table")
    assert (status["phase"], status["reason"]) == ("Failed", "Rejected"), status
    assert status["message"] == f"rejected by {bob.name}: not on a Friday"
    assert jobs_of(simulated, namespace, "drop-table") == []
    # A rejection cannot be turned into an approval of the same generation by editing annotations.
    forged = {"metadata": {"annotations": {"orchestrator.dev/approved-by": alice.name}}}
    refused(alice.kubectl("patch", "adhoc", "drop-table", "--type=merge", "-p", json.dumps(forged)), "approve")
    assert status_of(simulated, namespace, "drop-table")["reason"] == "Rejected"


def test_the_rest_api_approves_and_rejects_with_the_callers_rights(
    simulated: Cluster, namespace: str, tmp_path: Path, rest_api: RestApi
):
    alice = User(simulated, namespace, "alice", "edit", tmp_path)
    bob = User(simulated, namespace, "bob", "admin", tmp_path)
    for name in ("wants-a-yes", "plain", "withdrawn"):
        spec = {"approval": {"required": True}} if name != "plain" else {}
        assert alice.apply(adhoc(name, command="./x", **spec)).returncode == 0
    awaiting(simulated, namespace, "wants-a-yes", 1)

    def post(user: User, path: str, body: dict | None = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {user.token}"}
        return httpx.post(f"{rest_api.url}/jobs/{path}", params={"namespace": namespace}, json=body, headers=headers)

    refused = post(alice, "wants-a-yes/approve")
    assert refused.status_code == 403 and "verb approve" in refused.json()["error"], refused.text
    plain = post(bob, "plain/approve")
    assert plain.status_code == 409 and "does not need approval" in plain.json()["error"], plain.text
    rejected = post(bob, "wants-a-yes/reject", {"reason": "use the runbook"})
    assert rejected.status_code == 200, rejected.text
    status = wait_phase(simulated, namespace, "wants-a-yes")
    assert (status["reason"], status["message"]) == ("Rejected", f"rejected by {bob.name}: use the runbook")
    again = post(bob, "wants-a-yes/approve")
    assert again.status_code == 409 and "already rejected" in again.json()["error"], again.text
    # Cancelled while it waits: it ends without ever running, and a second cancel is refused.
    assert post(alice, "withdrawn/cancel").status_code == 200
    status = wait_phase(simulated, namespace, "withdrawn")
    assert (status["phase"], status["reason"]) == ("Failed", "Cancelled"), status
    assert jobs_of(simulated, namespace, "withdrawn") == []
    assert post(alice, "withdrawn/cancel").status_code == 409
