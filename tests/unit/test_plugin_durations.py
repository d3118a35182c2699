"""kubectl adhoc's durations, parsed as kubectl (Go's time.ParseDuration) parses them."""

from __future__ import annotations

import pytest

from orchestrator.plugin.cli import Failure, request_seconds, seconds


@pytest.mark.parametrize(
    ("text", "expected"),
    [("90", 90), ("90s", 90), ("1.5m", 90), ("1h30m", 5400), ("2h", 7200), ("1m0.5s", 60)],
)
def test_durations_as_kubectl_writes_them(text, expected):
    assert seconds(text) == expected


@pytest.mark.parametrize(
    ("text", "says"), [("soon", "not a duration"), ("0s", "more than 0s"), ("-5m", "more than 0s")]
)
def test_a_duration_that_is_none_or_not_positive_is_one_clear_line(text, says):
    with pytest.raises(Failure, match=says):
        seconds(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [(None, 30.0), ("5", 5.0), ("2.5", 2.5), ("1m", 60.0), ("500ms", 0.5), ("0", None), ("0s", None)],
)
def test_request_timeout_as_kubectl_reads_it(text, expected):
    """--request-timeout: the default is 30 s a call; 0 means no limit, as kubectl's."""
    assert request_seconds(text) == expected


@pytest.mark.parametrize(
    ("text", "says"), [("banana", "not a duration"), ("-1s", "at least 1ms"), ("1ns", "at least 1ms")]
)
def test_a_request_timeout_that_is_not_one_is_one_clear_line(text, says):
    with pytest.raises(Failure, match=says):
        request_seconds(text)
