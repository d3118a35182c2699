"""Every call the operator makes to the Kubernetes API, as itself (the REST API and the plugin act
as their caller through caller.py).

One aiohttp session (aiohttp is kopf's own HTTP client, and fast), built from the connection
`credentials.login` finds (the `kubernetes` package's kubeconfig and in-cluster loading). When the
API server rejects the credential (expired, revoked), it is fetched again and the call retried.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import socket
from collections.abc import AsyncIterator, Callable, Mapping
from types import MappingProxyType
from typing import Any, Protocol

import aiohttp
import kopf

from orchestrator.kube.errors import ApiError, error_of, unreachable
from orchestrator.model.names import controller_of
from orchestrator.model.objects import Obj, timestamp
from orchestrator.model.paths import ADHOCS, CONFIGMAPS, EVENTS, JOBS, LEASES, PODS, SECRETS, WORKLOADS, path

COMPONENT = "orchestrator"  # in its events, and as its user agent
REQUEST_TIMEOUT = 60.0
LOG_READ_TIMEOUT = 60.0
WATCH_TIMEOUT = 300  # the API server ends each watch after this long; it is then resumed
RETRY_DELAY = 1.0
# Requests beyond this many at once wait for a free connection: in a burst of thousands of runs,
# a TLS connection each would cost the operator and the API server more than the waiting.
CONNECTIONS = 32
# Time-outs of the connection and of each read, not of the whole call: waiting for one of the
# connections above is not a failure of the API server.
CALL_TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=REQUEST_TIMEOUT, sock_read=REQUEST_TIMEOUT)
EVENT_MESSAGE_MAX = 1024  # what the API server keeps of an event's message

NO_SELECTOR: Mapping[str, str] = MappingProxyType({})
Login = Callable[[], kopf.ConnectionInfo]
log = logging.getLogger(__name__)


class NotOwned(Exception):
    """An object of the name the operator wanted exists and belongs to someone else."""

    def __init__(self, namespace: str, name: str, kind: str = "ConfigMap") -> None:
        super().__init__(f"{kind} {namespace}/{name} exists and is not the operator's")
        self.name = name
        self.kind = kind


class Expired(Exception):
    """The resource version a watch resumes from is too old (410 Gone): list again."""


# Only the metadata of objects whose annotations say all the operator needs (its ConfigMaps).
METADATA = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"
METADATA_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"


async def _error_from(response: aiohttp.ClientResponse) -> ApiError:
    return error_of(response.status, await response.read(), response.reason or "")


_sleep = asyncio.sleep  # tests replace it to see the delays


async def _backoff(delay: float) -> float:
    """Sleeps about `delay` seconds; returns the next delay (doubling, at most 30 s). The jitter
    keeps many watchers that failed together (an API server restart) from coming back in step."""
    await _sleep(delay * random.uniform(0.5, 1.0))
    return min(delay * 2, 30.0)


async def _lines(stream: aiohttp.StreamReader) -> AsyncIterator[bytes]:
    """The non-empty lines of a stream, however long (readline() refuses lines over 64 KiB)."""
    buffer = b""
    async for chunk in stream.iter_any():
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            if line.strip():
                yield line
    if buffer.strip():
        yield buffer


class RequestCounter(Protocol):
    """Told of each request and its answer's status (0: none came): the operator's metrics."""

    def __call__(self, method: str, status: int, listing: bool = False, watching: bool = False) -> None: ...


def _not_counted(method: str, status: int, listing: bool = False, watching: bool = False) -> None:
    pass


class Kube:
    def __init__(self, login: Login, count: RequestCounter | None = None) -> None:
        self._login = login
        self._count = count or _not_counted
        self._session: aiohttp.ClientSession | None = None
        self._tls: tuple[Any, ...] = ()
        self._server = ""
        self._headers: dict[str, str] = {}
        self._relogin = asyncio.Lock()
        self.logins = 0

    @classmethod
    async def connect(cls, login: Login, count: RequestCounter | None = None) -> Kube:
        kube = cls(login, count)
        await kube._open()
        return kube

    async def _open(self) -> None:
        # In a thread: an exec credential plugin may take a while, and must not stall the loop.
        info = await asyncio.to_thread(self._login)
        self._server = info.server.rstrip("/")
        self._headers = {**info.as_http_headers(), "User-Agent": COMPONENT}
        tls = (
            info.server,
            info.ca_path,
            info.ca_data,
            info.insecure,
            info.certificate_path,
            info.certificate_data,
            info.private_key_path,
            info.private_key_data,
        )
        if self._session is None or tls != self._tls:
            old, self._tls = self._session, tls
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=CONNECTIONS, ssl=info.as_ssl_context())
            )
            if old is not None:
                # Watches under way on the old session go on until the server ends them.
                asyncio.get_running_loop().call_later(
                    WATCH_TIMEOUT + 2 * REQUEST_TIMEOUT, lambda: asyncio.ensure_future(old.close())
                )
        self.logins += 1

    async def relogin(self, rejected: int) -> None:
        """Fetches the credential again after the API server rejected it (401): once for all the
        calls that were made with login number `rejected`."""
        async with self._relogin:
            if self.logins == rejected:
                log.info("the API server rejected the credential: fetching it again")
                await self._open()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    def _request(self, method: str, url: str, **kwargs: Any) -> Any:
        assert self._session is not None
        headers = {**self._headers, **kwargs.pop("headers", {})}
        return self._session.request(method, f"{self._server}{url}", headers=headers, **kwargs)

    async def _call(
        self,
        method: str,
        url: str,
        body: Obj | None = None,
        content_type: str = "application/json",
        params: dict[str, str] | None = None,
        accept: str = "application/json",
    ) -> Obj:
        data = None if body is None else json.dumps(body)
        headers = {"Accept": accept}
        if body is not None:
            headers["Content-Type"] = content_type
        for attempt in range(2):
            login = self.logins
            try:
                async with self._request(
                    method, url, data=data, headers=headers, params=params, timeout=CALL_TIMEOUT
                ) as response:
                    self._count(method, response.status, listing=bool(params and "limit" in params))
                    if response.status == 401 and attempt == 0:
                        await self.relogin(login)  # expired, rotated or revoked: fetch it again, once
                        continue
                    if response.status >= 400:
                        raise await _error_from(response)
                    return await response.json(content_type=None) if response.content_length != 0 else {}
            except (aiohttp.ClientError, TimeoutError) as exc:
                self._count(method, 0)
                raise unreachable(exc) from exc
        raise ApiError(401, "Unauthorized")

    async def call(
        self, method: str, url: str, body: Obj | None = None, params: dict[str, str] | None = None, wait: float = 0
    ) -> Obj:
        """Any other JSON call, for tools (the benchmark's lists, creates and collection deletes);
        `wait`: seconds the answer may take when more than the usual minute (a large delete)."""
        if not wait:
            return await self._call(method, url, body=body, params=params)
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=REQUEST_TIMEOUT, sock_read=wait)
        data = None if body is None else json.dumps(body)
        headers = {"Content-Type": "application/json"} if body is not None else {}
        try:
            async with self._request(
                method, url, data=data, params=params, headers=headers, timeout=timeout
            ) as response:
                if response.status >= 400:
                    raise await _error_from(response)
                return await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise unreachable(exc) from exc

    async def get_text(self, url: str) -> str:
        """A text resource of the API server (its /metrics)."""
        try:
            async with self._request("GET", url, timeout=CALL_TIMEOUT) as response:
                if response.status >= 400:
                    raise await _error_from(response)
                return await response.text()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise unreachable(exc) from exc

    async def _get_or_none(self, url: str) -> Obj | None:
        """One object, or None when there is none (404)."""
        try:
            return await self._call("GET", url)
        except ApiError as err:
            if err.status == 404:
                return None
            raise

    # Lists and watches

    async def list_pages(
        self, url: str, selector: Mapping[str, str] = NO_SELECTOR, metadata_only: bool = False, page: int = 500
    ) -> AsyncIterator[Obj]:
        """Every object of a kind in all namespaces (those `selector` picks: labelSelector,
        fieldSelector), a page at a time (bounded memory). Each page is a list object: its
        items, and the resource version the list was taken at."""
        params = {"limit": str(page), **selector}
        accept = METADATA_LIST if metadata_only else "application/json"
        while True:
            result = await self._call("GET", url, params=params, accept=accept)
            yield result
            cont = (result.get("metadata") or {}).get("continue")
            if not cont:
                return
            params["continue"] = cont

    async def watch(
        self, url: str, since: str, selector: Mapping[str, str] = NO_SELECTOR, metadata_only: bool = False
    ) -> AsyncIterator[tuple[str, Obj]]:
        """Changes from resource version `since` on, as (type, object); BOOKMARK objects carry only
        the resource version. Ends when the server closes the watch; raises Expired on 410."""
        params = {
            "watch": "1",
            "resourceVersion": since,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": str(WATCH_TIMEOUT),
            **selector,
        }
        headers = {"Accept": METADATA if metadata_only else "application/json"}
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=REQUEST_TIMEOUT, sock_read=WATCH_TIMEOUT + 60)
        login = self.logins
        try:
            async with self._request("GET", url, params=params, headers=headers, timeout=timeout) as response:
                self._count("GET", response.status, watching=True)
                if response.status == 410:
                    raise Expired(since)
                if response.status == 401:
                    await self.relogin(login)  # the caller resumes the watch with the new one
                if response.status >= 400:
                    raise await _error_from(response)
                async for line in _lines(response.content):
                    event = json.loads(line)
                    obj = event.get("object") or {}
                    if event.get("type") == "ERROR":
                        if obj.get("code") == 410:
                            raise Expired(since)
                        raise ApiError(int(obj.get("code") or 0), obj.get("message", ""), obj.get("reason", ""))
                    yield event["type"], obj
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise unreachable(exc) from exc

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

    # Output

    async def read_log(self, namespace: str, pod: str, container: str, sink: Callable[[bytes], None]) -> None:
        """Streams a container's whole log, chunk by chunk, into `sink`."""
        url = path(*PODS, namespace, pod, "log")
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=REQUEST_TIMEOUT, sock_read=LOG_READ_TIMEOUT)
        for attempt in range(2):
            login = self.logins
            try:
                async with self._request("GET", url, params={"container": container}, timeout=timeout) as response:
                    self._count("GET", response.status)
                    if response.status == 401 and attempt == 0:
                        await self.relogin(login)
                        continue
                    if response.status >= 400:
                        raise await _error_from(response)
                    async for chunk in response.content.iter_chunked(65536):
                        sink(chunk)
                    return
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise unreachable(exc) from exc

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


class ListWatch(Protocol):
    """What an Informer needs of the API: Kube, or the unit tests' scripted stand-in."""

    def list_pages(self, url: str, selector: Mapping[str, str], metadata_only: bool) -> AsyncIterator[Obj]: ...
    def watch(
        self, url: str, since: str, selector: Mapping[str, str], metadata_only: bool
    ) -> AsyncIterator[tuple[str, Obj]]: ...


class Informer:
    """Keeps a callback told of every object of one kind: a paged LIST, then a WATCH from the list's
    resource version, resumed after disconnects and listed again when the version expired.

    on_event(type, object): type None for the first listing, "LISTED" for a later one (objects that
    may have changed unseen), else the watch event's type. on_listed(keys) after each listing, with
    key(object) of every object it held: the rest are gone.
    """

    def __init__(
        self,
        kube: ListWatch,
        url: str,
        selector: Mapping[str, str],
        metadata_only: bool,
        on_event: Callable[[str | None, Obj], None],
        on_listed: Callable[[set[str]], None],
        key: Callable[[Obj], str],
    ) -> None:
        self.kube = kube
        self.key = key
        self.url = url
        self.selector = selector
        self.metadata_only = metadata_only
        self.on_event = on_event
        self.on_listed = on_listed
        self.version = ""
        self.listings = 0

    async def list(self) -> None:
        event_type = None if self.listings == 0 else "LISTED"
        seen: set[str] = set()
        async for page in self.kube.list_pages(self.url, self.selector, self.metadata_only):
            self.version = page["metadata"]["resourceVersion"]
            for item in page.get("items") or []:
                seen.add(self.key(item))
                self.on_event(event_type, item)
            del page  # keep one page in memory at a time
        self.listings += 1
        self.on_listed(seen)

    async def follow(self) -> None:
        """Runs until cancelled; list() must have run once."""
        delay = RETRY_DELAY
        while True:
            try:
                async for event_type, obj in self.kube.watch(self.url, self.version, self.selector, self.metadata_only):
                    self.version = (obj.get("metadata") or {}).get("resourceVersion") or self.version
                    if event_type != "BOOKMARK":
                        self.on_event(event_type, obj)
                    delay = RETRY_DELAY
            except Expired:
                log.info("watch of %s expired at %s: listing again", self.url, self.version)
                await self._relist()
            except ApiError as err:
                log.warning("watch of %s failed, resuming in %.0fs: %s", self.url, delay, err)
                delay = await _backoff(delay)
            except Exception:  # a strange event must not end the watch for good: start afresh
                log.exception("watch of %s broke: listing again in %.0fs", self.url, delay)
                delay = await _backoff(delay)
                await self._relist()

    async def _relist(self) -> None:
        delay = RETRY_DELAY
        while True:
            try:
                await self.list()
                return
            except ApiError as err:
                log.warning("listing %s failed, again in %.0fs: %s", self.url, delay, err)
                delay = await _backoff(delay)
