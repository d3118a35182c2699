#!/usr/bin/env python3
"""The local cluster's operator settings, from the one place they are written
(hack/deploy/config.yaml, which `make deploy` installs), as environment variables for an operator
run on the host (`make run`, `make demo`): `export NAME=VALUE` lines for a shell to eval. With
--helm-values, as values of the Helm chart (`make helm-install`): the same settings, and both
pods on the real node as hack/deploy/kustomization.yaml places them."""

from __future__ import annotations

import copy
import shlex
import sys
from pathlib import Path
from typing import Any

import yaml

CONFIG = Path(__file__).resolve().parent / "deploy" / "config.yaml"
# ConfigMap key -> the operator's variable (as kubernetes/deployment.yaml maps them).
VARIABLES = {
    "defaultImage": "ORCHESTRATOR_DEFAULT_IMAGE",
    "podDefaults": "ORCHESTRATOR_POD_DEFAULTS",
    "defaultTimeoutSeconds": "ORCHESTRATOR_DEFAULT_TIMEOUT_SECONDS",
}


def _data() -> dict[str, str]:
    return yaml.safe_load(CONFIG.read_text())["data"]


def local_settings() -> dict[str, str]:
    return {VARIABLES[key]: value for key, value in _data().items()}


def helm_values() -> dict[str, Any]:
    data = _data()
    pod_defaults = yaml.safe_load(data["podDefaults"]) or {}
    # The real node is tainted: the commands' placement is the operator's and the API's too.
    placement = {k: pod_defaults[k] for k in ("nodeSelector", "tolerations") if k in pod_defaults}
    return {
        "operator": {
            "defaultImage": data["defaultImage"],
            "podDefaults": pod_defaults,
            "defaultTimeoutSeconds": int(data["defaultTimeoutSeconds"]),
            **copy.deepcopy(placement),
        },
        "api": copy.deepcopy(placement),
    }


if __name__ == "__main__":
    if sys.argv[1:] == ["--helm-values"]:
        print(yaml.safe_dump(helm_values(), sort_keys=False), end="")
    else:
        for name, value in local_settings().items():
            print(f"export {name}={shlex.quote(value)}")
