"""The parts of AdhocCommands, Jobs and Pods the operator keeps in memory (pure).

Indexes hold these small views instead of whole objects, each packed as compact JSON compressed
with zlib (a twentieth of the memory of the same data as Python dicts; the conditions' repeated
keys and times compress well), so that memory grows slowly with the number of AdhocCommands in
the cluster; a reconciliation unpacks the few it needs.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

from orchestrator.model import approval
from orchestrator.model.jobs import ANNOTATION_SPEC_HASH, LABEL_KUEUE_QUEUE
from orchestrator.model.names import LABEL_GENERATION
from orchestrator.model.objects import Obj
from orchestrator.model.runs import ANNOTATION_CANCELLED
from orchestrator.model.spec import CONTAINER


def _pick(source: Any, *keys: str) -> Obj:
    if not isinstance(source, dict):
        return {}
    return {k: source[k] for k in keys if source.get(k) is not None}


def adhoc_view(body: Any) -> Obj:
    meta = body.get("metadata") or {}
    kept = _pick(meta, "name", "namespace", "uid", "generation", "creationTimestamp", "deletionTimestamp")
    annotations = _pick(meta.get("annotations"), *approval.ANNOTATIONS)  # who asked, who decided
    if annotations:
        kept["annotations"] = annotations
    return {
        "apiVersion": body.get("apiVersion"),
        "kind": body.get("kind"),
        "metadata": kept,
        "spec": dict(body.get("spec") or {}) if isinstance(body.get("spec"), dict) else body.get("spec"),
        "status": dict(body.get("status") or {}),
    }


def job_view(body: Any) -> Obj:
    meta = body.get("metadata") or {}
    return {
        "metadata": {
            **_pick(meta, "name", "namespace", "uid", "creationTimestamp", "deletionTimestamp"),
            "labels": _pick(meta.get("labels"), LABEL_GENERATION, LABEL_KUEUE_QUEUE),
            "annotations": _pick(
                meta.get("annotations"), ANNOTATION_SPEC_HASH, ANNOTATION_CANCELLED, *approval.JOB_ANNOTATIONS
            ),
            "ownerReferences": [_pick(o, "uid", "controller") for o in meta.get("ownerReferences") or []],
        },
        "spec": {**_pick(body.get("spec"), "suspend", "ttlSecondsAfterFinished"), **_image_of(body)},
        "status": dict(body.get("status") or {}),
    }


def _image_of(job: Any) -> Obj:
    """The command container's image, in a Job's own shape (status.image says it)."""
    pod_spec = (((job.get("spec") or {}).get("template") or {}).get("spec")) or {}
    for container in pod_spec.get("containers") or []:
        if isinstance(container, dict) and container.get("name") == CONTAINER and container.get("image"):
            return {"template": {"spec": {"containers": [{"name": CONTAINER, "image": container["image"]}]}}}
    return {}


def pod_view(body: Any) -> Obj:
    meta = body.get("metadata") or {}
    status = body.get("status") or {}
    return {
        "metadata": {
            **_pick(meta, "name", "namespace", "uid", "creationTimestamp", "deletionTimestamp"),
            "ownerReferences": [_pick(o, "uid") for o in meta.get("ownerReferences") or []],
        },
        "status": {
            **_pick(status, "phase"),
            # PodScheduled: why it waits (Unschedulable); DisruptionTarget: why it is going.
            "conditions": [
                c for c in status.get("conditions") or [] if c.get("type") in ("PodScheduled", "DisruptionTarget")
            ],
            "containerStatuses": [
                _pick(cs, "name", "state", "lastState", "imageID")
                for cs in status.get("containerStatuses") or []
                if cs.get("name") == CONTAINER
            ],
        },
    }


def pack(view: Obj) -> bytes:
    return zlib.compress(json.dumps(view, separators=(",", ":")).encode(), 1)  # level 1: the fast one


def unpack(packed: bytes) -> Obj:
    return json.loads(zlib.decompress(packed))
