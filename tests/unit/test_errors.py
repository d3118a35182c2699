"""One error for every Kubernetes API call: read from what the API server (or a proxy) answered."""

from __future__ import annotations

import json

import pytest

from orchestrator.kube.errors import ApiError, error_of, unreachable

STATUS = {"kind": "Status", "status": "Failure", "message": 'jobs "x" not found', "reason": "NotFound", "code": 404}


@pytest.mark.parametrize(
    ("status", "body", "reason", "expected"),
    [
        (404, json.dumps(STATUS).encode(), "Not Found", (404, 'jobs "x" not found', "NotFound")),
        (502, b"<html>Bad Gateway</html>", "Bad Gateway", (502, "<html>Bad Gateway</html>", "")),  # a proxy's page
        (503, b"", "Service Unavailable", (503, "Service Unavailable", "")),
        (500, b"", "", (500, "500", "")),
        (403, json.dumps({"message": "", "reason": "Forbidden"}), "Forbidden", (403, "Forbidden", "Forbidden")),
        (400, b"\xff\xfe not utf-8", "", (400, "\ufffd\ufffd not utf-8", "")),
    ],
)
def test_the_answer_becomes_one_error(status, body, reason, expected):
    err = error_of(status, body, reason)
    assert (err.status, err.message, err.reason) == expected


@pytest.mark.parametrize(
    ("status", "transient"),
    [(0, True), (409, True), (429, True), (503, True), (400, False), (403, False), (404, False), (422, False)],
)
def test_which_are_worth_retrying(status, transient):
    assert ApiError(status, "m").transient is transient


@pytest.mark.parametrize(
    ("exc", "message"),
    [
        (TimeoutError("read timed out"), "the Kubernetes API could not be reached: TimeoutError: read timed out"),
        # aiohttp's own time limit says nothing: the message must (kubectl adhoc --request-timeout).
        (TimeoutError(), "the Kubernetes API did not answer in time (the request's time limit)"),
        (
            ConnectionRefusedError(111, "Connection refused"),
            "the Kubernetes API could not be reached: ConnectionRefusedError: [Errno 111] Connection refused",
        ),
    ],
)
def test_no_answer_is_status_zero_and_says_why(exc, message):
    err = unreachable(exc)
    assert err.status == 0 and err.transient
    assert err.message == message


def test_a_namespace_being_deleted_is_told_apart():
    message = 'jobs "x" is forbidden: unable to create new content in namespace t because it is being terminated'
    assert ApiError(403, message).namespace_ending and not ApiError(403, "forbidden").namespace_ending
