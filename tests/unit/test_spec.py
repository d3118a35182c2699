"""The spec's rules are written once (orchestrator/spec.py): the CRD the API server enforces and
the REST API's request model say the same."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from orchestrator.model import spec as rules
from orchestrator.rest.models import NewRun

CRD = Path(__file__).resolve().parents[2] / "crds" / "adhoccommands.orchestrator.dev.yaml"


@pytest.fixture(scope="module")
def crd_spec() -> dict:
    crd = yaml.safe_load(CRD.read_text())
    return crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]


def rest(field: str) -> dict:
    schema = NewRun.model_json_schema()["properties"][field]
    return next((s for s in schema.get("anyOf", []) if s.get("type") != "null"), schema)


# (REST field, CRD field, REST keyword, CRD keyword)
AGREEMENTS = [
    ("cmd", "command", "minLength", "minLength"),
    ("cmd", "command", "maxLength", "maxLength"),
    ("image", "image", "minLength", "minLength"),
    ("image", "image", "maxLength", "maxLength"),
    ("timeoutSeconds", "timeoutSeconds", "minimum", "minimum"),
    ("timeoutSeconds", "timeoutSeconds", "maximum", "maximum"),
    ("retries", "retries", "minimum", "minimum"),
    ("retries", "retries", "maximum", "maximum"),
]


@pytest.mark.parametrize(("rest_field", "crd_field", "rest_key", "crd_key"), AGREEMENTS)
def test_rest_model_and_crd_agree(crd_spec, rest_field, crd_field, rest_key, crd_key):
    assert crd_key in crd_spec[crd_field], f"the CRD sets no {crd_key} on spec.{crd_field}"
    assert rest(rest_field)[rest_key] == crd_spec[crd_field][crd_key]


def test_crd_takes_its_limits_from_the_rules(crd_spec):
    assert crd_spec["logs"]["properties"]["maxBytes"]["maximum"] == rules.LOGS_MAX_BYTES_LIMIT
    assert crd_spec["logs"]["properties"]["maxBytes"]["default"] == rules.LOGS_MAX_BYTES_DEFAULT
    assert crd_spec["timeoutSeconds"]["maximum"] == rules.TIMEOUT_MAX
    assert crd_spec["args"]["maxItems"] == rules.ARGS_MAX_ITEMS


def test_a_rerun_is_a_pod_annotation_of_the_time_and_nothing_else():
    """Setting the time (not a counter) makes each rerun a change, as `kubectl rollout restart`."""
    first, second = rules.rerun_patch("2026-11-29T10:00:00Z"), rules.rerun_patch("2026-11-29T10:00:01Z")
    assert first == {"spec": {"podMetadata": {"annotations": {"orchestrator.dev/rerun-at": "2026-11-29T10:00:00Z"}}}}
    assert first != second
