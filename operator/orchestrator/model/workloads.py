"""spec.from: a run that takes an existing workload's pod template (pure). `kubectl create job
--from=cronjob/x` made declarative: a migration runs with exactly the app's image, config and
secrets."""

from __future__ import annotations

import copy

from orchestrator.model.objects import Obj
from orchestrator.model.paths import WORKLOADS, is_object_name

# kind -> where it lives: the workloads a run may take its template from.
KINDS = WORKLOADS
CONTAINER_FIELDS = ("image", "envFrom", "workingDir", "resources", "securityContext")
POD_FIELDS = ("serviceAccountName", "imagePullSecrets", "nodeSelector", "tolerations", "affinity")
MERGED_BY_NAME = ("env", "volumes", "volumeMounts")
# Fields of a pod (not of an AdhocCommand's spec) that a template brings along.
POD_SECURITY_CONTEXT = "podSecurityContext"
AUTOMOUNT = "automountServiceAccountToken"


class TemplateError(ValueError):
    """The workload exists but cannot serve (no such container): says what is wrong."""


def source_error(source: Obj) -> str | None:
    """Why spec.from cannot name a workload, or None. The CRD refuses the same at admission; this
    holds for objects stored before it did: a name is an object name in the run's own namespace."""
    if source.get("kind") not in KINDS:
        return f"spec.from.kind must be one of {', '.join(KINDS)}"
    if not is_object_name(source.get("name")):
        return "spec.from.name must be the name of an object in this namespace (a DNS subdomain)"
    return None


def pod_template_of(kind: str, workload: Obj) -> Obj:
    spec = workload.get("spec") or {}
    if kind == "CronJob":
        spec = ((spec.get("jobTemplate") or {}).get("spec")) or {}
    return spec.get("template") or {}


def described(source: Obj) -> str:
    return f"{source.get('kind')}/{source.get('name')}"


def _merged(template_items: list[Obj] | None, own: list[Obj] | None) -> list[Obj] | None:
    """The template's list with the AdhocCommand's entries replacing those of the same name."""
    if template_items is None and own is None:
        return None
    mine = {item.get("name"): item for item in own or []}
    kept = [item for item in template_items or [] if item.get("name") not in mine]
    return copy.deepcopy(kept) + copy.deepcopy(list(own or []))


def spec_from_template(spec: Obj, template: Obj) -> Obj:
    """The spec a run has once `template` (a pod template) fills what the AdhocCommand does not
    set: the chosen container's image, env, envFrom, volumeMounts, workingDir, resources and
    security context, and the pod's volumes, ServiceAccount, pull secrets, placement and security
    context. env, volumes and volumeMounts merge by name; any other field set wins whole."""
    source = spec.get("from") or {}
    pod = template.get("spec") or {}
    containers = pod.get("containers") or []
    wanted = source.get("container")
    chosen = next((c for c in containers if c.get("name") == wanted), None) if wanted else (containers or [None])[0]
    if chosen is None:
        which = f"no container {wanted}" if wanted else "no containers"
        raise TemplateError(f"{described(source)} has {which}")
    taken: Obj = {f: copy.deepcopy(chosen[f]) for f in CONTAINER_FIELDS if chosen.get(f) is not None}
    taken.update({f: copy.deepcopy(pod[f]) for f in POD_FIELDS if pod.get(f) is not None})
    if pod.get("securityContext"):
        taken[POD_SECURITY_CONTEXT] = copy.deepcopy(pod["securityContext"])
    if pod.get(AUTOMOUNT) is not None:
        taken[AUTOMOUNT] = pod[AUTOMOUNT]
    effective = {**taken, **{k: v for k, v in spec.items() if v is not None}}
    for field, template_items in (
        ("env", chosen.get("env")),
        ("volumeMounts", chosen.get("volumeMounts")),
        ("volumes", pod.get("volumes")),
    ):
        merged = _merged(template_items, spec.get(field))
        if merged is not None:
            effective[field] = merged
    return effective
