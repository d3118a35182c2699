"""Decides what one AdhocCommand's run needs from the Jobs that exist (pure)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from orchestrator import GROUP
from orchestrator.model.approval import gate_of
from orchestrator.model.config import Config
from orchestrator.model.jobs import ANNOTATION_SPEC_HASH, InvalidSpec, job_for, queue_name, run_hash
from orchestrator.model.names import LABEL_GENERATION
from orchestrator.model.objects import Obj, parse_time
from orchestrator.model.spec import is_finished_phase

ANNOTATION_CANCELLED = f"{GROUP}/cancelled"  # on a Job: its run was cancelled (spec.cancel)


@dataclasses.dataclass
class Plan:
    current: Obj | None = None  # the Job of the run the status describes
    create: Obj | None = None  # a Job to create for a new run
    delete: list[Obj] = dataclasses.field(default_factory=list)  # Jobs of replaced runs
    job_patch: Obj | None = None  # suspend / TTL toggles of the current Job
    error: tuple[str, str] | None = None  # why no run can start
    waiting: tuple[str, str] | None = None  # why the run has not started yet (AwaitingApproval)
    held: bool = False  # no Job for this generation: it awaits approval or its time, or was rejected or cancelled
    recheck: float | None = None  # seconds until something is due without a watch event (startAt)
    job_gone: bool = False  # this generation's Job was made and is gone since
    delete_adhoc: bool = False  # the TTL after finishing is up


def job_generation(job: Obj) -> int:
    try:
        return int(job["metadata"].get("labels", {}).get(LABEL_GENERATION, "0"))
    except ValueError:
        return 0


def is_cancelled(job: Obj) -> bool:
    return (job.get("metadata") or {}).get("annotations", {}).get(ANNOTATION_CANCELLED) == "true"


def has_started(job: Obj) -> bool:
    """The Job has run a pod, or may be running one (not held suspended since its creation)."""
    return bool((job.get("status") or {}).get("startTime")) and not (job.get("spec") or {}).get("suspend")


def cancel_patch(job: Obj) -> Obj:
    """Stops a run for good. A Job that runs gets a deadline already past: the Job controller
    stops its pods and fails it (DeadlineExceeded), as Argo's terminate does, and a finished Job
    keeps its TTL. One that never started stays suspended: nothing of it ever runs."""
    patch: Obj = {"metadata": {"annotations": {ANNOTATION_CANCELLED: "true"}}}
    patch["spec"] = {"activeDeadlineSeconds": 1} if has_started(job) else {"suspend": True}
    return patch


def seconds_until(spec: Obj, now: datetime) -> float | None:
    """Seconds until spec.startAt, when it is ahead."""
    start = spec.get("startAt")
    if not isinstance(start, str):
        return None
    try:
        ahead = (parse_time(start) - now).total_seconds()
    except ValueError:
        return None  # the CRD's date-time format refuses it first
    return ahead if ahead > 0 else None


def is_finished(job: Mapping[str, Any]) -> bool:
    return any(
        c.get("type") in ("Complete", "Failed") and c.get("status") == "True"
        for c in (job.get("status") or {}).get("conditions") or []
    )


def pod_refused(job: Obj | None, pods: list[Obj]) -> bool:
    """The Job controller took the Job up (status.startTime) yet counts no pod active, the Job
    has not ended and no pod of it is seen: its pod's creation was refused (Pod Security
    admission, a quota), which only the Job controller's FailedCreate event says. (A Job whose
    pods the watch has not shown yet counts them active; one whose pod was created stays so.)"""
    if job is None or pods or not has_started(job) or is_finished(job):
        return False
    return not (job.get("status") or {}).get("active")


def plan_for(
    adhoc: Obj,
    jobs: list[Obj],
    config: Config,
    now: datetime | None = None,
    queued: tuple[str, str] | None = None,
) -> Plan:
    """What to do so that exactly one Job runs the AdhocCommand's current spec; `queued`: why
    another run of its concurrencyKey goes first (model/concurrency.py)."""
    spec = adhoc.get("spec") or {}
    status = adhoc.get("status") or {}
    generation = int(adhoc["metadata"].get("generation") or 1)
    live = [j for j in jobs if not j["metadata"].get("deletionTimestamp")]
    newest = max(live, key=job_generation) if live else None
    others = [j for j in live if j is not newest]

    # Same command as the newest Job (its hash, checked before the Job is built again: most
    # reconciles are of runs under way or ended, and building it was 8% of the operator's CPU
    # in a burst): only suspend, cancel or TTL may have changed.
    if newest is not None and newest["metadata"].get("annotations", {}).get(ANNOTATION_SPEC_HASH) == run_hash(spec):
        return Plan(current=newest, delete=others, job_patch=_toggles(newest, spec))
    try:
        wanted = job_for(adhoc, config)
    except InvalidSpec as err:
        return Plan(error=("InvalidSpec", str(err)), delete=live)
    if newest is not None and newest["metadata"]["name"] == wanted["metadata"]["name"]:
        return Plan(current=newest, delete=others, job_patch=_toggles(newest, spec))

    ran_already = status.get("observedGeneration") == generation and status.get("jobName") == wanted["metadata"]["name"]
    if newest is None and ran_already:
        # This run's Job existed and is gone: after the TTL, or deleted by someone.
        finished = is_finished_phase(status)
        return Plan(
            job_gone=True,
            delete_adhoc=finished and spec.get("ttlSecondsAfterFinished") is not None,
        )
    # No Job for this generation yet. Held (awaiting approval or its time) or ended (rejected,
    # cancelled), it gets none; a replaced run's Job goes all the same.
    if spec.get("cancel") is True:
        return Plan(error=("Cancelled", "cancelled before it started"), delete=live, held=True)
    gate = gate_of(adhoc)
    if not gate.open:
        return Plan(error=gate.rejection(), waiting=gate.waiting(), delete=live, held=True)
    ahead = seconds_until(spec, now or datetime.now(UTC))
    if ahead is not None:
        return Plan(waiting=("Scheduled", f"starts at {spec['startAt']}"), delete=live, held=True, recheck=ahead)
    if queued is not None:
        return Plan(waiting=queued, delete=live, held=True)
    return Plan(create=wanted, delete=live)


def at_rest(adhoc: Obj, jobs: list[Obj]) -> Obj | None:
    """The Job plan_for would call current, when it would also have nothing to do: the one live
    Job, of the current command, with nothing to suspend, resume, cancel or re-time, its
    AdhocCommand not being deleted. None otherwise (then plan it). Cheaper than planning: what a
    start asks of each of 100,000 finished runs."""
    spec = adhoc.get("spec")
    if adhoc["metadata"].get("deletionTimestamp") or not isinstance(spec, dict):
        return None
    live = [j for j in jobs if not j["metadata"].get("deletionTimestamp")]
    if len(live) != 1:
        return None
    job = live[0]
    if job["metadata"].get("annotations", {}).get(ANNOTATION_SPEC_HASH) != run_hash(spec):
        return None
    return job if _toggles(job, spec) is None else None


def _toggles(job: Obj, spec: Obj) -> Obj | None:
    """The patch that brings the current run's Job in line with suspend, cancel and the TTL."""
    job_spec = job.get("spec") or {}
    if spec.get("cancel") is True and not is_finished(job) and not is_cancelled(job):
        patch = cancel_patch(job)
    else:
        patch = {"spec": {}}
        settled = is_finished(job) or is_cancelled(job)  # a cancelled run is never resumed
        wanted = bool(spec.get("suspend"))
        # With Kueue, Kueue resumes: the operator only suspends when the spec asks.
        if not settled and bool(job_spec.get("suspend")) != wanted and (wanted or queue_name(spec) is None):
            patch["spec"]["suspend"] = wanted
    if job_spec.get("ttlSecondsAfterFinished") != spec.get("ttlSecondsAfterFinished"):
        patch["spec"]["ttlSecondsAfterFinished"] = spec.get("ttlSecondsAfterFinished")
    return patch if patch["spec"] or "metadata" in patch else None
