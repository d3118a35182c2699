"""Prints the AdhocCommand's OpenAPI schema, taken from the CRD, as JSON: the REST API describes
its answers with it (operator/orchestrator/rest/adhoccommand.schema.json; `make crd` writes it,
tests/unit/test_rest_openapi.py keeps it equal to the CRD)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml


def schema_of(crd_file: Path) -> dict[str, Any]:
    crd = yaml.safe_load(crd_file.read_text())
    [version] = [v for v in crd["spec"]["versions"] if v.get("storage")]
    return version["schema"]["openAPIV3Schema"]


def main() -> None:
    json.dump(schema_of(Path(sys.argv[1])), sys.stdout, indent=1, sort_keys=True)
    print()


if __name__ == "__main__":
    main()
