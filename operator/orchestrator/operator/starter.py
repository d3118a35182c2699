"""Starts a new run: its Job built (on spec.from's template, read now), the last run kept in the
history, the Job created, or adopted when an earlier attempt created it already."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import NamedTuple

from orchestrator.kube.errors import ApiError
from orchestrator.model.config import Config
from orchestrator.model.jobs import InvalidSpec, job_for
from orchestrator.model.objects import Obj
from orchestrator.model.workloads import described, pod_template_of, source_error
from orchestrator.operator import metrics
from orchestrator.operator.keeper import OutputKeeper
from orchestrator.operator.ports import EventSink, KubeApi
from orchestrator.operator.recent import Recent


class Started(NamedTuple):
    adhoc: Obj  # as now known (its history may have grown)
    job: Obj | None  # the run's Job, created or adopted
    error: tuple[str, str] | None  # why there is none: (reason, message)
    waiting: str | None  # spec.from's workload is missing: why the run waits


def owned_by(obj: Obj, uid: str) -> bool:
    return any(o.get("uid") == uid for o in obj["metadata"].get("ownerReferences") or [])


class RunStarter:
    def __init__(
        self,
        kube: KubeApi,
        config: Config,
        event: EventSink,
        recent: Recent,
        keeper: OutputKeeper,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.kube, self.config, self.event, self.recent, self.keeper = kube, config, event, recent, keeper
        self.monotonic = monotonic

    async def start(self, adhoc: Obj, planned: Obj) -> Started:
        job, waiting = await self._job_to_create(adhoc, planned)
        if waiting is not None:
            return Started(adhoc, None, None, waiting)
        adhoc = await self.keeper.keep_history(adhoc)
        if isinstance(job, str):
            return Started(adhoc, None, ("InvalidSpec", job), None)
        created, error = await self._create(adhoc, job)
        return Started(adhoc, created, error, None)

    async def _job_to_create(self, adhoc: Obj, planned: Obj) -> tuple[Obj | str, str | None]:
        """The new run's Job: as planned, or with spec.from built on the workload's pod template.
        Returns (Job, None), (why it cannot be built, None) or (planned, why it waits)."""
        source = (adhoc.get("spec") or {}).get("from")
        if not source:
            return planned, None
        refused = source_error(source)
        if refused is not None:
            return refused, None
        namespace = adhoc["metadata"]["namespace"]
        workload = await self.kube.get_workload(source["kind"], namespace, source["name"])
        if workload is None:
            return planned, f"{described(source)} not found in namespace {namespace}: the run starts once it exists"
        self.recent.template_looks.pop(adhoc["metadata"]["uid"], None)
        try:
            return job_for(adhoc, self.config, pod_template_of(source["kind"], workload)), None
        except InvalidSpec as err:
            return str(err), None

    async def _create(self, adhoc: Obj, job: Obj) -> tuple[Obj | None, tuple[str, str] | None]:
        uid = adhoc["metadata"]["uid"]
        job_name = job["metadata"]["name"]
        try:
            created = await self.kube.create_job(job)
        except ApiError as err:
            if err.status == 409:  # created before a restart or a retry: adopt it if it is ours
                return await self._adopt(adhoc, job)
            if err.transient:
                raise
            message = f"the API server refused Job {job_name}: {err.message}"
            self.event(adhoc, "Warning", "JobRejected", message)
            return None, ("JobRejected", message)
        self.recent.created[uid] = created
        metrics.RUNS_STARTED.inc()
        self.recent.told_at[uid] = self.monotonic()  # a run that ends within the interval gets one status write
        # No event of its own: the Job controller posts SuccessfulCreate on the Job, status.jobName
        # names it, and a run's end gets its event (one POST a run fewer for the API server).
        return created, None

    async def _adopt(self, adhoc: Obj, job: Obj) -> tuple[Obj | None, tuple[str, str] | None]:
        job_name = job["metadata"]["name"]
        existing = await self.kube.get_job(job["metadata"]["namespace"], job_name)
        if existing is None:
            raise ApiError(409, f"Job {job_name} was deleted meanwhile", "Conflict")  # a retry creates it again
        if not owned_by(existing, adhoc["metadata"]["uid"]):
            message = f"Job {job_name} exists and is not owned by this AdhocCommand"
            self.event(adhoc, "Warning", "JobConflict", message)
            return None, ("JobConflict", message)
        self.recent.created[adhoc["metadata"]["uid"]] = existing
        return existing, None
