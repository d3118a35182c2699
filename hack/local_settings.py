#!/usr/bin/env python3
"""The local cluster's operator settings, from the one place they are written
(hack/deploy/config.yaml, which `make deploy` installs), as environment variables for an operator
run on the host (`make run`, `make demo`). Prints `export NAME=VALUE` lines for a shell to eval."""

from __future__ import annotations

import shlex
from pathlib import Path

import yaml

CONFIG = Path(__file__).resolve().parent / "deploy" / "config.yaml"
# ConfigMap key -> the operator's variable (as kubernetes/deployment.yaml maps them).
VARIABLES = {"defaultImage": "ORCHESTRATOR_DEFAULT_IMAGE", "podDefaults": "ORCHESTRATOR_POD_DEFAULTS"}


def local_settings() -> dict[str, str]:
    data = yaml.safe_load(CONFIG.read_text())["data"]
    return {VARIABLES[key]: value for key, value in data.items()}


if __name__ == "__main__":
    for name, value in local_settings().items():
        print(f"export {name}={shlex.quote(value)}")
