"""The Kubernetes API, called with the caller's own bearer token (the REST API's only I/O), or
with a kubeconfig's credentials (kubectl-adhoc: `Upstream.logged_in`, and token "")."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx

from orchestrator import credentials
from orchestrator.paths import ADHOCS, CONFIGMAPS, PODS, SELF_REVIEWS, path
from orchestrator.spec import CONTAINER


class UpstreamError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# A followed log may stay quiet for long (a command that sleeps): no read time-out.
FOLLOW_TIMEOUT = httpx.Timeout(30.0, read=None)


def _message_of(response: httpx.Response) -> str:
    try:
        return response.json().get("message") or response.reason_phrase
    except ValueError:
        return response.text or response.reason_phrase


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


# Calls that end at once share one pool; followed logs, which hold a connection for a run's
# life, have their own, bounded: a hundred open streams must not make every other call wait.
CALLS = httpx.Limits(max_connections=200, max_keepalive_connections=100)
MAX_STREAMS = 100  # per replica; more answer 429 (ORCHESTRATOR_API_MAX_STREAMS)


class TooManyStreams(UpstreamError):
    def __init__(self, limit: int) -> None:
        super().__init__(429, f"this server follows {limit} logs at once already: try again shortly")


class Upstream:
    def __init__(
        self, target: credentials.Target, headers: dict[str, str] | None = None, max_streams: int = MAX_STREAMS
    ) -> None:
        self.client = httpx.AsyncClient(
            base_url=target.server, verify=target.ssl_context, timeout=30.0, headers=headers, limits=CALLS
        )
        self.streams = httpx.AsyncClient(
            base_url=target.server,
            verify=target.ssl_context,
            timeout=FOLLOW_TIMEOUT,
            headers=headers,
            limits=httpx.Limits(max_connections=max_streams, max_keepalive_connections=max_streams // 10),
        )
        self.max_streams = max_streams
        self.streams_open = 0

    def stream_slot(self) -> StreamSlot:
        """A place among the streams this replica follows at once; TooManyStreams when full."""
        if self.streams_open >= self.max_streams:
            raise TooManyStreams(self.max_streams)
        return StreamSlot(self)

    @classmethod
    def logged_in(cls, source: credentials.Source) -> Upstream:
        """A client acting with the credentials the kubeconfig (or the pod) holds."""
        info = credentials.login(source)
        return cls(credentials.Target(info.server, info.as_ssl_context()), info.as_http_headers())

    async def close(self) -> None:
        await self.client.aclose()
        await self.streams.aclose()

    async def reachable(self) -> str | None:
        """None when the API server answers over TLS (any HTTP status: this server holds no
        token of its own), else why not."""
        try:
            await self.client.get("/readyz", timeout=5.0)
        except httpx.HTTPError as exc:
            return f"the Kubernetes API could not be reached: {exc}"
        return None

    async def _request(self, token: str, method: str, url: str, **kwargs: Any) -> httpx.Response:
        headers = {**_bearer(token), **kwargs.pop("headers", {})}
        try:
            response = await self.client.request(method, url, headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            raise UpstreamError(502, f"the Kubernetes API could not be reached: {exc}") from exc
        if response.status_code >= 400:
            raise UpstreamError(response.status_code, _message_of(response))
        return response

    @staticmethod
    def _adhoc_path(namespace: str, name: str = "") -> str:
        return path(*ADHOCS, namespace, name)

    async def whoami(self, token: str) -> dict[str, Any]:
        """Who the token is, as the API server authenticates it (a SelfSubjectReview)."""
        review = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
        response = await self._request(token, "POST", path(*SELF_REVIEWS), json=review)
        return ((response.json().get("status") or {}).get("userInfo")) or {}

    async def create(self, token: str, body: dict[str, Any]) -> dict[str, Any]:
        namespace = body["metadata"]["namespace"]
        return (await self._request(token, "POST", self._adhoc_path(namespace), json=body)).json()

    async def list(self, token: str, namespace: str, limit: int, cont: str | None) -> dict[str, Any]:
        params: dict[str, Any] = {"limit": limit}
        if cont:
            params["continue"] = cont
        return (await self._request(token, "GET", self._adhoc_path(namespace), params=params)).json()

    async def get(self, token: str, namespace: str, name: str) -> dict[str, Any]:
        return (await self._request(token, "GET", self._adhoc_path(namespace, name))).json()

    async def patch(self, token: str, namespace: str, name: str, patch: dict[str, Any]) -> dict[str, Any]:
        """A JSON merge patch of an AdhocCommand."""
        headers = {"Content-Type": "application/merge-patch+json"}
        response = await self._request(token, "PATCH", self._adhoc_path(namespace, name), json=patch, headers=headers)
        return response.json()

    async def delete(self, token: str, namespace: str, name: str) -> None:
        await self._request(
            token, "DELETE", self._adhoc_path(namespace, name), json={"propagationPolicy": "Background"}
        )

    async def configmap(self, token: str, namespace: str, name: str) -> dict[str, Any]:
        return (await self._request(token, "GET", path(*CONFIGMAPS, namespace, name))).json()

    async def follow_pod_log(self, token: str, namespace: str, pod: str) -> AsyncIterator[bytes]:
        """The command's output as it is written, until its container ends."""
        url = path(*PODS, namespace, pod, "log")
        params = {"container": CONTAINER, "follow": "true"}
        headers = _bearer(token)
        try:
            async with self.streams.stream("GET", url, params=params, headers=headers) as r:
                if r.status_code >= 400:
                    await r.aread()
                    raise UpstreamError(r.status_code, _message_of(r))
                async for chunk in r.aiter_raw():
                    yield chunk
        except httpx.HTTPError as exc:
            raise UpstreamError(502, f"the Kubernetes API could not be reached: {exc}") from exc

    async def pod_log(self, token: str, namespace: str, pod: str, limit_bytes: int) -> bytes:
        response = await self._request(
            token,
            "GET",
            path(*PODS, namespace, pod, "log"),
            params={"container": CONTAINER, "limitBytes": limit_bytes},
        )
        return response.content


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
