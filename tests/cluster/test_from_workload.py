"""spec.from on the real node: a migration with exactly the app's image, config and secrets, and
a run that waits for its workload to appear (as a GitOps sync may create it after)."""

from __future__ import annotations

from typing import Any

import pytest

from hack.harness import Cluster, runner_image, wait_until
from tests.cluster.helpers import ON_REAL_NODE, adhoc, status_of, stored_output, wait_phase

pytestmark = pytest.mark.usefixtures("operator")


def app(name: str) -> dict[str, Any]:
    """A Deployment of 0 replicas (nothing of it runs): its pod template is what a run takes. It
    asks for the real node itself, so the run lands there without asking."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": 0,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    **ON_REAL_NODE,
                    "volumes": [{"name": "db", "secret": {"secretName": "db"}}],
                    "containers": [
                        {
                            "name": "web",
                            "image": runner_image(),
                            "command": ["sleep", "infinity"],
                            "env": [{"name": "APP_MODE", "value": "production"}, {"name": "LEVEL", "value": "info"}],
                            "envFrom": [{"configMapRef": {"name": "app-config"}}],
                            "volumeMounts": [{"name": "db", "mountPath": "/etc/db", "readOnly": True}],
                        }
                    ],
                },
            },
        },
    }


def test_a_migration_runs_with_the_apps_image_config_and_secrets(real_node: Cluster, namespace: str):
    real_node.kubectl("-n", namespace, "create", "secret", "generic", "db", "--from-literal=password=s3cret")
    real_node.kubectl("-n", namespace, "create", "configmap", "app-config", "--from-literal=DATABASE=orders")
    real_node.apply(app("web"), namespace)
    command = 'echo "$APP_MODE $LEVEL $DATABASE $(cat /etc/db/password)"'
    real_node.apply(
        adhoc(
            "migrate",
            command=command,
            env=[{"name": "LEVEL", "value": "debug"}],
            **{"from": {"kind": "Deployment", "name": "web"}},
        ),
        namespace,
    )
    status = wait_phase(real_node, namespace, "migrate", timeout=120)
    assert status["phase"] == "Succeeded", status
    # The app's env and envFrom, its secret volume; the AdhocCommand's LEVEL wins over the app's.
    assert stored_output(real_node, namespace, "migrate") == b"production debug orders s3cret\n"
    assert status["image"] == runner_image()
    [pod] = real_node.list("pods", namespace, "orchestrator.dev/adhoccommand=migrate")
    assert pod["spec"]["nodeName"] == "real-node-0"  # the app's placement, taken with its template


def test_a_missing_workload_waits_and_the_run_starts_once_it_exists(real_node: Cluster, namespace: str):
    real_node.kubectl("-n", namespace, "create", "secret", "generic", "db", "--from-literal=password=later")
    real_node.kubectl("-n", namespace, "create", "configmap", "app-config", "--from-literal=DATABASE=x")
    real_node.apply(
        adhoc("early", command="echo $APP_MODE", **{"from": {"kind": "Deployment", "name": "late"}}), namespace
    )

    def waiting() -> dict | None:
        status = status_of(real_node, namespace, "early")
        return status if status.get("reason") == "TemplateNotFound" else None

    status = wait_until(waiting, 60, "the run to wait for its workload")
    assert status["phase"] == "Pending" and "Deployment/late not found" in status["message"]
    assert real_node.list("jobs", namespace) == []
    real_node.apply(app("late"), namespace)
    assert wait_phase(real_node, namespace, "early", timeout=120)["phase"] == "Succeeded"
    assert stored_output(real_node, namespace, "early") == b"production\n"
