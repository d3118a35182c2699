"""The operator's connection to the Kubernetes API, as itself: one aiohttp session (aiohttp is
kopf's own HTTP client, and fast), built from what `credentials.login` finds (the `kubernetes`
package's kubeconfig and in-cluster loading). When the API server rejects the credential
(expired, revoked), it is fetched again and the call retried. JSON calls, paged lists and
watches; the verbs on each kind are client.py's.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from types import MappingProxyType
from typing import Any, Protocol, Self

import aiohttp

from orchestrator.kube.credentials import Login as LoginInfo
from orchestrator.kube.errors import ApiError, error_of, unreachable
from orchestrator.model.objects import Obj

COMPONENT = "orchestrator"  # in its events, and as its user agent
REQUEST_TIMEOUT = 60.0
WATCH_TIMEOUT = 300  # the API server ends each watch after this long; it is then resumed
# Requests beyond this many at once wait for a free connection: in a burst of thousands of runs,
# a TLS connection each would cost the operator and the API server more than the waiting.
CONNECTIONS = 32
# Time-outs of the connection and of each read, not of the whole call: waiting for one of the
# connections above is not a failure of the API server.
CALL_TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=REQUEST_TIMEOUT, sock_read=REQUEST_TIMEOUT)

NO_SELECTOR: Mapping[str, str] = MappingProxyType({})
Login = Callable[[], LoginInfo]
log = logging.getLogger(__name__)


class Expired(Exception):
    """The resource version a watch resumes from is too old (410 Gone): list again."""


# Only the metadata of objects whose annotations say all the operator needs (its ConfigMaps).
METADATA = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"
METADATA_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"


async def error_from(response: aiohttp.ClientResponse) -> ApiError:
    return error_of(response.status, await response.read(), response.reason or "")


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


class Connection:
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
    async def connect(cls, login: Login, count: RequestCounter | None = None) -> Self:
        kube = cls(login, count)
        await kube._open()
        return kube

    async def _open(self) -> None:
        # In a thread: an exec credential plugin may take a while, and must not stall the loop.
        info = await asyncio.to_thread(self._login)
        self._server = info.server.rstrip("/")
        self._headers = {**info.as_http_headers(), "User-Agent": COMPONENT}
        tls = (info.server, info.ca_path, info.insecure, info.certificate_path, info.private_key_path)
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
        limits: aiohttp.ClientTimeout = CALL_TIMEOUT,
    ) -> Obj:
        data = None if body is None else json.dumps(body)
        headers = {"Accept": accept}
        if body is not None:
            headers["Content-Type"] = content_type
        for attempt in range(2):
            login = self.logins
            try:
                async with self._request(
                    method, url, data=data, headers=headers, params=params, timeout=limits
                ) as response:
                    self._count(method, response.status, listing=bool(params and "limit" in params))
                    if response.status == 401 and attempt == 0:
                        await self.relogin(login)  # expired, rotated or revoked: fetch it again, once
                        continue
                    if response.status >= 400:
                        raise await error_from(response)
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
        timeout = CALL_TIMEOUT
        if wait:
            timeout = aiohttp.ClientTimeout(total=None, sock_connect=REQUEST_TIMEOUT, sock_read=wait)
        return await self._call(method, url, body=body, params=params, limits=timeout)

    async def get_text(self, url: str) -> str:
        """A text resource of the API server (its /metrics)."""
        try:
            async with self._request("GET", url, timeout=CALL_TIMEOUT) as response:
                if response.status >= 400:
                    raise await error_from(response)
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
                    raise await error_from(response)
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
