"""The kopf operator: watches wired to the cache and the reconciler.

Run: kopf run --all-namespaces -m orchestrator.handlers
"""

from __future__ import annotations

import gc
import logging
from typing import Any

import kopf

from orchestrator import GROUP, PLURAL, VERSION, config
from orchestrator.cache import Cache
from orchestrator.kube import ApiError, Kube
from orchestrator.names import LABEL_UID
from orchestrator.reconcile import Queue, Reconciler

log = logging.getLogger(__name__)
ADHOC = (GROUP, VERSION, PLURAL)
OURS = {LABEL_UID: kopf.PRESENT}
# What the cache is primed with: (kind, API base, version, plural, label selector).
LISTS = (
    ("adhoc", f"/apis/{GROUP}", VERSION, PLURAL, ""),
    ("job", "/apis/batch", "v1", "jobs", LABEL_UID),
    ("pod", "", "v1", "pods", LABEL_UID),
    ("configmap", "", "v1", "configmaps", LABEL_UID),
)


def _post_event(adhoc: dict[str, Any], type_: str, reason: str, message: str) -> None:
    meta = adhoc["metadata"]
    ref = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "AdhocCommand",
           "metadata": {k: meta[k] for k in ("name", "namespace", "uid")}}
    kopf.event(ref, type=type_, reason=reason, message=message)


# kopf's per-event objects form reference cycles, which Python frees only in its rare full
# collections: during a flood of events (a restart with thousands of objects) that garbage
# piles up to hundreds of MiB. A full collection every so many events keeps the peak low.
COLLECT_EVERY = 2000


class Runtime:
    """The cache, the reconciler and the queue that runs it."""

    def __init__(self, reconciler: Reconciler, cfg: config.Config) -> None:
        self.events = 0
        self.cache = Cache()
        self.reconciler = reconciler
        self.settle = cfg.settle_seconds
        self.queue = Queue(self._reconcile, cfg.api_retries, self._give_up)

    async def prime(self, kube: Kube) -> None:
        """Fills the cache before any watch starts, so the first reconciliations see everything."""
        for kind, base, version, plural, selector in LISTS:
            async for item in kube.list_all(base, version, plural, selector):
                self.cache.observe(kind, item)
        gc.collect()
        log.info("primed the cache: %d AdhocCommands", len(self.cache))

    def observe(self, kind: str, event_type: str | None, body: kopf.Body) -> None:
        self.events += 1
        if self.events % COLLECT_EVERY == 0:
            gc.collect()
        uid = self.cache.observe(kind, body, deleted=event_type == "DELETED")
        if uid is None or kind == "configmap":
            return  # the operator wrote the ConfigMap itself: nothing to react to
        if kind == "adhoc":
            self.queue.submit(uid)
        elif event_type is not None:  # a child's initial listing: its AdhocCommand's covers it
            self.queue.submit(uid, self.settle)

    async def _reconcile(self, uid: str) -> None:
        await self.reconciler.reconcile(self.cache.world(uid))

    def _give_up(self, uid: str, err: Exception) -> None:
        if isinstance(err, ApiError) and err.namespace_ending:
            log.info("AdhocCommand %s: its namespace is being deleted", uid)
            return
        world = self.cache.world(uid)
        log.error("giving up on AdhocCommand %s until it changes again: %s", uid, err)
        if world.adhoc is not None:
            _post_event(world.adhoc, "Warning", "APIError", f"giving up until the next change: {err}")


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
    settings.watching.chunk_size = 500  # list large clusters in pages: a bounded memory peak
    settings.queueing.idle_timeout = 1.0  # per-object workers go soon after their last event
    # Watch only our own Jobs, Pods and ConfigMaps, filtered by the API server.
    for resource in (("batch", "v1", "jobs"), ("", "v1", "pods"), ("", "v1", "configmaps")):
        settings.watching.label_selectors[resource] = LABEL_UID
    # One line per handled event and per request is too much at thousands of objects.
    logging.getLogger("kopf.objects").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)

    cfg = config.from_env()
    kube = await Kube.connect()
    memo.runtime = Runtime(Reconciler(kube, cfg, _post_event), cfg)
    await memo.runtime.prime(kube)
    log.info("default image %s", cfg.image)


@kopf.on.cleanup()
async def drain(memo: kopf.Memo, **_: Any) -> None:
    """Lets reconciliations under way finish their writes before the operator exits."""
    await memo.runtime.queue.drain()


@kopf.on.login()
def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
    """In a pod, the mounted ServiceAccount; elsewhere $KUBECONFIG (no API client library needed)."""
    return kopf.login_with_service_account(**kwargs) or kopf.login_with_kubeconfig(**kwargs)


# Every change of an AdhocCommand or of one of its Jobs, Pods or ConfigMaps.

@kopf.on.event(*ADHOC)
async def adhoc_changed(type: str | None, body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    memo.runtime.observe("adhoc", type, body)


@kopf.on.event("batch", "v1", "jobs", labels=OURS)
async def job_changed(type: str | None, body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    memo.runtime.observe("job", type, body)


@kopf.on.event("", "v1", "pods", labels=OURS)
async def pod_changed(type: str | None, body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    memo.runtime.observe("pod", type, body)


@kopf.on.event("", "v1", "configmaps", labels=OURS)
async def output_changed(type: str | None, body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    memo.runtime.observe("configmap", type, body)
