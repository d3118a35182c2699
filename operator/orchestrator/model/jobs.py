"""Builds the batch/v1 Job of one run of an AdhocCommand (pure)."""

from __future__ import annotations

import copy
import hashlib
import json
import re
from typing import Any

from orchestrator import API_VERSION, GROUP, KIND
from orchestrator.model.approval import job_annotations
from orchestrator.model.config import Config
from orchestrator.model.names import job_name, labels_for
from orchestrator.model.spec import (
    CONTAINER,
    LABEL_VALUE_MAX_LENGTH,
    LABEL_VALUE_PATTERN,
    QUANTITY_MAX_LENGTH,
    QUANTITY_PATTERN,
    RESTRICTED_POD_SECURITY_CONTEXT,
    RETRIES_MIN,
    RUN_NEUTRAL_FIELDS,
    TIMEOUT_MIN,
    TTL_MIN,
    restricted_security_context,
)
from orchestrator.model.workloads import AUTOMOUNT, POD_SECURITY_CONTEXT, TemplateError, spec_from_template

ANNOTATION_SPEC_HASH = f"{GROUP}/spec-hash"
# Kueue (spec.queueName): the Job names its LocalQueue and is created suspended; Kueue admits it
# by unsuspending it.
LABEL_KUEUE_QUEUE = "kueue.x-k8s.io/queue-name"


_LABEL_VALUE = re.compile(LABEL_VALUE_PATTERN)


def queue_name(spec: dict[str, Any]) -> str | None:
    """spec.queueName, checked as the label value it becomes (the CRD refuses others first)."""
    value = spec.get("queueName")
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > LABEL_VALUE_MAX_LENGTH or not _LABEL_VALUE.match(value):
        raise InvalidSpec("spec.queueName must be a label value (at most 63 letters, digits, '-', '_', '.')")
    return value


class InvalidSpec(ValueError):
    """The AdhocCommand's spec cannot become a Job (the CRD schema normally prevents it)."""


def run_hash(spec: dict[str, Any]) -> str:
    """A digest of what runs: equal for two specs that differ only in run-neutral fields."""
    relevant = {k: v for k, v in spec.items() if k not in RUN_NEUTRAL_FIELDS}
    return hashlib.sha256(json.dumps(relevant, sort_keys=True).encode()).hexdigest()[:16]


def container_command(spec: dict[str, Any]) -> list[str]:
    command, args = spec.get("command"), spec.get("args")
    if (command is None) == (args is None):
        raise InvalidSpec("exactly one of spec.command and spec.args must be set")
    if command is not None:
        if not isinstance(command, str) or not command:
            raise InvalidSpec("spec.command must be a non-empty string")
        return ["/bin/sh", "-c", command]
    if not isinstance(args, list) or not args or not all(isinstance(a, str) for a in args):
        raise InvalidSpec("spec.args must be a non-empty list of strings")
    return list(args)


def _string_map(value: Any, field: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise InvalidSpec(f"{field} must be a map of strings")
    return dict(value)


def _int(spec: dict[str, Any], field: str, minimum: int) -> int | None:
    value = spec.get(field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidSpec(f"spec.{field} must be an integer >= {minimum}")
    return value


def owner_reference(adhoc: dict[str, Any]) -> dict[str, Any]:
    meta = adhoc["metadata"]
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "name": meta["name"],
        "uid": meta["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


_QUANTITY = re.compile(QUANTITY_PATTERN)
QUANTITY_MAPS = ("limits", "requests", "overhead")  # name -> quantity
QUANTITY_FIELDS = ("sizeLimit", "divisor")


def _check_quantity(value: Any, where: str) -> None:
    if isinstance(value, str) and (len(value) > QUANTITY_MAX_LENGTH or not _QUANTITY.fullmatch(value)):
        shown = value if len(value) <= 40 else value[:40] + "..."
        raise InvalidSpec(
            f"{where}: {shown!r} is not a quantity the operator passes on "
            f"(at most {QUANTITY_MAX_LENGTH} characters, an exponent of at most 3 digits)"
        )


def check_quantities(node: Any, where: str = "spec") -> None:
    """Refuses a quantity the API server would spend seconds parsing (the CRD refuses it at
    admission; this stops one stored before that, or sent where no schema looks)."""
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{where}.{key}"
            if key in QUANTITY_MAPS and isinstance(value, dict):
                for name, quantity in value.items():
                    _check_quantity(quantity, f"{here}.{name}")
            elif key in QUANTITY_FIELDS:
                _check_quantity(value, here)
            else:
                check_quantities(value, here)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            check_quantities(item, f"{where}[{index}]")


def job_for(adhoc: dict[str, Any], config: Config, template: dict[str, Any] | None = None) -> dict[str, Any]:
    """The Job for the run of `adhoc` at its current generation; with spec.from, `template` is
    the workload's pod template (read when the run starts)."""
    meta = adhoc["metadata"]
    original = adhoc.get("spec")
    if not isinstance(original, dict):
        raise InvalidSpec("spec must be an object")
    check_quantities(original)
    try:
        spec = spec_from_template(original, template) if template is not None else original
    except TemplateError as err:
        raise InvalidSpec(f"spec.from: {err}") from None
    name, uid, generation = meta["name"], meta["uid"], int(meta.get("generation", 1))
    ours = labels_for(name, uid, generation)
    queue = queue_name(original)
    job_spec = _job_spec(spec, _pod_template(spec, config, ours), config)
    if queue is not None:
        job_spec["suspend"] = True  # Kueue unsuspends it when it admits it
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": job_name(name, generation),
            "namespace": meta["namespace"],
            "labels": {**ours, LABEL_KUEUE_QUEUE: queue} if queue is not None else ours,
            "annotations": {ANNOTATION_SPEC_HASH: run_hash(original), **job_annotations(adhoc)},
            "ownerReferences": [owner_reference(adhoc)],
        },
        "spec": job_spec,
    }


def _container(spec: dict[str, Any], config: Config) -> dict[str, Any]:
    security = restricted_security_context(config.run_as_user)
    user_security = spec.get("securityContext")
    if user_security is not None:
        if not isinstance(user_security, dict):
            raise InvalidSpec("spec.securityContext must be an object")
        security.update(copy.deepcopy(user_security))
    container: dict[str, Any] = {
        "name": CONTAINER,
        "image": spec.get("image") or config.image,
        "imagePullPolicy": config.image_pull_policy,
        "command": container_command(spec),
        "securityContext": security,
        # What the command writes to /dev/termination-log (at most 4 KiB) becomes status.result:
        # only that, never the output's tail (which FallbackToLogsOnError would put there).
        "terminationMessagePolicy": "File",
    }
    for field in ("env", "envFrom", "workingDir", "resources", "volumeMounts"):
        if spec.get(field) is not None:
            container[field] = copy.deepcopy(spec[field])
    if "resources" not in container and "resources" in config.pod_defaults:
        container["resources"] = copy.deepcopy(config.pod_defaults["resources"])
    return container


def _pod_template(spec: dict[str, Any], config: Config, ours: dict[str, str]) -> dict[str, Any]:
    pod_meta = spec.get("podMetadata") or {}
    if not isinstance(pod_meta, dict):
        raise InvalidSpec("spec.podMetadata must be an object")
    labels = {**_string_map(pod_meta.get("labels"), "spec.podMetadata.labels"), **ours}
    annotations = _string_map(pod_meta.get("annotations"), "spec.podMetadata.annotations")
    pod_spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "containers": [_container(spec, config)],
        "securityContext": {**RESTRICTED_POD_SECURITY_CONTEXT, **copy.deepcopy(spec.get(POD_SECURITY_CONTEXT) or {})},
        "enableServiceLinks": False,
    }
    for field in ("volumes", "affinity", "imagePullSecrets"):
        if spec.get(field) is not None:
            pod_spec[field] = copy.deepcopy(spec[field])
    if spec.get("serviceAccountName"):
        pod_spec["serviceAccountName"] = spec["serviceAccountName"]
        if spec.get(AUTOMOUNT) is not None:
            pod_spec[AUTOMOUNT] = spec[AUTOMOUNT]
    else:
        # No identity was asked for: do not hand the command the namespace's default token.
        pod_spec[AUTOMOUNT] = False
    _place(pod_spec, spec, config)
    return {"metadata": {"labels": labels, **({"annotations": annotations} if annotations else {})}, "spec": pod_spec}


def _place(pod_spec: dict[str, Any], spec: dict[str, Any], config: Config) -> None:
    """Node selector and tolerations from the spec, else the operator's defaults (a cluster's
    batch node pool), with its priority class and pull secrets."""
    if spec.get("nodeSelector") is not None:
        pod_spec["nodeSelector"] = _string_map(spec.get("nodeSelector"), "spec.nodeSelector")
    if spec.get("tolerations") is not None:
        pod_spec["tolerations"] = copy.deepcopy(spec["tolerations"])
    for field in ("nodeSelector", "tolerations", "priorityClassName", "imagePullSecrets"):
        if field not in pod_spec and field in config.pod_defaults:
            pod_spec[field] = copy.deepcopy(config.pod_defaults[field])
    if not pod_spec.get("nodeSelector"):
        pod_spec.pop("nodeSelector", None)


# Without a policy of its own, a run's pod taken away by a node drain, an eviction or a
# preemption (the pod's DisruptionTarget condition) is not held against its retries.
DISRUPTIONS_DO_NOT_COUNT = {"rules": [{"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]}]}


def _job_spec(spec: dict[str, Any], template: dict[str, Any], config: Config) -> dict[str, Any]:
    policy = spec.get("podFailurePolicy")
    if policy is not None and not isinstance(policy, dict):
        raise InvalidSpec("spec.podFailurePolicy must be an object")
    job_spec: dict[str, Any] = {
        "backoffLimit": _int(spec, "retries", RETRIES_MIN) or 0,
        "suspend": bool(spec.get("suspend", False)),
        "podFailurePolicy": copy.deepcopy(policy if policy is not None else DISRUPTIONS_DO_NOT_COUNT),
        "template": template,
    }
    timeout = _int(spec, "timeoutSeconds", TIMEOUT_MIN)
    if timeout is None:
        timeout = config.default_timeout_seconds
    if timeout is not None:
        job_spec["activeDeadlineSeconds"] = timeout
    ttl = _int(spec, "ttlSecondsAfterFinished", TTL_MIN)
    if ttl is not None:
        # The cluster's TTL controller deletes the Job when the AdhocCommand's TTL is up; the
        # operator sees the deletion and deletes the AdhocCommand: no timer of our own.
        job_spec["ttlSecondsAfterFinished"] = ttl
    return job_spec
