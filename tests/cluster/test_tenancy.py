"""A cluster shared by teams: the operator touches nothing that is not its own, and the REST API
stays up for everyone while some follow many logs."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
import yaml

from hack.harness import REPO, Cluster, RestApi, token_for, wait_until
from tests.cluster.helpers import ON_REAL_NODE, adhoc, events_for, status_of, wait_phase
from tests.cluster.test_from_workload import app

pytestmark = pytest.mark.usefixtures("operator")


def users_configmap(cluster: Cluster, namespace: str, name: str) -> dict:
    cluster.kubectl("-n", namespace, "create", "configmap", name, "--from-literal=mine=keep")
    return cluster.must_get("configmap", name, namespace)


def untouched(cluster: Cluster, namespace: str, before: dict) -> None:
    now = cluster.get("configmap", before["metadata"]["name"], namespace)
    assert now is not None, "the user's ConfigMap was deleted"
    assert now["data"] == {"mine": "keep"} and "ownerReferences" not in now["metadata"]
    assert now["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]


def test_a_users_configmaps_of_the_output_names_survive_runs_and_deletion(
    simulated: Cluster, namespace: str, sim_output
):
    sim_output(namespace, b"report\n")
    current = users_configmap(simulated, namespace, "report-logs")
    kept = users_configmap(simulated, namespace, "nightly-logs-1")
    simulated.apply(adhoc("report", command="echo report"), namespace)
    simulated.apply(adhoc("nightly", command="echo report"), namespace)

    status = wait_phase(simulated, namespace, "report")
    assert status["phase"] == "Succeeded" and status["exitCode"] == 0
    assert status["reason"] == "OutputConflict" and "report-logs" in status["message"], status
    assert "logs" not in status
    assert "OutputConflict" in {e["reason"] for e in events_for(simulated, namespace, "report")}

    # The next run keeps the first one's output in nightly-logs-1: the user's, so not there.
    assert wait_phase(simulated, namespace, "nightly")["logs"]["configMap"] == "nightly-logs"
    simulated.apply(adhoc("nightly", command="echo again"), namespace)
    status = wait_phase(simulated, namespace, "nightly", generation=2)
    [entry] = status["history"]
    assert entry["generation"] == 1 and "logsConfigMap" not in entry

    for name in ("report", "nightly"):
        simulated.kubectl("-n", namespace, "delete", "adhoc", name)
    wait_until(lambda: not simulated.list("jobs", namespace), 60, "the runs' Jobs to go")
    wait_until(lambda: simulated.get("configmap", "nightly-logs", namespace) is None, 60, "the run's own output")
    untouched(simulated, namespace, current)
    untouched(simulated, namespace, kept)


def test_output_kept_in_a_secret_is_read_by_editors_only_and_a_users_secret_survives(
    simulated: Cluster, namespace: str, sim_output, rest_api: RestApi
):
    """spec.logs.storage: Secret: `view` (which reads ConfigMaps) cannot read the output, `edit`
    can; a user's own Secret of the output's name is neither read nor replaced."""
    sim_output(namespace, b"token=s3cret\n")
    simulated.kubectl("-n", namespace, "create", "secret", "generic", "taken-logs", "--from-literal=mine=keep")
    theirs = simulated.must_get("secret", "taken-logs", namespace)
    for name in ("private", "taken"):
        simulated.apply(adhoc(name, command="migrate", logs={"storage": "Secret"}), namespace)

    status = wait_phase(simulated, namespace, "private")
    assert status["phase"] == "Succeeded" and status["logs"]["secret"] == "private-logs", status
    assert simulated.get("configmap", "private-logs", namespace) is None
    viewer = {"Authorization": f"Bearer {token_for(simulated, namespace, 'viewer', 'view')}"}
    editor = {"Authorization": f"Bearer {token_for(simulated, namespace, 'editor', 'edit')}"}
    url, params = f"{rest_api.url}/jobs/private/logs", {"namespace": namespace}
    assert httpx.get(url, params=params, headers=editor).content == b"token=s3cret\n"
    refused = httpx.get(url, params=params, headers=viewer)
    assert refused.status_code == 403 and b"s3cret" not in refused.content

    status = wait_phase(simulated, namespace, "taken")
    assert status["reason"] == "OutputConflict" and "Secret taken-logs" in status["message"], status
    now = simulated.must_get("secret", "taken-logs", namespace)
    assert now["metadata"]["resourceVersion"] == theirs["metadata"]["resourceVersion"]
    assert now["data"] == theirs["data"] and "ownerReferences" not in now["metadata"]


def test_a_run_from_a_workload_needs_the_requesters_own_get_on_it(installed: Cluster, namespace: str):
    """The operator may read every workload's pod template; a user may run from one only when
    they may read it themselves (kubernetes/admission.yaml, on by default)."""
    installed.apply(app("web"), namespace)
    installed.kubectl("-n", namespace, "create", "role", "runs", "--verb=create,get", "--resource=adhoccommands")
    installed.kubectl("-n", namespace, "create", "role", "reads-web", "--verb=get", "--resource=deployments")
    for user, roles in (("runner", ["runs"]), ("reader", ["runs", "reads-web"])):
        installed.kubectl("-n", namespace, "create", "serviceaccount", user)
        for role in roles:
            account = f"--serviceaccount={namespace}:{user}"
            installed.kubectl("-n", namespace, "create", "rolebinding", f"{user}-{role}", f"--role={role}", account)

    def create_as(user: str, **spec) -> str:
        body = yaml.safe_dump(adhoc("migrate", command="env", **spec))
        result = installed.kubectl(
            "-n",
            namespace,
            "create",
            "--dry-run=server",
            f"--as=system:serviceaccount:{namespace}:{user}",
            "-f",
            "-",
            input=body,
            check=False,
        )
        return "" if result.returncode == 0 else result.stderr

    source = {"from": {"kind": "Deployment", "name": "web"}}
    refused = wait_until(lambda: create_as("runner", **source), 60, "the policy to be in force")
    assert "spec.from" in refused and "may not get deployments web" in refused, refused
    assert create_as("runner") == ""  # without spec.from the same user may run a command
    assert create_as("reader", **source) == ""


def test_many_live_streams_leave_the_rest_api_answering(rest_api: RestApi, real_node: Cluster, namespace: str):
    """150 clients follow a running command's log (100 are followed, 50 told 429): a list from
    someone else still answers within a second."""
    user = {"Authorization": f"Bearer {token_for(real_node, namespace, 'streamer', 'edit')}"}
    real_node.apply(adhoc("long", command="echo started; sleep 300", **ON_REAL_NODE), namespace)
    wait_until(lambda: status_of(real_node, namespace, "long").get("phase") == "Running", 120, "the run to start")

    async def scenario() -> tuple[list[int], float, int]:
        limits = httpx.Limits(max_connections=200)
        async with httpx.AsyncClient(base_url=rest_api.url, headers=user, timeout=30, limits=limits) as client:
            opened: list[int] = []
            streams = []
            for _ in range(150):
                stream = client.stream("GET", "/jobs/long/logs", params={"namespace": namespace, "follow": "true"})
                streams.append(stream)
            responses = await asyncio.gather(*(s.__aenter__() for s in streams))
            opened = [r.status_code for r in responses]
            started = time.monotonic()
            listed = await client.get("/jobs", params={"namespace": namespace})
            elapsed = time.monotonic() - started
            for stream in streams:
                await stream.__aexit__(None, None, None)
            return opened, elapsed, listed.status_code

    opened, elapsed, listed = asyncio.run(scenario())
    assert sorted(set(opened)) == [200, 429] and opened.count(200) == 100, opened
    assert listed == 200 and elapsed < 1.0, elapsed


def test_the_optional_policy_refuses_privileged_runs_whatever_the_namespace(installed: Cluster):
    """An unlabelled namespace enforces no Pod Security standard: there an AdhocCommand could ask
    for a privileged pod. kubernetes/policy/ refuses it at admission, naming the field."""
    namespace = f"t-policy-{int(time.time() * 1000) % 10**8}"
    installed.kubectl("create", "namespace", namespace)  # no pod-security labels

    def dry_run(name: str, **spec) -> str:
        body = yaml.safe_dump(adhoc(name, command="id", **spec))
        result = installed.kubectl("-n", namespace, "create", "--dry-run=server", "-f", "-", input=body, check=False)
        return "" if result.returncode == 0 else result.stderr

    privileged = {"securityContext": {"privileged": True, "runAsUser": 0, "runAsNonRoot": False}}
    try:
        assert dry_run("before", **privileged) == ""  # what the README warns of
        installed.kubectl("apply", "-k", str(REPO / "kubernetes/policy"))
        refused = wait_until(lambda: dry_run("priv", **privileged), 60, "the policy to be in force")
        assert "spec.securityContext.privileged" in refused, refused
        host = {"volumes": [{"name": "root", "hostPath": {"path": "/"}}]}
        assert "spec.volumes: hostPath" in dry_run("host", **host)
        caps = {"securityContext": {"capabilities": {"add": ["NET_ADMIN"]}}}
        assert "spec.securityContext.capabilities.add" in dry_run("caps", **caps)
        assert dry_run("plain") == ""
    finally:
        installed.kubectl("delete", "-k", str(REPO / "kubernetes/policy"), "--ignore-not-found", check=False)
        installed.kubectl("delete", "namespace", namespace, "--wait=false", check=False)
