"""GET /jobs builds its summaries as plain dicts (for speed): each must be exactly what the
documented RunSummary model says, whatever the AdhocCommand holds."""

from __future__ import annotations

import pytest

from orchestrator.rest.models import RunSummary, summary_of

BARE = {"metadata": {"name": "job-a", "namespace": "ns"}}
FINISHED = {
    "metadata": {"name": "job-b", "namespace": "ns", "creationTimestamp": "2026-11-29T00:00:00Z"},
    "spec": {"command": "echo hi", "image": "python:3.13"},
    "status": {
        "phase": "Succeeded",
        "reason": "Completed",
        "exitCode": 0,
        "succeeded": 1,
        "image": "python:3.13-slim",
        "duration": "3s",
        "conditions": [
            {"type": "Complete", "status": "True", "lastTransitionTime": "2026-11-29T00:00:03Z"},
            {"type": "Finished", "status": "True", "reason": "Completed", "message": "exit code 0"},
            {"type": "", "status": "True"},  # not a condition: left out
            "garbage",
        ],
    },
}
EXEC_FORM = {"metadata": {"name": "job-c", "namespace": "ns"}, "spec": {"args": ["python3", "-c", "print(1)"]}}


@pytest.mark.parametrize(
    ("adhoc", "expected"),
    [
        (BARE, {"job": "job-a", "cmd": None, "phase": None, "active": 0, "conditions": []}),
        (FINISHED, {"cmd": "echo hi", "image": "python:3.13-slim", "exitCode": 0, "succeeded": 1}),
        (EXEC_FORM, {"cmd": "python3 -c print(1)", "id": "job-c"}),
    ],
)
def test_a_summary_is_exactly_the_documented_model(adhoc, expected):
    summary = summary_of(adhoc)
    assert RunSummary.model_validate(summary).model_dump() == summary
    assert {k: summary[k] for k in expected} == expected


def test_conditions_keep_the_models_fields_only():
    [complete, finished] = summary_of(FINISHED)["conditions"]
    assert complete == {
        "type": "Complete",
        "status": "True",
        "reason": None,
        "message": None,
        "lastTransitionTime": "2026-11-29T00:00:03Z",
    }
    assert finished["message"] == "exit code 0"
