"""Brings one AdhocCommand's run in line with its spec: the pure decisions, applied via kube."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

from orchestrator.kube.client import ApiError, NotOwned
from orchestrator.model.config import Config
from orchestrator.model.history import history_limit, kept_output, rotated
from orchestrator.model.jobs import InvalidSpec, job_for
from orchestrator.model.names import controller_of
from orchestrator.model.objects import Obj, timestamp
from orchestrator.model.output import BoundedOutput, StoredOutput, configmap_for, secret_for, stored_output_from
from orchestrator.model.runs import is_finished, job_generation, plan_for
from orchestrator.model.spec import CONTAINER, is_finished_phase, logs_storage, max_bytes
from orchestrator.model.status import (
    is_terminated,
    keep_transition_times,
    merge_patch,
    pod_behind,
    settling,
    sorted_pods,
    status_from,
)
from orchestrator.model.workloads import described, pod_template_of, source_error
from orchestrator.operator import metrics
from orchestrator.operator.world import World

log = logging.getLogger(__name__)
# What a user watches a run for (kubectl get's STATUS, a reason to act on) is written after the
# status interval; counts, times, pod names and the reasons every pod passes through wait ten.
MINOR_CHANGE_FACTOR = 10
# Under load the interval stretches: with N runs in the queue, N / RUNS_PER_INTERVAL intervals
# (at most MAX_STRETCH). In a burst of hundreds a run's state under way is written every few
# seconds, most runs end before it is, and the end is written at once: the API server's time
# goes to running them.
RUNS_PER_INTERVAL = 25
MAX_STRETCH = 30
# Seconds between looks for a missing spec.from workload: 10, then doubling to at most 160 (one
# that never comes costs a GET every few minutes, not every 10 s).
TEMPLATE_RECHECK = 10.0
TEMPLATE_RECHECK_MAX = 160.0
# How long a finished run waits for its pod's watch to catch up before its status is written
# without the pod's word (exit code); the pod's update normally comes within a second or two.
POD_CATCH_UP = 30.0
PASSING_REASONS = frozenset({"ContainerCreating", "PodInitializing"})


class KubeApi(Protocol):
    """What the reconciler asks of the Kubernetes API: kube.Kube implements it, and so does the
    unit tests' in-memory stand-in (mypy checks both)."""

    async def create_job(self, job: Obj) -> Obj: ...
    async def get_job(self, namespace: str, name: str) -> Obj | None: ...
    async def patch_job(self, namespace: str, name: str, patch: Obj) -> Obj: ...
    async def delete_job(self, namespace: str, name: str, uid: str) -> None: ...
    async def patch_status(self, namespace: str, name: str, patch: Obj) -> Obj: ...
    async def delete_adhoc(self, namespace: str, name: str, uid: str) -> None: ...
    async def read_log(self, namespace: str, pod: str, container: str, sink: Callable[[bytes], None]) -> None: ...
    async def get_workload(self, kind: str, namespace: str, name: str) -> Obj | None: ...
    async def get_configmap(self, namespace: str, name: str) -> Obj | None: ...
    async def store_configmap(self, configmap: Obj) -> Obj: ...
    async def store_secret(self, secret: Obj) -> None: ...
    async def delete_configmap(self, namespace: str, name: str, owner_uid: str) -> bool: ...


class EventSink(Protocol):
    def __call__(self, adhoc: Obj, type_: str, reason: str, message: str) -> None: ...


def _conflict(name: str, what: str, kind: str = "ConfigMap") -> str:
    return (
        f"{kind} {name} exists and is not owned by this AdhocCommand: {what} was not stored there "
        f"(rename or delete that {kind}, then rerun)"
    )


def _owned_by(obj: Obj, uid: str) -> bool:
    return any(o.get("uid") == uid for o in obj["metadata"].get("ownerReferences") or [])


def _ended(status: Obj, generation: int, job: Obj | None) -> bool:
    """The run of this generation ended and its status says so: nothing about it changes any
    more, whatever becomes of its pods."""
    return (
        is_finished_phase(status)
        and status.get("observedGeneration") == generation
        and job is not None
        and status.get("jobName") == job["metadata"].get("name")
        and is_finished(job)
    )


def _significant(new: Obj, old: Obj) -> bool:
    """Whether a status change of a run under way is one a user acts on or watches for."""
    if any(new.get(k) != old.get(k) for k in ("phase", "observedGeneration", "jobName")):
        return True
    if (new.get("reason"), new.get("message")) == (old.get("reason"), old.get("message")):
        return False
    return bool(new.get("reason")) and new.get("reason") not in PASSING_REASONS


class Reconciler:
    def __init__(
        self,
        kube: KubeApi,
        config: Config,
        event: EventSink,
        clock: Callable[[], str] = timestamp,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        self.kube = kube
        self.config = config
        self.event = event
        self.clock = clock
        self.monotonic = monotonic
        # adhoc uid -> when its run last told of itself (Job created, or an in-progress status written)
        self._written_at: dict[str, float] = {}
        self.load: Callable[[], int] = lambda: 0  # runs waiting for their reconciliation (the queue's)
        # What this process wrote and its watches may not show yet; dropped once they do.
        self._created: dict[str, Obj] = {}  # adhoc uid -> Job created
        self._stored: dict[str, StoredOutput] = {}  # adhoc uid -> output stored
        self._status: dict[str, Obj] = {}  # adhoc uid -> status written
        self._behind_since: dict[str, float] = {}  # adhoc uid -> when its pod was first seen behind its Job
        self._conflicts: dict[str, str] = {}  # adhoc uid -> why its output could not be stored
        self._template_looks: dict[str, int] = {}  # adhoc uid -> looks for its missing spec.from workload

    async def reconcile(self, world: World) -> float | None:
        """Does what is due; returns in how many seconds to come back, if a status write waits."""
        adhoc = world.adhoc
        if adhoc is None or adhoc["metadata"].get("deletionTimestamp"):
            return None  # owner references take the Job, pods and ConfigMap with it
        meta = adhoc["metadata"]
        uid, namespace, name = meta["uid"], meta["namespace"], meta["name"]
        generation = int(meta.get("generation") or 1)

        old_status = self._recent_status(uid, adhoc.get("status") or {})
        adhoc = {**adhoc, "status": old_status}
        jobs = self._with_created(uid, world.jobs)
        plan = plan_for(adhoc, jobs, self.config)
        error = plan.error
        current = plan.current

        if plan.delete_adhoc:
            self.event(adhoc, "Normal", "Expired", "ttlSecondsAfterFinished is up: deleting")
            await self.kube.delete_adhoc(namespace, name, uid)
            self._forget(uid)
            return None

        await self._stop(adhoc, plan.delete, generation)

        if plan.create is not None:
            adhoc, current, error, wait = await self._start_run(adhoc, plan.create)
            if wait is not None:
                return wait  # spec.from names a workload not there yet
            if error is None:
                return None  # the new Job's own watch event brings the first status, one write later
        if plan.job_patch is not None and current is not None:
            current = await self._patch_job(adhoc, current, plan.job_patch)
        if plan.job_gone:
            if is_finished_phase(old_status):
                return None  # the finished run's status stays as it was
            current = await self.kube.get_job(namespace, old_status.get("jobName", ""))
            if current is None:
                error = ("JobDeleted", f"Job {old_status.get('jobName')} was deleted before it finished")

        if _ended(old_status, generation, current):
            return None  # a finished run's status outlives its pods (PodGC past 12,500, a delete)
        return await self._report(world, adhoc, current, error)

    async def _report(
        self, world: World, adhoc: Obj, current: Obj | None, error: tuple[str, str] | None
    ) -> float | None:
        """Keeps the output of a pod that ended and writes the run's status."""
        old_status, uid = adhoc["status"], adhoc["metadata"]["uid"]
        pods = [p for p in world.pods if current is not None and _owned_by(p, current["metadata"]["uid"])]
        if error is None and (wait := self._pod_catching_up(uid, current, pods)):
            return wait
        stored = self._latest_stored(uid, world.stored, pods)
        if current is not None and error is None:
            stored = await self._capture_output(adhoc, current, pods, stored)
        if error is None and settling(current, pods):
            return None  # the Job's next update brings the final status: write that one only
        status = self._status_of(world, adhoc, current, pods, stored, error)
        return await self._write_status(adhoc, keep_transition_times(status, old_status), old_status)

    def _pod_catching_up(self, uid: str, job: Obj | None, pods: list[Obj]) -> float | None:
        """Seconds to wait for a pod whose watch is behind its finished Job's (None: go on)."""
        if not pod_behind(job, pods):
            self._behind_since.pop(uid, None)
            return None
        wait = self._behind_since.setdefault(uid, self.monotonic()) + POD_CATCH_UP - self.monotonic()
        return wait if wait > 0 else None

    async def _stop(self, adhoc: Obj, jobs: list[Obj], generation: int) -> None:
        """Deletes the Jobs of runs a new spec replaced."""
        for old in jobs:
            meta = old["metadata"]
            await self.kube.delete_job(adhoc["metadata"]["namespace"], meta["name"], meta["uid"])
            message = f"stopped Job {meta['name']}: the spec changed (generation {generation})"
            self.event(adhoc, "Normal", "RunReplaced", message)

    async def _start_run(
        self, adhoc: Obj, planned: Obj
    ) -> tuple[Obj, Obj | None, tuple[str, str] | None, float | None]:
        """A new run: its Job built (on spec.from's template), the last run kept in the history,
        the Job created. Returns the AdhocCommand as now known, the Job, why it could not be
        created, and in how many seconds to look again when it waits for its template."""
        job, waiting = await self._job_to_create(adhoc, planned)
        if waiting is not None:
            return adhoc, None, None, await self._wait_for_template(adhoc, waiting)
        adhoc = await self._keep_history(adhoc)
        if isinstance(job, str):
            return adhoc, None, ("InvalidSpec", job), None
        current, error = await self._create_job(adhoc, job)
        return adhoc, current, error, None

    async def _job_to_create(self, adhoc: Obj, planned: Obj) -> tuple[Obj | str, str | None]:
        """The new run's Job: as planned, or with spec.from built on the workload's pod template,
        read now. Returns (Job, None), (why it cannot be built, None) or (None, why it waits)."""
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
        self._template_looks.pop(adhoc["metadata"]["uid"], None)
        try:
            return job_for(adhoc, self.config, pod_template_of(source["kind"], workload)), None
        except InvalidSpec as err:
            return str(err), None

    async def _wait_for_template(self, adhoc: Obj, message: str) -> float:
        """spec.from names a workload that is missing: Pending (TemplateNotFound), looked at again
        again and again, less often as it stays missing (a GitOps sync may create it after the AdhocCommand)."""
        status = status_from(adhoc, None, [], None, self.clock(), waiting=("TemplateNotFound", message))
        if adhoc["status"].get("history"):
            status["history"] = adhoc["status"]["history"]
        await self._write_status(adhoc, keep_transition_times(status, adhoc["status"]), adhoc["status"])
        uid = adhoc["metadata"]["uid"]
        looks = self._template_looks[uid] = self._template_looks.get(uid, 0) + 1
        return min(TEMPLATE_RECHECK * 2 ** (looks - 1), TEMPLATE_RECHECK_MAX)

    def _status_of(
        self,
        world: World,
        adhoc: Obj,
        job: Obj | None,
        pods: list[Obj],
        stored: StoredOutput | None,
        error: tuple[str, str] | None,
    ) -> Obj:
        refusal = world.refusals.get(job["metadata"]["uid"]) if job is not None else None
        status = status_from(adhoc, job, pods, stored, self.clock(), error, refusal)
        conflict = self._conflicts.get(adhoc["metadata"]["uid"])
        if conflict and is_finished_phase(status) and "logs" not in status:
            status["reason"], status["message"] = "OutputConflict", conflict
        if adhoc["status"].get("history"):
            status["history"] = adhoc["status"]["history"]  # the one part of a status carried over
        return status

    async def _keep_history(self, adhoc: Obj) -> Obj:
        """Before a new run starts: the run the status describes becomes the newest history entry,
        its output is copied to <name>-logs-<generation>, and what leaves the history is deleted.
        Done before the new Job exists, so that a crash in between loses nothing (and a retry
        adds no entry twice)."""
        meta, status = adhoc["metadata"], adhoc["status"]
        limit = min(history_limit(adhoc.get("spec") or {}), self.config.max_history)
        history, dropped = rotated(status, meta["name"], limit)
        if history == (status.get("history") or []) and not dropped:
            return adhoc
        newest = history[0] if history else None
        if newest and newest.get("logsConfigMap") and newest.get("generation") == status.get("observedGeneration"):
            current = await self.kube.get_configmap(meta["namespace"], status["logs"]["configMap"])
            if current is None or controller_of(current) != meta["uid"]:
                del newest["logsConfigMap"]  # its output was deleted meanwhile (or is not ours)
            else:
                try:
                    await self.kube.store_configmap(kept_output(current, adhoc, newest["generation"]))
                except NotOwned as err:
                    del newest["logsConfigMap"]
                    self.event(adhoc, "Warning", "OutputConflict", _conflict(err.name, "the previous run's output"))
        for name in dropped:
            await self.kube.delete_configmap(meta["namespace"], name, meta["uid"])
        await self.kube.patch_status(meta["namespace"], meta["name"], {"history": history})
        status = {**status, "history": history}
        self._status[meta["uid"]] = status
        return {**adhoc, "status": status}

    async def _patch_job(self, adhoc: Obj, job: Obj, patch: Obj) -> Obj:
        """Suspends, resumes or re-times the current run's Job."""
        patched = await self.kube.patch_job(adhoc["metadata"]["namespace"], job["metadata"]["name"], patch)
        if "suspend" in patch["spec"]:
            suspended = patch["spec"]["suspend"]
            self.event(
                adhoc,
                "Normal",
                "Suspended" if suspended else "Resumed",
                f"Job {patched['metadata']['name']} {'suspended' if suspended else 'resumed'}",
            )
        return patched

    async def _write_status(self, adhoc: Obj, status: Obj, old_status: Obj) -> float | None:
        """Writes the status when it changed: a final one at once, one of a run under way at most
        once an interval (returns how long it waits instead)."""
        meta = adhoc["metadata"]
        uid, namespace, name = meta["uid"], meta["namespace"], meta["name"]
        patch = merge_patch(status, old_status)
        if patch is None:
            return None
        if is_finished_phase(status):
            self._written_at.pop(uid, None)
            # Its output is in the status now; a Secret's would otherwise stay remembered for
            # good (the operator does not watch Secrets, so no watch event ever replaces it).
            self._stored.pop(uid, None)
        else:
            stretch = min(MAX_STRETCH, max(1.0, self.load() / RUNS_PER_INTERVAL))
            interval = self.config.status_interval_seconds * stretch
            if not _significant(status, old_status):
                interval *= MINOR_CHANGE_FACTOR
            wait = self._written_at.get(uid, -1e9) + interval - self.monotonic()
            if wait > 0:
                return wait  # a run under way: this state is written a moment later, with any after it
            self._written_at[uid] = self.monotonic()
        log.debug("status of %s/%s: %s", namespace, name, {k: v for k, v in patch.items() if k != "conditions"})
        await self.kube.patch_status(namespace, name, patch)
        self._status[uid] = status
        self._announce(adhoc, old_status, status, int(meta.get("generation") or 1))
        return None

    async def _create_job(self, adhoc: Obj, job: Obj) -> tuple[Obj | None, tuple[str, str] | None]:
        uid = adhoc["metadata"]["uid"]
        job_name = job["metadata"]["name"]
        try:
            created = await self.kube.create_job(job)
        except ApiError as err:
            if err.status == 409:  # created before a restart or a retry: adopt it if it is ours
                existing = await self.kube.get_job(job["metadata"]["namespace"], job_name)
                if existing is None:
                    raise  # deleted in between: a retry creates it again
                if not _owned_by(existing, uid):
                    message = f"Job {job_name} exists and is not owned by this AdhocCommand"
                    self.event(adhoc, "Warning", "JobConflict", message)
                    return None, ("JobConflict", message)
                self._created[uid] = existing
                return existing, None
            if err.transient:
                raise
            message = f"the API server refused Job {job_name}: {err.message}"
            self.event(adhoc, "Warning", "JobRejected", message)
            return None, ("JobRejected", message)
        self._created[uid] = created
        metrics.RUNS_STARTED.inc()
        self._written_at[uid] = self.monotonic()  # a run that ends within the interval gets one status write
        # No event of its own: the Job controller posts SuccessfulCreate on the Job, status.jobName
        # names it, and a run's end gets its event (one POST a run fewer for the API server).
        return created, None

    async def _capture_output(
        self, adhoc: Obj, job: Obj, pods: list[Obj], stored: StoredOutput | None
    ) -> StoredOutput | None:
        """Stores the output of the latest pod that ended, unless it is stored already."""
        ordered = sorted_pods(pods)
        finished = is_finished(job)
        target, attempt = None, 0
        for index, pod in enumerate(ordered):
            last = index == len(ordered) - 1
            if is_terminated(pod) or (last and finished):
                target, attempt = pod, index + 1
        if target is None:
            return stored
        target_uid = target["metadata"]["uid"]
        if stored is not None and (stored.pod_uid == target_uid or stored.attempt > attempt):
            return stored

        sink = BoundedOutput(min(max_bytes(adhoc.get("spec") or {}), self.config.max_log_bytes))
        error = ""
        try:
            await self.kube.read_log(adhoc["metadata"]["namespace"], target["metadata"]["name"], CONTAINER, sink.feed)
        except ApiError as err:
            if err.transient:
                raise
            error = f"the output could not be read: {err.message or err.status}"
            self.event(adhoc, "Warning", "OutputUnavailable", f"pod {target['metadata']['name']}: {error}")
        data, truncated = sink.result()
        kept = configmap_for(adhoc, target, attempt, job_generation(job), data, sink.total, truncated, error)
        if logs_storage(adhoc.get("spec") or {}) == "Secret":
            kept = secret_for(kept)
        uid = adhoc["metadata"]["uid"]
        try:
            if kept["kind"] == "Secret":
                await self.kube.store_secret(kept)
            else:
                await self.kube.store_configmap(kept)
        except NotOwned as err:
            if uid not in self._conflicts:
                self._conflicts[uid] = _conflict(err.name, "the output", err.kind)
                self.event(adhoc, "Warning", "OutputConflict", self._conflicts[uid])
            return stored
        self._conflicts.pop(uid, None)
        result = stored_output_from(kept)
        if result is not None:
            self._stored[uid] = result
        return result

    def _announce(self, adhoc: Obj, old: Obj, new: Obj, generation: int) -> None:
        was_finished = is_finished_phase(old) and old.get("observedGeneration") == generation
        if is_finished_phase(new) and not was_finished:
            detail = f"exit code {new['exitCode']}" if "exitCode" in new else new.get("reason", "")
            message = f"{new['phase']}: {detail}".rstrip(": ")
            if new.get("message"):
                message += f": {new['message']}"
            self.event(adhoc, "Normal" if new["phase"] == "Succeeded" else "Warning", new["phase"], message)
            metrics.run_finished(new)

    # What this process wrote, until the watches show it.

    def _recent_status(self, uid: str, seen: Obj) -> Obj:
        written = self._status.get(uid)
        if written is None:
            return seen
        if merge_patch(written, seen) is None:
            del self._status[uid]  # the watch caught up
            return seen
        return written

    def _with_created(self, uid: str, jobs: list[Obj]) -> list[Obj]:
        created = self._created.get(uid)
        if created is None:
            return jobs
        if any(j["metadata"].get("uid") == created["metadata"]["uid"] for j in jobs):
            del self._created[uid]
            return jobs
        return [*jobs, created]

    def _latest_stored(self, uid: str, seen: StoredOutput | None, pods: list[Obj]) -> StoredOutput | None:
        written = self._stored.get(uid)
        if written is None:
            return seen
        if seen is not None and seen.pod_uid == written.pod_uid:
            del self._stored[uid]
            return seen
        if seen is None or written.attempt >= seen.attempt or written.generation > seen.generation:
            return written
        return seen

    def _memories(self) -> tuple[dict[str, Any], ...]:
        """Everything this process remembers per AdhocCommand uid."""
        return (
            self._created,
            self._stored,
            self._status,
            self._written_at,
            self._behind_since,
            self._conflicts,
            self._template_looks,
        )

    def forget_all(self) -> None:
        """What this process wrote is no guide once another replica has acted."""
        for memory in self._memories():
            memory.clear()

    def _forget(self, uid: str) -> None:
        for memory in self._memories():
            memory.pop(uid, None)
