"""When the reconciler writes and looks again (pure): the status pacing of a run under way, the
back-off for a missing spec.from workload, and how long a finished Job waits for its pod."""

from __future__ import annotations

from orchestrator.model.objects import Obj
from orchestrator.model.runs import at_rest, is_finished
from orchestrator.model.spec import is_finished_phase

# What a user watches a run for (kubectl get's STATUS, a reason to act on) is written after the
# status interval; counts, times, pod names and the reasons every pod passes through wait ten.
MINOR_CHANGE_FACTOR = 10
# Under load the interval stretches: with N runs queued or running (the larger), N /
# RUNS_PER_INTERVAL intervals (at most MAX_STRETCH), so all the runs under way together write
# their states at most about RUNS_PER_INTERVAL times an interval. In a burst of hundreds most
# runs end before their state under way is due, and the end is written at once: the API server's
# time goes to running them.
RUNS_PER_INTERVAL = 25
MAX_STRETCH = 30
# Seconds between looks for a missing spec.from workload: 10, then doubling to at most 160 (one
# that never comes costs a GET every few minutes, not every 10 s).
TEMPLATE_RECHECK = 10.0
TEMPLATE_RECHECK_MAX = 160.0
# Seconds between looks for the FailedCreate event of a Job whose pod seems refused: the Job
# controller posts it a moment after the status that shows no pod, then again as it retries.
REFUSAL_RECHECK = 1.0
REFUSAL_RECHECK_MAX = 30.0
# How long a finished run waits for its pod's watch to catch up before its status is written
# without the pod's word (exit code); the pod's update normally comes within a second or two.
POD_CATCH_UP = 30.0
PASSING_REASONS = frozenset({"ContainerCreating", "PodInitializing"})


def significant(new: Obj, old: Obj) -> bool:
    """Whether a status change of a run under way is one a user acts on or watches for."""
    if any(new.get(k) != old.get(k) for k in ("phase", "observedGeneration", "jobName")):
        return True
    if (new.get("reason"), new.get("message")) == (old.get("reason"), old.get("message")):
        return False
    return bool(new.get("reason")) and new.get("reason") not in PASSING_REASONS


def status_interval(base: float, busy: int, is_significant: bool) -> float:
    """Least seconds between two status writes of a run under way (the first counts from its
    Job's creation), with `busy` runs queued or running."""
    stretch = min(MAX_STRETCH, max(1.0, busy / RUNS_PER_INTERVAL))
    return base * stretch * (1 if is_significant else MINOR_CHANGE_FACTOR)


def template_recheck(looks: int) -> float:
    """Seconds until the next look for a missing spec.from workload, after `looks` looks."""
    return min(TEMPLATE_RECHECK * 2 ** (max(looks, 1) - 1), TEMPLATE_RECHECK_MAX)


def refusal_recheck(looks: int) -> float:
    """Seconds until the next look for a refused pod's FailedCreate event, after `looks` found none."""
    return min(REFUSAL_RECHECK * 2 ** (max(looks, 1) - 1), REFUSAL_RECHECK_MAX)


def catch_up_wait(first_seen: float, now: float) -> float | None:
    """Seconds more to wait for a pod whose watch is behind its finished Job (None: no more)."""
    wait = first_seen + POD_CATCH_UP - now
    return wait if wait > 0 else None


def ended(status: Obj, generation: int, job: Obj | None) -> bool:
    """The run of this generation ended and its status says so: nothing about it changes any
    more, whatever becomes of its pods."""
    return (
        is_finished_phase(status)
        and status.get("observedGeneration") == generation
        and job is not None
        and status.get("jobName") == job["metadata"].get("name")
        and is_finished(job)
    )


def settled(adhoc: Obj, jobs: list[Obj]) -> bool:
    """The run ended, its status says so, and nothing is due about it (model/runs.at_rest): its
    reconciliation would read nothing and write nothing, so a start or a takeover skips it."""
    job = at_rest(adhoc, jobs)
    generation = int(adhoc["metadata"].get("generation") or 1)
    return job is not None and ended(adhoc.get("status") or {}, generation, job)
