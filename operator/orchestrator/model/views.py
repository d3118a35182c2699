"""The parts of AdhocCommands, Jobs and Pods the operator keeps in memory (pure).

Indexes hold these small views instead of whole objects, each packed as compact JSON compressed
with zlib (a twentieth of the memory of the same data as Python dicts; the conditions' repeated
keys and times compress well), so that memory grows slowly with the number of AdhocCommands in
the cluster; a reconciliation unpacks the few it needs. zlib starts from a preset dictionary, the
views of a typical finished run: a view of a few hundred bytes shares most of its keys and
words with it, and packs to about 40% of what it would alone. A run that ended is kept as one
record (its AdhocCommand's and Jobs' views and its stored output: about 0.5 KiB packed, its
uids and digests being most of what does not compress).
"""

from __future__ import annotations

import zlib
from typing import Any

from orchestrator.model import approval
from orchestrator.model.jobs import ANNOTATION_SPEC_HASH, LABEL_KUEUE_QUEUE
from orchestrator.model.names import LABEL_GENERATION
from orchestrator.model.objects import Obj, from_json, to_json
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


_UID, _WHEN, _BY = "00000000-0000-0000-0000-000000000000", "2026-01-01T00:00:00Z", "system:serviceaccount:ns:user"
_META: Obj = {"name": "run-1", "namespace": "default", "uid": _UID, "creationTimestamp": _WHEN, "generation": 1}
_IMAGE: Obj = {"image": "docker.io/library/python:3.12-slim", "imageID": "sha256:" + "0" * 64}


def _conditions() -> list[Obj]:
    done = {"message": "Reached expected number of succeeded pods", "reason": "CompletionsReached", "status": "True"}
    ended = [
        ("Finished", "Completed", "True"),
        ("Reconciling", "Succeeded", "False"),
        ("Stalled", "Succeeded", "False"),
    ]
    return [
        {"lastTransitionTime": _WHEN, "observedGeneration": 1, **done, "type": t}
        for t in ("Complete", "SuccessCriteriaMet")
    ] + [
        {"lastTransitionTime": _WHEN, "message": "", "observedGeneration": 1, "reason": r, "status": s, "type": t}
        for t, r, s in ended
    ]


def _typical_pod() -> Obj:
    terminated: Obj = {"containerID": "containerd://" + "0" * 64, "exitCode": 0, "finishedAt": _WHEN}
    terminated |= {"reason": "Completed", "startedAt": _WHEN}
    container = {"name": CONTAINER, "state": {"terminated": terminated}, "lastState": {}, "imageID": _IMAGE["imageID"]}
    scheduled = {"lastProbeTime": None, "lastTransitionTime": _WHEN, "status": "True", "type": "PodScheduled"}
    return {
        "metadata": {**_META, "ownerReferences": [{"uid": _UID}]},
        "status": {"phase": "Succeeded", "conditions": [scheduled], "containerStatuses": [container]},
    }


def _typical_job() -> Obj:
    status: Obj = {"completionTime": _WHEN, "conditions": [{"lastProbeTime": _WHEN, **c} for c in _conditions()[:2]]}
    status |= {"ready": 0, "startTime": _WHEN, "succeeded": 1, "terminating": 0, "uncountedTerminatedPods": {}}
    meta: Obj = {**_META, "labels": {LABEL_GENERATION: "1"}, "ownerReferences": [{"uid": _UID, "controller": True}]}
    meta["annotations"] = {ANNOTATION_SPEC_HASH: "0" * 16, approval.REQUESTED_BY: _BY}
    containers = [{"name": CONTAINER, "image": _IMAGE["image"]}]
    return {
        "metadata": meta,
        "spec": {"suspend": False, "template": {"spec": {"containers": containers}}},
        "status": status,
    }


def _typical_adhoc() -> Obj:
    logs: Obj = {"bytes": 100, "configMap": "run-1-logs", "sha256": "0" * 64, "storedBytes": 100, "truncated": False}
    status: Obj = {"active": 0, "attempt": 1, "completionTime": _WHEN, "conditions": _conditions(), "duration": "3s"}
    status |= {"exitCode": 0, "failed": 0, **_IMAGE, "jobName": "run-1-1", "logs": logs, "observedGeneration": 1}
    status |= {"phase": "Succeeded", "podName": "run-1-1-abcde", "ready": 0, "reason": "Completed"}
    status |= {"requestedBy": _BY, "startTime": _WHEN, "succeeded": 1}
    spec: Obj = {"cancel": False, "command": "python3 -c", "historyLimit": 5, "retries": 0, "suspend": False}
    spec["logs"] = {"maxBytes": 262144, "storage": "ConfigMap"}
    meta: Obj = {**_META, "annotations": {approval.REQUESTED_BY: _BY}}
    return {
        "apiVersion": "orchestrator.dev/v1alpha1",
        "kind": "AdhocCommand",
        "metadata": meta,
        "spec": spec,
        "status": status,
    }


def record(adhoc: Obj, jobs: list[Obj], stored: Obj | None) -> Obj:
    """What the operator keeps of a run that ended, in one piece: its AdhocCommand's and Jobs'
    views and its stored output (the fields of model/output.StoredOutput)."""
    return {"adhoc": adhoc, "jobs": jobs, "stored": stored}


def _typical_finished_run() -> bytes:
    """The preset dictionary: a pod's view and the record of a run that printed and succeeded
    (zlib finds near matches best, so the most common view, the AdhocCommand's, comes late)."""
    stored: Obj = {"name": "run-1-logs", "pod_uid": _UID, "pod_name": "run-1-1-abcde", "attempt": 1}
    stored |= {"generation": 1, "bytes": 100, "stored_bytes": 100, "truncated": False, "error": ""}
    stored |= {"kind": "ConfigMap", "sha256": "0" * 64}
    typical = record(adhoc_view(_typical_adhoc()), [job_view(_typical_job())], stored)
    return to_json(pod_view(_typical_pod())) + to_json(typical)


DICTIONARY = _typical_finished_run()
# An 8 KiB window holds the dictionary (4 KiB) and any view after it; zlib's default 32 KiB
# window and its 64 KiB tables only cost each packer their setup.
_WBITS, _MEMLEVEL = 13, 4
# Packers with the dictionary loaded, copied for each view: loading it (hashing its 4 KiB) was
# most of a pack's time, three packs a run at a start.
_PACKERS = {level: zlib.compressobj(level, zlib.DEFLATED, _WBITS, _MEMLEVEL, zdict=DICTIONARY) for level in (1, 6)}


def pack(view: Obj, level: int = 1) -> bytes:
    """Level 1, the fast one, for views packed at every change; a record, packed once when its
    run ends, takes level 6 (a fifth smaller)."""
    packer = _PACKERS[level].copy()
    return packer.compress(to_json(view)) + packer.flush()


def unpack(packed: bytes) -> Obj:
    unpacker = zlib.decompressobj(_WBITS, zdict=DICTIONARY)
    return from_json(unpacker.decompress(packed) + unpacker.flush())
