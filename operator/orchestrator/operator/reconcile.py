"""Brings one AdhocCommand's run in line with its spec: the pure decisions (model/runs.py which
Job, model/status.py what status, model/pacing.py when), applied through the Kubernetes API.
Starting a run is starter.py's, keeping output and history keeper.py's, and what this process
wrote but its watches do not show yet recent.py's."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

from orchestrator.kube.errors import ApiError
from orchestrator.model import pacing
from orchestrator.model.concurrency import Peer, waits_for
from orchestrator.model.config import Config
from orchestrator.model.notify import AWAITING_APPROVAL, FINISHED
from orchestrator.model.objects import Obj, timestamp
from orchestrator.model.output import StoredOutput
from orchestrator.model.runs import plan_for, pod_refused
from orchestrator.model.spec import is_finished_phase
from orchestrator.model.status import keep_transition_times, merge_patch, pod_behind, settling, status_from
from orchestrator.operator import metrics
from orchestrator.operator.keeper import OutputKeeper
from orchestrator.operator.ports import EventSink, KubeApi
from orchestrator.operator.recent import Recent
from orchestrator.operator.starter import RunStarter, owned_by
from orchestrator.operator.world import World

log = logging.getLogger(__name__)
AWAITING = "AwaitingApproval"


class Reconciler:
    def __init__(
        self,
        kube: KubeApi,
        config: Config,
        event: EventSink,
        clock: Callable[[], str] = timestamp,
        monotonic: Callable[[], float] = time.monotonic,
        notify: Callable[[str, Obj, Obj, str | None], None] | None = None,
    ):
        self.kube, self.config, self.event, self.clock, self.monotonic = kube, config, event, clock, monotonic
        self.notify = notify  # told of each run's end and wait for approval (the webhook), never waited for
        self.recent = Recent()
        self.keeper = OutputKeeper(kube, config, event, self.recent)
        self.starter = RunStarter(kube, config, event, self.recent, self.keeper, monotonic)

    async def reconcile(self, world: World, busy: int = 0) -> float | None:
        """Does what is due, `busy` runs queued or running beside this one; returns in how many seconds
        to come back, if something waits."""
        adhoc = world.adhoc
        if adhoc is None or adhoc["metadata"].get("deletionTimestamp"):
            return None  # owner references take the Job, pods and ConfigMap with it
        meta = adhoc["metadata"]
        uid, namespace, name = meta["uid"], meta["namespace"], meta["name"]
        generation = int(meta.get("generation") or 1)

        old_status = self.recent.status(uid, adhoc.get("status") or {})
        adhoc = {**adhoc, "status": old_status}
        # The other runs of its concurrencyKey, with the Jobs this process made for them lately.
        peers = [Peer(p.adhoc, self.recent.jobs(p.adhoc["metadata"]["uid"], list(p.jobs))) for p in world.peers]
        behind = waits_for(adhoc, peers, datetime.now(UTC))
        plan = plan_for(adhoc, self.recent.jobs(uid, world.jobs), self.config, queued=behind)
        error, current = plan.error, plan.current

        if plan.delete_adhoc:
            self.event(adhoc, "Normal", "Expired", "ttlSecondsAfterFinished is up: deleting")
            await self.kube.delete_adhoc(namespace, name, uid)
            self.recent.forget(uid)
            return None

        await self._stop(adhoc, plan.delete, generation)
        if plan.held:
            wait = await self._hold(world, adhoc, plan.waiting, plan.error, busy)
            return min((w for w in (wait, plan.recheck) if w is not None), default=None)

        if plan.create is not None:
            started = await self.starter.start(adhoc, plan.create)
            if started.waiting is not None:
                return await self._wait_for_template(started.adhoc, started.waiting, busy)
            if started.error is None:
                return None  # the new Job's own watch event brings the first status, one write later
            adhoc, current, error = started.adhoc, started.job, started.error
        if plan.job_patch is not None and current is not None:
            current = await self._patch_job(world, adhoc, current, plan.job_patch)
        if plan.job_gone:
            if is_finished_phase(old_status):
                return None  # the finished run's status stays as it was
            current = await self.kube.get_job(namespace, old_status.get("jobName", ""))
            if current is None:
                error = ("JobDeleted", f"Job {old_status.get('jobName')} was deleted before it finished")

        if pacing.ended(old_status, generation, current):
            return None  # a finished run's status outlives its pods (PodGC past 12,500, a delete)
        return await self._report(world, adhoc, current, error, busy)

    async def _hold(
        self, world: World, adhoc: Obj, waiting: tuple[str, str] | None, error: tuple[str, str] | None, busy: int
    ) -> float | None:
        """A run awaiting approval (Pending) or rejected (Failed): no Job, and the last run goes
        to the history all the same. The approval, an annotation, brings the next watch event."""
        adhoc = await self.keeper.keep_history(adhoc)
        if waiting is not None:
            return await self._wait(adhoc, waiting, busy)
        return await self._report(world, adhoc, None, error, busy)

    async def _report(
        self, world: World, adhoc: Obj, current: Obj | None, error: tuple[str, str] | None, busy: int
    ) -> float | None:
        """Keeps the output of a pod that ended and writes the run's status."""
        old_status, uid = adhoc["status"], adhoc["metadata"]["uid"]
        pods = [p for p in world.pods if current is not None and owned_by(p, current["metadata"]["uid"])]
        if error is None and (wait := self._pod_catching_up(uid, current, pods)):
            return wait
        stored = self.recent.output(uid, world.stored)
        if current is not None and error is None:
            stored = await self.keeper.capture(adhoc, current, pods, stored)
        if error is None and settling(current, pods):
            return None  # the Job's next update brings the final status: write that one only
        look_again = await self._look_for_refusal(adhoc, current, pods) if error is None else None
        status = self._status_of(adhoc, current, pods, stored, error)
        wait = await self._write_status(adhoc, keep_transition_times(status, old_status), old_status, busy)
        return min((w for w in (wait, look_again) if w is not None), default=None)

    async def _look_for_refusal(self, adhoc: Obj, job: Obj | None, pods: list[Obj]) -> float | None:
        """Why the Job's pod is missing, from the Job controller's FailedCreate event, read only
        when the Job's status says its pod is (model/runs.pod_refused); looked for again, less and
        less often, until found. Returns the seconds until the next look."""
        uid = adhoc["metadata"]["uid"]
        if job is None or not pod_refused(job, pods):
            self.recent.refusals.pop(uid, None)
            self.recent.refusal_looks.pop(uid, None)
            return None
        job_uid = job["metadata"]["uid"]
        if self.recent.refusals.get(uid, ("",))[0] == job_uid:
            return None
        # The run's own namespace only: an Event anyone posts elsewhere naming its Job is not its.
        try:
            message = await self.kube.refusal_of(adhoc["metadata"]["namespace"], job_uid)
        except ApiError as err:  # the status is written all the same, without the reason
            log.warning("FailedCreate events of Job %s not read: %s", job["metadata"].get("name"), err)
            if not err.transient:
                self.recent.refusals[uid] = (job_uid, "")  # not asked again for this Job
                return None
            message = None
        if message:
            self.recent.refusals[uid] = (job_uid, message)
            self.recent.refusal_looks.pop(uid, None)
            return None
        looks = self.recent.refusal_looks[uid] = self.recent.refusal_looks.get(uid, 0) + 1
        return pacing.refusal_recheck(looks)

    def _pod_catching_up(self, uid: str, job: Obj | None, pods: list[Obj]) -> float | None:
        """Seconds to wait for a pod whose watch is behind its finished Job's (None: go on)."""
        if not pod_behind(job, pods):
            self.recent.behind_since.pop(uid, None)
            return None
        return pacing.catch_up_wait(self.recent.behind_since.setdefault(uid, self.monotonic()), self.monotonic())

    async def _stop(self, adhoc: Obj, jobs: list[Obj], generation: int) -> None:
        """Deletes the Jobs of runs a new spec replaced."""
        for old in jobs:
            meta = old["metadata"]
            await self.kube.delete_job(adhoc["metadata"]["namespace"], meta["name"], meta["uid"])
            message = f"stopped Job {meta['name']}: the spec changed (generation {generation})"
            self.event(adhoc, "Normal", "RunReplaced", message)

    async def _wait(self, adhoc: Obj, why: tuple[str, str], busy: int) -> float | None:
        """A run that has not started: Pending, saying why."""
        status = status_from(adhoc, None, [], None, self.clock(), waiting=why)
        if adhoc["status"].get("history"):
            status["history"] = adhoc["status"]["history"]
        return await self._write_status(adhoc, keep_transition_times(status, adhoc["status"]), adhoc["status"], busy)

    async def _wait_for_template(self, adhoc: Obj, message: str, busy: int) -> float:
        """spec.from names a workload that is missing: Pending (TemplateNotFound), looked at again
        and again, less often as it stays missing (a GitOps sync may create it after the AdhocCommand)."""
        await self._wait(adhoc, ("TemplateNotFound", message), busy)
        uid = adhoc["metadata"]["uid"]
        looks = self.recent.template_looks[uid] = self.recent.template_looks.get(uid, 0) + 1
        return pacing.template_recheck(looks)

    def _status_of(
        self,
        adhoc: Obj,
        job: Obj | None,
        pods: list[Obj],
        stored: StoredOutput | None,
        error: tuple[str, str] | None,
    ) -> Obj:
        known = self.recent.refusals.get(adhoc["metadata"]["uid"])  # its message "": events unreadable
        refusal = (known[1] or None) if known and job is not None and known[0] == job["metadata"]["uid"] else None
        status = status_from(adhoc, job, pods, stored, self.clock(), error, refusal)
        conflict = self.recent.conflicts.get(adhoc["metadata"]["uid"])
        if conflict and is_finished_phase(status) and "logs" not in status:
            status["reason"], status["message"] = "OutputConflict", conflict
        if adhoc["status"].get("history"):
            status["history"] = adhoc["status"]["history"]  # the one part of a status carried over
        return status

    async def _patch_job(self, world: World, adhoc: Obj, job: Obj, patch: Obj) -> Obj:
        """Suspends, resumes, cancels or re-times the current run's Job."""
        if "metadata" in patch:  # cancelled: what its pod printed so far is kept before it goes
            pods = [p for p in world.pods if owned_by(p, job["metadata"]["uid"])]
            stored = self.recent.output(adhoc["metadata"]["uid"], world.stored)
            await self.keeper.capture_so_far(adhoc, job, pods, stored)
        patched = await self.kube.patch_job(adhoc["metadata"]["namespace"], job["metadata"]["name"], patch)
        if "metadata" in patch:
            self.event(adhoc, "Normal", "Cancelled", f"Job {patched['metadata']['name']} stopped: spec.cancel")
        elif "suspend" in patch["spec"]:
            verb = "suspended" if patch["spec"]["suspend"] else "resumed"
            self.event(adhoc, "Normal", verb.capitalize(), f"Job {patched['metadata']['name']} {verb}")
        return patched

    async def _write_status(self, adhoc: Obj, status: Obj, old_status: Obj, busy: int) -> float | None:
        """Writes the status when it changed: a final one at once, one of a run under way at most
        once an interval (returns how long it waits instead)."""
        meta = adhoc["metadata"]
        uid, namespace, name = meta["uid"], meta["namespace"], meta["name"]
        patch = merge_patch(status, old_status)
        if patch is None:
            return None
        if is_finished_phase(status):
            self.recent.told_at.pop(uid, None)
            # Its output is in the status now; a Secret's would otherwise stay remembered for
            # good (the operator does not watch Secrets, so no watch event ever replaces it).
            self.recent.stored.pop(uid, None)
        else:
            interval = pacing.status_interval(
                self.config.status_interval_seconds, busy, pacing.significant(status, old_status)
            )
            wait = self.recent.told_at.get(uid, -1e9) + interval - self.monotonic()
            if wait > 0:
                return wait  # a run under way: this state is written a moment later, with any after it
            self.recent.told_at[uid] = self.monotonic()
        log.debug("status of %s/%s: %s", namespace, name, {k: v for k, v in patch.items() if k != "conditions"})
        await self.kube.patch_status(namespace, name, patch)
        self.recent.written[uid] = status
        self._announce(adhoc, old_status, status, int(meta.get("generation") or 1))
        return None

    def _announce(self, adhoc: Obj, old: Obj, new: Obj, generation: int) -> None:
        waited = (old.get("reason"), old.get("observedGeneration")) == (AWAITING, generation)
        if new.get("reason") == AWAITING and not waited:
            self.event(adhoc, "Normal", AWAITING, new.get("message", ""))
            if self.notify is not None:
                self.notify(AWAITING_APPROVAL, adhoc, new, None)
        was_finished = is_finished_phase(old) and old.get("observedGeneration") == generation
        if is_finished_phase(new) and not was_finished:
            detail = f"exit code {new['exitCode']}" if "exitCode" in new else new.get("reason", "")
            message = f"{new['phase']}: {detail}".rstrip(": ")
            if new.get("message"):
                message += f": {new['message']}"
            if new["phase"] != "Succeeded":
                self.event(adhoc, "Warning", new["phase"], message)
            elif self.config.success_events:
                self.event(adhoc, "Normal", new["phase"], message)
            metrics.run_finished(new)
            tail = self.recent.tails.pop(adhoc["metadata"]["uid"], None)
            if self.notify is not None:
                self.notify(FINISHED, adhoc, new, tail)

    def forget_all(self) -> None:
        """What this process wrote is no guide once another replica has acted."""
        self.recent.forget_all()
