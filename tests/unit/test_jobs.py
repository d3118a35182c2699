import re

import pytest

from orchestrator.model.config import Config
from orchestrator.model.jobs import InvalidSpec, job_for, run_hash

from .factories import adhoc

CONFIG = Config(image="default:1", run_as_user=4242)


def container(job):
    return job["spec"]["template"]["spec"]["containers"][0]


def test_command_runs_under_a_shell():
    job = job_for(adhoc({"command": "echo hi\necho there"}), CONFIG)
    assert container(job)["command"] == ["/bin/sh", "-c", "echo hi\necho there"]
    assert container(job)["image"] == "default:1"


def test_args_run_without_a_shell():
    job = job_for(adhoc({"args": ["python3", "-c", "print(1)"], "image": "py:3"}), CONFIG)
    assert container(job)["command"] == ["python3", "-c", "print(1)"]
    assert container(job)["image"] == "py:3"


def test_spec_fields_map_onto_the_job():
    spec = {
        "command": "true",
        "retries": 3,
        "timeoutSeconds": 60,
        "suspend": True,
        "ttlSecondsAfterFinished": 30,
        "env": [{"name": "A", "value": "1"}],
        "envFrom": [{"configMapRef": {"name": "cm"}}],
        "workingDir": "/tmp",
        "resources": {"limits": {"memory": "64Mi"}},
        "serviceAccountName": "runner",
        "nodeSelector": {"type": "kwok"},
        "tolerations": [{"key": "k", "operator": "Exists"}],
        "podMetadata": {"labels": {"team": "a"}, "annotations": {"note": "x"}},
    }
    job = job_for(adhoc(spec, generation=4), CONFIG)
    js, pod = job["spec"], job["spec"]["template"]["spec"]
    assert (js["backoffLimit"], js["activeDeadlineSeconds"], js["suspend"], js["ttlSecondsAfterFinished"]) == (
        3,
        60,
        True,
        30,
    )
    c = container(job)
    assert c["env"] == spec["env"] and c["envFrom"] == spec["envFrom"]
    assert c["workingDir"] == "/tmp" and c["resources"] == spec["resources"]
    assert pod["serviceAccountName"] == "runner" and "automountServiceAccountToken" not in pod
    assert pod["nodeSelector"] == {"type": "kwok"} and pod["tolerations"] == spec["tolerations"]
    assert pod["restartPolicy"] == "Never"
    meta = job["spec"]["template"]["metadata"]
    assert meta["labels"]["team"] == "a" and meta["annotations"] == {"note": "x"}
    assert meta["labels"]["orchestrator.dev/generation"] == "4"
    assert job["metadata"]["name"] == "cmd-4"


def test_job_is_owned_by_the_adhoccommand():
    job = job_for(adhoc(), CONFIG)
    [owner] = job["metadata"]["ownerReferences"]
    assert owner == {
        "apiVersion": "orchestrator.dev/v1alpha1",
        "kind": "AdhocCommand",
        "name": "cmd",
        "uid": "uid-cmd",
        "controller": True,
        "blockOwnerDeletion": True,
    }


def test_default_pod_meets_the_restricted_standard():
    job = job_for(adhoc(), CONFIG)
    pod = job["spec"]["template"]["spec"]
    sc = container(job)["securityContext"]
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert sc["runAsNonRoot"] is True and sc["runAsUser"] == 4242
    assert sc["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["automountServiceAccountToken"] is False


def test_user_security_context_loosens_the_default():
    job = job_for(adhoc({"command": "id", "securityContext": {"runAsUser": 0, "runAsNonRoot": False}}), CONFIG)
    sc = container(job)["securityContext"]
    assert sc["runAsUser"] == 0 and sc["runAsNonRoot"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]}  # what was not loosened stays


def test_our_labels_win_over_user_pod_labels():
    spec = {"command": "x", "podMetadata": {"labels": {"orchestrator.dev/adhoccommand-uid": "forged"}}}
    job = job_for(adhoc(spec), CONFIG)
    assert job["spec"]["template"]["metadata"]["labels"]["orchestrator.dev/adhoccommand-uid"] == "uid-cmd"


@pytest.mark.parametrize(
    "spec, field",
    [
        ({}, "exactly one"),
        ({"command": "a", "args": ["b"]}, "exactly one"),
        ({"command": ""}, "spec.command"),
        ({"args": []}, "spec.args"),
        ({"args": ["a", 1]}, "spec.args"),
        ({"command": "a", "retries": -1}, "spec.retries"),
        ({"command": "a", "timeoutSeconds": 0}, "spec.timeoutSeconds"),
        ({"command": "a", "nodeSelector": {"a": 1}}, "spec.nodeSelector"),
        ({"command": "a", "podMetadata": "x"}, "spec.podMetadata"),
        ({"command": "a", "securityContext": []}, "spec.securityContext"),
    ],
)
def test_malformed_specs_are_refused_with_the_field_named(spec, field):
    with pytest.raises(InvalidSpec, match=field):
        job_for(adhoc(spec), CONFIG)


def test_spec_that_is_not_an_object_is_refused():
    body = adhoc()
    body["spec"] = "nonsense"
    with pytest.raises(InvalidSpec, match="spec must be an object"):
        job_for(body, CONFIG)


def test_run_hash_ignores_suspend_ttl_and_logs_only():
    base = {"command": "a"}
    assert run_hash(base) == run_hash({**base, "suspend": True, "ttlSecondsAfterFinished": 5, "logs": {"maxBytes": 9}})
    assert run_hash(base) != run_hash({"command": "b"})
    assert run_hash(base) != run_hash({**base, "retries": 1})


DEFAULTS = Config(
    image="default:1",
    pod_defaults={
        "nodeSelector": {"pool": "batch"},
        "tolerations": [{"key": "pool", "value": "batch", "effect": "NoSchedule"}],
        "priorityClassName": "low",
        "imagePullSecrets": [{"name": "registry"}],
        "resources": {"requests": {"cpu": "100m"}},
    },
)


@pytest.mark.parametrize(
    ("spec", "field", "expected"),
    [
        # Commands that say nothing get the operator's defaults.
        ({}, "nodeSelector", {"pool": "batch"}),
        ({}, "tolerations", [{"key": "pool", "value": "batch", "effect": "NoSchedule"}]),
        ({}, "priorityClassName", "low"),
        ({}, "imagePullSecrets", [{"name": "registry"}]),
        ({}, "resources", {"requests": {"cpu": "100m"}}),
        # What a command sets wins, whole (no merging with the default).
        ({"nodeSelector": {"zone": "a"}}, "nodeSelector", {"zone": "a"}),
        ({"nodeSelector": {}}, "nodeSelector", None),  # an explicit empty selector leaves the pool
        ({"tolerations": []}, "tolerations", []),
        ({"resources": {"limits": {"memory": "1Gi"}}}, "resources", {"limits": {"memory": "1Gi"}}),
    ],
)
def test_operator_pod_defaults_fill_what_the_command_leaves_out(spec, field, expected):
    job = job_for(adhoc({"command": "true", **spec}), DEFAULTS)
    pod = job["spec"]["template"]["spec"]
    where = container(job) if field == "resources" else pod
    assert where.get(field) == expected


def test_defaults_are_copied_not_shared():
    first = job_for(adhoc({"command": "true"}), DEFAULTS)
    first["spec"]["template"]["spec"]["tolerations"].append({"key": "x"})
    second = job_for(adhoc({"command": "true"}), DEFAULTS)
    assert len(second["spec"]["template"]["spec"]["tolerations"]) == 1


def test_no_defaults_no_placement():
    pod = job_for(adhoc({"command": "true"}), CONFIG)["spec"]["template"]["spec"]
    assert not {"nodeSelector", "tolerations", "priorityClassName", "imagePullSecrets"} & set(pod)


def test_volumes_and_mounts_reach_the_pod_and_its_container():
    volumes = [{"name": "creds", "secret": {"secretName": "db"}}, {"name": "scratch", "emptyDir": {}}]
    mounts = [{"name": "creds", "mountPath": "/etc/creds", "readOnly": True}]
    job = job_for(adhoc({"command": "cat /etc/creds/password", "volumes": volumes, "volumeMounts": mounts}), CONFIG)
    assert job["spec"]["template"]["spec"]["volumes"] == volumes
    assert container(job)["volumeMounts"] == mounts
    assert "volumes" not in job_for(adhoc({"command": "true"}), CONFIG)["spec"]["template"]["spec"]


@pytest.mark.parametrize(
    ("spec", "where"),
    [
        ({"resources": {"limits": {"memory": "1e100000000"}}}, "spec.resources.limits.memory"),
        ({"resources": {"requests": {"cpu": "1" + "0" * 200_000}}}, "spec.resources.requests.cpu"),
        ({"volumes": [{"name": "t", "emptyDir": {"sizeLimit": "5e9999"}}]}, "spec.volumes[0].emptyDir.sizeLimit"),
        (
            {
                "env": [
                    {"name": "N", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu", "divisor": "1e-1234"}}}
                ]
            },
            "spec.env[0].valueFrom.resourceFieldRef.divisor",
        ),
    ],
)
def test_a_quantity_the_api_server_would_choke_on_is_refused_naming_it(spec, where):
    with pytest.raises(InvalidSpec, match=rf"^{re.escape(where)}: .* is not a quantity"):
        job_for(adhoc({"command": "true", **spec}), Config())


@pytest.mark.parametrize("quantity", ["500m", "1Gi", "2", 2, "1e3", "1.5", ".5", "128974848", "1E-3", "+1Ki"])
def test_ordinary_quantities_pass(quantity):
    job = job_for(adhoc({"command": "true", "resources": {"limits": {"memory": quantity}}}), Config())
    assert job["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"] == quantity


def test_env_values_that_look_like_quantities_are_not_quantities():
    job = job_for(adhoc({"command": "true", "env": [{"name": "BIG", "value": "1e100000000"}]}), Config())
    assert job["spec"]["template"]["spec"]["containers"][0]["env"] == [{"name": "BIG", "value": "1e100000000"}]


def test_a_runs_deadline_is_its_own_else_the_operators_default():
    assert "activeDeadlineSeconds" not in job_for(adhoc(), Config())["spec"]
    assert job_for(adhoc(), Config(default_timeout_seconds=3600))["spec"]["activeDeadlineSeconds"] == 3600
    own = adhoc({"command": "x", "timeoutSeconds": 60})
    assert job_for(own, Config(default_timeout_seconds=3600))["spec"]["activeDeadlineSeconds"] == 60


def test_disruptions_do_not_count_against_retries_unless_the_spec_has_a_policy_of_its_own():
    [rule] = job_for(adhoc(), Config())["spec"]["podFailurePolicy"]["rules"]
    assert rule == {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]}
    own = {"rules": [{"action": "FailJob", "onExitCodes": {"operator": "In", "values": [3]}}]}
    built = job_for(adhoc({"command": "x", "retries": 3, "podFailurePolicy": own}), Config())
    assert built["spec"]["podFailurePolicy"] == own and built["spec"]["backoffLimit"] == 3
    with pytest.raises(InvalidSpec, match=r"spec\.podFailurePolicy"):
        job_for(adhoc({"command": "x", "podFailurePolicy": ["FailJob"]}), Config())


def test_a_command_pod_without_a_configured_uid_names_none_and_stays_non_root():
    [container] = job_for(adhoc(), Config(run_as_user=None))["spec"]["template"]["spec"]["containers"]
    assert "runAsUser" not in container["securityContext"] and container["securityContext"]["runAsNonRoot"] is True
