"""The one HTTP client of the Kubernetes API, under every part of orchestrator: the operator
(connection.py, client.py), the REST API and the kubectl plugin (caller.py), and the benchmark.

aiohttp, kopf's own HTTP client: under load httpx's connection pool spent a third of the REST
server's CPU looking over its idle connections (make bench-rest). Here, once: the connection
pools, the credential sent and fetched again when the API server rejects it (expired, rotated,
revoked: a cloud token lasts about 15 minutes), a caller's own bearer token when the REST API
acts for one, JSON both ways, and every failure as the one ApiError. Paths come from
model/paths.py, checked and escaped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol

import aiohttp

from orchestrator.kube.credentials import Login, Target
from orchestrator.kube.errors import ApiError, error_of, unreachable
from orchestrator.model.objects import Obj, from_json, to_json

USER_AGENT = "orchestrator"
Limits = aiohttp.ClientTimeout  # a call's time-outs, for the clients above, which import no aiohttp
log = logging.getLogger(__name__)


class RequestCounter(Protocol):
    """Told of each request and its answer's status (0: none came): the operator's metrics."""

    def __call__(self, method: str, status: int, listing: bool = False, watching: bool = False) -> None: ...


def _not_counted(method: str, status: int, listing: bool = False, watching: bool = False) -> None:
    pass


def parse_responses_with(loads: Callable[[str], Any]) -> None:
    """aiohttp's response.json(), which kopf reads its list pages with, parses with `loads`
    (this module's own calls use from_json)."""
    defaults = aiohttp.ClientResponse.json.__kwdefaults__
    if defaults is not None:
        defaults["loads"] = loads


def _tls_of(info: Login) -> tuple[Any, ...]:
    return (info.server, info.ca_path, info.insecure, info.certificate_path, info.private_key_path)


class Transport:
    """Requests to one API server. With `login` (the operator, the plugin) it sends that
    credential and, refused (401), fetches it again once for all the calls refused; without
    (the REST API) each call carries its caller's token. Long streams (followed logs) may have
    a pool of their own so that they never hold up short calls. Sessions are made on first use,
    inside the event loop that uses them."""

    def __init__(
        self,
        target: Target,
        *,
        login: Callable[[], Login] | None = None,
        auth: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        connections: int = 32,
        timeout: aiohttp.ClientTimeout | None = None,
        streams: int = 0,
        stream_timeout: aiohttp.ClientTimeout | None = None,
        count: RequestCounter | None = None,
    ) -> None:
        self.server = target.server.rstrip("/")
        self._ssl = target.ssl_context
        self._login = login
        self._auth = dict(auth or {})
        self._headers = {"User-Agent": USER_AGENT, **(headers or {})}
        self._pools = (connections, streams)
        self._timeouts = (timeout or aiohttp.ClientTimeout(total=60.0), stream_timeout)
        self._count = count or _not_counted
        self._calls: aiohttp.ClientSession | None = None
        self._streams: aiohttp.ClientSession | None = None
        self._tls: tuple[Any, ...] = ()
        self._relogin = asyncio.Lock()
        self.logins = 1

    @classmethod
    def logged_in(cls, info: Login, login: Callable[[], Login] | None = None, **options: Any) -> Transport:
        """A transport sending the credential `info` holds; `login` fetches a fresh one."""
        transport = cls(Target(info.server, info.as_ssl_context()), login=login, auth=info.as_http_headers(), **options)
        transport._tls = _tls_of(info)
        return transport

    def _session(self, stream: bool = False) -> aiohttp.ClientSession:
        if stream and self._pools[1]:
            if self._streams is None:
                self._streams = self._new_session(self._pools[1], self._timeouts[1] or self._timeouts[0])
            return self._streams
        if self._calls is None:
            self._calls = self._new_session(self._pools[0], self._timeouts[0])
        return self._calls

    def _new_session(self, limit: int, timeout: aiohttp.ClientTimeout) -> aiohttp.ClientSession:
        # No cookie jar: the REST API's session carries every caller's requests, so a cookie one
        # answer set must never ride along with the next caller's (and the jar costs CPU).
        return aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=limit, ssl=self._ssl),
            timeout=timeout,
            headers=self._headers,
            cookie_jar=aiohttp.DummyCookieJar(),
        )

    async def relogin(self, rejected: int) -> None:
        """Fetches the credential again after the API server rejected it (401): once for all the
        calls made with login number `rejected`. New TLS settings (a rotated client certificate)
        get new connections; streams under way on the old ones go on until they end."""
        assert self._login is not None
        async with self._relogin:
            if self.logins != rejected:
                return
            log.info("the API server rejected the credential: fetching it again")
            # In a thread: an exec credential plugin may take a while, and must not stall the loop.
            info = await asyncio.to_thread(self._login)
            self.server, self._auth = info.server.rstrip("/"), info.as_http_headers()
            if _tls_of(info) != self._tls:
                self._tls, self._ssl = _tls_of(info), info.as_ssl_context()
                old, self._calls, self._streams = (self._calls, self._streams), None, None
                asyncio.get_running_loop().call_later(900, lambda: asyncio.ensure_future(_close(*old)))
            self.logins += 1

    async def close(self) -> None:
        await _close(self._calls, self._streams)
        self._calls = self._streams = None

    def forget(self) -> None:
        """Drops the sessions of an event loop that ended before they were closed (they went
        with it); the next request opens new ones on the loop then running."""
        self._calls = self._streams = None

    @contextlib.asynccontextmanager
    async def open(
        self,
        method: str,
        url: str,
        *,
        token: str = "",
        body: Any = None,
        content_type: str = "application/json",
        accept: str = "application/json",
        params: dict[str, str] | None = None,
        limits: aiohttp.ClientTimeout | None = None,
        stream: bool = False,
        check: bool = True,
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """One request, its answer open to read; ApiError for a 4xx/5xx answer (`check`) or none;
        `limits`: time-outs other than the session's.
        A credential refused is fetched again and the request made once more."""
        data = None if body is None else to_json(body)
        headers = {"Accept": accept, **({"Content-Type": content_type} if data is not None else {})}
        watching = bool(params and "watch" in params)
        listing = bool(params and "limit" in params) and not watching
        options: dict[str, Any] = {} if limits is None else {"timeout": limits}
        for attempt in (1, 2):
            rejected = self.logins
            sent = {**headers, **self._auth, **({"Authorization": f"Bearer {token}"} if token else {})}
            try:
                async with self._session(stream).request(
                    method, self.server + url, data=data, headers=sent, params=params, **options
                ) as response:
                    self._count(method, response.status, listing=listing, watching=watching)
                    if response.status == 401 and attempt == 1 and self._login is not None and not token:
                        await self.relogin(rejected)
                        continue
                    if check and response.status >= 400:
                        raise error_of(response.status, await response.read(), response.reason or "")
                    yield response
                    return
            except (aiohttp.ClientError, TimeoutError) as exc:
                self._count(method, 0)
                raise unreachable(exc) from exc
        raise ApiError(401, "Unauthorized", "Unauthorized")

    async def content(self, method: str, url: str, **options: Any) -> bytes:
        """One request's whole answer."""
        async with self.open(method, url, **options) as response:
            return await response.read()

    async def json(self, method: str, url: str, **options: Any) -> Obj:
        """One JSON request's answer ({} when empty)."""
        data = await self.content(method, url, **options)
        return from_json(data) if data else {}


async def _close(*sessions: aiohttp.ClientSession | None) -> None:
    for session in sessions:
        if session is not None:
            await session.close()
