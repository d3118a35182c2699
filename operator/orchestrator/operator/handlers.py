"""The kopf operator: AdhocCommands watched by kopf, their Jobs, Pods and ConfigMaps by the
operator's own informers, all feeding the cache and the reconciler.

kopf keeps a worker and a memory record for every object it watches; the children outnumber
the AdhocCommands three to one and need neither, so they go straight into the cache.

Run: python -m orchestrator.operator (__main__.py: kopf run with a memory that keeps no record per object)
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import gc
import logging
import socketserver
import threading
import time
import wsgiref.simple_server
from typing import Any

import kopf
from prometheus_client import REGISTRY

from orchestrator import GROUP, PLURAL, VERSION
from orchestrator.kube import credentials
from orchestrator.kube.client import Kube
from orchestrator.kube.errors import ApiError
from orchestrator.kube.informer import Informer
from orchestrator.model import config
from orchestrator.model.names import LABEL_UID
from orchestrator.model.paths import CONFIGMAPS, JOBS, PODS, path
from orchestrator.model.runs import is_finished
from orchestrator.operator import metrics
from orchestrator.operator.cache import Cache
from orchestrator.operator.leader import Elector
from orchestrator.operator.notifier import Notifier
from orchestrator.operator.reconcile import Reconciler
from orchestrator.operator.workqueue import Queue

log = logging.getLogger(__name__)
ADHOC = (GROUP, VERSION, PLURAL)
OURS = {"labelSelector": LABEL_UID}  # the API server sends only what the operator made
# What the operator informs itself of: (kind, API group and version and plural, which ones,
# only the metadata?).
CHILDREN = (
    ("job", JOBS, OURS, False),
    ("pod", PODS, OURS, False),
    ("configmap", CONFIGMAPS, OURS, True),  # its annotations say all; its data is large
)
# No watch of Events (the Job controller's FailedCreate, why a pod was refused): they have no
# watch cache, so etcd would serve it every Event of the cluster. The reconciler reads a Job's
# when its status says the pod is missing (model/runs.pod_refused).


class Events:
    """Posts Events in the background, so a status write never waits for the event about it;
    failures are logged, never retried in a loop."""

    def __init__(self, kube: Kube) -> None:
        self.kube = kube
        self.pending: set[asyncio.Task[None]] = set()

    def __call__(self, adhoc: dict[str, Any], type_: str, reason: str, message: str) -> None:
        meta = adhoc["metadata"]
        involved = {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "AdhocCommand",
            **{k: meta[k] for k in ("name", "namespace", "uid")},
        }
        task = asyncio.create_task(self._post(involved, type_, reason, message))
        self.pending.add(task)
        task.add_done_callback(self.pending.discard)

    async def _post(self, involved: dict[str, Any], type_: str, reason: str, message: str) -> None:
        try:
            await self.kube.post_event(involved, type_, reason, message)
        except ApiError as err:
            log.warning("event %s about %s/%s not posted: %s", reason, involved["namespace"], involved["name"], err)

    async def drain(self) -> None:
        await asyncio.gather(*list(self.pending), return_exceptions=True)


class Runtime:
    """The cache, the reconciler and the queue that runs it."""

    def __init__(self, reconciler: Reconciler, cfg: config.Config) -> None:
        self.events = 0
        # Only the replica holding the Lease acts; the others keep their cache warm for a
        # takeover. Tests of the pure parts build a Runtime that leads from the start.
        self.leading = True
        self.elector: Elector | None = None
        self.electing: asyncio.Task[None] | None = None
        self.cache = Cache()
        self.reconciler = reconciler
        self.settle = cfg.settle_seconds
        self.started = False  # the children listed: ready (the pod's readiness probe)
        self.namespaces = cfg.namespaces  # empty: all
        self.queue = Queue(self._reconcile, cfg.api_retries, self._give_up)

    async def start(self, kube: Kube) -> None:
        """Lists the children into the cache, all kinds at once and while kopf lists the
        AdhocCommands (at 100,000 runs the API server took a minute for each list, one after
        the other), then follows their changes. Nothing is reconciled before every child is
        listed: a run whose Job is not listed yet must not be taken for one that has none."""
        self.kube = kube
        self.informers = []
        # Cluster-wide, or one watch per namespace when its RBAC is namespaced.
        for namespace in self.namespaces or (None,):
            for kind, resource, selector, metadata_only in CHILDREN:
                informer = Informer(
                    kube,
                    path(*resource, namespace),
                    selector,
                    metadata_only,
                    on_event=functools.partial(self.observe, kind),
                    on_listed=functools.partial(self._listed, kind, namespace),
                    key=functools.partial(Cache.key_of, kind),
                )
                self.informers.append(informer)
        self.following = [asyncio.create_task(self._inform(), name="list and follow the children")]

    async def _inform(self) -> None:
        # Each relist retries until it succeeds (logging why), so none fails the others.
        await asyncio.gather(*(informer.relist() for informer in self.informers))
        self.started = True
        gc.collect()
        log.info("listed the Jobs, Pods and ConfigMaps of AdhocCommands")
        self._catch_up()
        await asyncio.gather(*(informer.follow() for informer in self.informers))

    def _catch_up(self) -> None:
        """Reconciles every run with something due, once the children are listed and the Lease
        held (a start, or a takeover)."""
        if self.started and self.leading:
            for uid in self.cache.uids():
                if not self.cache.settled(uid):
                    self.queue.submit(uid)

    def elect(self, kube: Kube, cfg: config.Config) -> None:
        """Acts only while holding the Lease: a second replica (or a second make run) waits."""
        self.leading = False
        self.elector = Elector(kube, cfg.lease_namespace, cfg.lease_name, self.lead, self.lose)
        self.electing = asyncio.create_task(self.elector.run(), name="leader election")

    def lead(self) -> None:
        """Became the leader: what the last leader knew of its own writes is not ours; reconcile
        every run with something due, as at a start (once the children are listed)."""
        self.leading = True
        self.reconciler.forget_all()
        self._catch_up()

    def lose(self) -> None:
        """Lost the Lease: stop acting at once (writes under way are cancelled)."""
        self.leading = False
        self.queue.cancel_all()

    async def stop(self) -> None:
        if self.electing is not None:
            self.electing.cancel()
            await asyncio.gather(self.electing, return_exceptions=True)
        await self.queue.close()
        if self.elector is not None:
            await self.elector.release()
        if isinstance(self.reconciler.event, Events):
            await self.reconciler.event.drain()
        for task in self.following:
            task.cancel()
        await asyncio.gather(*self.following, return_exceptions=True)
        await self.kube.close()

    def observe(self, kind: str, event_type: str | None, body: kopf.Body | dict[str, Any]) -> None:
        self.events += 1
        if kind == "adhoc" and self.namespaces and body.get("metadata", {}).get("namespace") not in self.namespaces:
            return  # kopf was told of more namespaces than the operator may act in
        uid = self.cache.observe(kind, body, deleted=event_type == "DELETED")
        if uid is None or kind == "configmap" or not (self.leading and self.started):
            return  # nothing it keeps changed, the operator wrote the ConfigMap itself, or it waits
        if kind == "adhoc":
            if event_type is None and self.cache.settled(uid) and not self.reconciler.recent.holds(uid):
                # Listed (a start, or kopf listing again), ended with nothing due, and not one this
                # process wrote lately: its reconciliation would do nothing. It holds no peer back.
                return
            self.queue.submit(uid)
        elif event_type is not None:  # a child's first listing: its AdhocCommand's covers it
            # A Job's end is its run's: the final status waits for nothing that follows it.
            self.queue.submit(uid, 0.0 if kind == "job" and is_finished(body) else self.settle)
        if kind in ("adhoc", "job"):  # a run of its concurrencyKey may start now (or not)
            for peer in self.cache.peers_of(uid):
                self.queue.submit(peer, self.settle)

    def _listed(self, kind: str, namespace: str | None, keys: set[str]) -> None:
        for uid in self.cache.retain(kind, keys, namespace):
            if kind != "configmap" and self.leading and self.started:
                self.queue.submit(uid, self.settle)

    async def _reconcile(self, uid: str) -> float | None:
        started = time.perf_counter()
        result = "error"
        try:
            # The status pacing stretches with the runs competing for the API server: those queued
            # and those running (a burst's runs are mostly the latter once their Jobs exist).
            busy = max(len(self.queue), self.cache.under_way)
            wait = await self.reconciler.reconcile(self.cache.world(uid), busy)
            result = "done" if wait is None else "requeue"
            return wait
        finally:
            metrics.RECONCILES.labels(result).inc()
            metrics.RECONCILE_SECONDS.observe(time.perf_counter() - started)

    def _give_up(self, uid: str, err: Exception) -> None:
        if isinstance(err, ApiError) and err.namespace_ending:
            log.info("AdhocCommand %s: its namespace is being deleted", uid)
            return
        world = self.cache.world(uid)
        again = "again in a minute" if isinstance(err, ApiError) and err.transient else "at its next change"
        log.error("AdhocCommand %s failed, trying %s: %s", uid, again, err)
        if world.adhoc is not None:
            self.reconciler.event(world.adhoc, "Warning", "APIError", f"trying {again}: {err}")


class NoDiffBase(kopf.DiffBaseStorage):
    """The operator has event handlers only, which need no diff, yet kopf builds one for every
    event: a deep copy of the whole object. Nothing to build, store or fetch."""

    def build(self, *, body: kopf.Body, extra_fields: Any = None) -> kopf.BodyEssence:
        return kopf.BodyEssence()

    def fetch(self, *, body: kopf.Body) -> kopf.BodyEssence | None:
        return None

    def store(self, *, body: kopf.Body, patch: kopf.Patch, essence: kopf.BodyEssence) -> None:
        pass


class NoProgress(kopf.ProgressStorage):
    """Where kopf keeps the progress of changing handlers (create, update, delete, resume) and
    daemons: the operator has neither, yet kopf cleans a copy of every event's essence of it
    (3% of a start's CPU with 50,000 runs). Nothing to keep, fetch or clean."""

    def fetch(self, *, key: Any, body: kopf.Body) -> None:
        return None

    def store(self, *, key: Any, record: Any, body: kopf.Body, patch: kopf.Patch) -> None:
        pass

    def purge(self, *, key: Any, body: kopf.Body, patch: kopf.Patch) -> None:
        pass

    def touch(self, *, body: kopf.Body, patch: kopf.Patch, value: str | None) -> None:
        pass

    def clear(self, *, essence: kopf.BodyEssence) -> kopf.BodyEssence:
        return essence


@kopf.on.startup()
async def configure(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    """Every kopf setting lives here."""
    settings.persistence.finalizer = f"{GROUP}/finalizer"
    settings.persistence.progress_storage = NoProgress()
    settings.persistence.diffbase_storage = NoDiffBase()
    settings.peering.standalone = True  # leader election on a Lease instead (leader.py)
    settings.posting.level = logging.WARNING  # only warnings of kopf itself become events
    settings.watching.server_timeout = 300
    # Large clusters listed in pages of 250, the next one on its way meanwhile (pages_ahead in
    # __main__.py): two at once, a bounded memory peak (at 100,000 runs: 190 MiB, 218 in pages of 500).
    settings.watching.chunk_size = 250
    # Per-object workers go soon after their last event: an idle one keeps that event's whole
    # body, and a start lists thousands a second (at 20,000 runs: 121 MiB peak against 166 at 1.0 s).
    settings.queueing.idle_timeout = 0.1
    # One line per handled event is too much at thousands of objects.
    logging.getLogger("kopf.objects").setLevel(logging.WARNING)

    try:
        cfg = config.from_env()
    except config.ConfigError as err:
        raise kopf.PermanentError(f"bad configuration: {err}") from None
    # Namespaced RBAC has no cluster-wide list of CRDs: kopf uses what it found at start.
    settings.scanning.disabled = bool(cfg.namespaces)
    kube = await Kube.connect(credentials.login, metrics.count_request)
    events = Events(kube)
    notify = None
    if cfg.notify_url:
        notifier = Notifier(cfg)
        memo.notifying = asyncio.create_task(notifier.run())  # the memo holds the task while it runs
        notify = notifier.tell
    memo.runtime = Runtime(Reconciler(kube, cfg, events, notify=notify), cfg)
    serve_metrics(cfg, memo.runtime)
    await memo.runtime.start(kube)
    memo.runtime.elect(kube, cfg)
    log.info("default image %s; pod defaults %s", cfg.image, dict(cfg.pod_defaults) or "none")
    if cfg.notify_url:
        log.info("runs that finish are told to the notification webhook (%s)", cfg.notify_format)


class QuietHandler(wsgiref.simple_server.WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass  # a line per scrape and probe is noise


class ThreadingServer(socketserver.ThreadingMixIn, wsgiref.simple_server.WSGIServer):
    daemon_threads = True


def serve_metrics(cfg: config.Config, runtime: Runtime) -> None:
    """/metrics and /readyz on their own port, from a thread; a port already taken is said and
    the operator goes on without (make run beside a local Prometheus on 9090)."""
    if not cfg.metrics_port:
        return
    REGISTRY.register(metrics.RunsByPhase(lambda: runtime.cache.phases))
    REGISTRY.register(metrics.Gauges(lambda: len(runtime.queue), lambda: runtime.leading))
    try:
        server = wsgiref.simple_server.make_server(
            cfg.metrics_address,
            cfg.metrics_port,
            metrics.status_app(lambda: runtime.started),
            ThreadingServer,
            QuietHandler,
        )
    except OSError as err:
        log.warning("metrics not served on %s:%s: %s", cfg.metrics_address, cfg.metrics_port, err)
        return
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    log.info("metrics on http://%s:%s/metrics", cfg.metrics_address, cfg.metrics_port)


@kopf.on.cleanup()
async def drain(memo: kopf.Memo, **_: Any) -> None:
    """Lets reconciliations under way finish their writes before the operator exits."""
    if hasattr(memo, "runtime"):
        await memo.runtime.stop()


@kopf.on.login()
def login(**_: Any) -> kopf.ConnectionInfo:
    """kopf's own watch and calls log in as the operator's do: in a pod its ServiceAccount,
    elsewhere $KUBECONFIG with exec plugins and the rest (kopf calls this again after a 401)."""
    try:
        found = credentials.login()
    except credentials.CredentialsError as err:
        raise kopf.LoginError(str(err)) from None
    return kopf.ConnectionInfo(**dataclasses.asdict(found))


# Every change of an AdhocCommand.


@kopf.on.event(*ADHOC)
async def adhoc_changed(type: str | None, event: kopf.RawEvent, memo: kopf.Memo, **_: Any) -> None:
    # The event's object as parsed, not kopf's Body view of it: the cache reads it 5 us faster
    # (24 against 29 us for an AdhocCommand of the bench population, sealed as at a start).
    memo.runtime.observe("adhoc", type, event["object"])
