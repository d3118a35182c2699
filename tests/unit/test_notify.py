"""What the notification webhook is sent when a run ends (pure), by tables of cases."""

from __future__ import annotations

import pytest

from orchestrator.model import notify

from .factories import adhoc

ENDED = {
    "observedGeneration": 3,
    "phase": "Failed",
    "exitCode": 2,
    "reason": "Error",
    "duration": "4s",
    "requestedBy": "alice",
}


@pytest.mark.parametrize(
    ("data", "limit", "tail"),
    [
        (b"", 4096, ""),
        (b"one\ntwo\n", 4096, "one\ntwo\n"),
        (b"aaaa\nbbbb\ncccc\n", 12, "bbbb\ncccc\n"),  # whole lines when they fit
        (b"x" * 20, 8, "x" * 8),  # one long line: its end
        ("é".encode() * 10, 5, "éé"),  # a character cut in two is dropped
    ],
)
def test_the_tail_is_the_outputs_last_lines(data, limit, tail):
    assert notify.output_tail(data, limit) == tail


def test_a_finished_run_is_a_cloudevent_with_the_contracts_fields():
    data = notify.run_data(adhoc(), ENDED, "boom\n")
    event = notify.payload("cloudevents", notify.FINISHED, data, "id-1", "2026-11-29T00:00:00Z")
    assert event["specversion"] == "1.0" and event["type"] == "dev.orchestrator.run.finished"
    assert event["source"] == "/apis/orchestrator.dev/v1alpha1/namespaces/ns/adhoccommands/cmd"
    assert (event["id"], event["time"], event["datacontenttype"]) == (
        "id-1",
        "2026-11-29T00:00:00Z",
        "application/json",
    )
    assert event["data"] == {
        "namespace": "ns",
        "name": "cmd",
        "generation": 3,
        "phase": "Failed",
        "exitCode": 2,
        "reason": "Error",
        "requestedBy": "alice",
        "approvedBy": None,
        "duration": "4s",
        "outputTail": "boom\n",
    }


@pytest.mark.parametrize(
    ("status", "tail", "says"),
    [
        (
            ENDED,
            "boom\n",
            "AdhocCommand ns/cmd (generation 3): Failed, exit code 2, after 4s, run by alice\n```\nboom\n```",
        ),
        ({"observedGeneration": 1, "phase": "Failed", "reason": "DeadlineExceeded"}, None, "Failed, DeadlineExceeded"),
        ({"observedGeneration": 1, "phase": "Succeeded", "exitCode": 0}, "```x```", "```\n'''x'''\n```"),
    ],
)
def test_a_slack_message_says_it_in_one_line_and_the_tail(status, tail, says):
    message = notify.payload("slack", notify.FINISHED, notify.run_data(adhoc(), status, tail), "id", "t")
    assert set(message) == {"text"} and says in message["text"]
