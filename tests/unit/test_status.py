import pytest

from orchestrator.model.output import StoredOutput
from orchestrator.model.status import (
    format_duration,
    keep_transition_times,
    merge_patch,
    pod_behind,
    settling,
    status_from,
)

from .factories import T0, T1, T2, adhoc, condition, job, pod, terminated

NOW = "2026-01-01T09:00:00Z"


def conds(status):
    return {c["type"]: c for c in status["conditions"]}


def test_no_job_yet_is_pending_and_reconciling():
    status = status_from(adhoc(), None, [], None, NOW)
    assert status["phase"] == "Pending" and status["reason"] == "Creating"
    c = conds(status)
    assert c["Reconciling"]["status"] == "True" and c["Finished"]["status"] == "False"
    assert c["Stalled"]["status"] == "False"
    assert all(x["observedGeneration"] == 1 for x in status["conditions"])


def test_running_job_mirrors_counts_and_pod():
    owner = adhoc()
    status = status_from(owner, job(owner, active=1, ready=1, startTime=T0), [pod()], None, NOW)
    assert status["phase"] == "Running"
    assert (status["active"], status["ready"], status["succeeded"], status["failed"]) == (1, 1, 0, 0)
    assert status["jobName"] == "cmd-1" and status["podName"] == "cmd-1-abcde"
    assert status["startTime"] == T0 and "exitCode" not in status


def test_succeeded_job():
    owner = adhoc()
    j = job(
        owner,
        succeeded=1,
        startTime=T0,
        completionTime=T2,
        conditions=[condition("SuccessCriteriaMet"), condition("Complete", reason="CompletionsReached")],
    )
    stored = StoredOutput("cmd-logs", "uid-cmd-1-abcde", "cmd-1-abcde", 1, 1, 12, 12, False)
    status = status_from(owner, j, [pod(phase="Succeeded", state=terminated(0))], stored, NOW)
    assert status["phase"] == "Succeeded" and status["exitCode"] == 0 and status["reason"] == "Completed"
    assert status["completionTime"] == T2 and status["duration"] == "1m10s"
    assert status["logs"] == {"configMap": "cmd-logs", "bytes": 12, "storedBytes": 12, "truncated": False}
    c = conds(status)
    assert c["Complete"]["status"] == "True" and c["SuccessCriteriaMet"]["status"] == "True"
    assert c["Finished"]["status"] == "True" and c["Finished"]["lastTransitionTime"] == T2
    assert c["Reconciling"]["status"] == "False" and c["Stalled"]["status"] == "False"


@pytest.mark.parametrize(
    "state, job_reason, reason, exit_code",
    [
        (terminated(3), "BackoffLimitExceeded", "Error", 3),
        (terminated(137, "OOMKilled"), "BackoffLimitExceeded", "OOMKilled", 137),
        (terminated(143), "DeadlineExceeded", "DeadlineExceeded", 143),
    ],
)
def test_failed_job_says_why(state, job_reason, reason, exit_code):
    owner = adhoc()
    j = job(
        owner,
        failed=1,
        startTime=T0,
        conditions=[
            condition("FailureTarget", reason=job_reason),
            condition("Failed", reason=job_reason, message="it failed"),
        ],
    )
    status = status_from(owner, j, [pod(phase="Failed", state=state)], None, NOW)
    assert status["phase"] == "Failed" and status["reason"] == reason and status["exitCode"] == exit_code
    c = conds(status)
    assert c["Failed"]["status"] == "True" and c["Failed"]["reason"] == job_reason
    assert c["Finished"]["status"] == "True" and c["Stalled"]["status"] == "True"
    assert c["Reconciling"]["status"] == "False" and c["FailureTarget"]["status"] == "True"
    assert status["duration"] == "1m10s"  # failed Jobs have no completionTime: the Failed condition's time


def test_deadline_without_any_pod_left():
    owner = adhoc({"command": "sleep 100", "timeoutSeconds": 1})
    j = job(owner, conditions=[condition("Failed", reason="DeadlineExceeded", message="Job was active longer")])
    status = status_from(owner, j, [], None, NOW)
    assert status["phase"] == "Failed" and status["reason"] == "DeadlineExceeded"
    assert "exitCode" not in status and "podName" not in status


@pytest.mark.parametrize(
    "pod_status, reason",
    [
        (
            {
                "phase": "Pending",
                "containerStatuses": [
                    {
                        "name": "command",
                        "state": {"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image"}},
                    }
                ],
            },
            "ImagePullBackOff",
        ),
        (
            {
                "phase": "Pending",
                "containerStatuses": [
                    {
                        "name": "command",
                        "state": {"waiting": {"reason": "ErrImageNeverPull", "message": "image not present"}},
                    }
                ],
            },
            "ErrImageNeverPull",
        ),
        (
            {
                "phase": "Pending",
                "conditions": [
                    {
                        "type": "PodScheduled",
                        "status": "False",
                        "reason": "Unschedulable",
                        "message": "0/1 nodes are available",
                    }
                ],
            },
            "Unschedulable",
        ),
    ],
)
def test_pending_pod_says_why_it_waits(pod_status, reason):
    owner = adhoc()
    p = pod()
    p["status"] = pod_status
    status = status_from(owner, job(owner, active=1), [p], None, NOW)
    assert status["phase"] == "Pending" and status["reason"] == reason and status["message"]


def test_suspended_job():
    owner = adhoc({"command": "x", "suspend": True})
    j = job(owner, suspend=True, conditions=[condition("Suspended", reason="JobSuspended", message="Job suspended")])
    status = status_from(owner, j, [], None, NOW)
    assert status["phase"] == "Suspended"
    c = conds(status)
    assert c["Suspended"]["status"] == "True"
    assert c["Reconciling"]["status"] == "False" and c["Finished"]["status"] == "False"


def test_retried_run_reports_the_latest_attempt():
    owner = adhoc({"command": "x", "retries": 2})
    first = pod("cmd-1-aaaaa", created=T0, phase="Failed", state=terminated(1))
    second = pod("cmd-1-bbbbb", created=T1, phase="Failed", state=terminated(2))
    third = pod("cmd-1-ccccc", created=T2, phase="Succeeded", state=terminated(0))
    j = job(owner, succeeded=1, failed=2, conditions=[condition("Complete")])
    status = status_from(owner, j, [third, first, second], None, NOW)
    assert status["podName"] == "cmd-1-ccccc" and status["attempt"] == 3 and status["exitCode"] == 0


def test_output_of_an_earlier_run_is_not_shown_for_a_new_one():
    owner = adhoc(generation=2)
    old = StoredOutput("cmd-logs", "uid-old-pod", "old-pod", 1, 1, 5, 5, False)
    status = status_from(owner, job(owner, active=1), [pod()], old, NOW)
    assert "logs" not in status


def test_invalid_spec_is_a_failed_run_with_the_reason():
    status = status_from(adhoc(generation=3), None, [], None, NOW, error=("InvalidSpec", "spec.args must be a list"))
    assert status["phase"] == "Failed" and status["reason"] == "InvalidSpec"
    assert status["observedGeneration"] == 3
    assert conds(status)["Stalled"]["status"] == "True"


def test_condition_reasons_are_always_valid():
    owner = adhoc()
    j = job(owner, conditions=[condition("Failed", reason="weird reason!")])
    status = status_from(owner, j, [], None, NOW)
    assert conds(status)["Failed"]["reason"] == "weirdreason"


def test_same_world_gives_the_same_status():
    owner = adhoc()
    j = job(owner, active=1)
    assert status_from(owner, j, [pod()], None, NOW) == status_from(owner, j, [pod()], None, "2030-01-01T00:00:00Z")


def test_transition_times_are_kept_while_a_condition_holds():
    old = {"conditions": [{"type": "Reconciling", "status": "True", "lastTransitionTime": "early"}]}
    new = keep_transition_times(status_from(adhoc(), None, [], None, NOW), old)
    assert conds(new)["Reconciling"]["lastTransitionTime"] == "early"
    assert conds(new)["Finished"]["lastTransitionTime"] == NOW


def test_merge_patch_clears_fields_that_went_away():
    assert merge_patch({"phase": "Running"}, {"phase": "Running"}) is None
    assert merge_patch({"phase": "Running"}, {"phase": "Failed", "exitCode": 1}) == {
        "phase": "Running",
        "exitCode": None,
    }


@pytest.mark.parametrize(
    "seconds, text",
    [(0, "0s"), (59, "59s"), (60, "1m"), (61, "1m1s"), (3600, "1h"), (3725, "1h2m"), (90000, "1d1h"), (-5, "0s")],
)
def test_durations_read_like_kubectl(seconds, text):
    assert format_duration(seconds) == text


def test_settling_while_the_job_has_not_counted_the_ended_pod():
    owner = adhoc()
    ended = pod(phase="Succeeded", state=terminated(0))
    assert settling(job(owner, active=1), [ended])
    assert not settling(job(owner, succeeded=1, conditions=[condition("Complete")]), [ended])
    assert not settling(job(owner, active=1), [pod()])
    assert not settling(None, [ended])


@pytest.mark.parametrize(
    "job_state, pod_state, deleting, behind",
    [
        ("Complete", "running", False, True),  # the pods' watch has not caught up yet
        ("Failed", "running", False, True),
        ("Complete", "terminated", False, False),
        ("Failed", "running", True, False),  # a deadline or a lost node: the pod is being deleted
        ("active", "running", False, False),  # under way: nothing to wait for
        ("Complete", None, False, False),  # its pod is gone (PodGC, deleted): nothing will come
    ],
)
def test_a_pod_behind_its_finished_job(job_state, pod_state, deleting, behind):
    owner = adhoc()
    the_job = job(owner, active=1) if job_state == "active" else job(owner, conditions=[condition(job_state)])
    pods = []
    if pod_state is not None:
        p = pod(
            phase="Running" if pod_state == "running" else "Succeeded",
            state=None if pod_state == "running" else terminated(0),
        )
        if deleting:
            p["metadata"]["deletionTimestamp"] = "2026-01-01T00:01:00Z"
        pods.append(p)
    assert pod_behind(the_job, pods) is behind


REFUSED = 'pods "cmd-1-x" is forbidden: violates PodSecurity "restricted:latest": privileged'


@pytest.mark.parametrize(
    ("pods", "refusal", "reason"),
    [
        ([], REFUSED, "FailedCreate"),  # the pod was refused: say why, not just Pending
        ([], None, None),  # no word yet: Pending
        (
            [pod(phase="Pending", state={"waiting": {"reason": "ContainerCreating"}})],
            REFUSED,
            "ContainerCreating",
        ),  # a later pod got in
    ],
)
def test_a_refused_pod_is_reported(pods, refusal, reason):
    owner = adhoc()
    status = status_from(owner, job(owner), pods, None, NOW, None, refusal)
    assert status["phase"] == "Pending" and status.get("reason") == reason
    if reason == "FailedCreate":
        assert "violates PodSecurity" in status["message"]
        assert conds(status)["Reconciling"]["reason"] == "FailedCreate"


def test_status_says_which_image_runs():
    owner = adhoc({"command": "true", "image": "registry/app:1.4"})
    assert status_from(owner, job(owner), [], None, NOW)["image"] == "registry/app:1.4"
    assert "image" not in status_from(owner, None, [], None, NOW)


LOST = condition(
    "DisruptionTarget", reason="DeletionByTaintManager", message="Taint manager: deleting due to NoExecute taint"
)


@pytest.mark.parametrize(
    ("pod_conditions", "reason", "says"),
    [
        # The node was lost (kubelet stopped): the taint manager deletes the pod, which stays until
        # the node answers again; the Job has decided to fail, and does once the pod is gone.
        ([LOST], "DeletionByTaintManager", "Taint manager: deleting due to NoExecute taint; the Job ends"),
        ([], "BackoffLimitExceeded", "the Job ends (BackoffLimitExceeded) once its pod is gone"),
    ],
)
def test_a_run_whose_job_will_fail_says_why_while_its_pod_goes(pod_conditions, reason, says):
    owner = adhoc({"command": "sleep 600"})
    target = condition(
        "FailureTarget", reason="BackoffLimitExceeded", message="Job has reached the specified backoff limit"
    )
    j = job(owner, failed=1, terminating=1, startTime=T0, conditions=[target])
    doomed = pod(phase="Running", conditions=pod_conditions)
    doomed["metadata"]["deletionTimestamp"] = T1
    status = status_from(owner, j, [doomed], None, NOW)
    assert (status["phase"], status["reason"]) == ("Running", reason)  # not Pending, not yet Failed
    assert says in status["message"]
    c = conds(status)
    assert c["FailureTarget"]["status"] == "True" and c["Finished"]["status"] == "False"


def test_a_pod_taken_by_a_disruption_is_replaced_and_the_status_says_so():
    """By default (no podFailurePolicy of the run's own) a lost node's pod does not count against
    retries: the Job waits for it to go and starts another; the run says so meanwhile."""
    owner = adhoc({"command": "sleep 600"})
    j = job(owner, active=1, startTime=T0)
    going = pod(phase="Running", conditions=[LOST])
    going["metadata"]["deletionTimestamp"] = T1
    status = status_from(owner, j, [going], None, NOW)
    assert (status["phase"], status["reason"]) == ("Running", "DeletionByTaintManager")
    assert "does not count against retries" in status["message"]
    assert conds(status)["Finished"]["status"] == "False"


def cancelled(owner, **job_fields):
    body = job(owner, **job_fields)
    body["metadata"]["annotations"]["orchestrator.dev/cancelled"] = "true"
    return body


def test_a_cancelled_run_stops_then_ends_cancelled_with_the_output_it_printed():
    owner = adhoc({"command": "x", "cancel": True}, generation=2)
    stopping = cancelled(owner, active=1, startTime=T0)
    status = status_from(owner, stopping, [pod(state={"running": {}})], None, T1)
    assert (status["phase"], status["reason"]) == ("Running", "Cancelling")

    so_far = StoredOutput("cmd-logs", "uid-gone", "cmd-1-abcde", 1, 2, 30, 30, False)
    ended = cancelled(owner, failed=1, startTime=T0, conditions=[condition("Failed", reason="DeadlineExceeded")])
    status = status_from(owner, ended, [], so_far, T2)  # its pod deleted by the Job controller
    assert (status["phase"], status["reason"]) == ("Failed", "Cancelled"), status
    assert status["logs"]["configMap"] == "cmd-logs"  # the run's own generation's output
    assert {c["type"]: c["status"] for c in status["conditions"]}["Finished"] == "True"
    earlier = StoredOutput("cmd-logs", "uid-old", "cmd-1-old", 1, 1, 30, 30, False)
    assert "logs" not in status_from(owner, ended, [], earlier, T2)  # not an earlier run's


def test_a_run_cancelled_before_it_started_has_ended():
    owner = adhoc({"command": "x", "cancel": True, "suspend": True})
    status = status_from(owner, cancelled(owner, suspend=True), [], None, T1)
    assert (status["phase"], status["reason"], status["message"]) == (
        "Failed",
        "Cancelled",
        "cancelled before it started",
    )


def test_a_run_that_succeeded_before_its_cancel_took_effect_stays_succeeded():
    owner = adhoc({"command": "x", "cancel": True})
    done = cancelled(owner, succeeded=1, conditions=[condition("Complete")])
    status = status_from(owner, done, [pod(phase="Succeeded", state=terminated(0))], None, T1)
    assert status["phase"] == "Succeeded"


def test_the_status_names_the_image_digest_that_ran():
    owner = adhoc({"command": "x", "image": "python:3.13-slim"})
    ran = pod(phase="Succeeded", state=terminated(0))
    digest = "docker.io/library/python@sha256:" + "ab" * 32
    ran["status"]["containerStatuses"][0]["imageID"] = digest
    status = status_from(owner, job(owner, succeeded=1, conditions=[condition("Complete")]), [ran], None, T1)
    assert (status["image"], status["imageID"]) == ("python:3.13-slim", digest)


def test_the_result_is_what_the_command_wrote_to_its_termination_log():
    owner = adhoc({"command": "x"})
    done = pod(phase="Succeeded", state=terminated(0, message='{"rows": 42}'))
    status = status_from(owner, job(owner, succeeded=1, conditions=[condition("Complete")]), [done], None, T1)
    assert status["result"] == '{"rows": 42}'
    quiet = pod(phase="Succeeded", state=terminated(0))
    assert "result" not in status_from(owner, job(owner, succeeded=1), [quiet], None, T1)


def test_a_run_kueue_holds_is_queued_and_one_the_user_suspends_is_suspended():
    owner = adhoc({"command": "x", "queueName": "batch"})
    held = job(owner, suspend=True)
    status = status_from(owner, held, [], None, T1)
    assert (status["phase"], status["reason"]) == ("Pending", "Queued")
    assert "LocalQueue batch" in status["message"]
    mine = adhoc({"command": "x", "queueName": "batch", "suspend": True})
    assert status_from(mine, held, [], None, T1)["phase"] == "Suspended"
