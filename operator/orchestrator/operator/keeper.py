"""Keeps what a run printed: its output stored when its pod ends (a ConfigMap, or a Secret on
request), and the last run's output kept in the history when a new run starts."""

from __future__ import annotations

from orchestrator.kube.client import NotOwned
from orchestrator.kube.errors import ApiError
from orchestrator.model.config import Config
from orchestrator.model.history import history_limit, kept_output, rotated
from orchestrator.model.names import controller_of
from orchestrator.model.notify import output_tail
from orchestrator.model.objects import Obj
from orchestrator.model.output import BoundedOutput, StoredOutput, configmap_for, secret_for, stored_output_from
from orchestrator.model.runs import is_finished, job_generation
from orchestrator.model.spec import CONTAINER, logs_storage, max_bytes
from orchestrator.model.status import is_terminated, sorted_pods
from orchestrator.operator import metrics
from orchestrator.operator.ports import EventSink, KubeApi
from orchestrator.operator.recent import Recent


def conflict(name: str, what: str, kind: str = "ConfigMap") -> str:
    return (
        f"{kind} {name} exists and is not owned by this AdhocCommand: {what} was not stored there "
        f"(rename or delete that {kind}, then rerun)"
    )


def output_to_keep(pods: list[Obj], job: Obj) -> tuple[Obj | None, int]:
    """The pod whose output is to be stored (the latest that ended) and its attempt (1 = first)."""
    ordered = sorted_pods(pods)
    finished = is_finished(job)
    target, attempt = None, 0
    for index, pod in enumerate(ordered):
        last = index == len(ordered) - 1
        if is_terminated(pod) or (last and finished):
            target, attempt = pod, index + 1
    return target, attempt


class OutputKeeper:
    def __init__(self, kube: KubeApi, config: Config, event: EventSink, recent: Recent) -> None:
        self.kube, self.config, self.event, self.recent = kube, config, event, recent
        self.keep_tails = bool(config.notify_url)  # the end of each output, for its notification

    async def capture(self, adhoc: Obj, job: Obj, pods: list[Obj], stored: StoredOutput | None) -> StoredOutput | None:
        """Stores the output of the latest pod that ended, unless it is stored already."""
        target, attempt = output_to_keep(pods, job)
        if target is None:
            return stored
        if stored is not None and (stored.pod_uid == target["metadata"]["uid"] or stored.attempt > attempt):
            return stored
        return await self._store(adhoc, await self._read(adhoc, target, attempt, job_generation(job)), stored)

    async def capture_so_far(
        self, adhoc: Obj, job: Obj, pods: list[Obj], stored: StoredOutput | None
    ) -> StoredOutput | None:
        """Stores what the latest pod printed until now (a run about to be cancelled: its pod
        and its log go with it)."""
        ordered = sorted_pods(pods)
        if not ordered:
            return stored
        read = await self._read(adhoc, ordered[-1], len(ordered), job_generation(job))
        return await self._store(adhoc, read, stored)

    async def _store(self, adhoc: Obj, kept: Obj, stored: StoredOutput | None) -> StoredOutput | None:
        uid = adhoc["metadata"]["uid"]
        try:
            if kept["kind"] == "Secret":
                await self.kube.store_secret(kept)
            else:
                await self.kube.store_configmap(kept)
        except NotOwned as err:
            if uid not in self.recent.conflicts:
                self.recent.conflicts[uid] = conflict(err.name, "the output", err.kind)
                self.event(adhoc, "Warning", "OutputConflict", self.recent.conflicts[uid])
            return stored
        self.recent.conflicts.pop(uid, None)
        result = stored_output_from(kept)
        if result is not None:
            self.recent.stored[uid] = result
            if result.truncated:
                metrics.OUTPUT_TRUNCATED.inc()
        return result

    async def _read(self, adhoc: Obj, pod: Obj, attempt: int, generation: int) -> Obj:
        """The ConfigMap (or Secret) holding `pod`'s output, bounded; a log that cannot be read
        is stored empty, saying why."""
        sink = BoundedOutput(min(max_bytes(adhoc.get("spec") or {}), self.config.max_log_bytes))
        error = ""
        try:
            await self.kube.read_log(adhoc["metadata"]["namespace"], pod["metadata"]["name"], CONTAINER, sink.feed)
        except ApiError as err:
            if err.transient:
                raise
            error = f"the output could not be read: {err.message or err.status}"
            self.event(adhoc, "Warning", "OutputUnavailable", f"pod {pod['metadata']['name']}: {error}")
        data, truncated = sink.result()
        kept = configmap_for(adhoc, pod, attempt, generation, data, sink.total, truncated, error)
        if logs_storage(adhoc.get("spec") or {}) == "Secret":
            return secret_for(kept)  # and no tail: a webhook must not see what view users may not
        if self.keep_tails:
            self.recent.tails[adhoc["metadata"]["uid"]] = output_tail(data)
        return kept

    async def keep_history(self, adhoc: Obj) -> Obj:
        """Before a new run starts: the run the status describes becomes the newest history entry,
        its output is copied to <name>-logs-<generation>, and what leaves the history is deleted.
        Done before the new Job exists, so that a crash in between loses nothing (and a retry
        adds no entry twice). Returns the AdhocCommand with that history."""
        meta, status = adhoc["metadata"], adhoc["status"]
        limit = min(history_limit(adhoc.get("spec") or {}), self.config.max_history)
        history, dropped = rotated(status, meta["name"], limit)
        if history == (status.get("history") or []) and not dropped:
            return adhoc
        newest = history[0] if history else None
        if newest and newest.get("logsConfigMap") and newest.get("generation") == status.get("observedGeneration"):
            await self._copy_output(adhoc, newest)
        for name in dropped:
            await self.kube.delete_configmap(meta["namespace"], name, meta["uid"])
        await self.kube.patch_status(meta["namespace"], meta["name"], {"history": history})
        status = {**status, "history": history}
        self.recent.written[meta["uid"]] = status
        return {**adhoc, "status": status}

    async def _copy_output(self, adhoc: Obj, entry: Obj) -> None:
        """The current output copied for the history entry; the entry names no copy when the
        output is gone, or not this AdhocCommand's."""
        meta = adhoc["metadata"]
        current = await self.kube.get_configmap(meta["namespace"], adhoc["status"]["logs"]["configMap"])
        if current is None or controller_of(current) != meta["uid"]:
            del entry["logsConfigMap"]
            return
        try:
            await self.kube.store_configmap(kept_output(current, adhoc, entry["generation"]))
        except NotOwned as err:
            del entry["logsConfigMap"]
            self.event(adhoc, "Warning", "OutputConflict", conflict(err.name, "the previous run's output"))
