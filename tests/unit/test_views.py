from orchestrator.model.views import adhoc_view, job_view, pack, pod_view, unpack

from .factories import adhoc, condition, job, pod, terminated


def test_views_keep_what_reconciling_reads_and_survive_packing():
    owner = adhoc({"command": "x", "suspend": True}, status={"phase": "Pending"})
    owner["metadata"]["managedFields"] = [{"manager": "kubectl", "fieldsV1": {"f:spec": {}}}]
    view = unpack(pack(adhoc_view(owner)))
    assert view["spec"] == {"command": "x", "suspend": True} and view["status"] == {"phase": "Pending"}
    assert "managedFields" not in view["metadata"] and view["metadata"]["generation"] == 1

    j = job(owner, active=1)
    jv = unpack(pack(job_view(j)))
    assert jv["metadata"]["labels"] == {"orchestrator.dev/generation": "1"}
    assert jv["metadata"]["annotations"].keys() == {"orchestrator.dev/spec-hash"}
    assert jv["spec"]["suspend"] is False and jv["status"]["active"] == 1
    # Of the pod template only the command's image (status.image), not the whole template.
    assert jv["spec"]["template"] == {"spec": {"containers": [{"name": "command", "image": "python:3.13-slim"}]}}

    p = pod(phase="Succeeded", state=terminated(0))
    p["status"]["containerStatuses"].append({"name": "sidecar", "state": {}})
    pv = unpack(pack(pod_view(p)))
    assert [c["name"] for c in pv["status"]["containerStatuses"]] == ["command"]
    assert pv["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 0


def test_packed_views_are_compact():
    owner = adhoc()
    assert len(pack(adhoc_view(owner))) < 400


def test_a_pods_view_keeps_the_conditions_a_status_says():
    kept = [
        condition("PodScheduled", "False", "Unschedulable", "0/2 nodes are available"),
        condition(
            "DisruptionTarget", "True", "DeletionByTaintManager", "Taint manager: deleting due to NoExecute taint"
        ),
    ]
    p = pod(conditions=[condition("Ready", "False"), *kept, condition("Initialized")])
    assert unpack(pack(pod_view(p)))["status"]["conditions"] == kept


def test_an_adhoccommands_view_keeps_who_asked_and_who_decided_and_no_other_annotation():
    owner = adhoc()
    asked = {
        "orchestrator.dev/requested-by": "alice",
        "orchestrator.dev/approved-by": "bob",
        "orchestrator.dev/approved-generation": "1",
    }
    owner["metadata"]["annotations"] = {**asked, "kubectl.kubernetes.io/last-applied-configuration": "{...}" * 500}
    assert unpack(pack(adhoc_view(owner)))["metadata"]["annotations"] == asked
    assert "annotations" not in adhoc_view(adhoc())["metadata"]
    j = job(owner)  # the run's Job says who asked for it and who approved it
    assert job_view(j)["metadata"]["annotations"] == {
        "orchestrator.dev/spec-hash": j["metadata"]["annotations"]["orchestrator.dev/spec-hash"],
        "orchestrator.dev/requested-by": "alice",
    }
