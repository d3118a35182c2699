"""The Kubernetes API, called with the caller's own bearer token (the REST API's only I/O), or
with a kubeconfig's credentials (kubectl-adhoc: `Upstream.logged_in`, and token ""), over the
one transport (transport.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from orchestrator import GROUP, PLURAL
from orchestrator.kube import credentials
from orchestrator.kube.errors import ApiError
from orchestrator.kube.transport import Limits, Transport
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

CALL_SECONDS = 30.0  # each call's limit (kubectl adhoc --request-timeout)
# Calls that end at once share one pool; followed logs, which hold a connection for a run's
# life, have their own, bounded: a hundred open streams must not make every other call wait.
CONNECTIONS = 200
MAX_STREAMS = 100  # per replica; more answer 429 (ORCHESTRATOR_API_MAX_STREAMS)


class TooManyStreams(ApiError):
    def __init__(self, limit: int) -> None:
        super().__init__(429, f"this server follows {limit} logs at once already: try again shortly")


def _pools(max_streams: int, call_seconds: float | None) -> dict[str, Any]:
    return {
        "connections": CONNECTIONS,
        "timeout": Limits(total=call_seconds),
        "streams": max_streams,
        # A followed log may stay quiet for long (a command that sleeps): no read time-out.
        "stream_timeout": Limits(total=None, sock_connect=call_seconds),
    }


class Upstream:
    """The AdhocCommand verbs as a caller: each takes the caller's token ("" for the
    transport's own credential)."""

    def __init__(self, transport: Transport, max_streams: int = MAX_STREAMS) -> None:
        self.transport = transport
        self.max_streams = max_streams
        self.streams_open = 0

    @classmethod
    def for_callers(cls, target: credentials.Target, max_streams: int = MAX_STREAMS) -> Upstream:
        """A client that holds no credential: every call carries its caller's token (the REST API)."""
        return cls(Transport(target, **_pools(max_streams, CALL_SECONDS)), max_streams)

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
        options = {"headers": headers, **_pools(MAX_STREAMS, call_seconds)}
        transport = Transport.logged_in(info, lambda: credentials.login(source), **options)
        return cls(transport)

    async def close(self) -> None:
        await self.transport.close()

    async def reachable(self) -> str | None:
        """None when the API server answers over TLS (any HTTP status: this server holds no
        token of its own), else why not."""
        try:
            await self.transport.content("GET", "/readyz", check=False, limits=Limits(total=5.0))
        except ApiError as err:
            return err.message
        return None

    async def _request(self, token: str, method: str, url: str, **kwargs: Any) -> bytes:
        """One call's answer, or ApiError with the API server's status and message."""
        return await self.transport.content(method, url, token=token, **kwargs)

    async def _json(self, token: str, method: str, url: str, **kwargs: Any) -> Json:
        return await self.transport.json(method, url, token=token, **kwargs)

    @staticmethod
    def _adhoc_path(namespace: str, name: str = "") -> str:
        return path(*ADHOCS, namespace, name)

    async def whoami(self, token: str) -> Json:
        """Who the token is, as the API server authenticates it (a SelfSubjectReview)."""
        review = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
        answer = await self._json(token, "POST", path(*SELF_REVIEWS), body=review)
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
        answer = await self._json(token, "POST", path(*SELF_ACCESS_REVIEWS), body=review)
        return bool((answer.get("status") or {}).get("allowed"))

    async def create(self, token: str, body: Json) -> Json:
        return await self._json(token, "POST", self._adhoc_path(body["metadata"]["namespace"]), body=body)

    async def list(self, token: str, namespace: str, limit: int, cont: str | None) -> Json:
        params = {"limit": str(limit), **({"continue": cont} if cont else {})}
        return await self._json(token, "GET", self._adhoc_path(namespace), params=params)

    async def get(self, token: str, namespace: str, name: str) -> Json:
        return await self._json(token, "GET", self._adhoc_path(namespace, name))

    async def patch(self, token: str, namespace: str, name: str, patch: Json) -> Json:
        """A JSON merge patch of an AdhocCommand."""
        url = self._adhoc_path(namespace, name)
        return await self._json(token, "PATCH", url, body=patch, content_type="application/merge-patch+json")

    async def delete(self, token: str, namespace: str, name: str) -> None:
        options = {"propagationPolicy": "Background"}
        await self._request(token, "DELETE", self._adhoc_path(namespace, name), body=options)

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
        params = {"container": CONTAINER, "follow": "true"}
        url = path(*PODS, namespace, pod, "log")
        async with self.transport.open("GET", url, token=token, params=params, accept="*/*", stream=True) as response:
            async for chunk in response.content.iter_any():
                yield chunk

    async def pod_log(self, token: str, namespace: str, pod: str, limit_bytes: int) -> bytes:
        params = {"container": CONTAINER, "limitBytes": str(limit_bytes)}
        url = path(*PODS, namespace, pod, "log")
        return await self._request(token, "GET", url, params=params, accept="*/*")


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
