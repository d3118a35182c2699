from orchestrator.model.config import Config
from orchestrator.model.runs import plan_for

from .factories import adhoc, condition, job

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
