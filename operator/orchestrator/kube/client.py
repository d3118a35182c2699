"""Every call the operator makes to the Kubernetes API, as itself, by kind and verb: Jobs, the
AdhocCommand's status, events, logs, workloads, Leases, its ConfigMaps and Secrets (the REST API
and the plugin act as their caller through caller.py). The connection is connection.py's, over
the one transport.py.
"""

from __future__ import annotations

import socket
from collections.abc import Callable

from orchestrator.kube.connection import COMPONENT, REQUEST_TIMEOUT, Connection
from orchestrator.kube.errors import ApiError
from orchestrator.kube.transport import Limits
from orchestrator.model.names import controller_of
from orchestrator.model.objects import Obj, timestamp
from orchestrator.model.paths import (
    ADHOCS,
    CONFIGMAPS,
    EVENTS,
    JOBS,
    LEASES,
    PODS,
    SECRETS,
    WORKLOADS,
    field_value,
    path,
)

LOG_READ_TIMEOUT = 60.0
EVENT_MESSAGE_MAX = 1024  # what the API server keeps of an event's message


class NotOwned(Exception):
    """An object of the name the operator wanted exists and belongs to someone else."""

    def __init__(self, namespace: str, name: str, kind: str = "ConfigMap") -> None:
        super().__init__(f"{kind} {namespace}/{name} exists and is not the operator's")
        self.name = name
        self.kind = kind


class Kube(Connection):
    # Jobs

    async def create_job(self, job: Obj) -> Obj:
        return await self._call("POST", path(*JOBS, job["metadata"]["namespace"]), body=job)

    async def get_job(self, namespace: str, name: str) -> Obj | None:
        return await self._get_or_none(path(*JOBS, namespace, name))

    async def patch_job(self, namespace: str, name: str, patch: Obj) -> Obj:
        return await self._call(
            "PATCH", path(*JOBS, namespace, name), body=patch, content_type="application/merge-patch+json"
        )

    async def delete_job(self, namespace: str, name: str, uid: str) -> None:
        """Deletes one Job (only that exact object) and lets the garbage collector take its pods."""
        options = {"propagationPolicy": "Background", "preconditions": {"uid": uid}}
        try:
            await self._call("DELETE", path(*JOBS, namespace, name), body=options)
        except ApiError as err:
            if err.status not in (404, 409):  # gone already, or a different object by now
                raise

    # AdhocCommands

    async def patch_status(self, namespace: str, name: str, patch: Obj) -> Obj:
        return await self._call(
            "PATCH",
            path(*ADHOCS, namespace, name, "status"),
            body={"status": patch},
            content_type="application/merge-patch+json",
        )

    async def delete_adhoc(self, namespace: str, name: str, uid: str) -> None:
        options = {"propagationPolicy": "Background", "preconditions": {"uid": uid}}
        try:
            await self._call("DELETE", path(*ADHOCS, namespace, name), body=options)
        except ApiError as err:
            if err.status not in (404, 409):
                raise

    # Events

    async def post_event(self, involved: Obj, type_: str, reason: str, message: str) -> None:
        """One core/v1 Event about `involved` (apiVersion, kind, name, namespace, uid)."""
        now = timestamp()
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"generateName": f"{involved['name']}.", "namespace": involved["namespace"]},
            "involvedObject": involved,
            "type": type_,
            "reason": reason,
            "message": message[:EVENT_MESSAGE_MAX],
            "source": {"component": COMPONENT},
            "reportingComponent": COMPONENT,
            "reportingInstance": socket.gethostname()[:128],
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
        }
        await self._call("POST", path(*EVENTS, involved["namespace"]), body=event)

    async def refusal_of(self, namespace: str, job_uid: str) -> str | None:
        """Why the Job controller could not create a pod of the Job `job_uid` (the message of its
        newest FailedCreate event in the Job's namespace), or None. Read when the Job's status
        says its pod is missing: Events have no watch cache, so a watch of them is served by
        etcd for every Event in the cluster."""
        selector = f"involvedObject.uid={field_value(job_uid)},reason=FailedCreate"
        found = await self._call("GET", path(*EVENTS, namespace), params={"fieldSelector": selector, "limit": "100"})
        events = found.get("items") or []
        if not events:
            return None
        newest = max(events, key=_event_time)
        return str(newest.get("message") or "") or None

    # Output

    async def read_log(self, namespace: str, pod: str, container: str, sink: Callable[[bytes], None]) -> None:
        """Streams a container's whole log, chunk by chunk, into `sink`."""
        url = path(*PODS, namespace, pod, "log")
        timeout = Limits(total=None, sock_connect=REQUEST_TIMEOUT, sock_read=LOG_READ_TIMEOUT)
        params = {"container": container}
        async with self.transport.open("GET", url, params=params, accept="*/*", limits=timeout) as response:
            async for chunk in response.content.iter_chunked(65536):
                sink(chunk)

    async def get_workload(self, kind: str, namespace: str, name: str) -> Obj | None:
        """A Deployment, StatefulSet, DaemonSet, Job or CronJob (spec.from); None when missing."""
        return await self._get_or_none(path(*WORKLOADS[kind], namespace, name))

    # Leases (leader election)

    async def get_lease(self, namespace: str, name: str) -> Obj | None:
        return await self._get_or_none(path(*LEASES, namespace, name))

    async def create_lease(self, lease: Obj) -> Obj:
        return await self._call("POST", path(*LEASES, lease["metadata"]["namespace"]), body=lease)

    async def replace_lease(self, lease: Obj) -> Obj:
        """PUT with the resourceVersion read: 409 when another replica wrote it since."""
        meta = lease["metadata"]
        return await self._call("PUT", path(*LEASES, meta["namespace"], meta["name"]), body=lease)

    async def get_configmap(self, namespace: str, name: str) -> Obj | None:
        return await self._get_or_none(path(*CONFIGMAPS, namespace, name))

    async def delete_configmap(self, namespace: str, name: str, owner_uid: str) -> bool:
        """Deletes a ConfigMap the AdhocCommand `owner_uid` controls, that exact object only;
        one of anyone else's is left alone (returns False)."""
        current = await self.get_configmap(namespace, name)
        if current is None:
            return True
        if controller_of(current) != owner_uid:
            return False
        options = {"preconditions": {"uid": current["metadata"]["uid"]}}
        try:
            await self._call("DELETE", path(*CONFIGMAPS, namespace, name), body=options)
        except ApiError as err:
            if err.status not in (404, 409):  # gone already, or a different object by now
                raise
        return True

    async def store_configmap(self, configmap: Obj) -> Obj:
        """Creates the ConfigMap, or replaces the one a retry or an earlier attempt left, which
        must be controlled by the same owner (else NotOwned: a user's ConfigMap of that name is
        never overwritten or adopted).

        A plain create, not server-side apply: it costs the API server far less for an object
        that is written whole by one writer, and its output can be near a megabyte."""
        meta = configmap["metadata"]
        try:
            return await self._call("POST", path(*CONFIGMAPS, meta["namespace"]), body=configmap)
        except ApiError as err:
            if err.status != 409:
                raise
        existing = await self.get_configmap(meta["namespace"], meta["name"])
        if existing is None:
            raise ApiError(409, f"ConfigMap {meta['name']} was deleted meanwhile", "Conflict")  # retried
        if controller_of(existing) != controller_of(configmap):
            raise NotOwned(meta["namespace"], meta["name"])
        # The version read: if it changed since (a user replaced it), 409 and a look again.
        body = {**configmap, "metadata": {**meta, "resourceVersion": existing["metadata"]["resourceVersion"]}}
        return await self._call("PUT", path(*CONFIGMAPS, meta["namespace"], meta["name"]), body=body)

    async def store_secret(self, secret: Obj) -> None:
        """Creates the logs Secret, or replaces the one an earlier run or attempt left.

        The operator may not read Secrets (RBAC: create and update only), so it cannot look at
        the one in the way. The admission policy installed with its RBAC
        (orchestrator-output-secrets) lets it replace only an Opaque Secret controlled by the
        same AdhocCommand: a refusal means the name is someone else's (NotOwned)."""
        meta = secret["metadata"]
        try:
            await self._call("POST", path(*SECRETS, meta["namespace"]), body=secret)
            return
        except ApiError as err:
            if err.status != 409:
                raise
        try:
            await self._call("PUT", path(*SECRETS, meta["namespace"], meta["name"]), body=secret)
        except ApiError as err:
            if err.status == 404:
                raise ApiError(409, f"Secret {meta['name']} was deleted meanwhile", "Conflict") from err  # retried
            if err.status == 403:
                raise NotOwned(meta["namespace"], meta["name"], "Secret") from err
            raise


def _event_time(event: Obj) -> str:
    return str(event.get("lastTimestamp") or event.get("eventTime") or event["metadata"].get("creationTimestamp") or "")
