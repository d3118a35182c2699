"""The Kubernetes API, called with the caller's own bearer token (the REST API's only I/O), or
with a kubeconfig's credentials (kubectl-adhoc: `Upstream.logged_in`, and token "")."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp

from orchestrator import GROUP, PLURAL
from orchestrator.kube import credentials
from orchestrator.kube.errors import ApiError, error_of, unreachable
from orchestrator.model.objects import Obj as Json
from orchestrator.model.output import output_of
from orchestrator.model.paths import (
    ADHOCS,
    CONFIGMAPS,
    PODS,
    SECRETS,
    SELF_ACCESS_REVIEWS,
    SELF_REVIEWS,
    WORKLOADS,
    path,
)
from orchestrator.model.spec import CONTAINER

try:  # the REST API's answers are parsed and written by orjson: a third of its CPU a list
    import orjson
except ImportError:  # kubectl-adhoc's zipapp is pure Python, for any python3: the standard json
    orjson = None  # type: ignore[assignment]


def to_json(value: Any) -> bytes:
    return orjson.dumps(value) if orjson is not None else json.dumps(value, separators=(",", ":")).encode()


def from_json(data: bytes) -> Any:
    return orjson.loads(data) if orjson is not None else json.loads(data)


CALL_SECONDS = 30.0  # each call's limit (kubectl adhoc --request-timeout)
# Calls that end at once share one pool; followed logs, which hold a connection for a run's
# life, have their own, bounded: a hundred open streams must not make every other call wait.
CONNECTIONS = 200
MAX_STREAMS = 100  # per replica; more answer 429 (ORCHESTRATOR_API_MAX_STREAMS)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


class TooManyStreams(ApiError):
    def __init__(self, limit: int) -> None:
        super().__init__(429, f"this server follows {limit} logs at once already: try again shortly")


class Upstream:
    """aiohttp, the operator's own HTTP client: under load httpx's connection pool spent a third
    of this server's CPU looking over its idle connections on every request (make bench-rest).
    The sessions are made on first use, inside the event loop that uses them."""

    def __init__(
        self,
        target: credentials.Target,
        headers: dict[str, str] | None = None,
        max_streams: int = MAX_STREAMS,
        relogin: Callable[[], dict[str, str]] | None = None,
        call_seconds: float | None = CALL_SECONDS,
    ) -> None:
        self.server = target.server.rstrip("/")
        self.ssl = target.ssl_context
        self.headers = dict(headers or {})
        # A kubeconfig's credential (the plugin), sent with each call; fetched again on a 401, as
        # a cloud token (about 15 minutes on EKS) expires during a long `kubectl adhoc run`.
        self.relogin = relogin
        self.auth = relogin() if relogin is not None else {}
        self.max_streams = max_streams
        self.call_timeout = aiohttp.ClientTimeout(total=call_seconds)
        # A followed log may stay quiet for long (a command that sleeps): no read time-out.
        self.follow_timeout = aiohttp.ClientTimeout(total=None, sock_connect=call_seconds)
        self.streams_open = 0
        self._calls: aiohttp.ClientSession | None = None
        self._streams: aiohttp.ClientSession | None = None

    def _session(self, streams: bool = False) -> aiohttp.ClientSession:
        if streams:
            if self._streams is None:
                self._streams = self._new_session(self.max_streams, self.follow_timeout)
            return self._streams
        if self._calls is None:
            self._calls = self._new_session(CONNECTIONS, self.call_timeout)
        return self._calls

    def _new_session(self, limit: int, timeout: aiohttp.ClientTimeout) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(limit=limit, ssl=self.ssl)
        # No cookie jar: one session carries every caller's requests, so a cookie one answer set
        # must never ride along with the next caller's (and the jar's bookkeeping costs CPU).
        return aiohttp.ClientSession(
            connector=connector, timeout=timeout, headers=self.headers, cookie_jar=aiohttp.DummyCookieJar()
        )

    def stream_slot(self) -> StreamSlot:
        """A place among the streams this replica follows at once; TooManyStreams when full."""
        if self.streams_open >= self.max_streams:
            raise TooManyStreams(self.max_streams)
        return StreamSlot(self)

    @classmethod
    def logged_in(
        cls,
        source: credentials.Source,
        headers: dict[str, str] | None = None,
        call_seconds: float | None = CALL_SECONDS,
    ) -> Upstream:
        """A client acting with the credentials the kubeconfig (or the pod) holds, logging in
        again when they are refused; `headers`: more of them (impersonation); `call_seconds`:
        each call's limit (None: none)."""
        info = credentials.login(source)
        return cls(
            credentials.Target(info.server, info.as_ssl_context()),
            headers,
            relogin=lambda: credentials.login(source).as_http_headers(),
            call_seconds=call_seconds,
        )

    async def close(self) -> None:
        for session in (self._calls, self._streams):
            if session is not None:
                await session.close()
        self._calls = self._streams = None

    async def reachable(self) -> str | None:
        """None when the API server answers over TLS (any HTTP status: this server holds no
        token of its own), else why not."""
        try:
            async with self._session().get(self.server + "/readyz", timeout=aiohttp.ClientTimeout(total=5.0)):
                pass
        except (aiohttp.ClientError, TimeoutError) as exc:
            return unreachable(exc).message
        return None

    async def _request(self, token: str, method: str, url: str, **kwargs: Any) -> bytes:
        """One call; the answer's body, or ApiError with the API server's status and message. A
        kubeconfig's credential refused (401) is fetched again and the call made once more."""
        try:
            return await self._once(token, method, url, dict(kwargs))
        except ApiError as err:
            if err.status != 401 or self.relogin is None:
                raise
            self.auth = self.relogin()
            return await self._once(token, method, url, kwargs)

    async def _once(self, token: str, method: str, url: str, kwargs: dict[str, Any]) -> bytes:
        headers = {**self.auth, **_bearer(token), **kwargs.pop("headers", {})}
        body = kwargs.pop("json", None)
        if body is not None:
            headers.setdefault("Content-Type", "application/json")
            kwargs["data"] = to_json(body)
        try:
            async with self._session().request(method, self.server + url, headers=headers, **kwargs) as response:
                content = await response.read()
                if response.status >= 400:
                    raise error_of(response.status, content, response.reason or "")
                return content
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise unreachable(exc) from exc

    async def _json(self, token: str, method: str, url: str, **kwargs: Any) -> Json:
        return from_json(await self._request(token, method, url, **kwargs))

    @staticmethod
    def _adhoc_path(namespace: str, name: str = "") -> str:
        return path(*ADHOCS, namespace, name)

    async def whoami(self, token: str) -> Json:
        """Who the token is, as the API server authenticates it (a SelfSubjectReview)."""
        review = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
        answer = await self._json(token, "POST", path(*SELF_REVIEWS), json=review)
        return (answer.get("status") or {}).get("userInfo") or {}

    async def may(self, token: str, verb: str, namespace: str) -> bool:
        """Whether the token may `verb` AdhocCommands in `namespace` (a SelfSubjectAccessReview,
        which every authenticated user may ask)."""
        attributes = {"group": GROUP, "resource": PLURAL, "verb": verb, "namespace": namespace}
        review = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": attributes},
        }
        answer = await self._json(token, "POST", path(*SELF_ACCESS_REVIEWS), json=review)
        return bool((answer.get("status") or {}).get("allowed"))

    async def create(self, token: str, body: Json) -> Json:
        return await self._json(token, "POST", self._adhoc_path(body["metadata"]["namespace"]), json=body)

    async def list(self, token: str, namespace: str, limit: int, cont: str | None) -> Json:
        params = {"limit": str(limit), **({"continue": cont} if cont else {})}
        return await self._json(token, "GET", self._adhoc_path(namespace), params=params)

    async def get(self, token: str, namespace: str, name: str) -> Json:
        return await self._json(token, "GET", self._adhoc_path(namespace, name))

    async def patch(self, token: str, namespace: str, name: str, patch: Json) -> Json:
        """A JSON merge patch of an AdhocCommand."""
        headers = {"Content-Type": "application/merge-patch+json"}
        return await self._json(token, "PATCH", self._adhoc_path(namespace, name), json=patch, headers=headers)

    async def delete(self, token: str, namespace: str, name: str) -> None:
        options = {"propagationPolicy": "Background"}
        await self._request(token, "DELETE", self._adhoc_path(namespace, name), json=options)

    async def configmap(self, token: str, namespace: str, name: str) -> Json:
        return await self._json(token, "GET", path(*CONFIGMAPS, namespace, name))

    async def workload(self, token: str, kind: str, namespace: str, name: str) -> Json:
        """A Deployment, StatefulSet, DaemonSet, Job or CronJob (spec.from), read as the caller."""
        return await self._json(token, "GET", path(*WORKLOADS[kind], namespace, name))

    async def stored_output(self, token: str, namespace: str, logs: Json | None) -> bytes | None:
        """The output a status' `logs` names (a ConfigMap, or a Secret the caller must be allowed
        to read); None when it names none."""
        logs = logs or {}
        if logs.get("secret"):
            return output_of(await self._json(token, "GET", path(*SECRETS, namespace, logs["secret"])))
        if logs.get("configMap"):
            return output_of(await self.configmap(token, namespace, logs["configMap"]))
        return None

    async def follow_pod_log(self, token: str, namespace: str, pod: str) -> AsyncIterator[bytes]:
        """The command's output as it is written, until its container ends."""
        url = self.server + path(*PODS, namespace, pod, "log")
        params = {"container": CONTAINER, "follow": "true"}
        for attempt in (1, 2):
            try:
                headers = {**self.auth, **_bearer(token)}
                async with self._session(streams=True).get(url, params=params, headers=headers) as response:
                    if response.status == 401 and self.relogin is not None and attempt == 1:
                        self.auth = self.relogin()  # refused before any output: log in, ask again
                        continue
                    if response.status >= 400:
                        content = await response.read()
                        raise error_of(response.status, content, response.reason or "")
                    async for chunk in response.content.iter_any():
                        yield chunk
                    return
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise unreachable(exc) from exc

    async def pod_log(self, token: str, namespace: str, pod: str, limit_bytes: int) -> bytes:
        params = {"container": CONTAINER, "limitBytes": str(limit_bytes)}
        return await self._request(token, "GET", path(*PODS, namespace, pod, "log"), params=params)


class StreamSlot:
    """Held from the route that opens a stream until the stream ends; release() is idempotent (the
    stream's end and the response's end both call it)."""

    def __init__(self, upstream: Upstream) -> None:
        self.upstream = upstream
        self.held = True
        upstream.streams_open += 1

    def release(self) -> None:
        if self.held:
            self.held = False
            self.upstream.streams_open -= 1
