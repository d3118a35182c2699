"""What the REST API refuses before it reads a request's body (ASGI middleware).

Anyone who reaches the Service may send a body: it is bounded (413, by Content-Length and again
while it streams in), and a call that needs a token without one is answered 401 before a byte of
its body is read or parsed. The routes' own models bound each field after that.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY_BYTES = 256 * 1024  # a POST /jobs at its largest (64 KiB command, env) fits with room
PROTECTED = "/jobs"  # every route under it acts as the caller, with the caller's token


class BodyTooLarge(Exception):
    """Raised into the route's read of the body, once 413 is sent."""


async def _answer(send: Send, status: int, message: str, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    body = json.dumps({"error": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _has_bearer(scope: Scope) -> bool:
    for name, value in scope.get("headers") or []:
        if name == b"authorization":
            scheme, _, credential = value.decode("latin-1").partition(" ")
            return scheme.lower() == "bearer" and bool(credential.strip())
    return False


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers") or []:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return -1
    return None


class Limits:
    def __init__(self, app: ASGIApp, max_body: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path") or ""
        if (path == PROTECTED or path.startswith(PROTECTED + "/")) and not _has_bearer(scope):
            message = "a Kubernetes bearer token is required (Authorization: Bearer <token>)"
            await _answer(send, 401, message, [(b"www-authenticate", b"Bearer")])
            return
        declared = _declared_length(scope)
        if declared is not None and (declared < 0 or declared > self.max_body):
            await _answer(send, 413, f"the request body is larger than {self.max_body} bytes")
            return
        await self._bounded(scope, receive, send)

    async def _bounded(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Counts a body that comes without a length (chunked) as it arrives. Past the limit it
        answers 413 itself and drops whatever the route then answers (frameworks wrap a failed
        read in an error response of their own)."""
        received = 0
        answered = False

        async def counting() -> Message:
            nonlocal received, answered
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body and not answered:
                    answered = True
                    await _answer(send, 413, f"the request body is larger than {self.max_body} bytes")
                    raise BodyTooLarge
            return message

        async def unless_answered(message: Message) -> None:
            if not answered:
                await send(message)

        try:
            await self.app(scope, counting, unless_answered)
        except Exception:
            if not answered:  # the route's own failure: the server's error handling takes it
                raise
