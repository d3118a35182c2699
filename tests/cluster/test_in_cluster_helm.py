"""The Helm install, as its README section says: the image from make image, `helm install` of
charts/orchestrator with the local cluster's settings (hack/local_settings.py --helm-values),
here with namespaced RBAC: the operator's pods on the real node run a sample to completion in
the one namespace they serve and no other; `helm upgrade` to a changed CRD changes it in the
cluster; `helm uninstall` keeps the CRD and the runs. Runs before the host-run operator starts."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from hack.harness import REPO, Cluster, bin_dir, helm_path, wait_until
from tests.cluster.helpers import status_of, stored_output, wait_phase

pytestmark = pytest.mark.in_cluster
RELEASE = "orch-helm"
FULLNAME = "orch-helm-orchestrator"
CRD = "adhoccommands.orchestrator.dev"
ZEN = "Beautiful is better than ugly."


def helm(cluster: Cluster, *args: str, input: str | None = None) -> str:
    result = subprocess.run(
        [str(helm_path()), "--kubeconfig", str(cluster.kubeconfig), *args],
        input=input,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def local_values() -> str:
    return subprocess.run(
        ["python3", str(REPO / "hack/local_settings.py"), "--helm-values"], capture_output=True, text=True, check=True
    ).stdout


@pytest.fixture(scope="module")
def released(real_node: Cluster) -> Iterator[tuple[Cluster, str]]:
    """The chart installed in namespace orch-helm, serving one fresh namespace only."""
    subprocess.run(["make", "image"], cwd=REPO, check=True)
    served = f"t-helm-{uuid.uuid4().hex[:5]}"
    real_node.kubectl("create", "namespace", served)
    # --take-ownership: the CRD may be there already, applied by kubectl (make install).
    notes = helm(
        real_node,
        "install", RELEASE, str(REPO / "charts/orchestrator"), "-n", RELEASE, "--create-namespace",
        "--take-ownership", "-f", "-", "--set", "rbac.scope=namespaces",
        "--set", f"rbac.watchNamespaces={{{served}}}", "--wait", "--timeout", "180s",
        input=local_values(),
    )  # fmt: skip
    assert f"runs the AdhocCommands of: {served}" in notes
    yield real_node, served
    subprocess.run([str(helm_path()), "--kubeconfig", str(real_node.kubeconfig), "uninstall", RELEASE, "-n", RELEASE])
    real_node.kubectl("delete", "namespace", RELEASE, served, "--ignore-not-found", "--wait=false")
    real_node.kubectl("apply", "-k", str(REPO / "crds"))  # the repository's CRD, whatever a test left


def test_helm_install_runs_a_sample_on_the_real_node(released: tuple[Cluster, str]):
    cluster, served = released
    pods = cluster.list("pods", RELEASE, "app.kubernetes.io/instance=orch-helm")
    assert len(pods) == 4  # two operator and two API replicas, Ready (helm install --wait)
    assert {p["spec"]["nodeName"] for p in pods} == {"real-node-0"}
    cluster.kubectl("-n", served, "apply", "-f", str(REPO / "kubernetes/samples/zen.yaml"))
    status = wait_phase(cluster, served, "zen", timeout=120)
    assert status["phase"] == "Succeeded" and status["exitCode"] == 0, status
    assert ZEN in stored_output(cluster, served, "zen").decode()
    lease = cluster.get("lease", FULLNAME, RELEASE)
    assert lease and any(lease["spec"]["holderIdentity"].startswith(p["metadata"]["name"]) for p in pods)


def test_helm_test_runs_a_command_and_reads_its_output(released: tuple[Cluster, str]):
    """`helm test`: a pod of the operator's image runs `kubectl adhoc run --rm` as a ServiceAccount
    with only run's rights, in the namespace served, and checks the output came back."""
    cluster, served = released
    out = helm(cluster, "test", RELEASE, "-n", RELEASE, "--logs", "--timeout", "300s")
    assert "Phase:          Succeeded" in out and "orchestrator 0.1.0 runs commands" in out, out
    assert cluster.get("adhoc", f"{FULLNAME}-test-1", served) is None  # --rm: no run left behind
    assert cluster.get("pod", f"{FULLNAME}-test", RELEASE) is None  # hook-succeeded: deleted


def test_the_notes_run_as_written(released: tuple[Cluster, str], tmp_path: Path):
    """What `helm install` prints is what a Helm user pastes first: its commands (the indented
    lines) run here as they are, in bash, and do what they say."""
    cluster, served = released
    notes = helm(cluster, "get", "notes", RELEASE, "-n", RELEASE)
    commands = [line[2:] for line in notes.splitlines() if line.startswith("  ")]
    script = "\n".join(["set -e", *commands, 'kill "$!"']) + "\n"  # $!: the port-forward
    env = {**os.environ, "KUBECONFIG": str(cluster.kubeconfig), "PATH": f"{bin_dir()}{os.pathsep}{os.environ['PATH']}"}
    ran = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=420, env=env, cwd=tmp_path)
    assert ran.returncode == 0, (script, ran.stdout, ran.stderr)
    assert ZEN in ran.stdout  # the first run's output, read from its ConfigMap
    created = json.loads(ran.stdout[ran.stdout.index('{"id"') :])  # the REST API's answer, last
    assert created["spec"]["command"] == 'python3 -c "import this"' and created["metadata"]["namespace"] == served


def test_namespaced_rbac_serves_its_namespaces_only(released: tuple[Cluster, str]):
    cluster, served = released
    account = f"--as=system:serviceaccount:{RELEASE}:{FULLNAME}"
    can = cluster.kubectl("auth", "can-i", "create", "jobs", "-n", served, account, check=False).stdout.strip()
    cannot = cluster.kubectl("auth", "can-i", "list", "jobs", "--all-namespaces", account, check=False).stdout.strip()
    assert (can, cannot) == ("yes", "no")
    other = f"t-helm-other-{uuid.uuid4().hex[:5]}"
    cluster.kubectl("create", "namespace", other)
    try:
        cluster.kubectl("-n", other, "apply", "-f", str(REPO / "kubernetes/samples/zen.yaml"))
        cluster.kubectl("-n", served, "apply", "-f", str(REPO / "kubernetes/samples/exec-form.yaml"))
        name = yaml.safe_load((REPO / "kubernetes/samples/exec-form.yaml").read_text())["metadata"]["name"]
        wait_phase(cluster, served, name, timeout=120)  # applied after the other: the operator is at work
        assert status_of(cluster, other, "zen") == {}
        assert cluster.list("jobs", other) == []
    finally:
        cluster.kubectl("delete", "namespace", other, "--wait=false")


def test_helm_upgrade_changes_the_crd_and_uninstall_keeps_it(released: tuple[Cluster, str], tmp_path: Path):
    cluster, served = released
    chart = tmp_path / "orchestrator"
    shutil.copytree(REPO / "charts/orchestrator", chart)
    crd_file = chart / "files" / f"{CRD}.yaml"
    crd = yaml.safe_load(crd_file.read_text())
    column = {"name": "Node", "type": "string", "jsonPath": ".status.nodeName", "priority": 1}
    crd["spec"]["versions"][0]["additionalPrinterColumns"].append(column)
    crd_file.write_text(yaml.safe_dump(crd))

    # The CRD was applied by kubectl before (make install, make deploy): Helm 4 applies server-side
    # and kubectl's client-side apply co-owns .spec.versions, so the first upgrade that changes it
    # takes it over with --force-conflicts (README: taking over a kubectl install).
    helm(
        cluster, "upgrade", RELEASE, str(chart), "-n", RELEASE, "--reuse-values", "--force-conflicts",
        "--wait", "--timeout", "120s",
    )  # fmt: skip
    columns = cluster.get("crd", CRD)["spec"]["versions"][0]["additionalPrinterColumns"]  # type: ignore[index]
    assert column in columns
    helm(cluster, "rollback", RELEASE, "1", "-n", RELEASE, "--wait", "--timeout", "120s")
    columns = cluster.get("crd", CRD)["spec"]["versions"][0]["additionalPrinterColumns"]  # type: ignore[index]
    assert column not in columns

    cluster.kubectl("-n", served, "apply", "-f", str(REPO / "kubernetes/samples/zen.yaml"))
    wait_phase(cluster, served, "zen", timeout=120)
    helm(cluster, "uninstall", RELEASE, "-n", RELEASE, "--wait")
    wait_until(lambda: not cluster.list("pods", RELEASE), 120, "the release's pods to go")
    kept = cluster.get("crd", CRD)
    assert kept is not None and kept["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    assert ZEN in stored_output(cluster, served, "zen").decode()  # the runs and their output stay


UID = 1000680000  # what OpenShift gives a namespace's pods: the start of its uid range


def uid_assigner(label: str) -> list[dict[str, Any]]:
    """A stand-in for OpenShift's restricted-v2 SCC: a MutatingAdmissionPolicy giving every pod
    that names no uid, in namespaces labelled `label`, one from a range."""
    name = "test-assign-uid"
    expression = f"Object{{spec: Object.spec{{securityContext: Object.spec.securityContext{{runAsUser: {UID}}}}}}}"
    return [
        {
            "apiVersion": "admissionregistration.k8s.io/v1beta1",
            "kind": "MutatingAdmissionPolicy",
            "metadata": {"name": name},
            "spec": {
                "matchConstraints": {
                    "resourceRules": [
                        {"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["pods"]}
                    ]
                },
                "matchConditions": [
                    {
                        "name": "no-uid",
                        "expression": "!has(object.spec.securityContext)"
                        " || !has(object.spec.securityContext.runAsUser)",
                    }
                ],
                "failurePolicy": "Fail",
                "reinvocationPolicy": "Never",
                "mutations": [{"patchType": "ApplyConfiguration", "applyConfiguration": {"expression": expression}}],
            },
        },
        {
            "apiVersion": "admissionregistration.k8s.io/v1beta1",
            "kind": "MutatingAdmissionPolicyBinding",
            "metadata": {"name": name},
            "spec": {"policyName": name, "matchResources": {"namespaceSelector": {"matchLabels": {label: "true"}}}},
        },
    ]


def test_a_platform_that_assigns_uids_runs_the_operator_and_its_commands(released: tuple[Cluster, str]):
    """OpenShift: with podSecurity.runAsUser and operator.commandRunAsUser null, no pod pins a
    uid, and the operator and a command run with the one the namespace's admission gives."""
    cluster, _ = released
    release, runs, label = "orch-shift", f"t-shift-{uuid.uuid4().hex[:5]}", "orchestrator.test/assign-uid"
    for namespace in (release, runs):
        cluster.apply(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace, "labels": {label: "true"}}}
        )
    try:
        for obj in uid_assigner(label):
            cluster.apply(obj)

        def assigned() -> bool:  # a new policy takes the API server a moment to use
            probe = ("run", "probe", "--image=x", "--restart=Never", "--dry-run=server", "-o", "json")
            pod = json.loads(cluster.kubectl("-n", runs, *probe).stdout)
            return (pod["spec"].get("securityContext") or {}).get("runAsUser") == UID

        wait_until(assigned, 30, "the uid-assigning policy to take effect")
        # Beside the release above: its own namespaces, no CRD or cluster-wide policy of its own.
        helm(
            cluster,
            "install", release, str(REPO / "charts/orchestrator"), "-n", release, "-f", "-",
            "--set", "podSecurity.runAsUser=null", "--set", "operator.commandRunAsUser=null",
            "--set", "rbac.scope=namespaces", "--set", f"rbac.watchNamespaces={{{runs}}}",
            "--set", "rbac.aggregateToUserRoles=false", "--set", "crds.install=false",
            "--set", "operator.replicas=1", "--set", "api.enabled=false",
            "--set", "policy.fromRequester=false", "--set", "policy.requestedBy=false",
            "--set", "policy.stampRequestedBy=false", "--set", "policy.approval=false",
            "--wait", "--timeout", "180s",
            input=local_values(),
        )  # fmt: skip
        [pod] = cluster.list("pods", release, "app.kubernetes.io/name=orchestrator")
        assert pod["spec"]["securityContext"]["runAsUser"] == UID  # given, not asked for
        cluster.apply(
            {
                "apiVersion": "orchestrator.dev/v1alpha1",
                "kind": "AdhocCommand",
                "metadata": {"name": "uid"},
                "spec": {"command": "id -u"},
            },
            runs,
        )
        status = wait_phase(cluster, runs, "uid", timeout=120)
        assert status["phase"] == "Succeeded", status
        assert stored_output(cluster, runs, "uid") == f"{UID}\n".encode()
    finally:
        subprocess.run([str(helm_path()), "--kubeconfig", str(cluster.kubeconfig), "uninstall", release, "-n", release])
        cluster.kubectl("delete", "namespace", release, runs, "--ignore-not-found", "--wait=false")
        for obj in uid_assigner(label):
            cluster.kubectl("delete", obj["kind"], obj["metadata"]["name"], "--ignore-not-found")
