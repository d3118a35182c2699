"""When the reconciler writes and looks again: pure decisions, by tables of cases."""

from __future__ import annotations

import pytest

from orchestrator.model import pacing, runs
from orchestrator.model.config import Config

from .factories import adhoc, condition, job

RUNNING = {"phase": "Running", "observedGeneration": 1, "jobName": "cmd-1", "active": 1}


@pytest.mark.parametrize(
    ("change", "significant"),
    [
        ({}, False),  # nothing a user acts on
        ({"active": 0, "ready": 1}, False),  # counts wait ten intervals
        ({"phase": "Pending"}, True),
        ({"observedGeneration": 2}, True),
        ({"jobName": "cmd-2"}, True),
        ({"reason": "ImagePullBackOff", "message": "no such image"}, True),
        ({"reason": "ContainerCreating"}, False),  # every pod passes through it
        ({"reason": "PodInitializing"}, False),
    ],
)
def test_what_a_user_watches_for_is_significant(change, significant):
    assert pacing.significant({**RUNNING, **change}, RUNNING) is significant


@pytest.mark.parametrize(
    ("busy", "is_significant", "interval"),
    [
        (0, True, 1.0),
        (25, True, 1.0),
        (125, True, 5.0),  # a burst stretches it
        (10_000, True, 30.0),  # at most thirty times
        (0, False, 10.0),  # minor changes wait ten times longer
        (125, False, 50.0),
    ],
)
def test_the_status_interval_stretches_under_load(busy, is_significant, interval):
    assert pacing.status_interval(1.0, busy, is_significant) == interval


@pytest.mark.parametrize(("looks", "wait"), [(1, 10.0), (2, 20.0), (3, 40.0), (5, 160.0), (9, 160.0), (0, 10.0)])
def test_a_missing_template_is_looked_for_less_and_less_often(looks, wait):
    assert pacing.template_recheck(looks) == wait


@pytest.mark.parametrize(("looks", "wait"), [(0, 1.0), (1, 1.0), (2, 2.0), (3, 4.0), (5, 16.0), (6, 30.0), (20, 30.0)])
def test_a_refused_pods_event_is_looked_for_less_and_less_often(looks, wait):
    assert pacing.refusal_recheck(looks) == wait


@pytest.mark.parametrize(
    ("first_seen", "now", "wait"), [(100.0, 100.0, 30.0), (100.0, 120.0, 10.0), (100.0, 130.0, None)]
)
def test_a_pod_behind_its_job_is_waited_for_thirty_seconds(first_seen, now, wait):
    assert pacing.catch_up_wait(first_seen, now) == wait


OWNER = adhoc()
DONE = job(OWNER, succeeded=1, conditions=[condition("Complete")])
SUCCEEDED = {"phase": "Succeeded", "observedGeneration": 1, "jobName": DONE["metadata"]["name"]}


@pytest.mark.parametrize(
    ("status", "generation", "current", "ended"),
    [
        (SUCCEEDED, 1, DONE, True),
        (SUCCEEDED, 2, DONE, False),  # a new spec: a new run
        (SUCCEEDED, 1, None, False),  # its Job is gone: looked at again
        (SUCCEEDED, 1, job(OWNER, active=1), False),  # the Job runs again (a retry)
        ({**SUCCEEDED, "jobName": "other"}, 1, DONE, False),
        (RUNNING, 1, DONE, False),  # the status does not say so yet
    ],
)
def test_a_run_has_ended_when_its_status_and_its_job_say_so(status, generation, current, ended):
    assert pacing.ended(status, generation, current) is ended


def _with(obj, **changes):
    return {**obj, **changes}


_TTL = adhoc({"command": "echo hi", "ttlSecondsAfterFinished": 60}, status=SUCCEEDED)
_TTL_DONE = job(_TTL, succeeded=1, conditions=[condition("Complete")])
_OLDER = job(adhoc(generation=0), uid="job-0", succeeded=1, conditions=[condition("Complete")])
_OLDER["metadata"]["labels"]["orchestrator.dev/generation"] = "0"
_OLDER["metadata"]["name"] = "cmd-0"
_DELETING = {"deletionTimestamp": "2026-01-01T00:02:00Z"}


@pytest.mark.parametrize(
    ("run", "jobs", "is_settled"),
    [
        (adhoc(status=SUCCEEDED), [DONE], True),
        (adhoc(status=RUNNING), [DONE], False),  # its end is not written yet
        (adhoc(status=SUCCEEDED), [job(OWNER, active=1)], False),  # retried
        (adhoc(status=SUCCEEDED), [], False),  # its Job is gone: a TTL may be up
        (adhoc(status=SUCCEEDED), [_OLDER, DONE], False),  # a replaced run's Job to delete
        (adhoc(status=SUCCEEDED), [_with(_OLDER, metadata={**_OLDER["metadata"], **_DELETING}), DONE], True),
        (_with(adhoc(status=SUCCEEDED), metadata={**OWNER["metadata"], **_DELETING}), [DONE], False),
        (_TTL, [DONE], False),  # the TTL is to be set on its Job
        (_TTL, [_with(_TTL_DONE, spec={**_TTL_DONE["spec"], "ttlSecondsAfterFinished": 60})], True),
        (adhoc({"command": "echo other"}, status=SUCCEEDED), [DONE], False),  # not this spec's Job
        (adhoc({"command": "echo hi", "cancel": True}, status=SUCCEEDED), [DONE], True),  # nothing left to stop
        (_with(adhoc(status=SUCCEEDED), spec=["not", "a", "spec"]), [DONE], False),
    ],
)
def test_a_settled_run_is_one_whose_reconciliation_would_do_nothing(run, jobs, is_settled):
    """A start skips settled runs: whenever settled says so, planning finds nothing to do and
    the status already says the run's end."""
    assert pacing.settled(run, jobs) is is_settled
    if is_settled:
        plan = runs.plan_for(run, jobs, Config())
        live = [j for j in jobs if not j["metadata"].get("deletionTimestamp")]
        assert plan == runs.Plan(current=live[0])
        assert pacing.ended(run["status"], 1, plan.current)
