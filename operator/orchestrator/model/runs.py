"""Decides what one AdhocCommand's run needs from the Jobs that exist (pure)."""

from __future__ import annotations

import dataclasses

from orchestrator.model.approval import gate_of
from orchestrator.model.config import Config
from orchestrator.model.jobs import ANNOTATION_SPEC_HASH, InvalidSpec, job_for, run_hash
from orchestrator.model.names import LABEL_GENERATION
from orchestrator.model.objects import Obj
from orchestrator.model.spec import is_finished_phase


@dataclasses.dataclass
class Plan:
    current: Obj | None = None  # the Job of the run the status describes
    create: Obj | None = None  # a Job to create for a new run
    delete: list[Obj] = dataclasses.field(default_factory=list)  # Jobs of replaced runs
    job_patch: Obj | None = None  # suspend / TTL toggles of the current Job
    error: tuple[str, str] | None = None  # why no run can start
    waiting: tuple[str, str] | None = None  # why the run has not started yet (AwaitingApproval)
    held: bool = False  # no Job for this generation: it awaits approval or was rejected
    job_gone: bool = False  # this generation's Job was made and is gone since
    delete_adhoc: bool = False  # the TTL after finishing is up


def job_generation(job: Obj) -> int:
    try:
        return int(job["metadata"].get("labels", {}).get(LABEL_GENERATION, "0"))
    except ValueError:
        return 0


def is_finished(job: Obj) -> bool:
    return any(
        c.get("type") in ("Complete", "Failed") and c.get("status") == "True"
        for c in (job.get("status") or {}).get("conditions") or []
    )


def plan_for(adhoc: Obj, jobs: list[Obj], config: Config) -> Plan:
    """What to do so that exactly one Job runs the AdhocCommand's current spec."""
    spec = adhoc.get("spec") or {}
    status = adhoc.get("status") or {}
    generation = int(adhoc["metadata"].get("generation") or 1)
    live = [j for j in jobs if not j["metadata"].get("deletionTimestamp")]
    newest = max(live, key=job_generation) if live else None
    others = [j for j in live if j is not newest]

    try:
        wanted = job_for(adhoc, config)
    except InvalidSpec as err:
        return Plan(error=("InvalidSpec", str(err)), delete=live)

    if newest is not None and (
        newest["metadata"].get("annotations", {}).get(ANNOTATION_SPEC_HASH) == run_hash(spec)
        or newest["metadata"]["name"] == wanted["metadata"]["name"]
    ):
        # Same command as the running Job: only suspend or TTL may have changed.
        plan = Plan(current=newest, delete=others)
        job_spec = newest.get("spec") or {}
        patch: Obj = {}
        if not is_finished(newest) and bool(job_spec.get("suspend")) != bool(spec.get("suspend")):
            patch["suspend"] = bool(spec.get("suspend"))
        if job_spec.get("ttlSecondsAfterFinished") != spec.get("ttlSecondsAfterFinished"):
            patch["ttlSecondsAfterFinished"] = spec.get("ttlSecondsAfterFinished")
        plan.job_patch = {"spec": patch} if patch else None
        return plan

    ran_already = status.get("observedGeneration") == generation and status.get("jobName") == wanted["metadata"]["name"]
    if newest is None and ran_already:
        # This run's Job existed and is gone: after the TTL, or deleted by someone.
        finished = is_finished_phase(status)
        return Plan(
            job_gone=True,
            delete_adhoc=finished and spec.get("ttlSecondsAfterFinished") is not None,
        )
    gate = gate_of(adhoc)
    if not gate.open:  # held or rejected: no Job; a replaced run's Job still goes
        return Plan(error=gate.rejection(), waiting=gate.waiting(), delete=live, held=True)
    return Plan(create=wanted, delete=live)
