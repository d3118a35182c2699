import json
import zlib

from orchestrator.model.output import StoredOutput
from orchestrator.model.status import status_from
from orchestrator.model.views import adhoc_view, job_view, pack, pod_view, unpack

from .factories import T1, T2, adhoc, condition, job, pod, terminated


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


def test_a_finished_runs_views_pack_in_under_a_kibibyte_about_half_of_zlib_alone():
    """What the operator keeps of each finished run (issue 26: <= 1 KiB a finished run in all):
    its AdhocCommand, Job and Pod, the status the operator's own status_from writes."""
    owner = adhoc(name="migrate-orders")
    owner["metadata"]["uid"] = "4f6c1f0e-2b1a-4d53-9a49-0c3c2b8e7d11"
    done = job(owner, uid="47ed1060-fc98-4a64-af49-6ec08f7d2d53", succeeded=1, conditions=[condition("Complete")])
    done["status"] |= {"startTime": T1, "completionTime": T2}
    finished = pod("migrate-orders-1-5bq8d", phase="Succeeded", state=terminated(0), job_uid=done["metadata"]["uid"])
    stored = StoredOutput(
        "migrate-orders-logs", "uid-migrate-orders-1-5bq8d", "migrate-orders-1-5bq8d", 1, 1, 857, 857, False
    )
    owner["status"] = status_from(owner, done, [finished], stored, T2)
    views = [adhoc_view(owner), job_view(done), pod_view(finished)]
    assert all(unpack(pack(v)) == v for v in views)
    packed = sum(len(pack(v)) for v in views)
    alone = sum(len(zlib.compress(json.dumps(v, separators=(",", ":")).encode(), 1)) for v in views)
    assert packed < 1024 and packed < 0.6 * alone, (packed, alone)


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
