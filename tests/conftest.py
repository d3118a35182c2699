"""Fixtures shared by the cluster tests: the cluster, the operator (as its ServiceAccount), namespaces.
What they are built from is the dev harness, hack/harness.py."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hack.harness import (
    LOCAL_KUBECONFIG,
    REPO,
    Cluster,
    ExecCredential,
    Operator,
    RestApi,
    WebhookReceiver,
    bin_dir,
    cri_log,
    runner_image,
    wait_until,
)
from tests.cluster.helpers import OPERATOR_DEFAULT_TIMEOUT


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Marks the tests that need a cluster or the simulated node; moves the lifecycle tests last."""
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        # Everything under tests/cluster needs the cluster or its built tools (helm, kube-score):
        # make unit runs the rest with Python alone.
        if fixtures & {"cluster", "installed", "operator", "simulated", "namespace"} or "cluster" in item.path.parts:
            item.add_marker(pytest.mark.cluster)
        if "simulated" in fixtures:
            item.add_marker(pytest.mark.simulated)
        if "real_node" in fixtures:
            item.add_marker(pytest.mark.cluster)
            item.add_marker(pytest.mark.real_node)
    # The in-cluster install runs first, before the host-run operator of the other tests starts
    # (two operators must never act at once); the lifecycle tests last (they stop the cluster).
    items.sort(
        key=lambda item: (
            item.get_closest_marker("lifecycle") is not None,
            item.get_closest_marker("in_cluster") is None,
        )
    )


def _existing_cluster() -> Path | None:
    """A cluster the user pointed the suite at (ORCH_TEST_KUBECONFIG), e.g. kind or minikube."""
    path = os.environ.get("ORCH_TEST_KUBECONFIG")
    return Path(path) if path else None


@pytest.fixture(scope="session")
def cluster() -> Cluster:
    existing = _existing_cluster()
    if existing is not None:
        return Cluster(existing, os.environ.get("KUBECTL", "kubectl"), local=False)
    subprocess.run([str(REPO / "hack/cluster.sh"), "up"], check=True)
    return Cluster(LOCAL_KUBECONFIG, str(bin_dir() / "kubectl"), local=True)


@pytest.fixture(scope="session")
def simulated(cluster: Cluster) -> Cluster:
    """The cluster, with the local kwok node to simulate pods on."""
    if not cluster.local:
        pytest.fail("this test needs the local cluster's simulated node: unset ORCH_TEST_KUBECONFIG")
    return cluster


@pytest.fixture(scope="session")
def real_node(cluster: Cluster) -> Cluster:
    """The cluster, with a real kubelet node (the local cluster's real-node-0)."""
    node = cluster.get("node", "real-node-0")
    if node is None:
        pytest.fail("this test needs the local cluster's real node (hack/cluster.sh up without ORCH_REAL_NODE=0)")
    return cluster


@pytest.fixture
def namespace(cluster: Cluster, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh namespace that enforces the restricted Pod Security Standard."""
    base = request.node.name.lower().replace("_", "-")
    name = f"t-{''.join(c for c in base if c.isalnum() or c == '-')[:40].strip('-')}-{uuid.uuid4().hex[:5]}"
    cluster.apply(
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": name, "labels": {"pod-security.kubernetes.io/enforce": "restricted"}},
        }
    )
    wait_until(lambda: cluster.get("serviceaccount", "default", name), 60, "the default ServiceAccount")
    yield name
    cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)
    if cluster.local:
        cluster.kubectl("delete", "clusterlogs", name, "--ignore-not-found", check=False)


@pytest.fixture
def sim_output(simulated: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Callable[[str, bytes], None]:
    """Sets what every simulated pod in a namespace prints (kwok serves it as the pod's log)."""
    directory = tmp_path_factory.mktemp("sim-logs")

    def set_output(namespace: str, data: bytes) -> None:
        path = directory / f"{namespace}.log"
        path.write_bytes(cri_log(data))
        simulated.apply(
            {
                "apiVersion": "kwok.x-k8s.io/v1alpha1",
                "kind": "ClusterLogs",
                "metadata": {"name": namespace},
                "spec": {"selector": {"matchNamespaces": [namespace]}, "logs": [{"logsFile": str(path)}]},
            }
        )

    return set_output


@pytest.fixture(scope="session")
def installed(cluster: Cluster) -> Cluster:
    """The CRD, namespace and RBAC from the repository, applied as a user would."""
    cluster.install_operator_prerequisites()
    return cluster


@pytest.fixture(scope="session")
def operator_credential(installed: Cluster, tmp_path_factory: pytest.TempPathFactory) -> ExecCredential:
    """How the tests' operator logs in: an exec credential plugin, as a cloud kubeconfig does."""
    return ExecCredential(installed, tmp_path_factory.mktemp("credential"))


@pytest.fixture(scope="session")
def notifications() -> Iterator[WebhookReceiver]:
    """Where the tests' operator sends its notifications (ORCHESTRATOR_NOTIFY_URL)."""
    receiver = WebhookReceiver()
    yield receiver
    receiver.stop()


@pytest.fixture(scope="session")
def operator(
    installed: Cluster, operator_credential: ExecCredential, notifications: WebhookReceiver
) -> Iterator[Operator]:
    logs = REPO / ".cluster" / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    (logs / "operator-test.log").unlink(missing_ok=True)
    # In the local cluster the default image is the real node's runner image (python3 inside).
    image = os.environ.get("ORCH_TEST_IMAGE") or (runner_image() if installed.local else "python:3.13-slim")
    env = {
        "ORCHESTRATOR_DEFAULT_IMAGE": image,
        "ORCHESTRATOR_NOTIFY_URL": notifications.url,
        "ORCHESTRATOR_DEFAULT_TIMEOUT_SECONDS": str(OPERATOR_DEFAULT_TIMEOUT),  # longer than any test's run
    }
    op = Operator(installed, operator_credential.kubeconfig, logs / "operator-test.log", env)
    op.start()
    yield op
    op.stop()
    # kopf logs a refused watch or call and carries on: a missing RBAC permission shows here.
    forbidden = [
        line
        for line in op.log_path.read_text(errors="replace").splitlines()
        if 'User "system:serviceaccount:orchestrator:orchestrator" cannot' in line
    ]
    assert not forbidden, "the operator was refused by RBAC:\n" + "\n".join(forbidden[:5])


@pytest.fixture(scope="session")
def rest_api(installed: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RestApi]:
    """The REST API on http://127.0.0.1:18081, as `make api` runs it; its request metrics on
    18181 (as the chart's pods serve them on 9090; 18091-18093 are the operator replicas' own)."""
    api = RestApi(installed, tmp_path_factory.mktemp("api"), 18081, {"ORCHESTRATOR_API_METRICS_PORT": "18181"})
    api.start()
    yield api
    api.stop()
