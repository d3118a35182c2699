"""spec.from: what a run takes from a workload's pod template, and what its own spec wins."""

from typing import Any

import pytest

from orchestrator.model.config import Config
from orchestrator.model.jobs import InvalidSpec, job_for
from orchestrator.model.workloads import pod_template_of, spec_from_template

from .factories import adhoc

TEMPLATE: dict[str, Any] = {
    "metadata": {"labels": {"app": "web"}},
    "spec": {
        "serviceAccountName": "app",
        "automountServiceAccountToken": True,
        "imagePullSecrets": [{"name": "registry"}],
        "nodeSelector": {"pool": "apps"},
        "tolerations": [{"key": "pool", "operator": "Exists"}],
        "affinity": {"nodeAffinity": {}},
        "securityContext": {"fsGroup": 2000},
        "volumes": [{"name": "config", "configMap": {"name": "app"}}, {"name": "tmp", "emptyDir": {}}],
        "initContainers": [{"name": "init", "image": "init:1"}],
        "containers": [
            {
                "name": "web",
                "image": "app:1.4",
                "command": ["serve"],
                "args": ["--port", "80"],
                "env": [{"name": "MODE", "value": "prod"}, {"name": "LEVEL", "value": "info"}],
                "envFrom": [{"secretRef": {"name": "app-secrets"}}],
                "workingDir": "/app",
                "volumeMounts": [{"name": "config", "mountPath": "/etc/app"}],
                "resources": {"limits": {"memory": "512Mi"}},
                "securityContext": {"runAsUser": 1000},
            },
            {"name": "sidecar", "image": "proxy:2"},
        ],
    },
}


def test_the_run_takes_the_apps_container_and_pod_settings():
    spec = {"command": "./manage.py migrate", "from": {"kind": "Deployment", "name": "web"}}
    job = job_for(adhoc(spec), Config(image="default:1"), TEMPLATE)
    pod = job["spec"]["template"]["spec"]
    [container] = pod["containers"]  # the sidecar and the init container are left out
    assert "initContainers" not in pod
    assert container["image"] == "app:1.4" and container["command"] == ["/bin/sh", "-c", "./manage.py migrate"]
    assert "args" not in container and container["workingDir"] == "/app"
    assert container["env"] == [{"name": "MODE", "value": "prod"}, {"name": "LEVEL", "value": "info"}]
    assert container["envFrom"] == [{"secretRef": {"name": "app-secrets"}}]
    assert container["volumeMounts"] == [{"name": "config", "mountPath": "/etc/app"}]
    assert container["resources"] == {"limits": {"memory": "512Mi"}}
    assert container["securityContext"]["runAsUser"] == 1000  # the app's, over the restricted default
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert pod["serviceAccountName"] == "app" and pod["automountServiceAccountToken"] is True
    assert pod["imagePullSecrets"] == [{"name": "registry"}] and pod["nodeSelector"] == {"pool": "apps"}
    assert pod["affinity"] == {"nodeAffinity": {}} and pod["securityContext"]["fsGroup"] == 2000
    assert [v["name"] for v in pod["volumes"]] == ["config", "tmp"]


def test_what_the_adhoccommand_sets_wins_and_lists_merge_by_name():
    spec = {
        "command": "true",
        "from": {"kind": "Deployment", "name": "web"},
        "image": "app:1.5",
        "env": [{"name": "LEVEL", "value": "debug"}, {"name": "EXTRA", "value": "1"}],
        "volumes": [{"name": "config", "secret": {"secretName": "override"}}],
        "nodeSelector": {"pool": "batch"},
    }
    pod = job_for(adhoc(spec), Config(), TEMPLATE)["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert container["image"] == "app:1.5" and pod["nodeSelector"] == {"pool": "batch"}
    assert container["env"] == [
        {"name": "MODE", "value": "prod"},
        {"name": "LEVEL", "value": "debug"},
        {"name": "EXTRA", "value": "1"},
    ]
    assert pod["volumes"] == [{"name": "tmp", "emptyDir": {}}, {"name": "config", "secret": {"secretName": "override"}}]


def test_a_named_container_and_a_missing_one():
    spec: dict[str, Any] = {"command": "true", "from": {"kind": "Deployment", "name": "web", "container": "sidecar"}}
    [container] = job_for(adhoc(spec), Config(), TEMPLATE)["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "proxy:2"
    with pytest.raises(InvalidSpec, match=r"spec\.from: Deployment/web has no container db"):
        job_for(adhoc({**spec, "from": {**spec["from"], "container": "db"}}), Config(), TEMPLATE)


@pytest.mark.parametrize("kind", ["Deployment", "StatefulSet", "DaemonSet", "Job"])
def test_templates_of_workloads(kind):
    assert pod_template_of(kind, {"spec": {"template": TEMPLATE}}) is TEMPLATE


def test_a_cronjobs_template_is_its_job_templates():
    assert pod_template_of("CronJob", {"spec": {"jobTemplate": {"spec": {"template": TEMPLATE}}}}) is TEMPLATE


def test_the_template_does_not_change_the_run_hash():
    spec = {"command": "true", "from": {"kind": "Deployment", "name": "web"}}
    with_template = job_for(adhoc(spec), Config(), TEMPLATE)
    without = job_for(adhoc(spec), Config())
    assert with_template["metadata"]["annotations"] == without["metadata"]["annotations"]
    assert spec_from_template(spec, TEMPLATE)["from"] == spec["from"]
