"""Invalid AdhocCommands are refused by the API server, with a message that names the field."""

from __future__ import annotations

import pytest
import yaml

from hack.harness import Cluster
from orchestrator.model.spec import LOGS_MAX_BYTES_DEFAULT

CORPUS = [
    ({}, "spec"),
    ({"command": "a", "args": ["b"]}, "exactly one of spec.command and spec.args"),
    ({"image": "busybox"}, "exactly one of spec.command and spec.args"),
    ({"command": ""}, "spec.command"),
    ({"args": []}, "spec.args"),
    ({"args": "echo"}, "spec.args"),
    ({"command": ["echo"]}, "spec.command"),
    ({"command": "a", "timeoutSeconds": 0}, "spec.timeoutSeconds"),
    ({"command": "a", "timeoutSeconds": "10"}, "spec.timeoutSeconds"),
    ({"command": "a", "retries": -1}, "spec.retries"),
    ({"command": "a", "retries": 1000}, "spec.retries"),
    ({"command": "a", "ttlSecondsAfterFinished": -5}, "spec.ttlSecondsAfterFinished"),
    ({"command": "a", "ttlSecondsAfterFinished": 2**31}, "spec.ttlSecondsAfterFinished"),  # the Job's is an int32
    ({"command": "a", "suspend": "yes"}, "spec.suspend"),
    ({"command": "a", "logs": {"maxBytes": 900001}}, "spec.logs.maxBytes"),
    ({"command": "a", "logs": {"maxBytes": 0}}, "spec.logs.maxBytes"),
    ({"command": "a", "env": [{"value": "x"}]}, "spec.env[0].name"),
    ({"command": "a", "env": [{"name": "A", "value": 1}]}, "spec.env[0].value"),
    ({"command": "a", "env": [{"name": "A"}, {"name": "A"}]}, "spec.env[1]"),
    ({"command": "a", "envFrom": [{"configMapRef": {"name": 5}}]}, "spec.envFrom[0].configMapRef.name"),
    ({"command": "a", "resources": {"limits": {"memory": "lots"}}}, "spec.resources.limits.memory"),
    ({"command": "a", "resources": {"requests": []}}, "spec.resources.requests"),
    # Quantities the API server would spend over 30 s parsing (found by the fuzz)
    ({"command": "a", "resources": {"limits": {"memory": "1e100000000"}}}, "spec.resources.limits.memory"),
    ({"command": "a", "resources": {"limits": {"cpu": "1" + "0" * 70}}}, "spec.resources.limits.cpu"),
    ({"command": "a", "securityContext": {"runAsUser": "root"}}, "spec.securityContext.runAsUser"),
    (
        {"command": "a", "securityContext": {"capabilities": {"add": "NET_ADMIN"}}},
        "spec.securityContext.capabilities.add",
    ),
    ({"command": "a", "nodeSelector": {"disk": 1}}, "spec.nodeSelector.disk"),
    ({"command": "a", "volumes": [{"secret": {"secretName": "db"}}]}, "spec.volumes[0].name"),
    (
        {"command": "a", "volumes": [{"name": "v", "secret": {"defaultMode": "0400"}}]},
        "spec.volumes[0].secret.defaultMode",
    ),
    ({"command": "a", "volumeMounts": [{"name": "v"}]}, "spec.volumeMounts[0].mountPath"),
    ({"command": "a", "tolerations": [{"tolerationSeconds": "x"}]}, "spec.tolerations[0].tolerationSeconds"),
    ({"command": "a", "podMetadata": {"labels": {"a": 1}}}, "spec.podMetadata.labels.a"),
    ({"command": "a", "workingDir": 7}, "spec.workingDir"),
    ({"command": "a", "serviceAccountName": ["x"]}, "spec.serviceAccountName"),
    # spec.from reaches no further than an object of the AdhocCommand's own namespace.
    (
        {"command": "env", "from": {"kind": "Deployment", "name": "../../kube-system/deployments/coredns"}},
        "spec.from.name",
    ),
    ({"command": "env", "from": {"kind": "Deployment", "name": "web/x"}}, "spec.from.name"),
    ({"command": "env", "from": {"kind": "Deployment", "name": "web", "container": "../x"}}, "spec.from.container"),
    ({"command": "a", "env": [{"name": f"V{i}", "value": "x"} for i in range(257)]}, "spec.env"),
]


@pytest.mark.parametrize("spec, field", CORPUS, ids=[f"{i:02d}-{f}" for i, (_, f) in enumerate(CORPUS)])
def test_invalid_adhoccommand_is_refused_naming_the_field(installed: Cluster, namespace: str, spec, field):
    body = {"apiVersion": "orchestrator.dev/v1alpha1", "kind": "AdhocCommand", "metadata": {"name": "bad"}}
    if spec:
        body["spec"] = spec
    result = installed.kubectl("-n", namespace, "apply", "-f", "-", input=yaml.safe_dump(body), check=False)
    assert result.returncode != 0, "the API server accepted it"
    assert field in result.stderr, result.stderr
    assert installed.get("adhoc", "bad", namespace) is None


def test_a_valid_adhoccommand_gets_its_defaults(installed: Cluster, namespace: str):
    body = {
        "apiVersion": "orchestrator.dev/v1alpha1",
        "kind": "AdhocCommand",
        "metadata": {"name": "ok"},
        "spec": {"args": ["true"]},
    }
    out = installed.kubectl(
        "-n", namespace, "apply", "--dry-run=server", "-o", "json", "-f", "-", input=yaml.safe_dump(body)
    ).stdout
    spec = yaml.safe_load(out)["spec"]
    assert (
        spec["retries"] == 0
        and spec["suspend"] is False
        and spec["logs"] == {"maxBytes": LOGS_MAX_BYTES_DEFAULT, "storage": "ConfigMap"}
    )
