#!/usr/bin/env python3
"""Writes crds/adhoccommands.orchestrator.dev.yaml.

Our own fields are described here; the core/v1 types the spec embeds (EnvVar, EnvFromSource,
ResourceRequirements, SecurityContext, Toleration) and metav1.Condition are taken from the
OpenAPI v3 document of the pinned k8s.io/kubernetes module, so they are validated as the core
types are. Descriptions of the core types are dropped to keep the CRD small enough for a
client-side `kubectl apply` (its last-applied annotation is capped at 256 KiB).

Usage: hack/gen_crd.py OPENAPI_V3_JSON > crds/adhoccommands.orchestrator.dev.yaml
(the core document, api__v1_openapi.json; batch/v1's is read from beside it)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

from orchestrator.model import spec as rules
from orchestrator.model.paths import DNS_LABEL, DNS_LABEL_MAX, DNS_SUBDOMAIN, DNS_SUBDOMAIN_MAX
from orchestrator.model.workloads import KINDS as WORKLOAD_KINDS

QUANTITY = {
    "anyOf": [{"type": "integer"}, {"type": "string"}],
    # The quantity grammar of k8s.io/apimachinery's resource.Quantity, bounded (see spec.py).
    "pattern": rules.QUANTITY_PATTERN,
    "maxLength": rules.QUANTITY_MAX_LENGTH,
    "x-kubernetes-int-or-string": True,
}
INT_OR_STRING = {"anyOf": [{"type": "integer"}, {"type": "string"}], "x-kubernetes-int-or-string": True}
# Keys of the core OpenAPI that a CRD's structural schema may keep.
KEEP = {
    "type",
    "format",
    "properties",
    "additionalProperties",
    "items",
    "required",
    "enum",
    "maximum",
    "minimum",
    "maxLength",
    "minLength",
    "maxItems",
    "minItems",
    "pattern",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
    "x-kubernetes-map-type",
}


def inline(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    """Resolves $ref and allOf wrappers recursively and drops what a CRD may not hold."""
    if "allOf" in schema and len(schema["allOf"]) == 1:
        merged = {k: v for k, v in schema.items() if k != "allOf"}
        merged.update(schema["allOf"][0])
        schema = merged
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        if name == "io.k8s.apimachinery.pkg.api.resource.Quantity":
            return dict(QUANTITY)
        if name == "io.k8s.apimachinery.pkg.util.intstr.IntOrString":
            return dict(INT_OR_STRING)
        return inline(components[name], components)
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key not in KEEP:
            continue
        if key == "properties":
            value = {k: inline(v, components) for k, v in value.items()}
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            value = inline(value, components)
        out[key] = value
    # A list-type "map" must list its keys as required; the core spec already does.
    return out


def core(name: str, components: dict[str, Any]) -> dict[str, Any]:
    return inline({"$ref": f"#/components/schemas/{name}"}, components)


def described(text: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": text, **schema}


def string_map(text: str) -> dict[str, Any]:
    return described(text, {"type": "object", "additionalProperties": {"type": "string"}})


def spec_schema(c: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "description": "What to run. Changing it (other than suspend) starts a new run.",
        "properties": {**pod_fields(c), **run_fields(), **when_fields(c)},
        "x-kubernetes-validations": [
            {
                "rule": "has(self.command) != has(self.args)",
                "message": "exactly one of spec.command and spec.args must be set",
            },
        ],
    }


def pod_fields(c: dict[str, Any]) -> dict[str, Any]:
    """What runs and where: the container and pod fields, core types inlined."""
    v1 = "io.k8s.api.core.v1."
    return {
        "command": described(
            'Shell command, run as /bin/sh -c "<command>". Exactly one of command and args.',
            {"type": "string", "minLength": 1, "maxLength": rules.COMMAND_MAX_LENGTH},
        ),
        "args": described(
            "Exec form: the program and its arguments, no shell. Exactly one of command and args.",
            {
                "type": "array",
                "minItems": 1,
                "maxItems": rules.ARGS_MAX_ITEMS,
                "items": {"type": "string", "maxLength": rules.COMMAND_MAX_LENGTH},
            },
        ),
        "image": described(
            "Container image. Defaults to the operator's configured image.",
            {"type": "string", "minLength": 1, "maxLength": rules.IMAGE_MAX_LENGTH},
        ),
        "env": described(
            "Environment variables, as in a core/v1 Container.",
            {
                "type": "array",
                "items": core(v1 + "EnvVar", c),
                "maxItems": rules.ENV_MAX_ITEMS,
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["name"],
            },
        ),
        "envFrom": described(
            "Sources of environment variables, as in a core/v1 Container.",
            {"type": "array", "items": core(v1 + "EnvFromSource", c), "x-kubernetes-list-type": "atomic"},
        ),
        "workingDir": described("Working directory of the command.", {"type": "string"}),
        "resources": described(
            "Compute resources of the container (core/v1 ResourceRequirements).",
            core(v1 + "ResourceRequirements", c),
        ),
        "serviceAccountName": described(
            "ServiceAccount the pod runs as.",
            {"type": "string", "maxLength": rules.SERVICE_ACCOUNT_MAX_LENGTH},
        ),
        "securityContext": described(
            "Container security context. The default meets the restricted Pod Security Standard.",
            core(v1 + "SecurityContext", c),
        ),
        "from": described(
            "Run with an existing workload's pod template: its container's image, env, envFrom, "
            "volumeMounts, workingDir, resources and security context, and its pod's volumes, "
            "ServiceAccount, pull secrets, placement and security context. Fields set here win; env, "
            "volumes and volumeMounts merge by name. Read when a run starts.",
            {
                "type": "object",
                "required": ["kind", "name"],
                "properties": {
                    "kind": described("The workload's kind.", {"type": "string", "enum": list(WORKLOAD_KINDS)}),
                    "name": described(
                        "The workload's name, in this namespace (an object name: nothing else can be reached).",
                        {"type": "string", "minLength": 1, "maxLength": DNS_SUBDOMAIN_MAX, "pattern": DNS_SUBDOMAIN},
                    ),
                    "container": described(
                        "The container whose settings the command takes (default: the first).",
                        {"type": "string", "minLength": 1, "maxLength": DNS_LABEL_MAX, "pattern": DNS_LABEL},
                    ),
                },
            },
        ),
        "volumes": described(
            "Volumes of the run's pod, as in a PodSpec (secret, configMap, persistentVolumeClaim, emptyDir, ...).",
            {
                "type": "array",
                "items": core(v1 + "Volume", c),
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["name"],
            },
        ),
        "volumeMounts": described(
            "Where the volumes are mounted in the command's container, as in a core/v1 Container.",
            {"type": "array", "items": core(v1 + "VolumeMount", c), "x-kubernetes-list-type": "atomic"},
        ),
        "nodeSelector": string_map("Node labels the pod must match, as in a PodSpec."),
        "tolerations": described(
            "Tolerations of the pod, as in a PodSpec.",
            {"type": "array", "items": core(v1 + "Toleration", c), "x-kubernetes-list-type": "atomic"},
        ),
        "podMetadata": described(
            "Labels and annotations added to the pod template.",
            {
                "type": "object",
                "properties": {
                    "labels": string_map("Labels added to the pod."),
                    "annotations": string_map("Annotations added to the pod."),
                },
            },
        ),
    }


def run_fields() -> dict[str, Any]:
    """How the run goes: the Job's limits, suspend, TTL and the output's size."""
    return {
        "timeoutSeconds": described(
            "Seconds the run may take; becomes the Job's activeDeadlineSeconds.",
            {"type": "integer", "format": "int64", "minimum": rules.TIMEOUT_MIN, "maximum": rules.TIMEOUT_MAX},
        ),
        "retries": described(
            "Retries after a failure; becomes the Job's backoffLimit.",
            {
                "type": "integer",
                "format": "int32",
                "minimum": rules.RETRIES_MIN,
                "maximum": rules.RETRIES_MAX,
                "default": 0,
            },
        ),
        "suspend": described(
            "Suspends the run's Job (queue-friendly). Toggling it does not start a new run.",
            {"type": "boolean", "default": False},
        ),
        "historyLimit": described(
            "How many earlier runs keep their record (status.history) and output (<name>-logs-<generation>).",
            {
                "type": "integer",
                "format": "int32",
                "minimum": 0,
                "maximum": rules.HISTORY_LIMIT_MAX,
                "default": rules.HISTORY_LIMIT_DEFAULT,
            },
        ),
        "ttlSecondsAfterFinished": described(
            "Delete this AdhocCommand (and so its Job and logs) this long after it finished.",
            {"type": "integer", "format": "int32", "minimum": rules.TTL_MIN, "maximum": rules.TTL_MAX},
        ),
        "approval": described(
            "A second person's approval before the run starts (kubectl adhoc approve). A namespace "
            "labelled orchestrator.dev/approval=required needs it whatever this says.",
            {
                "type": "object",
                "properties": {
                    "required": described(
                        "The run waits (Pending, AwaitingApproval) until someone other than its requester, "
                        "holding the verb approve on adhoccommands, approves this generation.",
                        {"type": "boolean"},
                    ),
                },
            },
        ),
        "logs": described(
            "How the command's output is stored.",
            {
                "type": "object",
                "default": {},
                "properties": {
                    "maxBytes": described(
                        "Bytes of output stored; longer output keeps its head and tail.",
                        {
                            "type": "integer",
                            "format": "int64",
                            "minimum": 1,
                            "maximum": rules.LOGS_MAX_BYTES_LIMIT,
                            "default": rules.LOGS_MAX_BYTES_DEFAULT,
                        },
                    ),
                    "storage": described(
                        "Where the output is kept: ConfigMap <name>-logs (readable by `view`), or Secret "
                        "<name>-logs (key output) for output as private as a Secret. Runs kept in a Secret "
                        "keep no copy of their output in the history.",
                        {"type": "string", "enum": list(rules.LOGS_STORAGE), "default": rules.LOGS_STORAGE_DEFAULT},
                    ),
                },
            },
        ),
    }


def when_fields(c: dict[str, Any]) -> dict[str, Any]:
    """When a run starts, how it ends, and what its failures mean."""
    return {
        "startAt": described(
            "The run waits (Pending, Scheduled) until this time (RFC 3339); a time past starts it at once.",
            {"type": "string", "format": "date-time"},
        ),
        "cancel": described(
            "Stops the current run for good: its pod is stopped, the output so far is kept, the run ends "
            "Failed (Cancelled). It starts no new run, nor does setting it false again.",
            {"type": "boolean", "default": False},
        ),
        "concurrencyKey": described(
            "At most one run under way among this namespace's AdhocCommands with the same key; the others "
            "wait (Pending, Queued) and start in the order they were created (e.g. migrations of one database).",
            {"type": "string", "maxLength": rules.LABEL_VALUE_MAX_LENGTH, "pattern": rules.LABEL_VALUE_PATTERN},
        ),
        "queueName": described(
            "The Kueue LocalQueue of the run: its Job is labelled kueue.x-k8s.io/queue-name and created "
            "suspended, for Kueue to admit (the run is Pending, Queued, meanwhile).",
            {"type": "string", "maxLength": rules.LABEL_VALUE_MAX_LENGTH, "pattern": rules.LABEL_VALUE_PATTERN},
        ),
        "podFailurePolicy": described(
            "Passed to the Job (e.g. exit code 3: fail at once, no retry). Without one, a pod taken by a node "
            "drain, an eviction or a preemption (its DisruptionTarget condition) does not count against retries.",
            core("io.k8s.api.batch.v1.PodFailurePolicy", c),
        ),
    }


def status_schema(c: dict[str, Any]) -> dict[str, Any]:
    def integer(text: str) -> dict[str, Any]:
        return described(text, {"type": "integer", "format": "int32"})

    def string(text: str) -> dict[str, Any]:
        return described(text, {"type": "string"})

    def time(text: str) -> dict[str, Any]:
        return described(text, {"type": "string", "format": "date-time"})

    return {
        "type": "object",
        "description": "What the current run did, computed from its Job and latest Pod.",
        "properties": {
            "phase": described(
                "Pending, Running, Succeeded, Failed or Suspended.",
                {"type": "string", "enum": list(rules.PHASES)},
            ),
            "observedGeneration": described(
                "The metadata.generation this status describes.",
                {"type": "integer", "format": "int64"},
            ),
            "jobName": string("The current run's Job."),
            "image": string("The image the current run uses (after the operator's defaults)."),
            "imageID": string("The image the latest pod really ran, by digest (its container status' imageID)."),
            "podName": string("The current run's latest Pod."),
            "active": integer("Active pods of the Job."),
            "ready": integer("Ready pods of the Job."),
            "succeeded": integer("Succeeded pods of the Job."),
            "failed": integer("Failed pods of the Job."),
            "attempt": integer("Which attempt (1 = first) the latest Pod and the stored output are from."),
            "startTime": time("When the Job started."),
            "completionTime": time("When the Job completed."),
            "duration": string("How long the run took, once finished (e.g. 3s, 1m4s)."),
            "exitCode": integer("The command's exit code."),
            "result": string(
                "What the command wrote to /dev/termination-log (at most 4 KiB): a small result beside the output."
            ),
            "reason": string("Why the run ended or why it waits (Completed, Error, OOMKilled, ...)."),
            "message": string("Human-readable detail of reason."),
            "requestedBy": string("Who asked for the current run (annotation orchestrator.dev/requested-by)."),
            "approvedBy": string("Who approved the current run, when it needed approval."),
            "logs": described(
                "Where the command's output is stored.",
                {
                    "type": "object",
                    "properties": {
                        "configMap": string("ConfigMap holding the output, in this namespace."),
                        "secret": string("Secret holding the output (spec.logs.storage: Secret), in this namespace."),
                        "bytes": described(
                            "Bytes of output the command produced.", {"type": "integer", "format": "int64"}
                        ),
                        "storedBytes": described("Bytes of output stored.", {"type": "integer", "format": "int64"}),
                        "truncated": described("True when the output was cut.", {"type": "boolean"}),
                        "sha256": string("Hex SHA-256 of the stored output's bytes."),
                    },
                },
            ),
            "history": described(
                "Earlier runs, newest first, at most spec.historyLimit.",
                {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "generation": described(
                                "The spec generation it ran.", {"type": "integer", "format": "int64"}
                            ),
                            "jobName": string("Its Job."),
                            "phase": string("How it ended (or its phase when a new spec replaced it)."),
                            "exitCode": integer("The command's exit code."),
                            "reason": string("Why it ended (Replaced: a new spec stopped it)."),
                            "startTime": time("When its Job started."),
                            "completionTime": time("When its Job completed."),
                            "logsConfigMap": string("The ConfigMap holding its output (<name>-logs-<generation>)."),
                            "requestedBy": string("Who asked for it."),
                            "approvedBy": string("Who approved it, when it needed approval."),
                        },
                    },
                    "x-kubernetes-list-type": "atomic",
                },
            ),
            "conditions": described(
                "Complete, Failed, Suspended, FailureTarget, SuccessCriteriaMet (mirrored from the "
                "Job), Finished, Reconciling, Stalled, and Approved for a run that needs approval.",
                {
                    "type": "array",
                    "items": core("io.k8s.apimachinery.pkg.apis.meta.v1.Condition", c),
                    "x-kubernetes-list-type": "map",
                    "x-kubernetes-list-map-keys": ["type"],
                },
            ),
        },
    }


def crd(components: dict[str, Any]) -> dict[str, Any]:
    columns = [
        {"name": "Status", "type": "string", "jsonPath": ".status.phase"},
        {"name": "Exit", "type": "integer", "jsonPath": ".status.exitCode"},
        {"name": "Duration", "type": "string", "jsonPath": ".status.duration"},
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
        {"name": "Job", "type": "string", "jsonPath": ".status.jobName", "priority": 1},
        {"name": "Command", "type": "string", "jsonPath": ".spec.command", "priority": 1},
    ]
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "adhoccommands.orchestrator.dev"},
        "spec": {
            "group": "orchestrator.dev",
            "scope": "Namespaced",
            "names": {
                "kind": "AdhocCommand",
                "listKind": "AdhocCommandList",
                "plural": "adhoccommands",
                "singular": "adhoccommand",
                "shortNames": ["adhoc", "ahc"],
            },
            "versions": [
                {
                    "name": "v1alpha1",
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": columns,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "description": "AdhocCommand runs a command once as a Kubernetes Job and keeps its output.",
                            "required": ["spec"],
                            "properties": {
                                "apiVersion": {"type": "string"},
                                "kind": {"type": "string"},
                                "metadata": {"type": "object"},
                                "spec": spec_schema(components),
                                "status": status_schema(components),
                            },
                        }
                    },
                }
            ],
        },
    }


class _NoAliases(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def main() -> None:
    core_v1 = Path(sys.argv[1])
    components = json.loads(core_v1.read_text())["components"]["schemas"]
    # batch/v1 (PodFailurePolicy) lives beside the core document.
    batch = core_v1.with_name("apis__batch__v1_openapi.json")
    components.update(json.loads(batch.read_text())["components"]["schemas"])
    print("# Generated by hack/gen_crd.py from the core OpenAPI of the pinned Kubernetes; do not edit.")
    print(yaml.dump(crd(components), Dumper=_NoAliases, sort_keys=False, width=120), end="")


if __name__ == "__main__":
    main()
