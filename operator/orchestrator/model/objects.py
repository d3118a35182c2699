"""Kubernetes' own small vocabulary, written once (pure): an object as its JSON (and JSON
itself, compact), and its two timestamp formats (metav1.Time, to the second; metav1.MicroTime,
for Leases)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

try:  # several times faster both ways: the REST API's lists, the operator's watch events and views
    import orjson
except ImportError:  # kubectl-adhoc's archive is pure Python for any python3: the standard json
    orjson = None  # type: ignore[assignment]

Obj = dict[str, Any]  # a Kubernetes object (or part of one) as JSON


def to_json(value: Any) -> bytes:
    """Compact JSON (no spaces)."""
    return orjson.dumps(value) if orjson is not None else json.dumps(value, separators=(",", ":")).encode()


def from_json(data: bytes | str) -> Any:
    return orjson.loads(data) if orjson is not None else json.loads(data)


def timestamp(when: datetime | None = None) -> str:
    """metav1.Time: RFC 3339 in UTC, to the second (now when `when` is None)."""
    return (when or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def micro_timestamp(when: datetime) -> str:
    """metav1.MicroTime (a Lease's renewTime and acquireTime)."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> datetime:
    """A Time or MicroTime as the API server writes it (ValueError when it is not one)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
