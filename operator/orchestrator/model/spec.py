"""The rules and defaults of an AdhocCommand's spec and status, written once (pure).

The CRD generator (hack/gen_crd.py), the Job builder, the reconciler, the status and the REST
API's models read them from here; tests/unit/test_spec.py proves the CRD and the REST model agree.
"""

from __future__ import annotations

from typing import Any

# spec.command / spec.args
COMMAND_MAX_LENGTH = 65536
ARGS_MAX_ITEMS = 1024
IMAGE_MAX_LENGTH = 1024
SERVICE_ACCOUNT_MAX_LENGTH = 253
# env: bounded so that one request or object cannot hold more than a run needs.
ENV_MAX_ITEMS = 256
ENV_NAME_MAX_LENGTH = 256
ENV_VALUE_MAX_LENGTH = 32768
# spec.timeoutSeconds becomes the Job's activeDeadlineSeconds: at least a second, at most what a
# 32-bit signed integer holds (68 years), so that every client's integers carry it.
TIMEOUT_MIN = 1
TIMEOUT_MAX = 2**31 - 1
# spec.retries becomes the Job's backoffLimit.
RETRIES_MIN = 0
RETRIES_MAX = 100
TTL_MIN = 0
TTL_MAX = 2**31 - 1  # the Job's ttlSecondsAfterFinished is an int32 (found by the fuzz)
# spec.logs.maxBytes: a ConfigMap holds at most 1 MiB, keys and metadata included.
LOGS_MAX_BYTES_DEFAULT = 262144
LOGS_MAX_BYTES_LIMIT = 900000
# spec.logs.storage: where the output is kept. A Secret for output that must be as private as
# one (`view` reads ConfigMaps, not Secrets).
LOGS_STORAGE = ("ConfigMap", "Secret")
LOGS_STORAGE_DEFAULT = "ConfigMap"

# Quantities (resources, sizeLimit, divisor): the API server's grammar, bounded. A quantity of a
# million digits or an exponent of nine digits keeps kube-apiserver computing for over 30 s a
# request (found by the fuzz), and the operator would ask again and again: at most 64
# characters, 30 digits on either side of the point, an exponent of at most 3 digits.
QUANTITY_MAX_LENGTH = 64
QUANTITY_PATTERN = (
    r"^(\+|-)?(([0-9]{1,30}(\.[0-9]{0,30})?)|(\.[0-9]{1,30}))"
    r"(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?[0-9]{1,3}))?$"
)

# spec.historyLimit: how many earlier runs keep their record and output.
HISTORY_LIMIT_DEFAULT = 5
HISTORY_LIMIT_MAX = 100

# The one container of a run's pod.
CONTAINER = "command"
# Fields of spec that do not change what runs: toggling them keeps the current run.
# A label value (Kubernetes' own rule): spec.queueName and spec.concurrencyKey become labels.
LABEL_VALUE_PATTERN = r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$"
LABEL_VALUE_MAX_LENGTH = 63
RUN_NEUTRAL_FIELDS = (
    "suspend",
    "ttlSecondsAfterFinished",
    "logs",
    "historyLimit",
    "approval",
    "cancel",
    "concurrencyKey",
)

PHASES = ("Pending", "Running", "Succeeded", "Failed", "Suspended")
FINISHED_PHASES = ("Succeeded", "Failed")


def is_finished_phase(status: dict[str, Any] | None) -> bool:
    return (status or {}).get("phase") in FINISHED_PHASES


def current_run_finished(adhoc: dict[str, Any]) -> bool:
    """The run of the AdhocCommand's current spec has ended (its status says so)."""
    status = adhoc.get("status") or {}
    return is_finished_phase(status) and status.get("observedGeneration") == (adhoc.get("metadata") or {}).get(
        "generation"
    )


# A rerun without editing the command: a pod-template annotation set to the time, as
# `kubectl rollout restart` does. It changes the spec, so it is a new generation and a new run.
ANNOTATION_RERUN_AT = "orchestrator.dev/rerun-at"


def rerun_patch(now: str) -> dict[str, Any]:
    """The merge patch that runs an AdhocCommand again, as it is (`now`: an RFC 3339 time)."""
    return {"spec": {"podMetadata": {"annotations": {ANNOTATION_RERUN_AT: now}}}}


def cancel_request() -> dict[str, Any]:
    """The merge patch that stops an AdhocCommand's run for good (spec.cancel)."""
    return {"spec": {"cancel": True}}


def max_bytes(spec: dict[str, Any]) -> int:
    """How many bytes of output a run stores (spec.logs.maxBytes, or its default)."""
    return int(((spec or {}).get("logs") or {}).get("maxBytes") or LOGS_MAX_BYTES_DEFAULT)


def logs_storage(spec: dict[str, Any]) -> str:
    """Where a run's output is kept: spec.logs.storage, ConfigMap by default."""
    value = ((spec or {}).get("logs") or {}).get("storage")
    return value if value in LOGS_STORAGE else LOGS_STORAGE_DEFAULT


def restricted_security_context(run_as_user: int | None) -> dict[str, Any]:
    """A container security context that meets the restricted Pod Security Standard; without
    a uid, the platform's (OpenShift assigns one from the namespace's range)."""
    context: dict[str, Any] = {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    if run_as_user is not None:
        context["runAsUser"] = run_as_user
    return context


# The pod-level half of the same standard.
RESTRICTED_POD_SECURITY_CONTEXT: dict[str, Any] = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
