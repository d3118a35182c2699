"""Small builders of AdhocCommands, Jobs and Pods as the API returns them, for table tests."""

from __future__ import annotations

from typing import Any

from orchestrator.model.config import Config
from orchestrator.model.jobs import job_for

Obj = dict[str, Any]
T0 = "2026-01-01T00:00:00Z"
T1 = "2026-01-01T00:00:05Z"
T2 = "2026-01-01T00:01:10Z"


def adhoc(spec: Obj | None = None, *, name: str = "cmd", generation: int = 1, status: Obj | None = None) -> Obj:
    return {
        "apiVersion": "orchestrator.dev/v1alpha1",
        "kind": "AdhocCommand",
        "metadata": {
            "name": name,
            "namespace": "ns",
            "uid": f"uid-{name}",
            "generation": generation,
            "creationTimestamp": T0,
        },
        "spec": {"command": "echo hi"} if spec is None else spec,
        "status": status or {},
    }


def job(
    owner: Obj, *, conditions: list[Obj] | None = None, suspend: bool = False, uid: str = "job-uid", **counts: Any
) -> Obj:
    body = job_for(owner, Config())
    body["metadata"].update(uid=uid, creationTimestamp=T0)
    body["spec"]["suspend"] = suspend
    body["status"] = {**counts, "conditions": conditions or []}
    return body


def condition(type_: str, status: str = "True", reason: str = "", message: str = "", when: str = T2) -> Obj:
    return {"type": type_, "status": status, "reason": reason, "message": message, "lastTransitionTime": when}


def pod(
    name: str = "cmd-1-abcde",
    *,
    created: str = T0,
    phase: str = "Running",
    state: Obj | None = None,
    job_uid: str = "job-uid",
    conditions: list[Obj] | None = None,
) -> Obj:
    return {
        "metadata": {
            "name": name,
            "namespace": "ns",
            "uid": f"uid-{name}",
            "creationTimestamp": created,
            "ownerReferences": [{"uid": job_uid}],
        },
        "status": {
            "phase": phase,
            "conditions": conditions or [],
            "containerStatuses": [{"name": "command", "state": state or {"running": {"startedAt": T0}}}],
        },
    }


def terminated(exit_code: int, reason: str = "", message: str = "") -> Obj:
    return {
        "terminated": {
            "exitCode": exit_code,
            "reason": reason or ("Completed" if exit_code == 0 else "Error"),
            "message": message,
            "startedAt": T0,
            "finishedAt": T1,
        }
    }
