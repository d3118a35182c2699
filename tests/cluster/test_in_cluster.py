"""The path a user walks: the image built from Dockerfile, `make deploy` (kubectl apply -k of
kubernetes/ through the local overlay), the operator and the REST API as pods on the real node
under their own ServiceAccounts, a sample that really runs, and the original curl flow through
`kubectl port-forward`. Runs before the host-run operator of the other tests starts, and removes
its Deployments after, so that two operators never act at once."""

from __future__ import annotations

import json
import socket
import subprocess
import tarfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hack.harness import REPO, Cluster, versions, wait_until
from tests.cluster.helpers import adhoc, stored_output, wait_phase

pytestmark = pytest.mark.in_cluster
ZEN = "Beautiful is better than ugly."
PODS = {"orchestrator": "orchestrator", "orchestrator-api": "orchestrator-api"}  # Deployment: ServiceAccount


@pytest.fixture(scope="module")
def deployed(real_node: Cluster) -> Iterator[Cluster]:
    if not real_node.local:
        pytest.fail("make deploy installs into the local cluster: unset ORCH_TEST_KUBECONFIG")
    subprocess.run(["make", "deploy"], cwd=REPO, check=True)
    yield real_node
    real_node.kubectl("-n", "orchestrator", "delete", "deployment", *PODS, "--ignore-not-found", "--wait=true")
    wait_until(lambda: not real_node.list("pods", "orchestrator"), 120, "the in-cluster pods to go")


def test_applying_the_install_again_leaves_the_deployments_unchanged(deployed: Cluster):
    """A second `kubectl apply -k` of what make deploy applied (a GitOps sync does the same):
    the Deployments are unchanged, not "configured" by a field the manifests write and the API
    server would write the same. (A PodDisruptionBudget's selector is always sent again by
    kubectl, its patch strategy being replace: kubectl diff shows nothing for it.)"""
    applied = deployed.kubectl("apply", "-k", str(REPO / "hack" / "deploy")).stdout.splitlines()
    deployments = [line for line in applied if line.startswith("deployment.apps/")]
    assert len(deployments) == 2 and all(line.endswith(" unchanged") for line in deployments), deployments


def pods_of(cluster: Cluster, deployment: str) -> list[dict[str, Any]]:
    return [
        p
        for p in cluster.list("pods", "orchestrator", f"app.kubernetes.io/name={deployment}")
        if not p["metadata"].get("deletionTimestamp")
    ]


@pytest.mark.parametrize(("deployment", "replicas"), [("orchestrator", 2), ("orchestrator-api", 2)])
def test_operator_and_api_run_as_pods_from_our_image(deployed: Cluster, deployment: str, replicas: int):
    pods = pods_of(deployed, deployment)
    assert len(pods) == replicas
    for pod in pods:
        spec, status = pod["spec"], pod["status"]
        assert spec["nodeName"] == "real-node-0"
        assert spec["serviceAccountName"] == PODS[deployment]
        [container] = spec["containers"]
        assert container["image"] == "orchestrator:0.1.0"
        assert container["readinessProbe"]["httpGet"]
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert spec["securityContext"]["runAsNonRoot"] is True and spec["securityContext"]["runAsUser"] == 10001
        [state] = status["containerStatuses"]
        # Ready and never restarted: the Dockerfile's entrypoint runs as uid 10001 (no passwd entry).
        assert state["ready"] is True and state["restartCount"] == 0, state
    if deployment == "orchestrator":  # of the two replicas one holds the Lease: it is a pod's
        lease = deployed.must_get("lease", "orchestrator", "orchestrator")
        holder = lease["spec"]["holderIdentity"]
        assert any(holder.startswith(p["metadata"]["name"]) for p in pods), holder


def test_a_sample_runs_on_the_real_node_under_the_in_cluster_operator(deployed: Cluster, namespace: str):
    deployed.kubectl("-n", namespace, "apply", "-f", str(REPO / "kubernetes/samples/zen.yaml"))
    status = wait_phase(deployed, namespace, "zen", timeout=120)
    assert status["phase"] == "Succeeded" and status["exitCode"] == 0, status
    assert ZEN in stored_output(deployed, namespace, "zen").decode()
    [pod] = deployed.list("pods", namespace, "orchestrator.dev/adhoccommand=zen")
    assert pod["spec"]["nodeName"] == "real-node-0"  # placed by the operator's defaults alone
    assert deployed.must_get("job", "zen-1", namespace)["spec"]["activeDeadlineSeconds"] == 120  # its own
    # The ConfigMap's defaultTimeoutSeconds (hack/deploy/config.yaml) reaches the operator.
    deployed.apply(adhoc("no-deadline", command="true"), namespace)
    job = wait_until(lambda: deployed.get("job", "no-deadline-1", namespace), 60, "its Job")
    assert job["spec"]["activeDeadlineSeconds"] == 3600
    logs = deployed.kubectl(
        "-n", "orchestrator", "logs", "-l", "app.kubernetes.io/name=orchestrator", "--tail=-1"
    ).stdout
    assert "Traceback" not in logs and "cannot" not in logs, logs[-2000:]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def port_forward(deployed: Cluster) -> Iterator[str]:
    """kubectl port-forward to the API's Service, as a user reaches it from a laptop."""
    port = free_port()
    process = subprocess.Popen(
        [
            deployed.kubectl_path,
            "--kubeconfig",
            str(deployed.kubeconfig),
            "-n",
            "orchestrator",
            "port-forward",
            "svc/orchestrator-svc",
            f"{port}:80",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        assert process.poll() is None, process.stdout.read().decode() if process.stdout else ""
        try:
            with urllib.request.urlopen(url + "/", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    wait_until(up, 30, "kubectl port-forward to orchestrator-svc")
    yield url
    process.terminate()
    process.wait(timeout=10)


def call(url: str, token: str, method: str = "GET", body: dict[str, Any] | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(
        url,
        method=method,
        data=json.dumps(body).encode() if body else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def test_the_original_curl_flow_through_port_forward(deployed: Cluster, namespace: str, port_forward: str):
    # A user of the namespace: a ServiceAccount bound to the built-in edit role.
    deployed.kubectl("-n", namespace, "create", "serviceaccount", "user")
    deployed.kubectl(
        "-n", namespace, "create", "rolebinding", "user", "--clusterrole=edit", f"--serviceaccount={namespace}:user"
    )
    token = deployed.kubectl("-n", namespace, "create", "token", "user").stdout.strip()

    code, body = call(
        f"{port_forward}/jobs?namespace={namespace}",
        token,
        "POST",
        {"cmd": 'python3 -c "import this"', "namespace": namespace},
    )
    assert code == 201, body
    job_id = json.loads(body)["id"]

    def finished() -> dict[str, Any] | None:
        code, body = call(f"{port_forward}/jobs/{job_id}/status?namespace={namespace}", token)
        assert code == 200, body
        status = json.loads(body)
        return status if status.get("phase") in ("Succeeded", "Failed") else None

    status = wait_until(finished, 120, f"job {job_id} to finish")
    assert status["phase"] == "Succeeded", status
    code, output = call(f"{port_forward}/jobs/{job_id}/logs?namespace={namespace}", token)
    assert code == 200 and ZEN in output.decode(), output[:500]
    code, body = call(f"{port_forward}/jobs?namespace={namespace}", token)
    assert code == 200 and job_id in body.decode()


def test_the_image_says_its_license_and_source_and_carries_the_license(deployed: Cluster):
    """The image make deploy built (its archive, as loaded into the node): OCI labels a registry
    shows, the license text inside, its SBOM, and no pip."""
    with tarfile.open(Path(versions("IMAGE_DIR")) / "orchestrator.tar") as archive:
        [manifest] = json.load(archive.extractfile("manifest.json"))  # type: ignore[arg-type]
        labels = json.load(archive.extractfile(manifest["Config"]))["config"]["Labels"]  # type: ignore[arg-type]
        license_text = None
        for layer in manifest["Layers"]:
            with tarfile.open(fileobj=archive.extractfile(layer)) as files:
                names = files.getnames()
                if "usr/share/doc/orchestrator/LICENSE" in names:
                    license_text = files.extractfile("usr/share/doc/orchestrator/LICENSE").read().decode()  # type: ignore[union-attr]
    assert labels["org.opencontainers.image.licenses"] == "Apache-2.0"
    assert labels["org.opencontainers.image.version"] == versions("OPERATOR_IMAGE").rpartition(":")[2]
    assert labels["org.opencontainers.image.source"].startswith("https://")
    assert license_text == (REPO / "LICENSE").read_text()
    # make image's SBOM (CycloneDX) names every pinned package at its pinned version.
    sbom = json.loads((Path(versions("IMAGE_DIR")) / "orchestrator.cdx.json").read_text())
    listed = {(c["name"].lower(), c["version"]) for c in sbom["components"]}
    pins = [line.split("==") for line in (REPO / "requirements.txt").read_text().splitlines() if "==" in line]
    assert sbom["bomFormat"] == "CycloneDX" and {(n.lower(), v.strip()) for n, v in pins} <= listed
    # No installer in the running image: what a scanner reports is what runs.
    modules = "('pip', 'setuptools', 'kopf', 'orchestrator')"
    probe = f"import importlib.util as u; print([m for m in {modules} if u.find_spec(m)])"
    found = deployed.kubectl("-n", "orchestrator", "exec", "deploy/orchestrator", "--", "python3", "-c", probe).stdout
    assert found.strip() == "['kopf', 'orchestrator']"
