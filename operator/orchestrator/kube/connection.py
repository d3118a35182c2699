"""The operator's connection to the Kubernetes API, as itself: the one transport (transport.py)
with what `credentials.login` finds (the `kubernetes` package's kubeconfig and in-cluster
loading), JSON calls, paged lists and watches; the verbs on each kind are client.py's.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping
from types import MappingProxyType
from typing import Self

from orchestrator.kube.ahead import one_ahead
from orchestrator.kube.credentials import Login as LoginInfo
from orchestrator.kube.errors import ApiError
from orchestrator.kube.transport import USER_AGENT, Limits, RequestCounter, Transport
from orchestrator.model.objects import Obj, from_json

COMPONENT = USER_AGENT  # in its events, and as its user agent
REQUEST_TIMEOUT = 60.0
WATCH_TIMEOUT = 300  # the API server ends each watch after this long; it is then resumed
# Requests beyond this many at once wait for a free connection: in a burst of thousands of runs,
# a TLS connection each would cost the operator and the API server more than the waiting.
CONNECTIONS = 32
# Time-outs of the connection and of each read, not of the whole call: waiting for one of the
# connections above is not a failure of the API server.
CALL_TIMEOUT = Limits(total=None, sock_connect=REQUEST_TIMEOUT, sock_read=REQUEST_TIMEOUT)

NO_SELECTOR: Mapping[str, str] = MappingProxyType({})
Login = Callable[[], LoginInfo]


class Expired(Exception):
    """The resource version a watch resumes from is too old (410 Gone): list again."""


# Only the metadata of objects whose annotations say all the operator needs (its ConfigMaps).
METADATA = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"
METADATA_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"


async def _lines(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """The non-empty lines of a stream, however long (readline() refuses lines over 64 KiB)."""
    buffer = b""
    async for chunk in chunks:
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            if line.strip():
                yield line
    if buffer.strip():
        yield buffer


class Connection:
    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    @classmethod
    async def connect(cls, login: Login, count: RequestCounter | None = None) -> Self:
        # In a thread: an exec credential plugin may take a while, and must not stall the loop.
        info = await asyncio.to_thread(login)
        return cls(Transport.logged_in(info, login, connections=CONNECTIONS, timeout=CALL_TIMEOUT, count=count))

    async def close(self) -> None:
        await self.transport.close()

    async def _call(
        self,
        method: str,
        url: str,
        body: Obj | None = None,
        content_type: str = "application/json",
        params: dict[str, str] | None = None,
        accept: str = "application/json",
        limits: Limits | None = None,
    ) -> Obj:
        return await self.transport.json(
            method, url, body=body, content_type=content_type, params=params, accept=accept, limits=limits
        )

    async def call(
        self,
        method: str,
        url: str,
        body: Obj | None = None,
        params: dict[str, str] | None = None,
        wait: float = 0,
        content_type: str = "application/json",
    ) -> Obj:
        """Any other JSON call, for tools (the benchmark's lists, creates, patches and collection
        deletes); `wait`: seconds the answer may take when more than the usual minute (a large delete)."""
        timeout = None
        if wait:
            timeout = Limits(total=None, sock_connect=REQUEST_TIMEOUT, sock_read=wait)
        return await self._call(method, url, body=body, content_type=content_type, params=params, limits=timeout)

    async def get_text(self, url: str) -> str:
        """A text resource of the API server (its /metrics)."""
        return (await self.transport.content("GET", url, accept="*/*")).decode()

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
        self, url: str, selector: Mapping[str, str] = NO_SELECTOR, metadata_only: bool = False, page: int = 250
    ) -> AsyncIterator[Obj]:
        """Every object of a kind in all namespaces (those `selector` picks: labelSelector,
        fieldSelector), a page at a time (bounded memory: pages of 250, the next one on its way
        meanwhile).
        Each page is a list object: its items, and the resource version the list was taken at."""
        async for result in one_ahead(self._pages(url, {"limit": str(page), **selector}, metadata_only)):
            yield result

    async def _pages(self, url: str, params: dict[str, str], metadata_only: bool) -> AsyncGenerator[Obj, None]:
        accept = METADATA_LIST if metadata_only else "application/json"
        while True:
            result = await self._call("GET", url, params=params, accept=accept)
            yield result
            cont = (result.get("metadata") or {}).get("continue")
            if not cont:
                return
            params = {**params, "continue": cont}

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
        accept = METADATA if metadata_only else "application/json"
        timeout = Limits(total=None, sock_connect=REQUEST_TIMEOUT, sock_read=WATCH_TIMEOUT + 60)
        try:
            async with self.transport.open("GET", url, params=params, accept=accept, limits=timeout) as response:
                async for line in _lines(response.content.iter_any()):
                    event = from_json(line)
                    obj = event.get("object") or {}
                    if event.get("type") == "ERROR":
                        if obj.get("code") == 410:
                            raise Expired(since)
                        raise ApiError(int(obj.get("code") or 0), obj.get("message", ""), obj.get("reason", ""))
                    yield event["type"], obj
        except ApiError as err:
            if err.status == 410:
                raise Expired(since) from err
            raise
