"""kubectl adhoc's durations, parsed as kubectl (Go's time.ParseDuration) parses them."""

from __future__ import annotations

import pytest

from orchestrator.plugin.cli import Failure, seconds


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
