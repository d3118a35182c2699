"""The kopf operator: watches and indexes wired to the reconciler. Run: kopf run -m orchestrator.handlers"""

from __future__ import annotations

import logging
from typing import Any

import kopf

from orchestrator import GROUP, PLURAL, VERSION, config
from orchestrator.kube import ApiError, Kube
from orchestrator.names import LABEL_UID
from orchestrator.output import stored_output_from
from orchestrator.reconcile import Queue, Reconciler, World
from orchestrator.views import adhoc_view, job_view, pod_view

log = logging.getLogger(__name__)
ADHOC = (GROUP, VERSION, PLURAL)
OURS = {LABEL_UID: kopf.PRESENT}


def _post_event(adhoc: dict[str, Any], type_: str, reason: str, message: str) -> None:
    meta = adhoc["metadata"]
    ref = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "AdhocCommand",
           "metadata": {k: meta[k] for k in ("name", "namespace", "uid")}}
    kopf.event(ref, type=type_, reason=reason, message=message)


@kopf.on.startup()
async def configure(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    """Every kopf setting lives here."""
    settings.persistence.finalizer = f"{GROUP}/finalizer"
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=GROUP)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=GROUP, key="last-handled-configuration")
    settings.peering.standalone = True  # one replica (Recreate): no peering objects needed
    settings.posting.level = logging.WARNING  # only warnings of kopf itself become events
    settings.watching.server_timeout = 300
    # Watch only our own Jobs, Pods and ConfigMaps, filtered by the API server.
    for resource in (("batch", "v1", "jobs"), ("", "v1", "pods"), ("", "v1", "configmaps")):
        settings.watching.label_selectors[resource] = LABEL_UID

    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request is too much
    cfg = config.from_env()
    memo.runtime = Runtime(Reconciler(await Kube.connect(), cfg, _post_event), cfg)
    log.info("default image %s", cfg.image)


class Runtime:
    """The reconciler, its queue, and the indexes it reads the world from."""

    def __init__(self, reconciler: Reconciler, cfg: config.Config) -> None:
        self.reconciler = reconciler
        self.settle = cfg.settle_seconds
        self.queue = Queue(self._reconcile, cfg.api_retries, self._give_up)
        self.indexes: dict[str, kopf.Index] = {}

    async def kick(self, uid: str, indexes: dict[str, kopf.Index], child: bool = False) -> None:
        """Reconciles the AdhocCommand `uid`; a change of a `child` (Job, Pod) settles first."""
        self.indexes = indexes  # the same index objects on every call
        await self.queue.kick(uid, self.settle if child else 0.0)

    def world(self, uid: str) -> World:
        found = list(self.indexes["adhocs"].get(uid, []))
        stored = [s for s in self.indexes["outputs"].get(uid, []) if s is not None]
        return World(
            adhoc=found[0] if found else None,
            jobs=list(self.indexes["jobs"].get(uid, [])),
            pods=list(self.indexes["pods"].get(uid, [])),
            stored=max(stored, key=lambda s: (s.generation, s.attempt)) if stored else None,
        )

    async def _reconcile(self, uid: str) -> None:
        await self.reconciler.reconcile(self.world(uid))

    def _give_up(self, uid: str, err: Exception) -> None:
        if isinstance(err, ApiError) and err.namespace_ending:
            log.info("AdhocCommand %s: its namespace is being deleted", uid)
            return
        world = self.world(uid)
        log.error("giving up on AdhocCommand %s until it changes again: %s", uid, err)
        if world.adhoc is not None:
            _post_event(world.adhoc, "Warning", "APIError", f"giving up until the next change: {err}")


@kopf.on.login()
def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
    """In a pod, the mounted ServiceAccount; elsewhere $KUBECONFIG (no API client library needed)."""
    return kopf.login_with_service_account(**kwargs) or kopf.login_with_kubeconfig(**kwargs)


# Indexes: the operator's memory of the cluster, keyed by the AdhocCommand's uid.

@kopf.index(*ADHOC)
def adhocs(body: kopf.Body, uid: str, **_: Any) -> dict[str, Any]:
    return {uid: adhoc_view(body)}


@kopf.index("batch", "v1", "jobs", labels=OURS)
def jobs(body: kopf.Body, labels: kopf.Labels, **_: Any) -> dict[str, Any]:
    return {labels[LABEL_UID]: job_view(body)}


@kopf.index("", "v1", "pods", labels=OURS)
def pods(body: kopf.Body, labels: kopf.Labels, **_: Any) -> dict[str, Any]:
    return {labels[LABEL_UID]: pod_view(body)}


@kopf.index("", "v1", "configmaps", labels=OURS)
def outputs(body: kopf.Body, labels: kopf.Labels, **_: Any) -> dict[str, Any]:
    return {labels[LABEL_UID]: stored_output_from(body)}


# Every change of an AdhocCommand or of one of its Jobs or Pods reconciles that AdhocCommand.

@kopf.on.event(*ADHOC)
async def adhoc_changed(uid: str, memo: kopf.Memo, adhocs: kopf.Index, jobs: kopf.Index,
                        pods: kopf.Index, outputs: kopf.Index, **_: Any) -> None:
    await memo.runtime.kick(uid, {"adhocs": adhocs, "jobs": jobs, "pods": pods, "outputs": outputs})


@kopf.on.event("batch", "v1", "jobs", labels=OURS)
async def job_changed(labels: kopf.Labels, memo: kopf.Memo, adhocs: kopf.Index, jobs: kopf.Index,
                      pods: kopf.Index, outputs: kopf.Index, **_: Any) -> None:
    await memo.runtime.kick(labels[LABEL_UID], {"adhocs": adhocs, "jobs": jobs, "pods": pods, "outputs": outputs},
                            child=True)


@kopf.on.event("", "v1", "pods", labels=OURS)
async def pod_changed(labels: kopf.Labels, memo: kopf.Memo, adhocs: kopf.Index, jobs: kopf.Index,
                      pods: kopf.Index, outputs: kopf.Index, **_: Any) -> None:
    await memo.runtime.kick(labels[LABEL_UID], {"adhocs": adhocs, "jobs": jobs, "pods": pods, "outputs": outputs},
                            child=True)
