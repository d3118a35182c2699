from datetime import UTC, datetime

import pytest

from orchestrator.model.config import Config
from orchestrator.model.runs import plan_for, pod_refused

from .factories import T0, adhoc, condition, job, pod

CONFIG = Config()


def test_first_run_creates_the_job_of_generation_one():
    plan = plan_for(adhoc(), [], CONFIG)
    assert plan.create is not None and plan.create["metadata"]["name"] == "cmd-1"
    assert plan.delete == [] and plan.current is None


def test_existing_job_of_the_run_is_kept():
    owner = adhoc()
    current = job(owner)
    plan = plan_for(owner, [current], CONFIG)
    assert plan.create is None and plan.current is current and plan.job_patch is None


def test_spec_change_replaces_the_run():
    old_owner = adhoc({"command": "echo old"})
    old = job(old_owner)
    plan = plan_for(adhoc({"command": "echo new"}, generation=2), [old], CONFIG)
    assert plan.create is not None and plan.create["metadata"]["name"] == "cmd-2"
    assert plan.delete == [old]


def test_suspend_alone_toggles_the_current_job():
    owner = adhoc({"command": "x"})
    current = job(owner)
    plan = plan_for(adhoc({"command": "x", "suspend": True}, generation=2), [current], CONFIG)
    assert plan.create is None and plan.current is current
    assert plan.job_patch == {"spec": {"suspend": True}}


def test_a_finished_job_is_not_toggled():
    owner = adhoc({"command": "x"})
    done = job(owner, conditions=[condition("Complete")])
    plan = plan_for(adhoc({"command": "x", "suspend": True}, generation=2), [done], CONFIG)
    assert plan.job_patch is None and plan.create is None


def test_ttl_change_is_passed_to_the_job():
    owner = adhoc({"command": "x"})
    plan = plan_for(adhoc({"command": "x", "ttlSecondsAfterFinished": 5}, generation=2), [job(owner)], CONFIG)
    assert plan.job_patch == {"spec": {"ttlSecondsAfterFinished": 5}}


def test_jobs_being_deleted_do_not_count():
    owner = adhoc()
    leaving = job(owner)
    leaving["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    assert plan_for(owner, [leaving], CONFIG).create is not None


def test_gone_job_of_a_finished_run_with_ttl_deletes_the_adhoccommand():
    status = {"observedGeneration": 1, "jobName": "cmd-1", "phase": "Succeeded"}
    plan = plan_for(adhoc({"command": "x", "ttlSecondsAfterFinished": 0}, status=status), [], CONFIG)
    assert plan.job_gone and plan.delete_adhoc and plan.create is None


def test_gone_job_without_ttl_is_not_recreated():
    status = {"observedGeneration": 1, "jobName": "cmd-1", "phase": "Succeeded"}
    plan = plan_for(adhoc(status=status), [], CONFIG)
    assert plan.job_gone and not plan.delete_adhoc and plan.create is None


def test_invalid_spec_stops_old_runs_and_reports():
    owner = adhoc()
    old = job(owner)
    plan = plan_for(adhoc({"command": "x", "args": ["y"]}, generation=2), [old], CONFIG)
    assert plan.error is not None and plan.error[0] == "InvalidSpec"
    assert plan.delete == [old] and plan.create is None


# startAt and cancel


NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("start_at", "waits"),
    [
        ("2026-01-01T12:00:20Z", 20.0),
        ("2026-01-01T13:00:00+01:00", None),  # the same instant, written in another zone: due
        ("2026-01-01T11:00:00Z", None),  # past: at once
        (None, None),
    ],
)
def test_a_run_waits_for_its_start_time(start_at, waits):
    spec = {"command": "x", **({"startAt": start_at} if start_at else {})}
    plan = plan_for(adhoc(spec), [], CONFIG, NOW)
    if waits is None:
        assert plan.create is not None and not plan.held
    else:
        assert plan.create is None and plan.held and plan.recheck == waits
        assert plan.waiting == ("Scheduled", f"starts at {start_at}")


def test_a_running_run_cancelled_gets_a_deadline_already_past_and_is_marked():
    owner = adhoc({"command": "x"})
    running = job(owner, active=1, startTime="2026-01-01T11:59:00Z")
    plan = plan_for(adhoc({"command": "x", "cancel": True}, generation=2), [running], CONFIG, NOW)
    assert plan.current is running and plan.create is None
    assert plan.job_patch == {
        "metadata": {"annotations": {"orchestrator.dev/cancelled": "true"}},
        "spec": {"activeDeadlineSeconds": 1},
    }


def test_a_run_cancelled_before_its_job_started_stays_suspended_for_good():
    owner = adhoc({"command": "x", "suspend": True})
    held = job(owner, suspend=True)
    plan = plan_for(adhoc({"command": "x", "suspend": True, "cancel": True}, generation=2), [held], CONFIG, NOW)
    assert plan.job_patch == {
        "metadata": {"annotations": {"orchestrator.dev/cancelled": "true"}},
        "spec": {"suspend": True},
    }
    held["metadata"]["annotations"]["orchestrator.dev/cancelled"] = "true"
    resumed = adhoc({"command": "x", "suspend": False, "cancel": False}, generation=3)
    assert plan_for(resumed, [held], CONFIG, NOW).job_patch is None  # neither resumed nor restarted


def test_a_finished_run_is_not_cancelled_and_a_run_not_yet_made_never_starts():
    owner = adhoc({"command": "x"})
    done = job(owner, conditions=[condition("Complete")])
    assert plan_for(adhoc({"command": "x", "cancel": True}, generation=2), [done], CONFIG, NOW).job_patch is None
    plan = plan_for(adhoc({"command": "x", "cancel": True, "startAt": "2026-01-02T00:00:00Z"}), [], CONFIG, NOW)
    assert plan.create is None and plan.held and plan.error == ("Cancelled", "cancelled before it started")


# Kueue


def test_a_queued_run_is_created_suspended_with_its_queue_and_only_kueue_resumes_it():
    owner = adhoc({"command": "x", "queueName": "batch"})
    created = plan_for(owner, [], CONFIG, NOW).create
    assert created is not None and created["spec"]["suspend"] is True
    assert created["metadata"]["labels"]["kueue.x-k8s.io/queue-name"] == "batch"
    held = job(owner, suspend=True)
    assert plan_for(owner, [held], CONFIG, NOW).job_patch is None  # not resumed by the operator
    admitted = job(owner, suspend=False)
    asked = adhoc({"command": "x", "queueName": "batch", "suspend": True}, generation=2)
    assert plan_for(asked, [admitted], CONFIG, NOW).job_patch == {"spec": {"suspend": True}}  # the user's suspend


def test_a_queue_name_that_is_no_label_value_is_refused():
    plan = plan_for(adhoc({"command": "x", "queueName": "team a/batch"}), [], CONFIG, NOW)
    assert plan.error is not None and "spec.queueName" in plan.error[1]


@pytest.mark.parametrize(
    ("job_", "pods", "refused"),
    [
        (job(adhoc(), startTime=T0), [], True),  # taken up, no pod active or seen (the Job controller's status)
        (job(adhoc(), startTime=T0, active=0, ready=0), [], True),
        (job(adhoc()), [], False),  # not taken up yet (a burst's backlog): nothing to look for
        (job(adhoc(), startTime=T0, active=1), [], False),  # its pod made; the watch will show it
        (job(adhoc(), startTime=T0), [pod()], False),  # a pod is seen
        (job(adhoc(), startTime=T0, failed=1), [pod(phase="Failed")], False),  # retried: its pods are seen
        (job(adhoc(), startTime=T0, suspend=True), [], False),  # held: no pod is due
        (job(adhoc(), startTime=T0, conditions=[condition("Failed")]), [], False),  # ended
        (None, [], False),
    ],
)
def test_a_refused_pod_is_told_by_its_job_status(job_, pods, refused):
    """Only a Job like this makes the operator look for its FailedCreate event (no Events watch)."""
    assert pod_refused(job_, pods) is refused
