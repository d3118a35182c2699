"""make manifests' JSON patches (the tls Component): the fewest plain operations, by table."""

from __future__ import annotations

from typing import Any

import pytest

from hack.gen_manifests import json_patch

CASES: list[tuple[str, Any, Any, list[dict[str, Any]]]] = [
    ("same", {"a": [1, {"b": 2}]}, {"a": [1, {"b": 2}]}, []),
    ("key added", {"a": 1}, {"a": 1, "b": {"c": 2}}, [{"op": "add", "path": "/b", "value": {"c": 2}}]),
    ("key removed", {"a": 1, "b": 2}, {"a": 1}, [{"op": "remove", "path": "/b"}]),
    ("scalar changed", {"a": {"b": 80}}, {"a": {"b": 443}}, [{"op": "replace", "path": "/a/b", "value": 443}]),
    (
        "appended",
        {"env": [{"name": "A"}]},
        {"env": [{"name": "A"}, {"name": "B"}, {"name": "C"}]},
        [
            {"op": "add", "path": "/env/-", "value": {"name": "B"}},
            {"op": "add", "path": "/env/-", "value": {"name": "C"}},
        ],
    ),
    (
        "inserted",
        [1, 4],
        [1, 2, 3, 4],
        [{"op": "add", "path": "/1", "value": 2}, {"op": "add", "path": "/2", "value": 3}],
    ),
    ("element changed", [{"port": 80}], [{"port": 443}], [{"op": "replace", "path": "/0/port", "value": 443}]),
    ("shrunk: replaced", {"l": [1, 2]}, {"l": [2]}, [{"op": "replace", "path": "/l", "value": [2]}]),
    ("reordered and grown: replaced", [1, 2], [2, 1, 3], [{"op": "replace", "path": "", "value": [2, 1, 3]}]),
    ("escaped key", {}, {"a/b~c": 1}, [{"op": "add", "path": "/a~1b~0c", "value": 1}]),
]


@pytest.mark.parametrize(("old", "new", "ops"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_json_patch(old: Any, new: Any, ops: list[dict[str, Any]]):
    assert json_patch(old, new) == ops
