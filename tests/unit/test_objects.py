"""Kubernetes' timestamp formats, written and read in one place."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from orchestrator.model.objects import micro_timestamp, parse_time, timestamp

WHEN = datetime(2026, 11, 29, 3, 4, 5, 678901, tzinfo=UTC)


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        (timestamp(WHEN), "2026-11-29T03:04:05Z"),
        (timestamp(WHEN.astimezone(timezone(timedelta(hours=2)))), "2026-11-29T03:04:05Z"),  # always UTC
        (micro_timestamp(WHEN), "2026-11-29T03:04:05.678901Z"),
    ],
)
def test_written_as_the_api_server_writes_them(written, expected):
    assert written == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-29T03:04:05Z", WHEN.replace(microsecond=0)),
        ("2026-11-29T03:04:05.678901Z", WHEN),
        ("2026-11-29T05:04:05+02:00", WHEN.replace(microsecond=0)),
    ],
)
def test_read_back(text, expected):
    assert parse_time(text) == expected


def test_not_a_time_is_a_value_error():
    with pytest.raises(ValueError):
        parse_time("yesterday")


def test_now_is_now():
    before = datetime.now(UTC).replace(microsecond=0)
    assert before <= parse_time(timestamp()) <= datetime.now(UTC)
