"""The one error of every Kubernetes API call (the operator's, the REST API's, the plugin's)."""

from __future__ import annotations

import json

TRANSIENT_STATUS = frozenset({409, 429, 500, 502, 503, 504})


class ApiError(Exception):
    """An API call failed with the API server's status and message; status 0: no answer came
    (the server could not be reached, or a time-out). `transient` ones are worth retrying."""

    def __init__(self, status: int, message: str, reason: str = "") -> None:
        super().__init__(f"{status} {reason}".strip() + f": {message}")
        self.status = status
        self.reason = reason
        self.message = message

    @property
    def namespace_ending(self) -> bool:
        """Refused because the namespace is being deleted: nothing there needs doing any more."""
        return self.status == 403 and "being terminated" in self.message

    @property
    def transient(self) -> bool:
        return self.status in TRANSIENT_STATUS or self.status == 0


def error_of(status: int, body: bytes | str, reason: str = "") -> ApiError:
    """The error an answer's body (a metav1.Status, or whatever a proxy sent) describes."""
    text = body.decode(errors="replace") if isinstance(body, bytes) else body
    try:
        status_body = json.loads(text)
        return ApiError(status, status_body.get("message") or reason, status_body.get("reason", ""))
    except (ValueError, AttributeError):
        return ApiError(status, text[:500] or reason or str(status))


def unreachable(exc: BaseException) -> ApiError:
    """No answer: a connection error or a time-out (transient)."""
    if isinstance(exc, TimeoutError) and not str(exc):
        return ApiError(0, "the Kubernetes API did not answer in time (the request's time limit)")
    return ApiError(0, f"the Kubernetes API could not be reached: {type(exc).__name__}: {exc}")
