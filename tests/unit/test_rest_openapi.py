"""The REST API's OpenAPI description names the AdhocCommand's schema, and that schema is the CRD's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hack.crd_schema import schema_of
from orchestrator.rest.app import SCHEMA_FILE, create_app

REPO = Path(__file__).resolve().parents[2]
SPEC = create_app().openapi()


def test_the_packaged_schema_is_the_crds():
    """`make crd` writes both; a CRD changed by hand alone would describe answers wrongly."""
    assert json.loads(SCHEMA_FILE.read_text()) == schema_of(REPO / "crds" / "adhoccommands.orchestrator.dev.yaml")


def refs(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [value["$ref"]] if "$ref" in value else [r for v in value.values() for r in refs(v)]
    if isinstance(value, list):
        return [r for v in value for r in refs(v)]
    return []


def test_every_reference_in_the_description_resolves():
    schemas = SPEC["components"]["schemas"]
    assert {ref.removeprefix("#/components/schemas/") for ref in refs(SPEC)} <= set(schemas)


@pytest.mark.parametrize(
    ("method", "path", "code", "schema"),
    [
        ("post", "/jobs", "201", "AdhocCommand"),
        ("get", "/jobs/{run_id}", "200", "AdhocCommand"),
        ("get", "/jobs/{run_id}/status", "200", "AdhocCommandStatus"),
        ("post", "/jobs/{run_id}/rerun", "200", "AdhocCommand"),
        ("post", "/jobs/{run_id}/cancel", "200", "AdhocCommand"),
        ("post", "/jobs/{run_id}/approve", "200", "AdhocCommand"),
        ("post", "/jobs/{run_id}/reject", "200", "AdhocCommand"),
    ],
)
def test_answers_that_are_adhoccommands_say_so(method: str, path: str, code: str, schema: str):
    answer = SPEC["paths"][path][method]["responses"][code]["content"]["application/json"]["schema"]
    assert answer == {"$ref": f"#/components/schemas/{schema}"}


def test_the_adhoccommand_schema_describes_its_spec_and_the_id():
    adhoc = SPEC["components"]["schemas"]["AdhocCommand"]["properties"]
    assert adhoc["id"]["type"] == "string"
    assert {"command", "args", "from", "approval", "cancel"} <= set(adhoc["spec"]["properties"])
    assert {"phase", "exitCode", "requestedBy"} <= set(
        SPEC["components"]["schemas"]["AdhocCommandStatus"]["properties"]
    )
